// tests/unit/balance/round_robin_test.cpp — plain round robin: order, equal shares, skipping.
#include "balance/round_robin.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <optional>
#include <vector>

namespace ballast::balance {
namespace {

constexpr uint32_t kPicks = 100'000;
// Round robin is exact: after k picks over n up backends each has k/n rounded either way, so
// 1% absolute is already generous; anything larger is a real bug.
constexpr double kShareTolerance = 0.01;

// Weights 1:2:5, which plain round robin must ignore.
constexpr uint32_t kLightWeight = 1;
constexpr uint32_t kMediumWeight = 2;
constexpr uint32_t kHeavyWeight = 5;

// A set with one backend in each state that must be skipped, between two up ones.
enum MixedIndex : uint32_t { kUpFirst, kUnhealthy, kDrained, kZeroWeight, kUpLast, kMixedCount };

std::vector<Candidate> mixedStates() {
  std::vector<Candidate> backends(kMixedCount);
  backends[kUnhealthy].healthy = false;
  backends[kDrained].drained = true;
  backends[kZeroWeight].weight = 0;
  return backends;
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

TEST(RoundRobinPickerTest, VisitsUpBackendsInIndexOrder) {
  constexpr uint32_t kBackends = 3;
  const std::vector<Candidate> backends(kBackends);
  RoundRobinPicker picker;
  picker.rebuild(backends);
  const std::vector<uint32_t> expected = {0, 1, 2, 0, 1, 2, 0};
  for (uint32_t want : expected) {
    EXPECT_EQ(picker.pick(backends, 0), want);
  }
}

TEST(RoundRobinPickerTest, GivesEqualSharesWhateverTheWeights) {
  // Weights only say up (> 0) or down here; weighted_round_robin honours them.
  const std::vector<Candidate> backends = {
      {.weight = kLightWeight}, {.weight = kMediumWeight}, {.weight = kHeavyWeight}};
  RoundRobinPicker picker;
  picker.rebuild(backends);
  const double equal_share = 1.0 / static_cast<double>(backends.size());
  for (double share : shares(picker, backends)) {
    EXPECT_NEAR(share, equal_share, kShareTolerance);
  }
}

TEST(RoundRobinPickerTest, SkipsUnhealthyDrainedAndZeroWeight) {
  const std::vector<Candidate> backends = mixedStates();
  RoundRobinPicker picker;
  picker.rebuild(backends);
  const std::vector<double> got = shares(picker, backends);
  constexpr double kHalf = 0.5;
  EXPECT_NEAR(got[kUpFirst], kHalf, kShareTolerance);
  EXPECT_EQ(got[kUnhealthy], 0.0);
  EXPECT_EQ(got[kDrained], 0.0);
  EXPECT_EQ(got[kZeroWeight], 0.0);
  EXPECT_NEAR(got[kUpLast], kHalf, kShareTolerance);
}

TEST(RoundRobinPickerTest, SkipsBackendMarkedDownBeforeRebuild) {
  std::vector<Candidate> backends(kMixedCount);
  RoundRobinPicker picker;
  picker.rebuild(backends);
  backends[kUnhealthy].healthy = false;  // the owner has not rebuilt yet
  for (uint32_t i = 0; i < kPicks; ++i) {
    ASSERT_NE(picker.pick(backends, i), kUnhealthy);
  }
}

TEST(RoundRobinPickerTest, ReturnsNulloptWhenAllDownOrEmpty) {
  std::vector<Candidate> backends = mixedStates();
  backends[kUpFirst].healthy = false;
  backends[kUpLast].drained = true;
  RoundRobinPicker picker;
  picker.rebuild(backends);
  EXPECT_EQ(picker.pick(backends, 0), std::nullopt);

  const std::vector<Candidate> none;
  picker.rebuild(none);
  EXPECT_EQ(picker.pick(none, 0), std::nullopt);
}

TEST(RoundRobinPickerTest, KeepsRotatingWhenTheSetShrinks) {
  constexpr uint32_t kBefore = 4;
  constexpr uint32_t kAfter = 2;
  std::vector<Candidate> backends(kBefore);
  RoundRobinPicker picker;
  picker.rebuild(backends);
  for (uint32_t want = 0; want < kBefore; ++want) {
    EXPECT_EQ(picker.pick(backends, 0), want);
  }
  backends.resize(kAfter);
  picker.rebuild(backends);
  for (uint32_t want = 0; want < kAfter; ++want) {
    EXPECT_EQ(picker.pick(backends, 0), want);
  }
}

TEST(RoundRobinPickerTest, DoesNotUseLoad) {
  const RoundRobinPicker picker;
  EXPECT_FALSE(picker.usesLoad());
}

}  // namespace
}  // namespace ballast::balance
