// bench/balance_bench.cpp — cost of one pick() per algorithm over 16 backends, and of a Maglev
// table rebuild, which runs on every health or weight change.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <vector>

#include "balance/algorithm.h"
#include "balance/consistent_hash.h"
#include "balance/picker.h"
#include "balance/random.h"

namespace ballast::balance {
namespace {

constexpr uint32_t kBackends = 16;
constexpr uint64_t kSeed = 1;
// Keys cycle through a precomputed random array so hash pickers read scattered table slots, as
// they would for real clients; a power of two so the index wraps with a mask.
constexpr size_t kKeyCount = 4'096;
constexpr size_t kKeyMask = kKeyCount - 1;
static_assert((kKeyCount & kKeyMask) == 0, "kKeyCount must be a power of two");

// All up, mixed weights 1..4 and loads 0..6: a picker gets no shortcut from a uniform set.
std::vector<Candidate> makeBackends(uint32_t count) {
  constexpr uint32_t kWeightSpread = 4;
  constexpr uint32_t kLoadSpread = 7;
  std::vector<Candidate> backends(count);
  for (uint32_t i = 0; i < count; ++i) {
    backends[i].weight = 1 + i % kWeightSpread;
    backends[i].active = i % kLoadSpread;
  }
  return backends;
}

std::vector<uint64_t> makeKeys() {
  Xoshiro256 rng(kSeed);
  std::vector<uint64_t> keys(kKeyCount);
  for (uint64_t& key : keys) {
    key = rng.next();
  }
  return keys;
}

// Through PickerPtr, as a worker calls it, so the virtual call is part of the figure.
void benchPick(benchmark::State& state, Algorithm algorithm) {
  const std::vector<Candidate> backends = makeBackends(kBackends);
  const std::vector<uint64_t> keys = makeKeys();
  const PickerPtr picker = makePicker(algorithm, kSeed);
  picker->rebuild(backends);
  size_t next_key = 0;
  for (auto _ : state) {
    auto chosen = picker->pick(backends, keys[next_key++ & kKeyMask]);
    benchmark::DoNotOptimize(chosen);
  }
}

BENCHMARK_CAPTURE(benchPick, round_robin, Algorithm::kRoundRobin);
BENCHMARK_CAPTURE(benchPick, weighted_round_robin, Algorithm::kWeightedRoundRobin);
BENCHMARK_CAPTURE(benchPick, least_conn, Algorithm::kLeastConn);
BENCHMARK_CAPTURE(benchPick, random, Algorithm::kRandom);
BENCHMARK_CAPTURE(benchPick, power_of_two, Algorithm::kPowerOfTwo);
BENCHMARK_CAPTURE(benchPick, source_hash, Algorithm::kSourceHash);
BENCHMARK_CAPTURE(benchPick, consistent_hash, Algorithm::kConsistentHash);

// A full Maglev table fill for the default 65537 slots; the argument is the backend count.
void benchMaglevRebuild(benchmark::State& state) {
  const std::vector<Candidate> backends = makeBackends(static_cast<uint32_t>(state.range(0)));
  ConsistentHashPicker picker;
  for (auto _ : state) {
    picker.rebuild(backends);
    benchmark::ClobberMemory();
  }
}

constexpr int64_t kManyBackends = 256;
BENCHMARK(benchMaglevRebuild)->Arg(kBackends)->Arg(kManyBackends)->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace ballast::balance
