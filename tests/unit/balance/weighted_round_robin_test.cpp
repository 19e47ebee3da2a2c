// tests/unit/balance/weighted_round_robin_test.cpp — smooth WRR: NGINX's sequence, shares by
// weight, skipping, and reaction to a weight change.
#include "balance/weighted_round_robin.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <optional>
#include <vector>

namespace ballast::balance {
namespace {

constexpr uint32_t kPicks = 100'000;
// Smooth WRR is exact over every cycle of sum(weights) picks, so the share error is at most one
// partial cycle over 100k picks; 1% absolute catches any real bug without being brittle.
constexpr double kShareTolerance = 0.01;

constexpr uint32_t kLightWeight = 1;
constexpr uint32_t kMediumWeight = 2;
constexpr uint32_t kHeavyWeight = 5;

enum MixedIndex : uint32_t { kUpFirst, kUnhealthy, kDrained, kZeroWeight, kUpLast, kMixedCount };

std::vector<Candidate> mixedStates() {
  std::vector<Candidate> backends(kMixedCount);
  backends[kUnhealthy].healthy = false;
  backends[kDrained].drained = true;
  backends[kZeroWeight].weight = 0;
  backends[kUpLast].weight = kMediumWeight;
  return backends;
}

std::vector<Candidate> weighted125() {
  return {{.weight = kLightWeight}, {.weight = kMediumWeight}, {.weight = kHeavyWeight}};
}

// Weight over the sum of up weights: the share a weighted algorithm owes each backend.
double owedShare(const std::vector<Candidate>& backends, uint32_t index) {
  if (!backends[index].isUp()) {
    return 0.0;
  }
  uint64_t total = 0;
  for (const Candidate& backend : backends) {
    total += backend.isUp() ? backend.weight : 0;
  }
  return static_cast<double>(backends[index].weight) / static_cast<double>(total);
}

std::vector<double> shares(Picker& picker, const std::vector<Candidate>& backends) {
  std::vector<uint32_t> counts(backends.size(), 0);
  for (uint32_t i = 0; i < kPicks; ++i) {
    const std::optional<uint32_t> chosen = picker.pick(backends, i);
    EXPECT_TRUE(chosen.has_value());
    if (chosen) {
      ++counts[*chosen];
    }
  }
  std::vector<double> result;
  result.reserve(counts.size());
  for (uint32_t count : counts) {
    result.push_back(static_cast<double>(count) / kPicks);
  }
  return result;
}

void expectOwedShares(Picker& picker, const std::vector<Candidate>& backends) {
  const std::vector<double> got = shares(picker, backends);
  for (uint32_t i = 0; i < backends.size(); ++i) {
    EXPECT_NEAR(got[i], owedShare(backends, i), kShareTolerance) << "backend " << i;
  }
}

TEST(WeightedRoundRobinPickerTest, ProducesNginxSequenceForWeights511) {
  constexpr uint32_t kA = 0;
  constexpr uint32_t kB = 1;
  constexpr uint32_t kC = 2;
  constexpr uint32_t kWeightA = 5;
  const std::vector<Candidate> backends = {{.weight = kWeightA}, {.weight = 1}, {.weight = 1}};
  WeightedRoundRobinPicker picker;
  picker.rebuild(backends);
  // From the comment above ngx_http_upstream_get_peer; the cycle repeats after 7 picks.
  const std::vector<uint32_t> cycle = {kA, kA, kB, kA, kC, kA, kA};
  for (uint32_t round = 0; round < 2; ++round) {
    for (uint32_t want : cycle) {
      EXPECT_EQ(picker.pick(backends, 0), want);
    }
  }
}

TEST(WeightedRoundRobinPickerTest, SharesFollowWeights125) {
  const std::vector<Candidate> backends = weighted125();
  WeightedRoundRobinPicker picker;
  picker.rebuild(backends);
  expectOwedShares(picker, backends);
}

TEST(WeightedRoundRobinPickerTest, SkipsUnhealthyDrainedAndZeroWeight) {
  const std::vector<Candidate> backends = mixedStates();
  WeightedRoundRobinPicker picker;
  picker.rebuild(backends);
  expectOwedShares(picker, backends);  // owes 0 to the down ones, 1/3 and 2/3 to the others
}

TEST(WeightedRoundRobinPickerTest, SkipsBackendMarkedDownBeforeRebuild) {
  std::vector<Candidate> backends = weighted125();
  WeightedRoundRobinPicker picker;
  picker.rebuild(backends);
  constexpr uint32_t kHeaviest = 2;
  backends[kHeaviest].healthy = false;
  for (uint32_t i = 0; i < kPicks; ++i) {
    ASSERT_NE(picker.pick(backends, i), kHeaviest);
  }
}

TEST(WeightedRoundRobinPickerTest, ReturnsNulloptWhenAllDownOrEmpty) {
  std::vector<Candidate> backends = mixedStates();
  backends[kUpFirst].weight = 0;
  backends[kUpLast].healthy = false;
  WeightedRoundRobinPicker picker;
  picker.rebuild(backends);
  EXPECT_EQ(picker.pick(backends, 0), std::nullopt);

  const std::vector<Candidate> none;
  picker.rebuild(none);
  EXPECT_EQ(picker.pick(none, 0), std::nullopt);
}

TEST(WeightedRoundRobinPickerTest, EveryCycleGivesEachBackendExactlyItsWeight) {
  // The current weights return to all zero after sum(weights) picks, so each such cycle, not
  // just the long run, matches the weights exactly.
  const std::vector<Candidate> backends = weighted125();
  WeightedRoundRobinPicker picker;
  picker.rebuild(backends);
  constexpr uint32_t kCycles = 1'000;
  constexpr uint32_t kCycleLength = kLightWeight + kMediumWeight + kHeavyWeight;
  for (uint32_t cycle = 0; cycle < kCycles; ++cycle) {
    std::vector<uint32_t> counts(backends.size(), 0);
    for (uint32_t i = 0; i < kCycleLength; ++i) {
      const std::optional<uint32_t> chosen = picker.pick(backends, i);
      ASSERT_TRUE(chosen.has_value());
      ++counts[*chosen];
    }
    for (uint32_t b = 0; b < backends.size(); ++b) {
      ASSERT_EQ(counts[b], backends[b].weight) << "cycle " << cycle << " backend " << b;
    }
  }
}

TEST(WeightedRoundRobinPickerTest, RebuildAfterWeightChangeChangesShares) {
  std::vector<Candidate> backends(3);
  WeightedRoundRobinPicker picker;
  picker.rebuild(backends);
  expectOwedShares(picker, backends);  // a third each

  constexpr uint32_t kRaised = 4;
  backends[2].weight = kRaised;  // now 1:1:4
  picker.rebuild(backends);
  const std::vector<double> got = shares(picker, backends);
  EXPECT_NEAR(got[2], owedShare(backends, 2), kShareTolerance);
  EXPECT_GT(got[2], 1.0 / 2);  // a change the first distribution could never show
}

TEST(WeightedRoundRobinPickerTest, DoesNotUseLoad) {
  const WeightedRoundRobinPicker picker;
  EXPECT_FALSE(picker.usesLoad());
}

}  // namespace
}  // namespace ballast::balance
