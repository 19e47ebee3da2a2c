// src/l7/forwarding_headers.h — the header fields a request carries upstream and a response
// carries back: the sender's fields, minus those only a proxy may state (unless the peer is a
// trusted proxy), with the route's edits, plus X-Forwarded-*, X-Real-IP, Via, X-Request-Id and
// optionally Forwarded (RFC 7239).
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "config/config_types.h"
#include "proto/http1/message.h"

namespace ballast::l7 {

struct ForwardingContext {
  std::string_view client_ip;  // "203.0.113.7" or "2001:db8::1"
  bool client_v6 = false;
  bool trusted_peer = false;  // the peer is in trusted_proxies: believe its X-Forwarded-*
  std::string_view host;      // the request's authority
  std::string_view request_id;
  uint8_t version_minor = 1;
  bool rfc7239 = false;
  bool tls = false;  // the client spoke TLS to us: X-Forwarded-Proto https
  // mTLS listeners: the fields that carry the verified client certificate (removed from what
  // the client sent, whatever it sent), and their values when a certificate was verified.
  const config::TlsClientAuth* client_auth = nullptr;
  std::string_view client_subject;
  std::string_view client_fingerprint;
  // A filter's edits (Exchange::drop_fields, add_fields): removed from what the client sent;
  // added last, after the route's edits, so nothing else can restate them.
  std::span<const std::string_view> drop_fields;
  std::span<const std::pair<std::string_view, std::string>> add_fields;
};

// Strings the built fields point into; one per worker, reused.
struct ForwardingStorage {
  std::string xff;
  std::string forwarded;
};

// Fills `out` (cleared first) with the fields to send upstream. Views point into `in`, `ops`,
// `ctx` and `storage`, which must outlive the use of `out`.
void buildRequestFields(std::span<const proto::http1::Header> in, const ForwardingContext& ctx,
                        const config::HeaderOps* ops, ForwardingStorage& storage,
                        std::vector<proto::http1::Header>& out);

// Fills `out` with the response's fields after the route's edits.
void buildResponseFields(std::span<const proto::http1::Header> in, const config::HeaderOps* ops,
                         std::vector<proto::http1::Header>& out);

// True for the fields a client must not be able to forge (X-Forwarded-*, Forwarded, X-Real-IP).
bool isForwardingField(std::string_view name);

}  // namespace ballast::l7
