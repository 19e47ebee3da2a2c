// src/l7/filter_chain.cpp — which filters a listener runs, in their order: rate limits first
// (cheapest refusal), then jwt (signature checks cost more per request), then the rate limits
// keyed on a jwt claim, then basic_auth
// (crypt(3) costs the most, so a flood is refused by a rate limit before it is hashed), then
// forward_auth (a subrequest: the costliest, and the auth service should see only requests the
// edge's own checks let through).
#include <memory>

#include "l7/basic_auth_filter.h"
#include "l7/filter.h"
#include "l7/forward_auth_filter.h"
#include "l7/jwt_filter.h"
#include "l7/rate_limit_filter.h"
#include "policy/gcra_table.h"

namespace ballast::l7 {

FilterChain buildFilterChain(const config::Listener& listener,
                             metrics::ListenerCounters& counters) {
  FilterChain chain;
  // Rules keyed on a jwt claim run after the jwt filter (they need its verified claims); the
  // others before it, so a flood is refused before any signature is checked.
  bool limits = false;
  bool claim_limits = false;
  const auto note = [&](const std::vector<config::RateLimitRule>& rules) {
    for (const auto& rule : rules) {
      (rule.keyedOnClaim() ? claim_limits : limits) = true;
    }
  };
  note(listener.http.rate_limits);
  for (const auto& r : listener.http.routes) {
    note(r.rate_limits);
  }
  if (limits) {
    chain.push_back(std::make_unique<RateLimitFilter>(listener, policy::GcraTable::process()));
  }
  bool jwt = listener.http.jwt.enabled;
  for (const auto& r : listener.http.routes) {
    jwt = jwt || (r.jwt && r.jwt->enabled);
  }
  if (jwt) {
    chain.push_back(std::make_unique<JwtFilter>(listener, counters));
  }
  if (claim_limits) {
    chain.push_back(std::make_unique<RateLimitFilter>(listener, policy::GcraTable::process(),
                                                      &RateLimitFilter::monotonicUs,
                                                      RateLimitStage::kAfterJwt));
  }
  bool basic = listener.http.basic_auth.enabled;
  for (const auto& r : listener.http.routes) {
    basic = basic || (r.basic_auth && r.basic_auth->enabled);
  }
  if (basic) {
    chain.push_back(std::make_unique<BasicAuthFilter>(listener, counters));
  }
  bool forward = listener.http.forward_auth.enabled;
  for (const auto& r : listener.http.routes) {
    forward = forward || (r.forward_auth && r.forward_auth->enabled);
  }
  if (forward) {
    chain.push_back(std::make_unique<ForwardAuthFilter>(listener, counters));
  }
  return chain;
}

}  // namespace ballast::l7
