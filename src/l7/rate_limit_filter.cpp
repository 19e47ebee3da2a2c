// src/l7/rate_limit_filter.cpp — keys, GCRA decisions and the 429 answer
// (draft-ietf-httpapi-ratelimit-headers-10: RateLimit-Policy and RateLimit as structured
// fields, plus RFC 9110 Retry-After).
#include "l7/rate_limit_filter.h"

#include <xxhash.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <ctime>

#include "core/log.h"
#include "l7/request_key.h"
#include "policy/client_prefix.h"
#include "proto/http1/syntax.h"

namespace ballast::l7 {
namespace {

constexpr uint16_t kTooManyRequests = 429;
constexpr uint64_t kUsPerSecond = 1'000'000;

uint64_t mix(uint64_t seed, const void* data, size_t len) {
  return XXH3_64bits_withSeed(data, len, seed);
}

std::string_view findHeader(std::span<const proto::http1::Header> headers, std::string_view name) {
  for (const auto& h : headers) {
    if (proto::http1::equalsIgnoreCase(h.name, name)) {
      return h.value;
    }
  }
  return {};
}

uint64_t secondsUp(uint64_t us) { return (us + kUsPerSecond - 1) / kUsPerSecond; }

}  // namespace

std::optional<uint64_t> rateLimitKey(const config::RateLimitRule& rule, const RequestView& request,
                                     const net::SocketAddress& client, VerifiedClaims claims) {
  uint64_t h = rule.id;
  for (const auto& part : rule.key) {
    std::string_view value;
    switch (part.kind) {
      case config::RateKeyKind::kSourceIp:
        h = policy::hashClientPrefix(h, client, rule.ipv4_prefix, rule.ipv6_prefix);
        continue;
      case config::RateKeyKind::kJwtClaim: {
        const auto it = std::find_if(claims.begin(), claims.end(),
                                     [&part](const auto& c) { return c.first == part.name; });
        // A tag per branch, so a claim whose value happens to hash like an address never
        // shares a bucket with that address.
        const char tag = it == claims.end() ? 'i' : 'c';
        h = mix(h, &tag, 1);
        h = it == claims.end()
                ? policy::hashClientPrefix(h, client, rule.ipv4_prefix, rule.ipv6_prefix)
                : mix(h, it->second.data(), it->second.size());
        continue;
      }
      case config::RateKeyKind::kPath:
        value = request.target.substr(0, request.target.find('?'));
        break;
      case config::RateKeyKind::kHeader:
        value = findHeader(request.headers, part.name);
        break;
      case config::RateKeyKind::kCookie:
        value = findCookie(request.headers, part.name);
        break;
    }
    if (value.empty() && part.kind != config::RateKeyKind::kPath) {
      return std::nullopt;
    }
    h = mix(h, value.data(), value.size());
  }
  return h;
}

RateLimitFilter::RateLimitFilter(const config::Listener& listener, policy::GcraTable& table,
                                 Clock clock, RateLimitStage stage)
    : listener_(listener), table_(table), clock_(clock), stage_(stage) {
  const auto resolve = [this](const std::vector<config::RateLimitRule>& rules) {
    for (const auto& rule : rules) {
      if (rule.store.enabled()) {
        stores_.emplace_back(&rule,
                             &policy::RedisStore::forEndpoint(rule.store.host, rule.store.port));
      }
    }
  };
  resolve(listener_.http.rate_limits);
  for (const auto& route : listener_.http.routes) {
    resolve(route.rate_limits);
  }
}

policy::RedisStore* RateLimitFilter::storeOf(const config::RateLimitRule& rule) const {
  for (const auto& [r, store] : stores_) {
    if (r == &rule) {
      return store;
    }
  }
  return nullptr;
}

policy::GcraDecision RateLimitFilter::takeShared(const config::RateLimitRule& rule,
                                                 policy::RedisStore& store, uint64_t key,
                                                 const policy::GcraLimit& limit, uint64_t now_us) {
  const uint32_t lease = policy::leaseSize(rule.rate, rule.period_s * kUsPerSecond, rule.burst);
  const policy::ShareDecision s = store.shares().take(key, lease, now_us, store.up());
  if (s.refill) {
    store.requestRefill({key, rule.id, limit.interval_us, limit.toleranceUs(), s.slot, lease});
  }
  policy::GcraDecision d;
  switch (s.outcome) {
    case policy::ShareDecision::kAllowed:
      d.allowed = true;
      d.remaining = static_cast<uint64_t>(s.remaining);
      d.reset_us = (limit.burst - std::min(limit.burst, d.remaining)) * limit.interval_us;
      return d;
    case policy::ShareDecision::kRefused:
      d.retry_after_us = s.retry_after_us;
      d.reset_us = limit.toleranceUs();
      return d;
    case policy::ShareDecision::kStoreDown:
      break;
  }
  rule.stats->store_errors_total.fetch_add(1, std::memory_order_relaxed);
  // One line per rule and outage, whatever the request rate.
  const uint64_t outage = store.outages();
  std::atomic<uint64_t>& logged = rule.stats->store_outage_logged;
  if (logged.load(std::memory_order_relaxed) != outage &&
      logged.exchange(outage, std::memory_order_relaxed) != outage) {
    constexpr std::array<const char*, 3> kFallbacks = {"allow", "deny", "local"};
    core::LogLine(core::LogLevel::kWarn, "l7.rate_limit_store_fallback")
        .str("listener", listener_.name)
        .str("rule", rule.name)
        .str("store", store.url())
        .str("fallback", kFallbacks[static_cast<size_t>(rule.on_store_error)]);
  }
  switch (rule.on_store_error) {
    case config::StoreFallback::kAllow:
      d.allowed = true;
      return d;
    case config::StoreFallback::kDeny:
      d.retry_after_us = kUsPerSecond;
      d.reset_us = kUsPerSecond;
      return d;
    case config::StoreFallback::kLocal:
      break;
  }
  return table_.take(key, limit, now_us);
}

uint64_t RateLimitFilter::monotonicUs() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  constexpr uint64_t kNsPerUs = 1000;
  return static_cast<uint64_t>(ts.tv_sec) * kUsPerSecond +
         static_cast<uint64_t>(ts.tv_nsec) / kNsPerUs + 1;
}

Verdict RateLimitFilter::onRequest(Exchange& ex, const RequestView& request,
                                   const net::SocketAddress& client) {
  const uint64_t now = clock_();
  for (const auto& rule : listener_.http.rate_limits) {
    if (const Verdict v = apply(rule, ex, request, client, now); !v.proceed()) {
      return v;
    }
  }
  if (ex.route_config != nullptr) {
    for (const auto& rule : ex.route_config->rate_limits) {
      if (const Verdict v = apply(rule, ex, request, client, now); !v.proceed()) {
        return v;
      }
    }
  }
  return {};
}

Verdict RateLimitFilter::apply(const config::RateLimitRule& rule, Exchange& ex,
                               const RequestView& request, const net::SocketAddress& client,
                               uint64_t now_us) {
  if (rule.keyedOnClaim() != (stage_ == RateLimitStage::kAfterJwt)) {
    return {};  // the other stage's rule
  }
  const auto key = rateLimitKey(rule, request, client, ex.jwt_claims);
  if (!key) {
    return {};
  }
  const auto limit = policy::GcraLimit::of(rule.rate, rule.period_s * kUsPerSecond, rule.burst);
  policy::RedisStore* store = rule.store.enabled() ? storeOf(rule) : nullptr;
  const policy::GcraDecision d = store != nullptr ? takeShared(rule, *store, *key, limit, now_us)
                                                  : table_.take(*key, limit, now_us);
  if (d.allowed) {
    if (!rule.dry_run && (ex.rate_limit.rule.empty() || d.remaining < ex.rate_limit.remaining)) {
      ex.rate_limit = {rule.name, rule.rate, rule.period_s, d.remaining, secondsUp(d.reset_us)};
    }
    return {};
  }
  (rule.dry_run ? rule.stats->dry_run_total : rule.stats->limited_total)
      .fetch_add(1, std::memory_order_relaxed);
  core::LogLine(core::LogLevel::kInfo, "l7.rate_limited", core::LogRepeat::kLimited)
      .str("listener", listener_.name)
      .str("rule", rule.name)
      .str("client", client.hostString())
      .str("mode", rule.dry_run ? "dry_run" : "enforce");
  if (rule.dry_run) {
    return {};
  }
  const uint64_t retry = std::max<uint64_t>(1, secondsUp(d.retry_after_us));
  std::array<char, 512> buf{};
  const int n = snprintf(buf.data(), buf.size(),
                         "Retry-After: %llu\r\nRateLimit-Policy: \"%s\";q=%llu;w=%llu\r\n"
                         "RateLimit: \"%s\";r=0;t=%llu\r\n",
                         static_cast<unsigned long long>(retry), rule.name.c_str(),
                         static_cast<unsigned long long>(rule.rate),
                         static_cast<unsigned long long>(rule.period_s), rule.name.c_str(),
                         static_cast<unsigned long long>(retry));
  if (n > 0) {
    ex.answer_fields.assign(buf.data(), std::min(static_cast<size_t>(n), buf.size() - 1));
  }
  return {kTooManyRequests, "rate limited"};
}

}  // namespace ballast::l7
