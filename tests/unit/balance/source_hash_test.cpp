// tests/unit/balance/source_hash_test.cpp — source hash: deterministic per key, spread by
// weight, sticky across health flaps, skipping.
#include "balance/source_hash.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <optional>
#include <random>
#include <vector>

namespace ballast::balance {
namespace {

constexpr uint32_t kKeys = 100'000;
// The table is exact, but which keys land where is as good as random: a share from 100k random
// keys has a standard deviation of at most 0.16%, so 2% absolute is over 12 sigma.
constexpr double kShareTolerance = 0.02;
constexpr uint64_t kKeySeed = 2024;

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

// Random 64-bit keys from a fixed seed: the same keys every run.
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

TEST(SourceHashPickerTest, SameKeySameBackend) {
  const std::vector<Candidate> backends = weighted125();
  SourceHashPicker a;
  SourceHashPicker b;  // another worker: must agree
  a.rebuild(backends);
  b.rebuild(backends);
  const std::vector<uint64_t> keys = randomKeys();
  const std::vector<uint32_t> first = assign(a, backends, keys);
  EXPECT_EQ(assign(a, backends, keys), first);
  EXPECT_EQ(assign(b, backends, keys), first);
}

TEST(SourceHashPickerTest, SpreadsRandomKeysByWeight125) {
  const std::vector<Candidate> backends = weighted125();
  SourceHashPicker picker;
  picker.rebuild(backends);
  expectOwedShares(picker, backends);
}

TEST(SourceHashPickerTest, SpreadsSequentialKeys) {
  // Raw addresses arrive as nearby integers; the key is hashed again so they still spread.
  constexpr uint32_t kBackends = 4;
  const std::vector<Candidate> backends(kBackends);
  SourceHashPicker picker;
  picker.rebuild(backends);
  std::vector<uint32_t> counts(kBackends, 0);
  for (uint32_t key = 0; key < kKeys; ++key) {
    ++counts[picker.pick(backends, key).value_or(0)];
  }
  for (uint32_t count : counts) {
    EXPECT_NEAR(static_cast<double>(count) / kKeys, 1.0 / kBackends, kShareTolerance);
  }
}

TEST(SourceHashPickerTest, HealthFlapMovesOnlyTheKeysOfTheDownBackend) {
  constexpr uint32_t kBackends = 5;
  constexpr uint32_t kFlapping = 2;
  std::vector<Candidate> backends(kBackends);
  SourceHashPicker picker;
  picker.rebuild(backends);
  const std::vector<uint64_t> keys = randomKeys();
  const std::vector<uint32_t> before = assign(picker, backends, keys);

  backends[kFlapping].healthy = false;
  picker.rebuild(backends);
  const std::vector<uint32_t> during = assign(picker, backends, keys);
  std::vector<uint32_t> orphans_to(kBackends, 0);
  uint32_t orphans = 0;
  for (uint32_t i = 0; i < kKeys; ++i) {
    if (before[i] == kFlapping) {
      ASSERT_NE(during[i], kFlapping);
      ++orphans_to[during[i]];
      ++orphans;
    } else {
      ASSERT_EQ(during[i], before[i]) << "key " << keys[i] << " moved between up backends";
    }
  }
  // The orphans spread over the survivors instead of piling onto a neighbour.
  const double owed = 1.0 / (kBackends - 1);
  for (uint32_t b = 0; b < kBackends; ++b) {
    if (b != kFlapping) {
      EXPECT_NEAR(static_cast<double>(orphans_to[b]) / orphans, owed, kShareTolerance) << b;
    }
  }

  backends[kFlapping].healthy = true;
  picker.rebuild(backends);
  EXPECT_EQ(assign(picker, backends, keys), before);  // everyone comes back
}

TEST(SourceHashPickerTest, FindsTheLastUpBackendWhenAlmostAllAreDown) {
  // 19 of 20 down: most keys exhaust their rehash attempts and take the up-only fallback.
  constexpr uint32_t kBackends = 20;
  constexpr uint32_t kSurvivor = 13;
  std::vector<Candidate> backends(kBackends);
  for (Candidate& backend : backends) {
    backend.healthy = false;
  }
  backends[kSurvivor].healthy = true;
  SourceHashPicker picker;
  picker.rebuild(backends);
  for (uint64_t key : randomKeys()) {
    ASSERT_EQ(picker.pick(backends, key), kSurvivor);
  }
}

TEST(SourceHashPickerTest, SkipsUnhealthyDrainedAndZeroWeight) {
  const std::vector<Candidate> backends = mixedStates();
  SourceHashPicker picker;
  picker.rebuild(backends);
  expectOwedShares(picker, backends);
}

TEST(SourceHashPickerTest, SkipsBackendMarkedDownBeforeRebuild) {
  std::vector<Candidate> backends = weighted125();
  SourceHashPicker picker;
  picker.rebuild(backends);
  constexpr uint32_t kHeaviest = 2;
  backends[kHeaviest].healthy = false;
  for (uint64_t key : randomKeys()) {
    ASSERT_NE(picker.pick(backends, key), kHeaviest);
  }
}

TEST(SourceHashPickerTest, ReturnsNulloptWhenAllDownOrEmpty) {
  std::vector<Candidate> backends = mixedStates();
  backends[kUpFirst].healthy = false;
  backends[kUpLast].drained = true;
  SourceHashPicker picker;
  picker.rebuild(backends);
  for (uint64_t key : randomKeys()) {
    ASSERT_EQ(picker.pick(backends, key), std::nullopt);
  }

  const std::vector<Candidate> none;
  picker.rebuild(none);
  EXPECT_EQ(picker.pick(none, 0), std::nullopt);
}

TEST(SourceHashPickerTest, RebuildAfterWeightChangeChangesShares) {
  constexpr uint32_t kBackends = 3;
  std::vector<Candidate> backends(kBackends);
  SourceHashPicker picker;
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

TEST(SourceHashPickerTest, DoesNotUseLoad) {
  const SourceHashPicker picker;
  EXPECT_FALSE(picker.usesLoad());
}

}  // namespace
}  // namespace ballast::balance
