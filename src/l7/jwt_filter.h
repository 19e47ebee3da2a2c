// src/l7/jwt_filter.h — `jwt:` as a filter: finds the bearer token (Authorization, another
// header, a cookie or a query parameter), checks it with policy/jwt against the listener's or
// the route's settings, answers 401 with WWW-Authenticate (RFC 6750 §3) when it fails, and
// forwards the claims the configuration names as request fields.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "config/config_types.h"
#include "l7/filter.h"
#include "metrics/proxy_metrics.h"
#include "policy/jwt.h"

namespace ballast::l7 {

// The token the request carries where `auth.from` says; empty when there is none.
std::string_view findJwt(const config::JwtAuth& auth, const RequestView& request);

class JwtFilter final : public Filter {
 public:
  using Clock = int64_t (*)();  // Unix time, seconds
  JwtFilter(const config::Listener& listener, metrics::ListenerCounters& counters,
            Clock clock = &unixSeconds);

  // Owning worker only.
  Verdict onRequest(Exchange& ex, const RequestView& request,
                    const net::SocketAddress& client) override;

  static int64_t unixSeconds();

 private:
  struct Scope {
    const config::JwtAuth* auth = nullptr;  // null or disabled: no check
    policy::JwtPolicy policy;
  };
  Scope scopeOf(const config::JwtAuth& auth) const;
  Verdict refuse(Exchange& ex, const Scope& scope, policy::JwtResult result,
                 std::string_view description, const net::SocketAddress& client);

  const config::Listener& listener_;
  metrics::ListenerCounters& counters_;
  Clock clock_;
  Scope listener_scope_;
  std::vector<Scope> route_scopes_;  // per route, in config order
  // Every claim field any scope of the listener forwards: removed from every request.
  std::vector<std::string_view> claim_fields_;
  // Every claim a rate limit of the listener keys on (jwt_claim:NAME): copied into
  // Exchange::jwt_claims when a token passes.
  std::vector<std::string_view> rate_claims_;
};

}  // namespace ballast::l7
