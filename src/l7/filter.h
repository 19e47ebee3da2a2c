// src/l7/filter.h — the exchange core's filter chain. Policies (ACLs, rate limits, edge auth,
// content rules) see each request after it is routed and before a backend is picked, in the
// order configured, and may answer it themselves. The chain is empty until the L7 policy work
// adds filters; the hook is here so that they plug into one place for every wire version.
#pragma once

#include <memory>
#include <vector>

#include "l7/exchange.h"

namespace ballast::l7 {

class Filter {
 public:
  virtual ~Filter() = default;
  // Owning worker only. After routing: ex.route_config and ex.pool_index are set. A verdict
  // with a status answers the request here; later filters and the upstream are skipped.
  virtual Verdict onRequest(Exchange& ex, const RequestView& request) = 0;
};

using FilterChain = std::vector<std::unique_ptr<Filter>>;

}  // namespace ballast::l7
