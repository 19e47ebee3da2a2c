// src/l7/request_key.h — what an HTTP request is hashed on for source_hash and consistent_hash
// (the pool's hash_key), and cookie lookup shared with sticky sessions.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

#include "config/config_types.h"
#include "l7/exchange.h"
#include "net/address.h"
#include "proto/http1/message.h"

namespace ballast::l7 {

// The value of cookie `name` in the request's Cookie fields; empty when absent.
std::string_view findCookie(std::span<const proto::http1::Header> headers, std::string_view name);

// The value of query parameter `name` in `target` ("/p?a=1&b=2"); empty when absent. No
// percent-decoding: keys hash the bytes as sent.
std::string_view findQueryParam(std::string_view target, std::string_view name);

// The hash of the request's key per `pool.hash_key`. A request without the header, cookie or
// parameter hashes the empty string, so such requests share one backend rather than spreading.
uint64_t requestHashKey(const config::Pool& pool, const RequestView& head,
                        const net::SocketAddress& client);

}  // namespace ballast::l7
