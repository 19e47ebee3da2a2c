// src/metrics/proxy_metrics.h — the proxy plane's counters: per listener and per backend, one
// copy per worker. Workers look their copies up when a snapshot is applied (not per request)
// and keep plain pointers; copies live as long as the process, so a counter never goes back
// to zero across reloads and a pointer held by a draining connection stays valid.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "metrics/counters.h"
#include "metrics/prometheus_writer.h"

namespace ballast::metrics {

inline constexpr size_t kStatusClasses = 5;         // 1xx … 5xx
inline constexpr size_t kTlsFailureKinds = 9;       // tls::Failure (the tls layer checks the size)
inline constexpr size_t kCompressCodings = 4;       // compress::Encoding (kNone unused)
inline constexpr size_t kJwtResultKinds = 9;        // policy::JwtResult (l7 checks the size)
inline constexpr size_t kBasicAuthResultKinds = 5;  // l7::BasicAuthResult (l7 checks the size)
inline constexpr size_t kForwardAuthResultKinds = 5;  // l7::ForwardAuthResult (l7 checks it)
inline constexpr size_t kRetryReasonKinds = 7;        // config::RetryReason (l7 checks the size)
// grpc-status codes 0 … 16, then one bucket for any other (proto::grpc::kStatusCodes).
inline constexpr size_t kGrpcStatusKinds = 18;
inline constexpr size_t kAcceptErrorKinds = 5;  // core::AcceptError (server checks the size)

struct ListenerCounters {
  Counter connections_total;
  Gauge connections_active;
  Counter bytes_in_total;   // from clients
  Counter bytes_out_total;  // to clients
  Counter requests_total;   // HTTP
  std::array<Counter, kStatusClasses> responses_total;
  Counter timeouts_total;       // client-side: header, keep-alive, idle
  Counter client_aborts_total;  // HTTP exchanges the client left before their response ended
  Counter rejected_total;       // over max_connections / flow table full
  Counter tls_errors_total;     // https: failed handshakes and bad records
  std::array<Counter, kTlsFailureKinds> tls_failures_total;  // the same, by tls::Failure
  Counter h2_errors_total;      // HTTP/2: malformed requests and connection protocol errors
  Counter no_backend_total;     // connections or requests no backend could take (logs are limited)
  Counter tls_malformed_total;  // tls_passthrough: ClientHellos refused by the parser
  Counter tls_no_route_total;   // tls_passthrough: no sni entry matched and no default pool
  Counter acl_denied_total;     // connections (at accept), flows or requests an acl refused
  Counter sticky_rejected_total;  // signed sticky cookies refused: forged, altered or expired
  // Connections refused at accept by the per-IP limits: max_connections_per_ip, then the rate.
  Counter per_ip_max_refused_total;
  Counter per_ip_rate_refused_total;
  std::array<Counter, kJwtResultKinds> jwt_requests_total;  // jwt checks, by policy::JwtResult
  // compress: responses compressed, by compress::Encoding, and their body bytes before and after.
  std::array<Counter, kCompressCodings> compressed_total;
  Counter compress_in_bytes_total;
  Counter compress_out_bytes_total;
  std::array<Counter, kBasicAuthResultKinds> basic_auth_requests_total;      // by BasicAuthResult
  std::array<Counter, kForwardAuthResultKinds> forward_auth_requests_total;  // by its result
  Histogram request_duration;  // HTTP: first request byte to last response byte
  std::array<Counter, kGrpcStatusKinds> grpc_responses_total;  // gRPC answers by grpc-status
  Counter grpc_timeout_invalid_total;  // gRPC requests whose grpc-timeout was ignored
  // TCP: bulk directions moved to a kernel pipe (splice), the bytes moved so, and pipes that
  // could not be made (fd budget, EMFILE), whose direction stayed on the copy path.
  Counter splice_pipes_total;
  Counter splice_bytes_total;
  Counter splice_fallbacks_total;
  Counter splice_pipes_idle_freed_total;  // pipes closed while their session went on (idle)
  // accept(2) failures that paused this worker's acceptor (EMFILE …), by core::AcceptError.
  std::array<Counter, kAcceptErrorKinds> accept_errors_total;

  void countStatus(uint16_t status) {
    if (status >= 100 && status < 600) {
      responses_total[status / 100 - 1].add();
    }
  }
  void countGrpcStatus(uint32_t code) {
    grpc_responses_total[std::min<size_t>(code, kGrpcStatusKinds - 1)].add();
  }
};

struct BackendCounters {
  Counter connections_total;  // connections opened to the backend
  Counter connect_errors_total;
  Counter retries_total;  // another backend was tried after this one failed
  // HTTP `retries:`: this backend's failed tries that were retried, by config::RetryReason, and
  // those that were not because the pool's retry budget was spent.
  std::array<Counter, kRetryReasonKinds> http_retries_total;
  Counter retry_budget_refused_total;
  Counter timeouts_total;  // connect or response-header timeouts
  Counter requests_total;  // HTTP requests sent
  std::array<Counter, kStatusClasses> responses_total;
  Counter bytes_in_total;       // from the backend
  Counter bytes_out_total;      // to the backend
  Histogram response_duration;  // HTTP: request sent to response head received

  void countStatus(uint16_t status) {
    if (status >= 100 && status < 600) {
      responses_total[status / 100 - 1].add();
    }
  }
};

struct RouteCounters {
  Counter requests_total;
  std::array<Counter, kStatusClasses> responses_total;

  void countStatus(uint16_t status) {
    if (status >= 100 && status < 600) {
      responses_total[status / 100 - 1].add();
    }
  }
};

// One worker's counters. Lookups take a lock; they happen when a snapshot is applied.
class WorkerMetrics {
 public:
  ListenerCounters& listener(const std::string& name);
  BackendCounters& backend(const std::string& pool, const std::string& address);
  RouteCounters& route(const std::string& listener, const std::string& route);

 private:
  friend class ProxyMetrics;
  mutable std::mutex mu_;
  std::map<std::string, std::unique_ptr<ListenerCounters>> listeners_;
  std::map<std::pair<std::string, std::string>, std::unique_ptr<BackendCounters>> backends_;
  std::map<std::pair<std::string, std::string>, std::unique_ptr<RouteCounters>> routes_;
};

// Every worker's counters, summed at scrape.
class ProxyMetrics {
 public:
  WorkerMetrics& worker(uint32_t index);

  struct ListenerTotals {
    uint64_t connections_total = 0;
    int64_t connections_active = 0;
    uint64_t bytes_in_total = 0;
    uint64_t bytes_out_total = 0;
    uint64_t requests_total = 0;
    std::array<uint64_t, kStatusClasses> responses_total{};
    uint64_t timeouts_total = 0;
    uint64_t client_aborts_total = 0;
    uint64_t rejected_total = 0;
    uint64_t tls_errors_total = 0;
    std::array<uint64_t, kTlsFailureKinds> tls_failures_total{};
    uint64_t h2_errors_total = 0;
    uint64_t no_backend_total = 0;
    uint64_t tls_malformed_total = 0;
    uint64_t tls_no_route_total = 0;
    uint64_t splice_pipes_total = 0;
    uint64_t splice_bytes_total = 0;
    uint64_t splice_fallbacks_total = 0;
    uint64_t splice_pipes_idle_freed_total = 0;
    uint64_t acl_denied_total = 0;
    uint64_t sticky_rejected_total = 0;
    uint64_t per_ip_max_refused_total = 0;
    uint64_t per_ip_rate_refused_total = 0;
    std::array<uint64_t, kJwtResultKinds> jwt_requests_total{};
    std::array<uint64_t, kCompressCodings> compressed_total{};
    uint64_t compress_in_bytes_total = 0;
    uint64_t compress_out_bytes_total = 0;
    std::array<uint64_t, kBasicAuthResultKinds> basic_auth_requests_total{};
    std::array<uint64_t, kForwardAuthResultKinds> forward_auth_requests_total{};
    std::array<uint64_t, kLatencyBucketsUs.size() + 1> duration_buckets{};
    uint64_t duration_sum_us = 0;
    std::array<uint64_t, kGrpcStatusKinds> grpc_responses_total{};
    uint64_t grpc_timeout_invalid_total = 0;
    std::array<uint64_t, kAcceptErrorKinds> accept_errors_total{};
  };
  struct BackendTotals {
    uint64_t connections_total = 0;
    uint64_t connect_errors_total = 0;
    uint64_t retries_total = 0;
    std::array<uint64_t, kRetryReasonKinds> http_retries_total{};
    uint64_t retry_budget_refused_total = 0;
    uint64_t timeouts_total = 0;
    uint64_t requests_total = 0;
    std::array<uint64_t, kStatusClasses> responses_total{};
    uint64_t bytes_in_total = 0;
    uint64_t bytes_out_total = 0;
    std::array<uint64_t, kLatencyBucketsUs.size() + 1> duration_buckets{};
    uint64_t duration_sum_us = 0;
  };
  std::map<std::string, ListenerTotals> listenerTotals() const;
  std::map<std::pair<std::string, std::string>, BackendTotals> backendTotals() const;
  struct RouteTotals {
    uint64_t requests_total = 0;
    std::array<uint64_t, kStatusClasses> responses_total{};
  };
  std::map<std::pair<std::string, std::string>, RouteTotals> routeTotals() const;

 private:
  mutable std::mutex mu_;
  std::vector<std::unique_ptr<WorkerMetrics>> workers_;
};

// The process's proxy counters (one proxy plane per process).
ProxyMetrics& proxyMetrics();

// Writes a histogram family's samples (cumulative buckets in seconds, _sum, _count).
void writeHistogram(PrometheusWriter& out, const std::string& name,
                    std::initializer_list<Label> labels,
                    const std::array<uint64_t, kLatencyBucketsUs.size() + 1>& buckets,
                    uint64_t sum_us);

}  // namespace ballast::metrics
