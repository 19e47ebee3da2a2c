// src/l7/filter_chain.cpp — which filters a listener runs, in their order: rate limits first
// (cheapest refusal; later filters such as authentication cost more per request).
#include <memory>

#include "l7/filter.h"
#include "l7/rate_limit_filter.h"
#include "policy/gcra_table.h"

namespace ballast::l7 {

FilterChain buildFilterChain(const config::Listener& listener) {
  FilterChain chain;
  bool limits = !listener.http.rate_limits.empty();
  for (const auto& r : listener.http.routes) {
    limits = limits || !r.rate_limits.empty();
  }
  if (limits) {
    chain.push_back(std::make_unique<RateLimitFilter>(listener, policy::GcraTable::process()));
  }
  return chain;
}

}  // namespace ballast::l7
