// tests/unit/balance/consistent_hash_test.cpp — weighted Maglev: deterministic, spread by
// weight, minimal disruption, skipping.
#include "balance/consistent_hash.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <iostream>
#include <optional>
#include <random>
#include <vector>

namespace ballast::balance {
namespace {

constexpr uint32_t kKeys = 100'000;
// Slot counts are proportional to weight within one slot in 65537, but which keys land where is
// as good as random: a share from 100k random keys has a standard deviation of at most 0.16%,
// so 2% absolute is over 12 sigma.
constexpr double kShareTolerance = 0.02;
constexpr uint64_t kKeySeed = 1337;

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

std::vector<uint64_t> randomKeys() {
  std::mt19937_64 rng(kKeySeed);
  std::vector<uint64_t> keys(kKeys);
  for (uint64_t& key : keys) {
    key = rng();
  }
  return keys;
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

std::vector<uint32_t> assign(Picker& picker, const std::vector<Candidate>& backends,
                             const std::vector<uint64_t>& keys) {
  std::vector<uint32_t> chosen;
  chosen.reserve(keys.size());
  for (uint64_t key : keys) {
    const std::optional<uint32_t> pick = picker.pick(backends, key);
    EXPECT_TRUE(pick.has_value());
    chosen.push_back(pick.value_or(0));
  }
  return chosen;
}

std::vector<double> shares(Picker& picker, const std::vector<Candidate>& backends) {
  std::vector<uint32_t> counts(backends.size(), 0);
  for (uint32_t index : assign(picker, backends, randomKeys())) {
    ++counts[index];
  }
  std::vector<double> result;
  result.reserve(counts.size());
  for (uint32_t count : counts) {
    result.push_back(static_cast<double>(count) / kKeys);
  }
  return result;
}

void expectOwedShares(Picker& picker, const std::vector<Candidate>& backends) {
  const std::vector<double> got = shares(picker, backends);
  for (uint32_t i = 0; i < backends.size(); ++i) {
    EXPECT_NEAR(got[i], owedShare(backends, i), kShareTolerance) << "backend " << i;
  }
}

TEST(ConsistentHashPickerTest, SameKeySameBackend) {
  const std::vector<Candidate> backends = weighted125();
  ConsistentHashPicker a;
  ConsistentHashPicker b;  // another worker: must build the same table
  a.rebuild(backends);
  b.rebuild(backends);
  const std::vector<uint64_t> keys = randomKeys();
  const std::vector<uint32_t> first = assign(a, backends, keys);
  EXPECT_EQ(assign(a, backends, keys), first);
  EXPECT_EQ(assign(b, backends, keys), first);
}

TEST(ConsistentHashPickerTest, DefaultTableSizeIsThePapersPrime) {
  const ConsistentHashPicker picker;
  EXPECT_EQ(picker.tableSize(), ConsistentHashPicker::kDefaultTableSize);
}

TEST(ConsistentHashPickerTest, SpreadsRandomKeysByWeight125) {
  const std::vector<Candidate> backends = weighted125();
  ConsistentHashPicker picker;
  picker.rebuild(backends);
  expectOwedShares(picker, backends);
}

TEST(ConsistentHashPickerTest, SlotsFollowWeightsInASmallTable) {
  // Key k reads slot k % M, so the keys 0..M-1 read every slot once: their counts are the slot
  // counts, which must match the weights to within one slot each.
  constexpr uint32_t kSmallPrime = 251;
  const std::vector<Candidate> backends = weighted125();
  ConsistentHashPicker picker(kSmallPrime);
  picker.rebuild(backends);
  std::vector<uint32_t> slots(backends.size(), 0);
  for (uint32_t key = 0; key < kSmallPrime; ++key) {
    ++slots[picker.pick(backends, key).value_or(0)];
  }
  constexpr double kOneSlot = 1.0;
  for (uint32_t b = 0; b < backends.size(); ++b) {
    EXPECT_NEAR(slots[b], owedShare(backends, b) * kSmallPrime, kOneSlot) << "backend " << b;
  }
}

TEST(ConsistentHashPickerTest, RemovingOneOfTenMovesAboutATenth) {
  constexpr uint32_t kBackends = 10;
  constexpr uint32_t kRemoved = 4;
  // The paper's bounds, loosely: about 1/N of keys must move, a little more is tolerated.
  constexpr double kMinMovedPerN = 0.8;
  constexpr double kMaxMovedPerN = 1.3;
  // Maglev is not perfectly minimal: the refill may shift some slots between survivors.
  constexpr double kMaxSurvivorChurn = 0.02;

  std::vector<Candidate> backends(kBackends);
  ConsistentHashPicker picker;
  picker.rebuild(backends);
  const std::vector<uint64_t> keys = randomKeys();
  const std::vector<uint32_t> before = assign(picker, backends, keys);

  // Removal is modelled by marking down, so every other backend keeps its index (its identity).
  backends[kRemoved].healthy = false;
  picker.rebuild(backends);
  const std::vector<uint32_t> after = assign(picker, backends, keys);

  uint32_t moved = 0;
  uint32_t moved_between_survivors = 0;
  for (uint32_t i = 0; i < kKeys; ++i) {
    ASSERT_NE(after[i], kRemoved);
    if (after[i] != before[i]) {
      ++moved;
      moved_between_survivors += before[i] != kRemoved ? 1 : 0;
    }
  }
  const double moved_fraction = static_cast<double>(moved) / kKeys;
  const double churn = static_cast<double>(moved_between_survivors) / kKeys;
  std::cout << "[ MEASURED ] moved " << moved_fraction << " of keys (1/N = " << 1.0 / kBackends
            << "), between survivors " << churn << "\n";
  EXPECT_GE(moved_fraction, kMinMovedPerN / kBackends);
  EXPECT_LE(moved_fraction, kMaxMovedPerN / kBackends);
  EXPECT_LT(churn, kMaxSurvivorChurn);

  backends[kRemoved].healthy = true;
  picker.rebuild(backends);
  EXPECT_EQ(assign(picker, backends, keys), before);  // the same set builds the same table
}

TEST(ConsistentHashPickerTest, SkipsUnhealthyDrainedAndZeroWeight) {
  const std::vector<Candidate> backends = mixedStates();
  ConsistentHashPicker picker;
  picker.rebuild(backends);
  expectOwedShares(picker, backends);
}

TEST(ConsistentHashPickerTest, SkipsBackendMarkedDownBeforeRebuild) {
  constexpr uint32_t kBackends = 4;
  constexpr uint32_t kDown = 1;
  std::vector<Candidate> backends(kBackends);
  ConsistentHashPicker picker;
  picker.rebuild(backends);
  const std::vector<uint64_t> keys = randomKeys();
  backends[kDown].healthy = false;
  std::vector<uint32_t> counts(kBackends, 0);
  for (uint64_t key : keys) {
    const std::optional<uint32_t> chosen = picker.pick(backends, key);
    ASSERT_TRUE(chosen.has_value());
    ASSERT_NE(*chosen, kDown);
    ++counts[*chosen];
  }
  // Probing rehashed slots spreads the orphaned keys: each survivor still gets about a third.
  const double owed = 1.0 / (kBackends - 1);
  for (uint32_t b = 0; b < kBackends; ++b) {
    if (b != kDown) {
      EXPECT_NEAR(static_cast<double>(counts[b]) / kKeys, owed, kShareTolerance) << b;
    }
  }
}

TEST(ConsistentHashPickerTest, ReturnsNulloptWhenAllDownOrEmpty) {
  std::vector<Candidate> backends = mixedStates();
  backends[kUpFirst].weight = 0;
  backends[kUpLast].healthy = false;
  ConsistentHashPicker picker;
  picker.rebuild(backends);
  for (uint64_t key : randomKeys()) {
    ASSERT_EQ(picker.pick(backends, key), std::nullopt);
  }

  const std::vector<Candidate> none;
  picker.rebuild(none);
  EXPECT_EQ(picker.pick(none, 0), std::nullopt);

  ConsistentHashPicker never_built;
  EXPECT_EQ(never_built.pick(none, 0), std::nullopt);
}

TEST(ConsistentHashPickerTest, RebuildAfterWeightChangeChangesShares) {
  constexpr uint32_t kBackends = 3;
  std::vector<Candidate> backends(kBackends);
  ConsistentHashPicker picker;
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

TEST(ConsistentHashPickerTest, DoesNotUseLoad) {
  const ConsistentHashPicker picker;
  EXPECT_FALSE(picker.usesLoad());
}

}  // namespace
}  // namespace ballast::balance
