// src/l7/exchange_core.h — the version-independent steps of an exchange, in the order they run:
//
//   beginRequest: route ─▶ request id, hash key, sticky ─▶ filter chain   (may answer here)
//   pickBackend:  the next backend to try (sticky first, never one already tried)
//   endExchange:  metrics and the access-log line
//
// A codec session (HTTP/1 now, HTTP/2 next) parses its wire, calls these, and moves the bytes;
// nothing here knows a wire format or a socket. An upstream connector (h1_upstream.h) calls
// pickBackend for each try.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cache/store.h"
#include "config/config_types.h"
#include "core/line_writer.h"
#include "l7/exchange.h"
#include "l7/filter.h"
#include "l7/forwarding_headers.h"
#include "l7/router.h"
#include "metrics/proxy_metrics.h"
#include "net/address.h"
#include "tls/client_context.h"
#include "upstream/outlier.h"
#include "upstream/worker_pool.h"

namespace ballast::l7 {

// Per-worker scratch space shared by every session of the worker (heads are written whole in one
// call, so one buffer serves all): keeps idle keep-alive sessions free of buffers.
struct WorkerScratch {
  std::string head;
  std::vector<proto::http1::Header> headers;
  ForwardingStorage forwarding;
  std::string set_cookie;
  std::string backends;  // an access-log line's backends tried
  uint64_t request_counter = 0;
};

// What the core needs of a listener on one worker; every pointer outlives the exchange (the
// worker's epoch keeps the listener, router and pools alive).
struct ExchangeEnv {
  const config::Listener* listener = nullptr;
  const Router* router = nullptr;
  const std::vector<std::unique_ptr<upstream::WorkerPool>>* pools = nullptr;
  WorkerScratch* scratch = nullptr;
  const FilterChain* filters = nullptr;  // null: no filters
  // Per pool (`pools` order): TLS towards its backends, null for cleartext pools.
  const std::vector<std::shared_ptr<tls::ClientContext>>* upstream_tls = nullptr;
  core::LineSink* access_log = nullptr;  // null: the application log
  uint32_t worker = 0;
  metrics::ListenerCounters* counters = nullptr;  // this worker's; never null in a session
  // This worker's counters per route of the listener, in config order (owned by the epoch).
  const std::vector<metrics::RouteCounters*>* route_counters = nullptr;
  cache::Store* cache_store = nullptr;  // the listener's (process-wide); null: it caches nothing
};

// Routes a request whose head just arrived and runs the filter chain. Fills ex's route, pool,
// request id (the client's X-Request-Id when well formed, else a new one), hash key and sticky
// backend. ex.start_ms must be set. A verdict with a status is the answer to send instead.
Verdict beginRequest(const ExchangeEnv& env, Exchange& ex, const RequestView& request,
                     const net::SocketAddress& client);

// The next backend to try for ex's pool: the sticky one first, else the pool's pick, never one
// already tried, within the pool's connect_retries. Records the try (ex.backend, counters).
// nullopt: none left; the caller answers 503 (nothing tried) or 502.
std::optional<uint32_t> pickBackend(const ExchangeEnv& env, Exchange& ex);

// What the backend of ex's current try did (an answer's status, or a failure), for outlier
// detection (may eject it, upstream/outlier.h) and its circuit breaker (a success is an answer
// below 500). No-op before the first try.
void recordBackendOutcome(const ExchangeEnv& env, const Exchange& ex, upstream::Outcome outcome,
                          uint64_t now_ms);
// Circuit breaking (`circuit_breaker:`).
// Refuses ex for `why`: counted for the pool and reason, and the answer (503) gets a
// `Ballast-Refused: <why>` field.
void refuseExchange(const ExchangeEnv& env, Exchange& ex, upstream::CircuitRefusal why);
// When no backend could be picked for ex's first try: whether that is because of open breakers
// (then ex is refused as breaker_open).
bool refusedByBreaker(const ExchangeEnv& env, Exchange& ex);

// The status an exchange is logged with when its client left before any response began
// (NGINX's "client closed request"; Exchange::client_closed says it was ours, not a backend's).
constexpr uint16_t kClientClosedRequest = 499;

// The client left before ex's response ended (both codecs): counted as a client abort, and
// marked to be logged with kClientClosedRequest when no response had begun.
void markClientLeft(const ExchangeEnv& env, Exchange& ex, bool response_began);

// The exchange is over: counts it and writes its access-log line.
void endExchange(const ExchangeEnv& env, const Exchange& ex, const net::SocketAddress& client,
                 uint64_t now_ms);

}  // namespace ballast::l7
