// tests/unit/balance/picker_factory_test.cpp — makePicker builds every algorithm, and every
// picker it builds keeps the Picker contract: skips down backends, nullopt when none is up, and
// pick() never allocates.
#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <cstdlib>
#include <new>
#include <optional>
#include <vector>

#include "balance/algorithm.h"
#include "balance/picker.h"

namespace {

// Allocation counter for PickNeverAllocates. Replacing the global operator new is the only way
// to see an allocation made anywhere below pick(); thread-local, so gtest's own threads (if
// any) cannot disturb the count.
thread_local bool counting_allocations = false;
thread_local uint64_t allocations = 0;

}  // namespace

// The replacements traffic in raw memory by definition, hence the NOLINTs. None is inlined:
// GCC 12 would then see malloc() paired with operator delete, or operator new with free(), and
// warn (-Wmismatched-new-delete) about a pairing this very file defines as correct.
[[gnu::noinline]] void* operator new(std::size_t size) {
  if (counting_allocations) {
    ++allocations;
  }
  // malloc(0) may return null; operator new must not.
  // NOLINTNEXTLINE(cppcoreguidelines-owning-memory)
  if (void* memory = std::malloc(size == 0 ? 1 : size)) {
    return memory;
  }
  std::abort();  // tests do not recover from exhaustion
}

// The nothrow form must come from the same family: the library frees what it returns (say,
// std::get_temporary_buffer inside stable_sort) with the plain operator delete below, and
// AddressSanitizer rightly reports a mix of its operator new with our free().
[[gnu::noinline]] void* operator new(std::size_t size, const std::nothrow_t& /*tag*/) noexcept {
  if (counting_allocations) {
    ++allocations;
  }
  return std::malloc(size == 0 ? 1 : size);  // NOLINT(cppcoreguidelines-owning-memory)
}

[[gnu::noinline]] void operator delete(void* memory, const std::nothrow_t& /*tag*/) noexcept {
  std::free(memory);  // NOLINT(cppcoreguidelines-owning-memory)
}

[[gnu::noinline]] void operator delete(void* memory) noexcept {
  std::free(memory);  // NOLINT(cppcoreguidelines-owning-memory)
}
[[gnu::noinline]] void operator delete(void* memory, std::size_t /*size*/) noexcept {
  std::free(memory);  // NOLINT(cppcoreguidelines-owning-memory)
}

namespace ballast::balance {
namespace {

constexpr uint64_t kSeed = 99;
constexpr uint32_t kPicks = 10'000;
constexpr uint32_t kBackends = 16;

constexpr std::array kAllAlgorithms{
    Algorithm::kRoundRobin,     Algorithm::kWeightedRoundRobin, Algorithm::kLeastConn,
    Algorithm::kRandom,         Algorithm::kPowerOfTwo,         Algorithm::kSourceHash,
    Algorithm::kConsistentHash,
};

// Varied weights and loads, with every third backend down in one of the three ways.
std::vector<Candidate> busySet() {
  constexpr uint32_t kWeightSpread = 4;
  constexpr uint32_t kLoadSpread = 7;
  constexpr uint32_t kDownEvery = 3;
  std::vector<Candidate> backends(kBackends);
  for (uint32_t i = 0; i < kBackends; ++i) {
    backends[i].weight = 1 + i % kWeightSpread;
    backends[i].active = i % kLoadSpread;
    if (i % kDownEvery == 0) {
      switch (i / kDownEvery % kDownEvery) {
        case 0:
          backends[i].healthy = false;
          break;
        case 1:
          backends[i].drained = true;
          break;
        default:
          backends[i].weight = 0;
          break;
      }
    }
  }
  return backends;
}

class PickerFactoryTest : public ::testing::TestWithParam<Algorithm> {};

TEST_P(PickerFactoryTest, BuildsAPickerThatSkipsDownBackends) {
  const PickerPtr picker = makePicker(GetParam(), kSeed);
  ASSERT_NE(picker, nullptr);
  const std::vector<Candidate> backends = busySet();
  picker->rebuild(backends);
  for (uint32_t i = 0; i < kPicks; ++i) {
    const std::optional<uint32_t> chosen = picker->pick(backends, i);
    ASSERT_TRUE(chosen.has_value());
    ASSERT_LT(*chosen, backends.size());
    ASSERT_TRUE(backends[*chosen].isUp()) << "picked down backend " << *chosen;
  }
}

TEST_P(PickerFactoryTest, ReturnsNulloptWhenNothingIsUp) {
  const PickerPtr picker = makePicker(GetParam(), kSeed);
  std::vector<Candidate> backends = busySet();
  for (Candidate& backend : backends) {
    backend.drained = true;
  }
  picker->rebuild(backends);
  EXPECT_EQ(picker->pick(backends, 0), std::nullopt);
  const std::vector<Candidate> none;
  picker->rebuild(none);
  EXPECT_EQ(picker->pick(none, 0), std::nullopt);
}

TEST_P(PickerFactoryTest, PickNeverAllocates) {
  const PickerPtr picker = makePicker(GetParam(), kSeed);
  std::vector<Candidate> backends = busySet();
  picker->rebuild(backends);
  // Include the stale path: a backend goes down and pick() runs before the next rebuild().
  constexpr uint32_t kGoesDown = 1;
  allocations = 0;
  counting_allocations = true;
  for (uint32_t i = 0; i < kPicks; ++i) {
    (void)picker->pick(backends, i);
  }
  backends[kGoesDown].healthy = false;
  for (uint32_t i = 0; i < kPicks; ++i) {
    (void)picker->pick(backends, i);
  }
  counting_allocations = false;
  EXPECT_EQ(allocations, 0U);
}

TEST_P(PickerFactoryTest, UsesLoadOnlyForLoadAwareAlgorithms) {
  const PickerPtr picker = makePicker(GetParam(), kSeed);
  const bool load_aware =
      GetParam() == Algorithm::kLeastConn || GetParam() == Algorithm::kPowerOfTwo;
  EXPECT_EQ(picker->usesLoad(), load_aware);
}

INSTANTIATE_TEST_SUITE_P(AllAlgorithms, PickerFactoryTest, ::testing::ValuesIn(kAllAlgorithms),
                         [](const ::testing::TestParamInfo<Algorithm>& info) {
                           return std::string(algorithmName(info.param));
                         });

TEST(AllocationCounterTest, SeesAnAllocation) {
  // Guards PickNeverAllocates against a counter that silently never counts.
  allocations = 0;
  counting_allocations = true;
  auto* probe = new std::vector<int>(kBackends);  // NOLINT(cppcoreguidelines-owning-memory)
  counting_allocations = false;
  delete probe;  // NOLINT(cppcoreguidelines-owning-memory)
  EXPECT_GT(allocations, 0U);
}

}  // namespace
}  // namespace ballast::balance
