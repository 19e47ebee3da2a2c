// tests/unit/balance/power_of_two_test.cpp — power of two choices: two distinct weighted
// choices, the lighter one wins, idle ties follow weights, skipping.
#include "balance/power_of_two.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <optional>
#include <vector>

namespace ballast::balance {
namespace {

constexpr uint32_t kPicks = 100'000;
// Random draws: a share from 100k picks has a standard deviation of at most 0.16%, so 2%
// absolute is over 12 sigma; with the fixed seed a failure means a real bug.
constexpr double kShareTolerance = 0.02;
constexpr uint64_t kSeed = 7;

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

// `track_load`: each pick opens a connection that stays open, as the owner would count it.
std::vector<double> shares(Picker& picker, std::vector<Candidate> backends, bool track_load) {
  std::vector<uint32_t> counts(backends.size(), 0);
  for (uint32_t i = 0; i < kPicks; ++i) {
    const std::optional<uint32_t> chosen = picker.pick(backends, i);
    EXPECT_TRUE(chosen.has_value());
    if (chosen) {
      ++counts[*chosen];
      backends[*chosen].active += track_load ? 1 : 0;
    }
  }
  std::vector<double> result;
  result.reserve(counts.size());
  for (uint32_t count : counts) {
    result.push_back(static_cast<double>(count) / kPicks);
  }
  return result;
}

void expectOwedShares(Picker& picker, const std::vector<Candidate>& backends, bool track_load) {
  const std::vector<double> got = shares(picker, backends, track_load);
  for (uint32_t i = 0; i < backends.size(); ++i) {
    EXPECT_NEAR(got[i], owedShare(backends, i), kShareTolerance) << "backend " << i;
  }
}

TEST(PowerOfTwoPickerTest, NeverPicksTheMostLoadedOfThree) {
  // With replacement, both choices would land on the loaded backend 1 time in 9 and it would
  // be picked; distinct choices always include an idle one.
  constexpr uint32_t kLoaded = 2;
  constexpr uint32_t kBusy = 50;
  std::vector<Candidate> backends(kLoaded + 1);
  backends[kLoaded].active = kBusy;
  PowerOfTwoPicker picker(kSeed);
  picker.rebuild(backends);
  const std::vector<double> got = shares(picker, backends, false);
  EXPECT_EQ(got[kLoaded], 0.0);
  constexpr double kHalf = 0.5;
  EXPECT_NEAR(got[0], kHalf, kShareTolerance);
  EXPECT_NEAR(got[1], kHalf, kShareTolerance);
}

TEST(PowerOfTwoPickerTest, LeastLoadedWinsWheneverItIsDrawn) {
  // Loads 0 < 5 < 10 with equal weights: the idle one is in 2 of the 3 possible pairs and wins
  // both, the middle one wins only the pair without the idle one, the busiest never wins. Least
  // connections would give 100% to the idle one, a plain random pick a third to each.
  constexpr uint32_t kMiddleLoad = 5;
  constexpr uint32_t kHighLoad = 10;
  const std::vector<Candidate> backends = {
      {.active = 0}, {.active = kMiddleLoad}, {.active = kHighLoad}};
  PowerOfTwoPicker picker(kSeed);
  picker.rebuild(backends);
  const std::vector<double> got = shares(picker, backends, false);
  constexpr double kTwoThirds = 2.0 / 3;
  constexpr double kOneThird = 1.0 / 3;
  EXPECT_NEAR(got[0], kTwoThirds, kShareTolerance);
  EXPECT_NEAR(got[1], kOneThird, kShareTolerance);
  EXPECT_EQ(got[2], 0.0);
}

TEST(PowerOfTwoPickerTest, ComparesLoadPerWeight) {
  // With two up backends both are always drawn, so the pick is decided by active/weight alone:
  // 2/1 against 4/4, so backend 1 although it has twice the connections.
  constexpr uint32_t kTwo = 2;
  constexpr uint32_t kFour = 4;
  const std::vector<Candidate> backends = {{.weight = 1, .active = kTwo},
                                           {.weight = kFour, .active = kFour}};
  PowerOfTwoPicker picker(kSeed);
  picker.rebuild(backends);
  const std::vector<double> got = shares(picker, backends, false);
  EXPECT_EQ(got[1], 1.0);
}

TEST(PowerOfTwoPickerTest, IdleSharesFollowWeights125) {
  // All idle: every comparison ties and the first choice, drawn by weight, wins.
  const std::vector<Candidate> backends = weighted125();
  PowerOfTwoPicker picker(kSeed);
  picker.rebuild(backends);
  expectOwedShares(picker, backends, false);
}

TEST(PowerOfTwoPickerTest, SharesFollowWeights125WhenCallerTracksLoad) {
  const std::vector<Candidate> backends = weighted125();
  PowerOfTwoPicker picker(kSeed);
  picker.rebuild(backends);
  expectOwedShares(picker, backends, true);
}

TEST(PowerOfTwoPickerTest, SkipsUnhealthyDrainedAndZeroWeight) {
  std::vector<Candidate> backends = mixedStates();
  // The skipped ones are the least loaded, so picking them would win every comparison.
  constexpr uint32_t kBusy = 100;
  backends[kUpFirst].active = kBusy;
  backends[kUpLast].active = kBusy;
  PowerOfTwoPicker picker(kSeed);
  picker.rebuild(backends);
  const std::vector<double> got = shares(picker, backends, false);
  EXPECT_EQ(got[kUnhealthy], 0.0);
  EXPECT_EQ(got[kDrained], 0.0);
  EXPECT_EQ(got[kZeroWeight], 0.0);
  // kUpLast has twice the weight, so half the load per weight: it wins every comparison.
  EXPECT_EQ(got[kUpLast], 1.0);
}

TEST(PowerOfTwoPickerTest, SkipsBackendMarkedDownBeforeRebuild) {
  std::vector<Candidate> backends = weighted125();
  PowerOfTwoPicker picker(kSeed);
  picker.rebuild(backends);
  constexpr uint32_t kHeaviest = 2;
  backends[kHeaviest].drained = true;
  for (uint32_t i = 0; i < kPicks; ++i) {
    ASSERT_NE(picker.pick(backends, i), kHeaviest);
  }
}

TEST(PowerOfTwoPickerTest, SingleUpBackendIsAlwaysPicked) {
  std::vector<Candidate> backends = mixedStates();
  backends[kUpFirst].healthy = false;
  PowerOfTwoPicker picker(kSeed);
  picker.rebuild(backends);
  constexpr uint32_t kRepeats = 100;
  for (uint32_t i = 0; i < kRepeats; ++i) {
    ASSERT_EQ(picker.pick(backends, i), kUpLast);
  }
}

TEST(PowerOfTwoPickerTest, ReturnsNulloptWhenAllDownOrEmpty) {
  std::vector<Candidate> backends = mixedStates();
  backends[kUpFirst].weight = 0;
  backends[kUpLast].drained = true;
  PowerOfTwoPicker picker(kSeed);
  picker.rebuild(backends);
  EXPECT_EQ(picker.pick(backends, 0), std::nullopt);

  const std::vector<Candidate> none;
  picker.rebuild(none);
  EXPECT_EQ(picker.pick(none, 0), std::nullopt);
}

TEST(PowerOfTwoPickerTest, RebuildAfterWeightChangeChangesShares) {
  constexpr uint32_t kBackends = 3;
  std::vector<Candidate> backends(kBackends);
  PowerOfTwoPicker picker(kSeed);
  picker.rebuild(backends);
  expectOwedShares(picker, backends, false);  // a third each

  constexpr uint32_t kRaised = 4;
  constexpr uint32_t kRaisedIndex = 2;
  backends[kRaisedIndex].weight = kRaised;  // now 1:1:4
  picker.rebuild(backends);
  const std::vector<double> got = shares(picker, backends, false);
  EXPECT_NEAR(got[kRaisedIndex], owedShare(backends, kRaisedIndex), kShareTolerance);
  EXPECT_GT(got[kRaisedIndex], 1.0 / kMediumWeight);
}

TEST(PowerOfTwoPickerTest, UsesLoad) {
  const PowerOfTwoPicker picker(kSeed);
  EXPECT_TRUE(picker.usesLoad());
}

}  // namespace
}  // namespace ballast::balance
