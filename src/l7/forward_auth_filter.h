// src/l7/forward_auth_filter.h — `forward_auth:` as a filter. For each request it writes the
// subrequest the auth service is to get (GET path, with X-Forwarded-Method/-Proto/-Host/-Uri/
// -For and the copy_request_headers), and either answers from the worker's cache of earlier
// answers or marks the exchange so that its upstream side asks the auth service before any
// backend (http_upstream.h, forward_auth_call.h). A client's own copies of the fields the auth
// service may set (copy_response_headers) never reach the backend.
#pragma once

#include <cstdint>
#include <string_view>

#include "config/config_types.h"
#include "l7/filter.h"
#include "l7/forward_auth_cache.h"
#include "metrics/proxy_metrics.h"

namespace ballast::l7 {

enum class ForwardAuthResult : uint8_t {
  kAllowed,        // the auth service answered 2xx
  kDenied,         // any other answer, passed to the client
  kError,          // no complete answer (down, timeout, malformed, too large): 503
  kCachedAllowed,  // the same, answered from the cache
  kCachedDenied,
};
inline constexpr size_t kForwardAuthResultCount = 5;
std::string_view forwardAuthResultName(ForwardAuthResult r);

// The body of a refusal the client gets is bounded: a login page fits, a stream does not (the
// auth service is then treated as failing).
inline constexpr size_t kMaxForwardAuthBody = 64 * 1024;

// What an answer does to the exchange. Allowed: the copied fields go to the backend (names
// from `auth`, which outlives the exchange). Refused: the exchange is answered with the auth
// service's status, fields and body; returns that verdict.
// Counts one outcome in the listener's ballast_forward_auth_requests_total.
void countForwardAuth(metrics::ListenerCounters& counters, ForwardAuthResult r);
// Appends "name: value\r\n" (the subrequest's fields, the fields an answer adds to a head).
void appendForwardAuthField(std::string& out, std::string_view name, std::string_view value);

void applyForwardAuthAllowed(Exchange& ex, const config::ForwardAuth& auth,
                             const ForwardAuthAnswer& answer);
Verdict applyForwardAuthDenied(Exchange& ex, const ForwardAuthAnswer& answer);

class ForwardAuthFilter final : public Filter {
 public:
  ForwardAuthFilter(const config::Listener& listener, metrics::ListenerCounters& counters);

  Verdict onRequest(Exchange& ex, const RequestView& request,
                    const net::SocketAddress& client) override;

 private:
  const config::ForwardAuth* scopeOf(const Exchange& ex) const;

  const config::Listener& listener_;
  metrics::ListenerCounters& counters_;
  ForwardAuthCache cache_;
};

}  // namespace ballast::l7
