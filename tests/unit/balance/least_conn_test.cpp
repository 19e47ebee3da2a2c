// tests/unit/balance/least_conn_test.cpp — weighted least connections: exact ratio comparison,
// round-robin ties, shares under tracked load, skipping.
#include "balance/least_conn.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <optional>
#include <vector>

namespace ballast::balance {
namespace {

constexpr uint32_t kPicks = 100'000;
// With the caller counting each pick as a connection that never ends, least_conn keeps
// active/weight within one connection of equal on every backend, so shares are exact to a few
// picks in 100k; 1% absolute catches any real bug without being brittle.
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

// Each pick opens a connection that stays open, as the owner would count it.
std::vector<double> sharesWithTrackedLoad(Picker& picker, std::vector<Candidate> backends) {
  std::vector<uint32_t> counts(backends.size(), 0);
  for (uint32_t i = 0; i < kPicks; ++i) {
    const std::optional<uint32_t> chosen = picker.pick(backends, i);
    EXPECT_TRUE(chosen.has_value());
    if (chosen) {
      ++counts[*chosen];
      ++backends[*chosen].active;
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
  const std::vector<double> got = sharesWithTrackedLoad(picker, backends);
  for (uint32_t i = 0; i < backends.size(); ++i) {
    EXPECT_NEAR(got[i], owedShare(backends, i), kShareTolerance) << "backend " << i;
  }
}

TEST(LeastConnPickerTest, PrefersLowerActivePerWeight) {
  // Ratios 1, 0.5 and 0.75: the middle one has the most connections but the least per weight.
  constexpr uint32_t kWeightFour = 4;
  constexpr uint32_t kThree = 3;
  const std::vector<Candidate> backends = {{.weight = 1, .active = 1},
                                           {.weight = kMediumWeight, .active = 1},
                                           {.weight = kWeightFour, .active = kThree}};
  LeastConnPicker picker;
  picker.rebuild(backends);
  constexpr uint32_t kRepeats = 5;  // no state may make it drift while loads stay put
  for (uint32_t i = 0; i < kRepeats; ++i) {
    EXPECT_EQ(picker.pick(backends, i), 1U);
  }
}

TEST(LeastConnPickerTest, ComparesRatiosExactly) {
  // 1/3 > 2/7, but integer division calls both 0 and would tie-break to backend 0.
  constexpr uint32_t kThree = 3;
  constexpr uint32_t kSeven = 7;
  constexpr uint32_t kTwo = 2;
  const std::vector<Candidate> backends = {{.weight = kThree, .active = 1},
                                           {.weight = kSeven, .active = kTwo}};
  LeastConnPicker picker;
  picker.rebuild(backends);
  EXPECT_EQ(picker.pick(backends, 0), 1U);

  // Near the top of uint32_t, where 32-bit products would overflow.
  constexpr uint32_t kHuge = 4'000'000'000U;
  const std::vector<Candidate> huge = {{.weight = kHuge - 1, .active = kHuge},
                                       {.weight = kHuge, .active = kHuge}};
  picker.rebuild(huge);
  EXPECT_EQ(picker.pick(huge, 0), 1U);
}

TEST(LeastConnPickerTest, BreaksTiesRoundRobin) {
  constexpr uint32_t kBackends = 3;
  const std::vector<Candidate> backends(kBackends);  // all idle, equal weight
  LeastConnPicker picker;
  picker.rebuild(backends);
  const std::vector<uint32_t> expected = {0, 1, 2, 0, 1, 2};
  for (uint32_t want : expected) {
    EXPECT_EQ(picker.pick(backends, 0), want);
  }
}

TEST(LeastConnPickerTest, SharesFollowWeights125WhenCallerTracksLoad) {
  const std::vector<Candidate> backends = {
      {.weight = kLightWeight}, {.weight = kMediumWeight}, {.weight = kHeavyWeight}};
  LeastConnPicker picker;
  picker.rebuild(backends);
  expectOwedShares(picker, backends);
}

TEST(LeastConnPickerTest, SkipsUnhealthyDrainedAndZeroWeight) {
  std::vector<Candidate> backends = mixedStates();
  // The skipped ones are also the least loaded, so a missing isUp() check would pick them.
  constexpr uint32_t kBusy = 100;
  backends[kUpFirst].active = kBusy;
  backends[kUpLast].active = kBusy;
  LeastConnPicker picker;
  picker.rebuild(backends);
  expectOwedShares(picker, backends);
}

TEST(LeastConnPickerTest, SkipsBackendMarkedDownBeforeRebuild) {
  std::vector<Candidate> backends(kMixedCount);
  LeastConnPicker picker;
  picker.rebuild(backends);
  backends[kDrained].drained = true;  // idle, so the best choice if it were not skipped
  for (uint32_t i = 0; i < kPicks; ++i) {
    ASSERT_NE(picker.pick(backends, i), kDrained);
  }
}

TEST(LeastConnPickerTest, ReturnsNulloptWhenAllDownOrEmpty) {
  std::vector<Candidate> backends = mixedStates();
  backends[kUpFirst].healthy = false;
  backends[kUpLast].weight = 0;
  LeastConnPicker picker;
  picker.rebuild(backends);
  EXPECT_EQ(picker.pick(backends, 0), std::nullopt);

  const std::vector<Candidate> none;
  picker.rebuild(none);
  EXPECT_EQ(picker.pick(none, 0), std::nullopt);
}

TEST(LeastConnPickerTest, RebuildAfterWeightChangeChangesShares) {
  constexpr uint32_t kBackends = 3;
  std::vector<Candidate> backends(kBackends);
  LeastConnPicker picker;
  picker.rebuild(backends);
  expectOwedShares(picker, backends);  // a third each

  constexpr uint32_t kRaised = 4;
  constexpr uint32_t kRaisedIndex = 2;
  backends[kRaisedIndex].weight = kRaised;  // now 1:1:4
  picker.rebuild(backends);
  const std::vector<double> got = sharesWithTrackedLoad(picker, backends);
  EXPECT_NEAR(got[kRaisedIndex], owedShare(backends, kRaisedIndex), kShareTolerance);
  EXPECT_GT(got[kRaisedIndex], 1.0 / kMediumWeight);
}

TEST(LeastConnPickerTest, UsesLoad) {
  const LeastConnPicker picker;
  EXPECT_TRUE(picker.usesLoad());
}

}  // namespace
}  // namespace ballast::balance
