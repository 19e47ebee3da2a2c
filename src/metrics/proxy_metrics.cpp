// src/metrics/proxy_metrics.cpp — per-worker counter lookup and scrape-time sums.
#include "metrics/proxy_metrics.h"

#include <charconv>
#include <string_view>
#include <vector>

namespace ballast::metrics {

ListenerCounters& WorkerMetrics::listener(const std::string& name) {
  const std::lock_guard lock(mu_);
  auto& slot = listeners_[name];
  if (!slot) {
    slot = std::make_unique<ListenerCounters>();
  }
  return *slot;
}

BackendCounters& WorkerMetrics::backend(const std::string& pool, const std::string& address) {
  const std::lock_guard lock(mu_);
  auto& slot = backends_[{pool, address}];
  if (!slot) {
    slot = std::make_unique<BackendCounters>();
  }
  return *slot;
}

RouteCounters& WorkerMetrics::route(const std::string& listener, const std::string& route) {
  const std::lock_guard lock(mu_);
  auto& slot = routes_[{listener, route}];
  if (!slot) {
    slot = std::make_unique<RouteCounters>();
  }
  return *slot;
}

WorkerMetrics& ProxyMetrics::worker(uint32_t index) {
  const std::lock_guard lock(mu_);
  while (workers_.size() <= index) {
    workers_.push_back(std::make_unique<WorkerMetrics>());
  }
  return *workers_[index];
}

namespace {

template <typename Array>
void addAll(Array& into, const Array& from) {
  for (size_t i = 0; i < into.size(); ++i) {
    into[i] += from[i];
  }
}

template <typename Counters>
std::array<uint64_t, kStatusClasses> statusValues(const Counters& c) {
  std::array<uint64_t, kStatusClasses> out{};
  for (size_t i = 0; i < kStatusClasses; ++i) {
    out[i] = c.responses_total[i].value();
  }
  return out;
}

std::array<uint64_t, kLatencyBucketsUs.size() + 1> bucketValues(const Histogram& h) {
  std::array<uint64_t, kLatencyBucketsUs.size() + 1> out{};
  for (size_t i = 0; i < out.size(); ++i) {
    out[i] = h.bucket(i);
  }
  return out;
}

}  // namespace

std::map<std::string, ProxyMetrics::ListenerTotals> ProxyMetrics::listenerTotals() const {
  std::map<std::string, ListenerTotals> out;
  const std::lock_guard lock(mu_);
  for (const auto& w : workers_) {
    const std::lock_guard wlock(w->mu_);
    for (const auto& [name, c] : w->listeners_) {
      auto& t = out[name];
      t.connections_total += c->connections_total.value();
      t.connections_active += c->connections_active.value();
      t.bytes_in_total += c->bytes_in_total.value();
      t.bytes_out_total += c->bytes_out_total.value();
      t.requests_total += c->requests_total.value();
      addAll(t.responses_total, statusValues(*c));
      t.timeouts_total += c->timeouts_total.value();
      t.client_aborts_total += c->client_aborts_total.value();
      t.rejected_total += c->rejected_total.value();
      t.tls_errors_total += c->tls_errors_total.value();
      t.acl_denied_total += c->acl_denied_total.value();
      t.sticky_rejected_total += c->sticky_rejected_total.value();
      t.per_ip_max_refused_total += c->per_ip_max_refused_total.value();
      t.per_ip_rate_refused_total += c->per_ip_rate_refused_total.value();
      for (size_t k = 0; k < kTlsFailureKinds; ++k) {
        t.tls_failures_total[k] += c->tls_failures_total[k].value();
      }
      for (size_t k = 0; k < kAcceptErrorKinds; ++k) {
        t.accept_errors_total[k] += c->accept_errors_total[k].value();
      }
      for (size_t k = 0; k < kCompressCodings; ++k) {
        t.compressed_total[k] += c->compressed_total[k].value();
      }
      t.compress_in_bytes_total += c->compress_in_bytes_total.value();
      t.compress_out_bytes_total += c->compress_out_bytes_total.value();
      for (size_t k = 0; k < kJwtResultKinds; ++k) {
        t.jwt_requests_total[k] += c->jwt_requests_total[k].value();
      }
      for (size_t k = 0; k < kBasicAuthResultKinds; ++k) {
        t.basic_auth_requests_total[k] += c->basic_auth_requests_total[k].value();
      }
      for (size_t k = 0; k < kForwardAuthResultKinds; ++k) {
        t.forward_auth_requests_total[k] += c->forward_auth_requests_total[k].value();
      }
      for (size_t k = 0; k < kGrpcStatusKinds; ++k) {
        t.grpc_responses_total[k] += c->grpc_responses_total[k].value();
      }
      t.grpc_timeout_invalid_total += c->grpc_timeout_invalid_total.value();
      t.h2_errors_total += c->h2_errors_total.value();
      t.no_backend_total += c->no_backend_total.value();
      t.tls_malformed_total += c->tls_malformed_total.value();
      t.tls_no_route_total += c->tls_no_route_total.value();
      t.splice_pipes_total += c->splice_pipes_total.value();
      t.splice_bytes_total += c->splice_bytes_total.value();
      t.splice_fallbacks_total += c->splice_fallbacks_total.value();
      t.splice_pipes_idle_freed_total += c->splice_pipes_idle_freed_total.value();
      addAll(t.duration_buckets, bucketValues(c->request_duration));
      t.duration_sum_us += c->request_duration.sumUs();
    }
  }
  return out;
}

std::map<std::pair<std::string, std::string>, ProxyMetrics::BackendTotals>
ProxyMetrics::backendTotals() const {
  std::map<std::pair<std::string, std::string>, BackendTotals> out;
  const std::lock_guard lock(mu_);
  for (const auto& w : workers_) {
    const std::lock_guard wlock(w->mu_);
    for (const auto& [key, c] : w->backends_) {
      auto& t = out[key];
      t.connections_total += c->connections_total.value();
      t.connect_errors_total += c->connect_errors_total.value();
      t.retries_total += c->retries_total.value();
      for (size_t k = 0; k < kRetryReasonKinds; ++k) {
        t.http_retries_total[k] += c->http_retries_total[k].value();
      }
      t.retry_budget_refused_total += c->retry_budget_refused_total.value();
      t.timeouts_total += c->timeouts_total.value();
      t.requests_total += c->requests_total.value();
      addAll(t.responses_total, statusValues(*c));
      t.bytes_in_total += c->bytes_in_total.value();
      t.bytes_out_total += c->bytes_out_total.value();
      addAll(t.duration_buckets, bucketValues(c->response_duration));
      t.duration_sum_us += c->response_duration.sumUs();
    }
  }
  return out;
}

std::map<std::pair<std::string, std::string>, ProxyMetrics::RouteTotals> ProxyMetrics::routeTotals()
    const {
  std::map<std::pair<std::string, std::string>, RouteTotals> out;
  const std::lock_guard lock(mu_);
  for (const auto& w : workers_) {
    const std::lock_guard wlock(w->mu_);
    for (const auto& [key, c] : w->routes_) {
      auto& t = out[key];
      t.requests_total += c->requests_total.value();
      addAll(t.responses_total, statusValues(*c));
    }
  }
  return out;
}

ProxyMetrics& proxyMetrics() {
  static ProxyMetrics metrics;
  return metrics;
}

void writeHistogram(PrometheusWriter& out, const std::string& name,
                    std::initializer_list<Label> labels,
                    const std::array<uint64_t, kLatencyBucketsUs.size() + 1>& buckets,
                    uint64_t sum_us) {
  constexpr double kUsPerSecond = 1e6;
  std::vector<Label> with_le(labels);
  with_le.push_back({"le", ""});
  uint64_t cumulative = 0;
  const std::string bucket_name = name + "_bucket";
  for (size_t i = 0; i < buckets.size(); ++i) {
    cumulative += buckets[i];
    std::string le = "+Inf";
    if (i < kLatencyBucketsUs.size()) {
      std::array<char, 32> buf{};
      const auto res = std::to_chars(buf.data(), buf.data() + buf.size(),
                                     static_cast<double>(kLatencyBucketsUs[i]) / kUsPerSecond);
      le.assign(buf.data(), res.ptr);
    }
    with_le.back().value = le;
    out.sampleInt(bucket_name, with_le, cumulative);
  }
  const std::span<const Label> plain(labels.begin(), labels.size());
  out.sample(name + "_sum", plain, static_cast<double>(sum_us) / kUsPerSecond);
  out.sampleInt(name + "_count", plain, cumulative);
}

}  // namespace ballast::metrics
