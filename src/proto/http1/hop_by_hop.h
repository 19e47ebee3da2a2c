// src/proto/http1/hop_by_hop.h — which fields belong to one connection and must not be forwarded
// (RFC 9110 §7.6.1): a fixed list plus every name a Connection field lists.
#pragma once

#include <span>
#include <string_view>

#include "proto/http1/message.h"

namespace ballast::proto::http1 {

// Connection options in one message beyond which we refuse it; real clients send one to three,
// and the bound keeps hop-by-hop marking (options × fields) cheap.
constexpr size_t kMaxConnectionOptions = 16;

// Connection, Keep-Alive, TE, Trailer, Transfer-Encoding, Upgrade, Proxy-Connection,
// Proxy-Authenticate, Proxy-Authorization; case-insensitive.
bool isFixedHopByHop(std::string_view name);

// `name` appears as an option of a Connection field in `headers`. Host never counts: a client
// naming it in Connection would otherwise strip it from what the backend receives.
bool isConnectionOption(std::string_view name, std::span<const Header> headers);

inline bool isHopByHop(std::string_view name, std::span<const Header> headers) {
  return isFixedHopByHop(name) || isConnectionOption(name, headers);
}

}  // namespace ballast::proto::http1
