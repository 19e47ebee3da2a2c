// src/server/jwks_fetcher.cpp — the fetch loop, its backoff, and the JWKS metrics.
#include "server/jwks_fetcher.h"

#include <algorithm>
#include <chrono>
#include <set>
#include <vector>

#include "acme/http_client.h"
#include "core/clock.h"
#include "core/log.h"

namespace ballast::server {
namespace {

constexpr uint64_t kTickMs = 1000;
constexpr uint64_t kFirstRetryMs = 5000;
constexpr long kHttpOk = 200;

}  // namespace

JwksFetcher::JwksFetcher() : thread_([this] { run(); }) {}

JwksFetcher::~JwksFetcher() {
  {
    const std::lock_guard lock(mu_);
    stop_.store(true, std::memory_order_relaxed);
  }
  wake_.notify_all();
  thread_.join();
}

void JwksFetcher::poke() {
  {
    const std::lock_guard lock(mu_);
    poked_ = true;
  }
  wake_.notify_all();
}

void JwksFetcher::run() {
  while (!stop_.load(std::memory_order_relaxed)) {
    const auto sources = policy::liveJwksSources();
    std::set<const policy::JwksSource*> live;
    for (const auto& s : sources) {
      live.insert(s.get());
      Due& d = due_[s.get()];  // a new source is due at once (at_ms 0)
      if (core::monotonicMs() >= d.at_ms && !stop_.load(std::memory_order_relaxed)) {
        fetch(*s);
      }
    }
    std::erase_if(due_, [&live](const auto& kv) { return !live.contains(kv.first); });
    std::unique_lock lock(mu_);
    wake_.wait_for(lock, std::chrono::milliseconds(kTickMs),
                   [this] { return poked_ || stop_.load(std::memory_order_relaxed); });
    poked_ = false;
  }
}

void JwksFetcher::fetch(policy::JwksSource& source) {
  const acme::HttpClient client(source.ca(), stop_);
  const acme::HttpReply reply = client.get(source.url());
  std::string why;
  std::shared_ptr<const policy::Jwks> keys;
  if (reply.status == 0) {
    why = reply.error;
  } else if (reply.status != kHttpOk) {
    why = "HTTP status " + std::to_string(reply.status);
  } else {
    const policy::JwksParse parsed = policy::parseJwks(reply.body);
    if (!parsed.jwks) {
      why = parsed.error;
    } else if (parsed.jwks->keys.empty()) {
      why = "no usable key";
    } else {
      keys = parsed.jwks;
    }
  }
  Due& d = due_[&source];
  const uint64_t now = core::monotonicMs();
  if (keys) {
    const auto before = source.current();
    const size_t count = keys->keys.size();
    source.set(std::move(keys), core::unixMs());
    d.backoff_ms = 0;
    d.at_ms = now + source.refreshMs();
    core::LogLine(before ? core::LogLevel::kDebug : core::LogLevel::kInfo, "jwt.jwks_fetched")
        .str("url", source.url())
        .unum("keys", count);
    return;
  }
  source.recordFailure(why);
  d.backoff_ms = d.backoff_ms == 0 ? kFirstRetryMs : std::min(d.backoff_ms * 2, source.refreshMs());
  d.at_ms = now + d.backoff_ms;
  core::LogLine(core::LogLevel::kWarn, "jwt.jwks_fetch_failed", core::LogRepeat::kLimited)
      .str("url", source.url())
      .str("reason", why)
      .str("keeping", source.current() ? "last good keys" : "no keys yet");
}

void writeJwksMetrics(metrics::PrometheusWriter& out) {
  const auto sources = policy::liveJwksSources();
  if (sources.empty()) {
    return;
  }
  std::vector<std::pair<std::string, policy::JwksSource::Stats>> stats;
  for (const auto& s : sources) {
    stats.emplace_back(s->url(), s->stats());
  }
  out.family("ballast_jwks_fetches_total", "counter", "JWKS fetches from jwks_url, by URL.");
  for (const auto& [url, st] : stats) {
    out.sampleInt("ballast_jwks_fetches_total", {{"url", url}}, st.fetches);
  }
  out.family("ballast_jwks_fetch_failures_total", "counter",
             "JWKS fetches that failed (the last good keys kept serving).");
  for (const auto& [url, st] : stats) {
    out.sampleInt("ballast_jwks_fetch_failures_total", {{"url", url}}, st.failures);
  }
  out.family("ballast_jwks_keys", "gauge", "Keys held from the last good fetch (0: none yet).");
  for (const auto& [url, st] : stats) {
    out.sampleInt("ballast_jwks_keys", {{"url", url}}, st.keys);
  }
  out.family("ballast_jwks_last_success_timestamp_seconds", "gauge",
             "When the keys were last fetched (0: never).");
  for (const auto& [url, st] : stats) {
    out.sampleInt("ballast_jwks_last_success_timestamp_seconds", {{"url", url}},
                  st.last_ok_unix_ms / 1000);
  }
}

}  // namespace ballast::server
