// src/balance/random.cpp — xoshiro256**, the weighted prefix-sum table, and weighted random.
#include "balance/random.h"

#include <bit>

#include "core/splitmix.h"

namespace ballast::balance {
namespace {

// xoshiro256** constants, named as in the reference implementation.
constexpr uint64_t kScramblerMultiplier1 = 5;
constexpr int kScramblerRotation = 7;
constexpr uint64_t kScramblerMultiplier2 = 9;
constexpr int kStateShift = 17;
constexpr int kStateRotation = 45;

constexpr int kBitsPerWord = 64;

// Lemire's multiply-shift: maps a uniform 64-bit number onto [0, bound) without a division.
// Its bias is at most bound / 2^64, far below anything a test or a user can see.
uint64_t scaleToBound(uint64_t uniform, uint64_t bound) {
  __extension__ using Uint128 = unsigned __int128;
  return static_cast<uint64_t>((static_cast<Uint128>(uniform) * bound) >> kBitsPerWord);
}

// First index whose running sum exceeds `point`, as std::upper_bound, but branch-free: the
// comparison feeds a conditional move rather than a jump, which random points would mispredict
// half the time (about 10% off random's and power_of_two's pick over 16 backends in
// bench/balance_bench.cpp). Needs point < ends.back(), true as scaleToBound stays below it.
size_t firstEndAbove(std::span<const uint64_t> ends, uint64_t point) {
  const uint64_t* base = ends.data();
  size_t length = ends.size();
  while (length > 1) {
    const size_t half = length >> 1;
    base = base[half - 1] <= point ? base + half : base;
    length -= half;
  }
  return static_cast<size_t>(base - ends.data()) + (*base <= point ? 1 : 0);
}

}  // namespace

Xoshiro256::Xoshiro256(uint64_t seed) {
  for (uint64_t& word : state_) {
    word = core::splitMix64(seed);
  }
}

uint64_t Xoshiro256::next() {
  const uint64_t result =
      std::rotl(state_[1] * kScramblerMultiplier1, kScramblerRotation) * kScramblerMultiplier2;
  const uint64_t t = state_[1] << kStateShift;
  state_[2] ^= state_[0];
  state_[3] ^= state_[1];
  state_[1] ^= state_[2];
  state_[0] ^= state_[3];
  state_[2] ^= t;
  state_[3] = std::rotl(state_[3], kStateRotation);
  return result;
}

void WeightedTable::rebuild(std::span<const Candidate> backends, Members members) {
  ends_.clear();
  backends_.clear();
  uint64_t running = 0;
  for (size_t i = 0; i < backends.size(); ++i) {
    const Candidate& backend = backends[i];
    const bool member = members == Members::kUp ? backend.isUp() : backend.weight > 0;
    if (!member) {
      continue;
    }
    running += backend.weight;
    ends_.push_back(running);
    backends_.push_back(static_cast<uint32_t>(i));
  }
}

size_t WeightedTable::positionFor(uint64_t uniform) const {
  return firstEndAbove(ends_, scaleToBound(uniform, ends_.back()));
}

size_t WeightedTable::positionForExcluding(uint64_t uniform, size_t excluded) const {
  const uint64_t excluded_start = excluded == 0 ? 0 : ends_[excluded - 1];
  const uint64_t excluded_weight = ends_[excluded] - excluded_start;
  uint64_t point = scaleToBound(uniform, ends_.back() - excluded_weight);
  if (point >= excluded_start) {
    point += excluded_weight;
  }
  return firstEndAbove(ends_, point);
}

std::optional<uint32_t> firstUpFrom(std::span<const Candidate> backends, uint64_t start) {
  const size_t n = backends.size();
  if (n == 0) {
    return std::nullopt;
  }
  auto i = static_cast<size_t>(start % n);
  for (size_t scanned = 0; scanned < n; ++scanned) {
    if (backends[i].isUp()) {
      return static_cast<uint32_t>(i);
    }
    i = (i + 1 == n) ? 0 : i + 1;
  }
  return std::nullopt;
}

RandomPicker::RandomPicker(uint64_t seed) : rng_(seed) {}

void RandomPicker::rebuild(std::span<const Candidate> backends) {
  table_.rebuild(backends, WeightedTable::Members::kUp);
}

std::optional<uint32_t> RandomPicker::pick(std::span<const Candidate> backends, uint64_t /*key*/) {
  if (table_.empty()) {
    // Nothing was up at rebuild(); scan in case something came up since.
    return firstUpFrom(backends, 0);
  }
  const uint32_t chosen = table_.backendAt(table_.positionFor(rng_.next()));
  if (chosen < backends.size() && backends[chosen].isUp()) {
    return chosen;
  }
  return firstUpFrom(backends, chosen);
}

}  // namespace ballast::balance
