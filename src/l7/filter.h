// src/l7/filter.h — the exchange core's filter chain. Policies (ACLs, rate limits, edge auth,
// content rules) see each request after it is routed and before a backend is picked, in the
// order configured, and may answer it themselves, once for every wire version. Rate limits
// (l7/rate_limit_filter) are the first; buildFilterChain puts a listener's filters in order.
#pragma once

#include <memory>
#include <vector>

#include "l7/exchange.h"
#include "net/address.h"

namespace ballast::l7 {

class Filter {
 public:
  virtual ~Filter() = default;
  // Owning worker only. After routing: ex.route_config and ex.pool_index are set. A verdict
  // with a status answers the request here; later filters and the upstream are skipped; a filter
  // may add fields to that answer in ex.answer_fields. `client` is the peer (or, from a trusted
  // proxy, the client its PROXY header named).
  virtual Verdict onRequest(Exchange& ex, const RequestView& request,
                            const net::SocketAddress& client) = 0;
};

using FilterChain = std::vector<std::unique_ptr<Filter>>;

// The filters a listener's configuration asks for, in the order they run (empty: none). Built
// per worker and per snapshot; what the filters share across workers they reach through
// process-wide state (policy/gcra_table); counters are the worker's own.
FilterChain buildFilterChain(const config::Listener& listener, metrics::ListenerCounters& counters);

}  // namespace ballast::l7
