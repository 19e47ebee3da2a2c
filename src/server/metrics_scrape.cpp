// src/server/metrics_scrape.cpp — one Prometheus scrape: the proxy plane's per-worker counters
// summed, backend states, process gauges, then whatever the kernel and uplink planes add.
#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

#include <array>
#include <fstream>

#include "cache/store.h"
#include "compress/compressor.h"
#include "config/config_json.h"
#include "core/accept_error.h"
#include "core/clock.h"
#include "l7/basic_auth_filter.h"
#include "l7/forward_auth_filter.h"
#include "l7/retry_policy.h"
#include "metrics/proxy_metrics.h"
#include "policy/conn_count_table.h"
#include "policy/gcra_table.h"
#include "policy/jwt.h"
#include "policy/redis_store.h"
#include "policy/sticky_store.h"
#include "proto/grpc/grpc_fields.h"
#include "server/control_thread.h"
#include "server/jwks_fetcher.h"
#include "tls/handshake_failure.h"
#include "upstream/outlier.h"
#include "upstream/slow_start.h"

namespace ballast::server {
namespace {

using metrics::Label;

constexpr std::array<std::string_view, metrics::kStatusClasses> kClassNames = {"1xx", "2xx", "3xx",
                                                                               "4xx", "5xx"};

// Resident set size from /proc/self/statm (pages → bytes).
uint64_t residentBytes() {
  std::ifstream statm("/proc/self/statm");
  uint64_t size = 0;
  uint64_t resident = 0;
  statm >> size >> resident;
  return resident * static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
}

uint64_t openFds() {
  uint64_t n = 0;
  if (auto* dir = opendir("/proc/self/fd")) {
    while (readdir(dir) != nullptr) {
      ++n;
    }
    closedir(dir);
  }
  return n > 2 ? n - 2 : 0;  // "." and ".."
}

// Per listener with a cache store (cache/store.h): what it answered and what it holds.
void writeCacheMetrics(metrics::PrometheusWriter& out) {
  const auto stores = cache::allStores();
  if (stores.empty()) {
    return;
  }
  struct Counter {
    std::string_view name;
    std::string_view help;
    std::atomic<uint64_t> cache::StoreCounters::*field;
  };
  const std::array<Counter, 10> counters = {{
      {"ballast_cache_hits_total", "Requests answered from the cache while fresh.",
       &cache::StoreCounters::hits},
      {"ballast_cache_misses_total", "Cacheable requests forwarded to a backend.",
       &cache::StoreCounters::misses},
      {"ballast_cache_stale_total",
       "Requests answered with a stale entry (stale-while-revalidate, stale-if-error).",
       &cache::StoreCounters::stale},
      {"ballast_cache_revalidated_total", "Stale entries a backend's 304 made fresh again.",
       &cache::StoreCounters::revalidated},
      {"ballast_cache_bypass_total", "Requests the cache does not answer (method, Range, body).",
       &cache::StoreCounters::bypass},
      {"ballast_cache_coalesced_total",
       "Misses that waited for another request's response and were answered from it.",
       &cache::StoreCounters::coalesced},
      {"ballast_cache_stores_total", "Responses stored.", &cache::StoreCounters::stores},
      {"ballast_cache_evictions_total", "Entries evicted to stay within max_size.",
       &cache::StoreCounters::evictions},
      {"ballast_cache_purged_total", "Entries removed by purge.", &cache::StoreCounters::purged},
      {"ballast_cache_hit_bytes_total", "Body bytes answered from the cache.",
       &cache::StoreCounters::hit_bytes},
  }};
  for (const auto& c : counters) {
    out.family(c.name, "counter", c.help);
    for (const auto& [listener, store] : stores) {
      out.sampleInt(c.name, {{"listener", listener}},
                    (store->counters().*c.field).load(std::memory_order_relaxed));
    }
  }
  out.family("ballast_cache_bytes", "gauge", "Bytes the cache holds (bodies, fields, overhead).");
  for (const auto& [listener, store] : stores) {
    out.sampleInt("ballast_cache_bytes", {{"listener", listener}}, store->bytes());
  }
  out.family("ballast_cache_entries", "gauge", "Responses the cache holds (each variant counts).");
  for (const auto& [listener, store] : stores) {
    out.sampleInt("ballast_cache_entries", {{"listener", listener}}, store->entries());
  }
  out.family("ballast_cache_max_bytes", "gauge", "The cache's max_size.");
  for (const auto& [listener, store] : stores) {
    out.sampleInt("ballast_cache_max_bytes", {{"listener", listener}}, store->maxBytes());
  }
}

// Per rate_limit rule (listener's and routes'), from the rule's shared counters; and the shared
// table's evictions.

// Pools with `sticky: {store}`: this node's copy of the sessions and how the store fares.
void writeStickyStoreMetrics(metrics::PrometheusWriter& out) {
  out.family("ballast_sticky_store_up", "gauge",
             "1 while the sticky-session store answers, 0 while it is unreachable.");
  out.family("ballast_sticky_store_sessions", "gauge",
             "Sticky sessions this node holds (its own and those the store told it of).");
  out.family("ballast_sticky_store_writes_total", "counter",
             "Pins written to the sticky-session store.");
  out.family("ballast_sticky_store_received_total", "counter",
             "Pins of other nodes received from the sticky-session store.");
  out.family(
      "ballast_sticky_store_fallbacks_total", "counter",
      "Pins made while the store was unreachable: kept on this node, written on its return.");
  out.family("ballast_sticky_store_failures_total", "counter",
             "Connections to the sticky-session store lost or refused.");
  out.family("ballast_sticky_store_resyncs_total", "counter",
             "Times this node pushed its unwritten pins and read the store back (each connect).");
  out.family("ballast_sticky_store_claims_lost_total", "counter",
             "New pins refused because another node had pinned the session first (its pin won).");
  out.family("ballast_sticky_store_evictions_total", "counter",
             "Live sessions dropped from this node's table because it was full.");
  policy::StickyStore::forEach([&](const policy::StickyStore& s) {
    const std::initializer_list<Label> l = {{"store", s.url()}};
    out.sampleInt("ballast_sticky_store_up", l, s.up() ? 1 : 0);
    out.sampleInt("ballast_sticky_store_sessions", l, s.sessions());
    out.sampleInt("ballast_sticky_store_writes_total", l, s.writes());
    out.sampleInt("ballast_sticky_store_received_total", l, s.received());
    out.sampleInt("ballast_sticky_store_fallbacks_total", l, s.fallbacks());
    out.sampleInt("ballast_sticky_store_failures_total", l, s.failures());
    out.sampleInt("ballast_sticky_store_resyncs_total", l, s.resyncs());
    out.sampleInt("ballast_sticky_store_claims_lost_total", l, s.claimsLost());
    out.sampleInt("ballast_sticky_store_evictions_total", l, s.evictions());
  });
}

void writeRateLimitMetrics(const config::Config& cfg, metrics::PrometheusWriter& out) {
  out.family("ballast_rate_limit_limited_total", "counter",
             "HTTP requests a rate_limit rule answered with 429.");
  out.family("ballast_rate_limit_dry_run_total", "counter",
             "HTTP requests a rate_limit rule in mode: dry_run would have refused.");
  out.family("ballast_rate_limit_store_errors_total", "counter",
             "Requests a store: rule decided by on_store_error (share empty, store unreachable).");
  const auto rule = [&](const config::Listener& l, const config::RateLimitRule& r) {
    if (r.store.enabled()) {
      out.sampleInt("ballast_rate_limit_store_errors_total",
                    {{"listener", l.name}, {"rule", r.name}},
                    r.stats->store_errors_total.load(std::memory_order_relaxed));
    }
    out.sampleInt("ballast_rate_limit_limited_total", {{"listener", l.name}, {"rule", r.name}},
                  r.stats->limited_total.load(std::memory_order_relaxed));
    out.sampleInt("ballast_rate_limit_dry_run_total", {{"listener", l.name}, {"rule", r.name}},
                  r.stats->dry_run_total.load(std::memory_order_relaxed));
  };
  for (const auto& l : cfg.listeners) {
    for (const auto& r : l.http.rate_limits) {
      rule(l, r);
    }
    for (const auto& route : l.http.routes) {
      for (const auto& r : route.rate_limits) {
        rule(l, r);
      }
    }
  }
  out.family("ballast_rate_limit_evictions_total", "counter",
             "Rate-limit keys that took the table slot of another key still limited (table full).");
  out.sampleInt("ballast_rate_limit_evictions_total", std::initializer_list<Label>{},
                policy::GcraTable::process().evictions());
  out.family("ballast_rate_limit_store_requests_total", "counter",
             "Leases of local shares asked of a rate-limit store (Redis commands, pipelined).");
  out.family("ballast_rate_limit_store_failures_total", "counter",
             "Refills of local shares that a rate-limit store did not answer.");
  out.family("ballast_rate_limit_store_up", "gauge",
             "1 while the rate-limit store answers, 0 while it is unreachable.");
  out.family("ballast_rate_limit_store_share_evictions_total", "counter",
             "Keys that took the local-share slot of another key still in use (table full).");
  policy::RedisStore::forEach([&](const policy::RedisStore& s) {
    out.sampleInt("ballast_rate_limit_store_requests_total", {{"store", s.url()}}, s.roundTrips());
    out.sampleInt("ballast_rate_limit_store_failures_total", {{"store", s.url()}}, s.failures());
    out.sampleInt("ballast_rate_limit_store_up", {{"store", s.url()}}, s.up() ? 1 : 0);
    out.sampleInt("ballast_rate_limit_store_share_evictions_total", {{"store", s.url()}},
                  s.shares().evictions());
  });
  writeStickyStoreMetrics(out);
}

// Pools with `circuit_breaker:` (or a backend's own max_connections): refusals by reason,
// requests in flight and waiting, and each backend's breaker.
void writeCircuitMetrics(const Snapshot& snap, metrics::PrometheusWriter& out) {
  const auto inUse = [](const upstream::PoolRuntime& p) {
    if (p.config->circuit_breaker.enabled) {
      return true;
    }
    for (const auto& b : p.config->backends) {
      if (b.max_connections != 0) {
        return true;
      }
    }
    return false;
  };
  out.family("ballast_circuit_refused_total", "counter",
             "Requests (HTTP, 503) and connections (TCP, closed) the pool's circuit breaker "
             "refused, by reason.");
  for (const auto& p : snap.pools) {
    if (!inUse(*p)) {
      continue;
    }
    for (size_t r = 0; r < upstream::kCircuitRefusals; ++r) {
      out.sampleInt(
          "ballast_circuit_refused_total",
          {{"pool", p->config->name},
           {"reason", upstream::circuitRefusalName(static_cast<upstream::CircuitRefusal>(r))}},
          p->circuit->refused[r].load(std::memory_order_relaxed));
    }
  }
  const auto poolGauge = [&](const char* name, const char* help, auto value) {
    out.family(name, "gauge", help);
    for (const auto& p : snap.pools) {
      if (p->config->circuit_breaker.enabled) {
        out.sampleInt(name, {{"pool", p->config->name}}, value(*p->circuit));
      }
    }
  };
  poolGauge(
      "ballast_pool_requests_active",
      "HTTP requests in flight to the pool (circuit_breaker max_requests), all workers.",
      [](const upstream::PoolCircuit& c) { return c.requests.load(std::memory_order_relaxed); });
  poolGauge(
      "ballast_pool_requests_pending",
      "HTTP requests waiting for a request slot (circuit_breaker max_pending).",
      [](const upstream::PoolCircuit& c) { return c.pending.load(std::memory_order_relaxed); });
  const auto backendFamily = [&](const char* name, const char* type, const char* help, auto value) {
    out.family(name, type, help);
    for (const auto& p : snap.pools) {
      if (!inUse(*p)) {
        continue;
      }
      for (const auto& b : p->backends) {
        out.sampleInt(name, {{"pool", p->config->name}, {"backend", b->name}},
                      static_cast<uint64_t>(value(*b)));
      }
    }
  };
  backendFamily("ballast_backend_upstream_connections", "gauge",
                "Upstream connections open to the backend (idle keep-alive ones too), all workers.",
                [](const upstream::BackendState& b) {
                  return b.connections.load(std::memory_order_relaxed);
                });
  backendFamily("ballast_backend_circuit_state", "gauge",
                "The backend's breaker: 0 closed, 1 open, 2 half-open.",
                [](const upstream::BackendState& b) { return b.breaker.state(); });
  backendFamily("ballast_backend_circuit_opened_total", "counter",
                "Times the backend's breaker opened (from closed or half-open).",
                [](const upstream::BackendState& b) { return b.breaker.openedTotal(); });
}

}  // namespace

void ControlThread::writeProxyMetrics(metrics::PrometheusWriter& out) const {
  const auto& cfg = *config_;  // while drained, listeners still show (with no traffic)
  const auto listeners = metrics::proxyMetrics().listenerTotals();
  const auto backends = metrics::proxyMetrics().backendTotals();

  const metrics::ProxyMetrics::ListenerTotals no_traffic;
  const auto totalsOf = [&](const config::Listener& l) -> const auto& {
    const auto it = listeners.find(l.name);
    return it == listeners.end() ? no_traffic : it->second;
  };
  // One counter family with a sample per listener (HTTP listeners only when http_only).
  const auto listenerCounter = [&](const char* name, const char* help, bool http_only, auto field) {
    out.family(name, "counter", help);
    for (const auto& l : cfg.listeners) {
      if (!http_only || config::isHttp(l.protocol)) {
        out.sampleInt(name, {{"listener", l.name}}, field(totalsOf(l)));
      }
    }
  };
  listenerCounter("ballast_listener_connections_total",
                  "Client connections (TCP, HTTP) or flows (UDP) accepted.", false,
                  [](const auto& t) { return t.connections_total; });
  out.family("ballast_listener_connections_active", "gauge", "Open client connections or flows.");
  for (const auto& l : cfg.listeners) {
    out.sample("ballast_listener_connections_active", {{"listener", l.name}},
               static_cast<double>(totalsOf(l).connections_active));
  }
  listenerCounter("ballast_listener_received_bytes_total",
                  "Bytes received from clients (HTTP: body bytes).", false,
                  [](const auto& t) { return t.bytes_in_total; });
  listenerCounter("ballast_listener_sent_bytes_total", "Bytes sent to clients (HTTP: body bytes).",
                  false, [](const auto& t) { return t.bytes_out_total; });
  listenerCounter("ballast_listener_timeouts_total", "Client-side timeouts (header, idle).", false,
                  [](const auto& t) { return t.timeouts_total; });
  listenerCounter("ballast_listener_client_aborts_total",
                  "HTTP exchanges the client left (a reset, its FIN mid-request, an HTTP/2 "
                  "RST_STREAM) before their response ended; logged with status 499 when no "
                  "response had begun.",
                  false, [](const auto& t) { return t.client_aborts_total; });
  listenerCounter("ballast_listener_rejected_total",
                  "Connections or datagrams refused by a limit (UDP flow table full).", false,
                  [](const auto& t) { return t.rejected_total; });
  static_assert(core::kAcceptErrorKinds == metrics::kAcceptErrorKinds);
  out.family("ballast_listener_accept_errors_total", "counter",
             "Failed accepts that paused a worker's accepting for a back-off (EMFILE: out of file "
             "descriptors), by reason.");
  for (const auto& l : cfg.listeners) {
    if (l.protocol == config::Protocol::kUdp) {
      continue;  // no accept
    }
    const auto& totals = totalsOf(l);
    for (size_t k = 0; k < core::kAcceptErrorKinds; ++k) {
      out.sampleInt("ballast_listener_accept_errors_total",
                    {{"listener", l.name}, {"reason", core::kAcceptErrorNames[k]}},
                    totals.accept_errors_total[k]);
    }
  }
  listenerCounter("ballast_listener_tls_errors_total",
                  "HTTPS: failed TLS handshakes and bad TLS records from clients.", true,
                  [](const auto& t) { return t.tls_errors_total; });
  static_assert(tls::kFailureKinds == metrics::kTlsFailureKinds);
  out.family("ballast_listener_tls_failures_total", "counter",
             "HTTPS: failed TLS handshakes and bad records from clients, by kind.");
  for (const auto& l : cfg.listeners) {
    if (l.protocol != config::Protocol::kHttps) {
      continue;
    }
    const auto& totals = totalsOf(l);
    for (size_t k = 0; k < tls::kFailureKinds; ++k) {
      out.sampleInt("ballast_listener_tls_failures_total",
                    {{"listener", l.name}, {"kind", tls::kFailureNames[k]}},
                    totals.tls_failures_total[k]);
    }
  }
  listenerCounter("ballast_listener_acl_denied_total",
                  "Connections (refused at accept), UDP flows or HTTP requests an acl denied.",
                  false, [](const auto& t) { return t.acl_denied_total; });
  listenerCounter(
      "ballast_listener_sticky_rejected_total",
      "Signed sticky cookies refused (forged, altered or expired); the algorithm picked.", true,
      [](const auto& t) { return t.sticky_rejected_total; });
  out.family("ballast_listener_per_ip_refused_total", "counter",
             "Connections refused at accept by a per-IP limit, by which one.");
  for (const auto& l : cfg.listeners) {
    if (!l.limits.perIpLimited()) {
      continue;
    }
    const auto& totals = totalsOf(l);
    out.sampleInt("ballast_listener_per_ip_refused_total",
                  {{"listener", l.name}, {"limit", "max_connections_per_ip"}},
                  totals.per_ip_max_refused_total);
    out.sampleInt("ballast_listener_per_ip_refused_total",
                  {{"listener", l.name}, {"limit", "connection_rate_per_ip"}},
                  totals.per_ip_rate_refused_total);
  }
  out.family("ballast_per_ip_table_full_total", "counter",
             "Connections admitted uncounted: no slot of the per-IP table was free for them.");
  out.sampleInt("ballast_per_ip_table_full_total", {},
                policy::ConnCountTable::process().tableFull());
  writeRateLimitMetrics(cfg, out);
  writeCacheMetrics(out);
  writeJwksMetrics(out);
  out.family("ballast_compressed_responses_total", "counter",
             "HTTP responses compressed on the way out (compress:), by coding.");
  for (const auto& l : cfg.listeners) {
    if (!config::isHttp(l.protocol)) {
      continue;
    }
    const auto& totals = totalsOf(l);
    for (const auto e :
         {compress::Encoding::kGzip, compress::Encoding::kZstd, compress::Encoding::kBrotli}) {
      out.sampleInt("ballast_compressed_responses_total",
                    {{"listener", l.name}, {"encoding", compress::encodingName(e)}},
                    totals.compressed_total[static_cast<size_t>(e)]);
    }
  }
  listenerCounter("ballast_compress_in_bytes_total", "Response body bytes given to the compressor.",
                  true, [](const auto& t) { return t.compress_in_bytes_total; });
  listenerCounter("ballast_compress_out_bytes_total",
                  "Compressed response body bytes sent (compare with _in_ for the ratio).", true,
                  [](const auto& t) { return t.compress_out_bytes_total; });
  static_assert(policy::kJwtResultCount == metrics::kJwtResultKinds);
  out.family("ballast_jwt_requests_total", "counter",
             "HTTP requests a jwt check saw, by outcome (missing: no token).");
  for (const auto& l : cfg.listeners) {
    bool jwt = l.http.jwt.enabled;
    for (const auto& r : l.http.routes) {
      jwt = jwt || (r.jwt && r.jwt->enabled);
    }
    if (!config::isHttp(l.protocol) || !jwt) {
      continue;
    }
    const auto& totals = totalsOf(l);
    for (size_t k = 0; k < metrics::kJwtResultKinds; ++k) {
      out.sampleInt("ballast_jwt_requests_total",
                    {{"listener", l.name},
                     {"result", policy::jwtResultName(static_cast<policy::JwtResult>(k))}},
                    totals.jwt_requests_total[k]);
    }
  }
  out.family("ballast_basic_auth_requests_total", "counter",
             "HTTP requests a basic_auth check saw, by outcome (missing: no credentials).");
  for (const auto& l : cfg.listeners) {
    bool basic = l.http.basic_auth.enabled;
    for (const auto& r : l.http.routes) {
      basic = basic || (r.basic_auth && r.basic_auth->enabled);
    }
    if (!config::isHttp(l.protocol) || !basic) {
      continue;
    }
    const auto& totals = totalsOf(l);
    for (size_t k = 0; k < metrics::kBasicAuthResultKinds; ++k) {
      out.sampleInt("ballast_basic_auth_requests_total",
                    {{"listener", l.name},
                     {"result", l7::basicAuthResultName(static_cast<l7::BasicAuthResult>(k))}},
                    totals.basic_auth_requests_total[k]);
    }
  }
  out.family("ballast_forward_auth_requests_total", "counter",
             "HTTP requests forward_auth decided, by outcome (error: the auth service gave no "
             "usable answer and the client got 503; cached_*: answered from the cache).");
  for (const auto& l : cfg.listeners) {
    bool forward = l.http.forward_auth.enabled;
    for (const auto& r : l.http.routes) {
      forward = forward || (r.forward_auth && r.forward_auth->enabled);
    }
    if (!config::isHttp(l.protocol) || !forward) {
      continue;
    }
    const auto& totals = totalsOf(l);
    for (size_t k = 0; k < metrics::kForwardAuthResultKinds; ++k) {
      out.sampleInt("ballast_forward_auth_requests_total",
                    {{"listener", l.name},
                     {"result", l7::forwardAuthResultName(static_cast<l7::ForwardAuthResult>(k))}},
                    totals.forward_auth_requests_total[k]);
    }
  }
  listenerCounter("ballast_listener_h2_errors_total",
                  "HTTP/2: malformed requests (reset) and connection protocol errors (GOAWAY).",
                  true, [](const auto& t) { return t.h2_errors_total; });
  static_assert(proto::grpc::kStatusCodes + 1 == metrics::kGrpcStatusKinds);
  out.family("ballast_listener_grpc_responses_total", "counter",
             "gRPC responses (content-type application/grpc) by grpc-status, from the trailers "
             "or a trailers-only head; codes seen so far.");
  for (const auto& l : cfg.listeners) {
    if (!config::isHttp(l.protocol)) {
      continue;
    }
    const auto& totals = totalsOf(l);
    for (size_t k = 0; k < metrics::kGrpcStatusKinds; ++k) {
      if (totals.grpc_responses_total[k] != 0) {
        out.sampleInt(
            "ballast_listener_grpc_responses_total",
            {{"listener", l.name}, {"code", proto::grpc::statusName(static_cast<uint32_t>(k))}},
            totals.grpc_responses_total[k]);
      }
    }
  }
  listenerCounter("ballast_listener_grpc_timeout_invalid_total",
                  "gRPC requests whose malformed grpc-timeout was ignored.", true,
                  [](const auto& t) { return t.grpc_timeout_invalid_total; });
  listenerCounter("ballast_listener_no_backend_total",
                  "Client connections (TCP) or requests (HTTP) that no backend could take.", false,
                  [](const auto& t) { return t.no_backend_total; });
  listenerCounter("ballast_listener_splice_pipes_total",
                  "TCP directions and large HTTP bodies moved to a kernel pipe (splice).", false,
                  [](const auto& t) { return t.splice_pipes_total; });
  listenerCounter("ballast_listener_splice_bytes_total",
                  "Bytes relayed through splice pipes, never copied to user space.", false,
                  [](const auto& t) { return t.splice_bytes_total; });
  listenerCounter("ballast_listener_splice_fallbacks_total",
                  "Pipes that could not be made (fd budget, EMFILE): the copy path went on.", false,
                  [](const auto& t) { return t.splice_fallbacks_total; });
  listenerCounter("ballast_listener_splice_pipes_idle_freed_total",
                  "Splice pipes closed because their direction went idle (it copies again).", false,
                  [](const auto& t) { return t.splice_pipes_idle_freed_total; });
  listenerCounter("ballast_http_requests_total", "HTTP requests answered, per listener.", true,
                  [](const auto& t) { return t.requests_total; });
  // tls_passthrough listeners only.
  const auto tlsCounter = [&](const char* name, const char* help, auto field) {
    out.family(name, "counter", help);
    for (const auto& l : cfg.listeners) {
      if (l.protocol == config::Protocol::kTlsPassthrough) {
        out.sampleInt(name, {{"listener", l.name}}, field(totalsOf(l)));
      }
    }
  };
  tlsCounter("ballast_tls_client_hello_malformed_total",
             "Connections closed because their TLS ClientHello was malformed.",
             [](const auto& t) { return t.tls_malformed_total; });
  tlsCounter("ballast_tls_no_route_total",
             "Connections closed because no sni entry matched and there is no default pool.",
             [](const auto& t) { return t.tls_no_route_total; });
  out.family("ballast_http_responses_total", "counter",
             "HTTP responses sent to clients, by status class.");
  for (const auto& l : cfg.listeners) {
    if (!config::isHttp(l.protocol)) {
      continue;
    }
    for (size_t c = 0; c < metrics::kStatusClasses; ++c) {
      out.sampleInt("ballast_http_responses_total",
                    {{"listener", l.name}, {"code", kClassNames[c]}},
                    totalsOf(l).responses_total[c]);
    }
  }
  const auto routes = metrics::proxyMetrics().routeTotals();
  out.family("ballast_route_requests_total", "counter", "HTTP requests matched by each route.");
  for (const auto& l : cfg.listeners) {
    for (const auto& r : l.http.routes) {
      const auto it = routes.find({l.name, r.name});
      out.sampleInt("ballast_route_requests_total", {{"listener", l.name}, {"route", r.name}},
                    it == routes.end() ? 0 : it->second.requests_total);
    }
  }
  out.family("ballast_route_responses_total", "counter",
             "HTTP responses to requests matched by each route, by status class.");
  for (const auto& l : cfg.listeners) {
    for (const auto& r : l.http.routes) {
      const auto it = routes.find({l.name, r.name});
      for (size_t c = 0; c < metrics::kStatusClasses; ++c) {
        out.sampleInt("ballast_route_responses_total",
                      {{"listener", l.name}, {"route", r.name}, {"code", kClassNames[c]}},
                      it == routes.end() ? 0 : it->second.responses_total[c]);
      }
    }
  }
  out.family("ballast_http_request_duration_seconds", "histogram",
             "Time from a request's first byte to its response's last byte.");
  for (const auto& l : cfg.listeners) {
    if (!config::isHttp(l.protocol)) {
      continue;
    }
    const auto& t = totalsOf(l);
    metrics::writeHistogram(out, "ballast_http_request_duration_seconds", {{"listener", l.name}},
                            t.duration_buckets, t.duration_sum_us);
  }

  // Backends: one series per backend in the running config, pools summed from them.
  struct Row {
    const std::string* pool;
    const upstream::BackendState* state;
    uint32_t weight;
    bool checked;
    metrics::ProxyMetrics::BackendTotals totals;
  };
  std::vector<Row> rows;
  const uint64_t now_ms = core::monotonicMs();
  for (const auto& p : snapshot_->pools) {
    for (size_t i = 0; i < p->backends.size(); ++i) {
      const auto& st = *p->backends[i];
      Row r{&p->config->name,
            &st,
            upstream::slowStartWeight(st.weight(p->config->backends[i].weight),
                                      st.up_since_ms.load(std::memory_order_relaxed), now_ms,
                                      static_cast<uint64_t>(p->config->slow_start.count())),
            health_ && health_->status(st).has_value(),
            {}};
      const auto it = backends.find({p->config->name, st.name});
      if (it != backends.end()) {
        r.totals = it->second;
      }
      rows.push_back(r);
    }
  }
  const auto counterFamily = [&](const char* name, const char* help, auto field) {
    out.family(name, "counter", help);
    for (const auto& r : rows) {
      out.sampleInt(name, {{"pool", *r.pool}, {"backend", r.state->name}}, field(r.totals));
    }
  };
  counterFamily("ballast_backend_connections_total", "Connections opened to the backend.",
                [](const auto& t) { return t.connections_total; });
  counterFamily("ballast_backend_connect_errors_total", "Failed connects to the backend.",
                [](const auto& t) { return t.connect_errors_total; });
  counterFamily("ballast_backend_retries_total",
                "Connections retried on another backend after this one failed.",
                [](const auto& t) { return t.retries_total; });
  // Pools with `retries:` only; reasons in config::RetryReason order, named as the l7.retry log
  // line names them.
  out.family("ballast_backend_http_retries_total", "counter",
             "HTTP tries of this backend that failed and were retried elsewhere, by reason.");
  for (const auto& r : rows) {
    const config::Pool* pc = cfg.findPool(*r.pool);
    if (pc == nullptr || !pc->retries.enabled) {
      continue;
    }
    for (size_t k = 0; k < metrics::kRetryReasonKinds; ++k) {
      const std::string_view reason = l7::retryReasonName(static_cast<config::RetryReason>(k));
      out.sampleInt("ballast_backend_http_retries_total",
                    {{"pool", *r.pool}, {"backend", r.state->name}, {"reason", reason}},
                    r.totals.http_retries_total[k]);
    }
  }
  counterFamily("ballast_backend_retry_budget_refused_total",
                "HTTP tries of this backend that failed and were not retried: retry budget spent.",
                [](const auto& t) { return t.retry_budget_refused_total; });
  counterFamily("ballast_backend_timeouts_total",
                "Connect and response-header timeouts against the backend.",
                [](const auto& t) { return t.timeouts_total; });
  counterFamily("ballast_backend_requests_total", "HTTP requests sent to the backend.",
                [](const auto& t) { return t.requests_total; });
  counterFamily("ballast_backend_received_bytes_total", "Bytes received from the backend.",
                [](const auto& t) { return t.bytes_in_total; });
  counterFamily("ballast_backend_sent_bytes_total", "Bytes sent to the backend.",
                [](const auto& t) { return t.bytes_out_total; });
  out.family("ballast_backend_responses_total", "counter",
             "HTTP responses from the backend, by status class.");
  for (const auto& r : rows) {
    for (size_t c = 0; c < metrics::kStatusClasses; ++c) {
      out.sampleInt("ballast_backend_responses_total",
                    {{"pool", *r.pool}, {"backend", r.state->name}, {"code", kClassNames[c]}},
                    r.totals.responses_total[c]);
    }
  }
  out.family("ballast_backend_response_duration_seconds", "histogram",
             "Time from a request sent to the backend to its response head.");
  for (const auto& r : rows) {
    metrics::writeHistogram(out, "ballast_backend_response_duration_seconds",
                            {{"pool", *r.pool}, {"backend", r.state->name}},
                            r.totals.duration_buckets, r.totals.duration_sum_us);
  }
  out.family("ballast_backend_active_connections", "gauge",
             "Open proxied connections to the backend, all workers.");
  for (const auto& r : rows) {
    out.sampleInt("ballast_backend_active_connections",
                  {{"pool", *r.pool}, {"backend", r.state->name}},
                  r.state->active.load(std::memory_order_relaxed));
  }
  out.family(
      "ballast_backend_up", "gauge",
      "1 when the backend takes new connections (healthy, not ejected, enabled, weight > 0).");
  for (const auto& r : rows) {
    const bool up = r.state->healthy.load(std::memory_order_relaxed) &&
                    !upstream::isEjected(*r.state) &&
                    !r.state->drained.load(std::memory_order_relaxed) && r.weight > 0;
    out.sampleInt("ballast_backend_up", {{"pool", *r.pool}, {"backend", r.state->name}},
                  up ? 1 : 0);
  }
  out.family("ballast_backend_healthy", "gauge",
             "Health-check verdict: 1 up, 0 down (1 when the pool has no checks).");
  for (const auto& r : rows) {
    out.sampleInt("ballast_backend_healthy", {{"pool", *r.pool}, {"backend", r.state->name}},
                  r.state->healthy.load(std::memory_order_relaxed) ? 1 : 0);
  }
  out.family("ballast_backend_ejected", "gauge",
             "1 while outlier detection keeps the backend out of its pool.");
  for (const auto& r : rows) {
    out.sampleInt("ballast_backend_ejected", {{"pool", *r.pool}, {"backend", r.state->name}},
                  upstream::isEjected(*r.state) ? 1 : 0);
  }
  out.family("ballast_outlier_ejections_total", "counter",
             "Ejections by outlier detection, by what the backend did.");
  for (const auto& r : rows) {
    for (size_t reason = 0; reason < upstream::OutlierState::kReasons; ++reason) {
      out.sampleInt(
          "ballast_outlier_ejections_total",
          {{"pool", *r.pool},
           {"backend", r.state->name},
           {"reason", upstream::ejectReasonName(static_cast<upstream::EjectReason>(reason))}},
          r.state->outlier.ejections_total[reason].load(std::memory_order_relaxed));
    }
  }
  out.family("ballast_backend_weight", "gauge",
             "Weight the pickers use: runtime override or config, scaled while slow start ramps.");
  for (const auto& r : rows) {
    out.sampleInt("ballast_backend_weight", {{"pool", *r.pool}, {"backend", r.state->name}},
                  r.weight);
  }
  out.family("ballast_backend_health_check_duration_seconds", "gauge",
             "Duration of the backend's last successful health check.");
  for (const auto& r : rows) {
    if (!r.checked) {
      continue;
    }
    constexpr double kUsPerSecond = 1e6;
    out.sample("ballast_backend_health_check_duration_seconds",
               {{"pool", *r.pool}, {"backend", r.state->name}},
               static_cast<double>(r.state->check_latency_us.load(std::memory_order_relaxed)) /
                   kUsPerSecond);
  }
  out.family("ballast_pool_backends_up", "gauge", "Backends of the pool taking new connections.");
  for (const auto& p : snapshot_->pools) {
    uint64_t up = 0;
    for (const auto& r : rows) {
      if (r.pool == &p->config->name && r.state->healthy.load(std::memory_order_relaxed) &&
          !upstream::isEjected(*r.state) && !r.state->drained.load(std::memory_order_relaxed) &&
          r.weight > 0) {
        ++up;
      }
    }
    out.sampleInt("ballast_pool_backends_up", {{"pool", p->config->name}}, up);
  }
  writeCircuitMetrics(*snapshot_, out);

  out.family("ballast_health_checks_total", "counter", "Health checks run.");
  out.sampleInt("ballast_health_checks_total", {}, health_ ? health_->checksRun() : 0);
  out.family("ballast_health_state_changes_total", "counter", "Backends that went up or down.");
  out.sampleInt("ballast_health_state_changes_total", {}, health_ ? health_->stateChanges() : 0);
  if (health_) {
    out.family("ballast_health_checks_by_type_total", "counter", "Health checks run, by type.");
    for (size_t t = 1; t < upstream::kHealthCheckTypes; ++t) {
      const auto type = config::healthCheckTypeName(static_cast<config::HealthCheckType>(t));
      out.sampleInt("ballast_health_checks_by_type_total", {{"type", std::string(type)}},
                    health_->checksByType()[t]);
    }
    out.family("ballast_health_check_failures_total", "counter",
               "Health checks that failed (refused, timed out, wrong answer), by type.");
    for (size_t t = 1; t < upstream::kHealthCheckTypes; ++t) {
      const auto type = config::healthCheckTypeName(static_cast<config::HealthCheckType>(t));
      out.sampleInt("ballast_health_check_failures_total", {{"type", std::string(type)}},
                    health_->failuresByType()[t]);
    }
  }
  out.family("ballast_config_generation", "gauge", "Generation of the running configuration.");
  out.sampleInt("ballast_config_generation", {}, snapshot_->generation);
  out.family("ballast_config_reloads_total", "counter", "Accepted reloads.");
  out.sampleInt("ballast_config_reloads_total", {}, reloads_total_);
  out.family("ballast_config_reload_failures_total", "counter", "Refused reloads.");
  out.sampleInt("ballast_config_reload_failures_total", {}, reload_failures_total_);
  out.family("ballast_audit_write_errors_total", "counter", "Audit records not written to file.");
  out.sampleInt("ballast_audit_write_errors_total", {}, audit_.writeErrors());
  out.family("ballast_log_gelf_dropped_total", "counter",
             "Log lines not shipped as GELF (send errors, over 8 KiB).");
  out.sampleInt("ballast_log_gelf_dropped_total", {}, control::gelfDropped());
  out.family("ballast_workers", "gauge", "Worker threads.");
  out.sampleInt("ballast_workers", {}, workers_.size());
  out.family("ballast_draining", "gauge", "1 while the node is drained (POST /api/v1/drain).");
  out.sampleInt("ballast_draining", {}, draining_ ? 1 : 0);
  out.family("ballast_build_info", "gauge", "Version and I/O backend; always 1.");
  out.sampleInt("ballast_build_info", {{"version", BALLAST_VERSION}, {"io", io_name_}}, 1);
  out.family("ballast_process_start_time_seconds", "gauge", "Start time, Unix seconds.");
  constexpr double kMsPerSecond = 1000.0;
  out.sample("ballast_process_start_time_seconds", {},
             static_cast<double>(started_unix_ms_) / kMsPerSecond);
  out.family("ballast_process_resident_memory_bytes", "gauge", "Resident set size.");
  out.sampleInt("ballast_process_resident_memory_bytes", {}, residentBytes());
  out.family("ballast_process_open_fds", "gauge", "Open file descriptors.");
  out.sampleInt("ballast_process_open_fds", {}, openFds());
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  out.family("ballast_process_cpu_seconds_total", "counter", "User and system CPU time.");
  constexpr double kUsPerSecond = 1e6;
  out.sample("ballast_process_cpu_seconds_total", {},
             static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
                 static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / kUsPerSecond);
}

// The admin and metrics servers: what they refused, evicted and timed out (#21). Counted on
// every event, since their log lines are rate-limited.
void ControlThread::writeControlMetrics(metrics::PrometheusWriter& out) const {
  std::vector<const control::AdminServer*> servers;
  for (const auto* s : {admin_.get(), metrics_server_.get()}) {
    if (s != nullptr) {
      servers.push_back(s);
    }
  }
  out.family("ballast_control_connections_accepted_total", "counter",
             "Connections the admin or metrics server admitted.");
  for (const auto* s : servers) {
    out.sampleInt("ballast_control_connections_accepted_total",
                  {{"server", s->policy().name}, {"socket", "tcp"}}, s->stats().accepted_tcp_total);
    out.sampleInt("ballast_control_connections_accepted_total",
                  {{"server", s->policy().name}, {"socket", "unix"}},
                  s->stats().accepted_unix_total);
  }
  out.family("ballast_control_connections_refused_total", "counter",
             "Connections closed at accept: not_allowed (outside admin.auth.allow), tcp_full, "
             "peer_full, unix_full; event_streams counts streams answered 503.");
  for (const auto* s : servers) {
    const auto& st = s->stats();
    const auto reasons = std::to_array<std::pair<const char*, uint64_t>>({
        {"not_allowed", st.refused_not_allowed_total},
        {"tcp_full", st.refused_full_total},
        {"peer_full", st.refused_peer_full_total},
        {"unix_full", st.refused_unix_full_total},
        {"event_streams", st.refused_event_streams_total},
    });
    for (const auto& [reason, n] : reasons) {
      out.sampleInt("ballast_control_connections_refused_total",
                    {{"server", s->policy().name}, {"reason", reason}}, n);
    }
  }
  out.family("ballast_control_connections_evicted_total", "counter",
             "Connections waiting for a request, closed to admit a new one at a full budget.");
  for (const auto* s : servers) {
    out.sampleInt("ballast_control_connections_evicted_total", {{"server", s->policy().name}},
                  s->stats().evicted_total);
  }
  out.family("ballast_control_timeouts_total", "counter",
             "Connections closed at a deadline: header, idle, handshake.");
  for (const auto* s : servers) {
    const auto& st = s->stats();
    const auto kinds = std::to_array<std::pair<const char*, uint64_t>>({
        {"header", st.header_timeouts_total},
        {"idle", st.idle_timeouts_total},
        {"handshake", st.handshake_timeouts_total},
    });
    for (const auto& [kind, n] : kinds) {
      out.sampleInt("ballast_control_timeouts_total",
                    {{"server", s->policy().name}, {"kind", kind}}, n);
    }
  }
  out.family("ballast_control_tls_failures_total", "counter", "Failed TLS handshakes or records.");
  for (const auto* s : servers) {
    out.sampleInt("ballast_control_tls_failures_total", {{"server", s->policy().name}},
                  s->stats().tls_failures_total);
  }
  out.family("ballast_control_connections", "gauge",
             "Connections holding a slot, by socket (event streams are counted apart).");
  for (const auto* s : servers) {
    out.sampleInt("ballast_control_connections", {{"server", s->policy().name}, {"socket", "tcp"}},
                  s->tcpConnections());
    out.sampleInt("ballast_control_connections", {{"server", s->policy().name}, {"socket", "unix"}},
                  s->unixConnections());
  }
  out.family("ballast_control_event_streams", "gauge", "Open event streams (SSE).");
  for (const auto* s : servers) {
    out.sampleInt("ballast_control_event_streams", {{"server", s->policy().name}},
                  s->eventStreams());
  }
}

std::string ControlThread::metricsText() const {
  metrics::PrometheusWriter out;
  writeProxyMetrics(out);
  writeControlMetrics(out);
  writeFailoverMetrics(out);
  out.family("ballast_tls_context_refreshes_total", "counter",
             "TLS contexts rebuilt from the certificate files without a reload, by result.");
  out.sampleInt("ballast_tls_context_refreshes_total", {{"result", "ok"}}, tls_refreshes_total_);
  out.sampleInt("ballast_tls_context_refreshes_total", {{"result", "failed"}},
                tls_refresh_failures_total_);
  writeDiscoveryMetrics(out);
  writeConfigSourceMetrics(out);
  if (acme_) {
    acme_->writeMetrics(out);
  }
  for (const control::Plane* plane :
       {kernel_plane_.get(), uplink_plane_.get(), static_cast<control::Plane*>(bgp_plane_.get())}) {
    if (plane != nullptr) {
      plane->writeMetrics(out);
    }
  }
  return out.take();
}

}  // namespace ballast::server
