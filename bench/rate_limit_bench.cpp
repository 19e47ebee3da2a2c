// bench/rate_limit_bench.cpp — what a rate_limit rule adds per request: the key hash (source_ip
// and a header), the GCRA take on the shared table, alone and from several threads on one key
// (the worst case for the CAS), and a `store:` rule's take on its local share (the refill asked
// at low water is granted inline, standing in for the store thread: an upper bound). The issue's
// aim is under 1 µs.
#include <benchmark/benchmark.h>

#include <cstdint>

#include "config/config_types.h"
#include "l7/rate_limit_filter.h"
#include "policy/gcra_table.h"
#include "policy/share_table.h"

namespace ballast::l7 {
namespace {

constexpr uint64_t kRate = 1'000'000;  // never refuses: measures the admitting path
constexpr uint64_t kUsPerSecond = 1'000'000;

void BM_RateLimitKeySourceIp(benchmark::State& state) {
  config::RateLimitRule rule;
  rule.key = {{config::RateKeyKind::kSourceIp, {}}};
  const auto client = *net::SocketAddress::parse("[2001:db8:1:2::3]:4000");
  RequestView request;
  for (auto _ : state) {
    benchmark::DoNotOptimize(rateLimitKey(rule, request, client));
  }
}
BENCHMARK(BM_RateLimitKeySourceIp);

void BM_RateLimitTakeUniqueKeys(benchmark::State& state) {
  static policy::GcraTable table;
  const auto limit = policy::GcraLimit::of(kRate, kUsPerSecond, kRate);
  uint64_t key = 0x9e3779b97f4a7c15ULL * static_cast<uint64_t>(state.thread_index() + 1);
  for (auto _ : state) {
    key += 0x9e3779b97f4a7c15ULL;  // a different slot each time: cache misses included
    benchmark::DoNotOptimize(table.take(key, limit, RateLimitFilter::monotonicUs()));
  }
}
BENCHMARK(BM_RateLimitTakeUniqueKeys)->Threads(1)->Threads(4);

void BM_RateLimitTakeOneHotKey(benchmark::State& state) {
  static policy::GcraTable table;
  const auto limit = policy::GcraLimit::of(kRate, kUsPerSecond, kRate);
  for (auto _ : state) {
    benchmark::DoNotOptimize(table.take(42, limit, RateLimitFilter::monotonicUs()));
  }
}
BENCHMARK(BM_RateLimitTakeOneHotKey)->Threads(1)->Threads(4);

void BM_RateLimitSharedTakeOneHotKey(benchmark::State& state) {
  static policy::ShareTable table;
  const uint32_t lease = policy::leaseSize(kRate, kUsPerSecond, kRate);
  for (auto _ : state) {
    const uint64_t now = RateLimitFilter::monotonicUs();
    const policy::ShareDecision d = table.take(42, lease, now, true);
    if (d.refill) {
      table.apply(d.slot, 42, lease, 0, now);
    }
    benchmark::DoNotOptimize(d);
  }
}
BENCHMARK(BM_RateLimitSharedTakeOneHotKey)->Threads(1)->Threads(4);

}  // namespace
}  // namespace ballast::l7
