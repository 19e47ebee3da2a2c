// tests/unit/balance/random_test.cpp — xoshiro256**, the weighted table, and weighted random:
// shares by weight, reproducibility from the seed, skipping.
#include "balance/random.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <optional>
#include <vector>

namespace ballast::balance {
namespace {

constexpr uint32_t kPicks = 100'000;
// A share estimated from 100k independent draws has a standard deviation of at most
// sqrt(0.25 / 100k) = 0.16%, so 2% absolute is over 12 sigma: the seed is fixed anyway, and a
// failure means the weights are wrong, not bad luck.
constexpr double kShareTolerance = 0.02;
constexpr uint64_t kSeed = 42;

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

TEST(Xoshiro256Test, SameSeedSameSequenceOtherSeedOtherSequence) {
  Xoshiro256 a(kSeed);
  Xoshiro256 b(kSeed);
  Xoshiro256 c(kSeed + 1);
  constexpr uint32_t kDraws = 1'000;
  uint32_t same_as_other_seed = 0;
  for (uint32_t i = 0; i < kDraws; ++i) {
    const uint64_t value = a.next();
    ASSERT_EQ(value, b.next());
    same_as_other_seed += value == c.next() ? 1 : 0;
  }
  EXPECT_EQ(same_as_other_seed, 0U);
}

TEST(Xoshiro256Test, BitsAreBalanced) {
  // Each bit set about half the time: catches a broken scrambler or a stuck state word.
  constexpr uint32_t kDraws = 100'000;
  constexpr uint32_t kBits = 64;
  constexpr double kHalf = 0.5;
  std::vector<uint32_t> ones(kBits, 0);
  Xoshiro256 rng(kSeed);
  for (uint32_t i = 0; i < kDraws; ++i) {
    const uint64_t value = rng.next();
    for (uint32_t bit = 0; bit < kBits; ++bit) {
      ones[bit] += static_cast<uint32_t>((value >> bit) & 1U);
    }
  }
  for (uint32_t bit = 0; bit < kBits; ++bit) {
    EXPECT_NEAR(static_cast<double>(ones[bit]) / kDraws, kHalf, kShareTolerance) << bit;
  }
}

TEST(WeightedTableTest, EveryPointLandsInItsOwnInterval) {
  // For table sizes that exercise every depth of the branch-free search, aim a uniform number
  // at the first and last point of each interval and expect that interval's position.
  __extension__ using Uint128 = unsigned __int128;
  constexpr uint32_t kMaxSize = 40;
  constexpr uint32_t kWeightSpread = 5;
  constexpr int kBitsPerWord = 64;
  for (uint32_t size = 1; size <= kMaxSize; ++size) {
    std::vector<Candidate> backends(size);
    for (uint32_t i = 0; i < size; ++i) {
      backends[i].weight = 1 + (i * kHeavyWeight) % kWeightSpread;
    }
    WeightedTable table;
    table.rebuild(backends, WeightedTable::Members::kUp);
    uint64_t total = 0;
    for (const Candidate& backend : backends) {
      total += backend.weight;
    }
    uint64_t start = 0;
    for (uint32_t position = 0; position < size; ++position) {
      const uint64_t end = start + backends[position].weight;
      for (const uint64_t point : {start, end - 1}) {
        // The smallest uniform number that the multiply-shift scales onto `point`.
        const Uint128 scaled = static_cast<Uint128>(point) << kBitsPerWord;
        const auto uniform = static_cast<uint64_t>((scaled + total - 1) / total);
        ASSERT_EQ(table.positionFor(uniform), position) << "size " << size << " point " << point;
        ASSERT_EQ(table.backendAt(position), position);
      }
      start = end;
    }
  }
}

TEST(WeightedTableTest, ExcludingNeverReturnsTheExcludedPosition) {
  const std::vector<Candidate> backends = weighted125();
  WeightedTable table;
  table.rebuild(backends, WeightedTable::Members::kUp);
  ASSERT_EQ(table.size(), backends.size());
  Xoshiro256 rng(kSeed);
  std::vector<uint32_t> counts(backends.size(), 0);
  constexpr uint32_t kExcluded = 1;
  for (uint32_t i = 0; i < kPicks; ++i) {
    const size_t position = table.positionForExcluding(rng.next(), kExcluded);
    ASSERT_NE(position, kExcluded);
    ++counts[position];
  }
  // The others keep their relative odds, 1:5.
  constexpr double kLightOfRest = 1.0 / (kLightWeight + kHeavyWeight);
  EXPECT_NEAR(static_cast<double>(counts[0]) / kPicks, kLightOfRest, kShareTolerance);
}

TEST(WeightedTableTest, WeightedMembersKeepDownBackends) {
  const std::vector<Candidate> backends = mixedStates();
  WeightedTable up;
  up.rebuild(backends, WeightedTable::Members::kUp);
  WeightedTable weighted;
  weighted.rebuild(backends, WeightedTable::Members::kWeighted);
  EXPECT_EQ(up.size(), 2U);                     // the two up ones
  EXPECT_EQ(weighted.size(), kMixedCount - 1);  // all but the one with weight 0
}

TEST(RandomPickerTest, SharesFollowWeights125) {
  const std::vector<Candidate> backends = weighted125();
  RandomPicker picker(kSeed);
  picker.rebuild(backends);
  expectOwedShares(picker, backends);
}

TEST(RandomPickerTest, SameSeedSamePicks) {
  const std::vector<Candidate> backends = weighted125();
  RandomPicker a(kSeed);
  RandomPicker b(kSeed);
  a.rebuild(backends);
  b.rebuild(backends);
  for (uint32_t i = 0; i < kPicks; ++i) {
    ASSERT_EQ(a.pick(backends, i), b.pick(backends, i));
  }
}

TEST(RandomPickerTest, SkipsUnhealthyDrainedAndZeroWeight) {
  const std::vector<Candidate> backends = mixedStates();
  RandomPicker picker(kSeed);
  picker.rebuild(backends);
  expectOwedShares(picker, backends);
}

TEST(RandomPickerTest, SkipsBackendMarkedDownBeforeRebuild) {
  std::vector<Candidate> backends = weighted125();
  RandomPicker picker(kSeed);
  picker.rebuild(backends);
  constexpr uint32_t kHeaviest = 2;
  backends[kHeaviest].healthy = false;
  for (uint32_t i = 0; i < kPicks; ++i) {
    ASSERT_NE(picker.pick(backends, i), kHeaviest);
  }
}

TEST(RandomPickerTest, ReturnsNulloptWhenAllDownOrEmpty) {
  std::vector<Candidate> backends = mixedStates();
  backends[kUpFirst].drained = true;
  backends[kUpLast].healthy = false;
  RandomPicker picker(kSeed);
  picker.rebuild(backends);
  EXPECT_EQ(picker.pick(backends, 0), std::nullopt);

  const std::vector<Candidate> none;
  picker.rebuild(none);
  EXPECT_EQ(picker.pick(none, 0), std::nullopt);
}

TEST(RandomPickerTest, RebuildAfterWeightChangeChangesShares) {
  constexpr uint32_t kBackends = 3;
  std::vector<Candidate> backends(kBackends);
  RandomPicker picker(kSeed);
  picker.rebuild(backends);
  expectOwedShares(picker, backends);  // a third each

  constexpr uint32_t kRaised = 4;
  constexpr uint32_t kRaisedIndex = 2;
  backends[kRaisedIndex].weight = kRaised;  // now 1:1:4
  picker.rebuild(backends);
  const std::vector<double> got = shares(picker, backends);
  EXPECT_NEAR(got[kRaisedIndex], owedShare(backends, kRaisedIndex), kShareTolerance);
  EXPECT_GT(got[kRaisedIndex], 1.0 / kMediumWeight);
}

TEST(RandomPickerTest, DoesNotUseLoad) {
  const RandomPicker picker(kSeed);
  EXPECT_FALSE(picker.usesLoad());
}

}  // namespace
}  // namespace ballast::balance
