// src/balance/random.h — weighted random picker, and the pieces power_of_two and source_hash
// share with it: a seedable PRNG and a table that maps a uniform 64-bit number to a backend in
// proportion to weight.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "balance/picker.h"

namespace ballast::balance {

// xoshiro256** (Blackman and Vigna), its state filled from the seed by splitmix64 as its
// authors advise. Small, fast and reproducible from one seed, so tests inject the seed and get
// the same picks every run. Not for anything secret.
class Xoshiro256 {
 public:
  explicit Xoshiro256(uint64_t seed);
  uint64_t next();

 private:
  static constexpr size_t kStateWords = 4;  // 256 bits of state, as the name says
  std::array<uint64_t, kStateWords> state_{};
};

// Prefix sums of weights, built in rebuild() so that a draw is a binary search: no allocation
// and O(log n) per pick. Position p owns the interval [ends_[p-1], ends_[p]) of
// [0, total weight), so a uniform point lands on p with probability weight / total.
class WeightedTable {
 public:
  enum class Members : uint8_t {
    kUp,        // backends that isUp(): random and power_of_two
    kWeighted,  // every backend with weight > 0, up or not: source_hash, for stickiness
  };

  void rebuild(std::span<const Candidate> backends, Members members);
  bool empty() const { return ends_.empty(); }
  size_t size() const { return ends_.size(); }
  uint32_t backendAt(size_t position) const { return backends_[position]; }
  // The position whose interval holds `uniform` scaled onto [0, total). Needs !empty().
  size_t positionFor(uint64_t uniform) const;
  // As positionFor, but never `excluded`: the point is scaled onto the total minus excluded's
  // weight and steps over its interval, so the other positions keep their relative odds.
  // Needs size() >= 2.
  size_t positionForExcluding(uint64_t uniform, size_t excluded) const;

 private:
  std::vector<uint64_t> ends_;      // running weight sum up to and including each position
  std::vector<uint32_t> backends_;  // backend index of each position
};

// The first up backend at or after `start` (wrapping), or nullopt when none is up. The
// fallback when a table built by rebuild() points at a backend that went down since: the
// owner should have rebuilt, but a down backend must never be picked.
std::optional<uint32_t> firstUpFrom(std::span<const Candidate> backends, uint64_t start);

// Each up backend with probability weight / (sum of up weights), independently per pick.
class RandomPicker final : public Picker {
 public:
  explicit RandomPicker(uint64_t seed);
  void rebuild(std::span<const Candidate> backends) override;
  std::optional<uint32_t> pick(std::span<const Candidate> backends, uint64_t key) override;

 private:
  Xoshiro256 rng_;
  WeightedTable table_;
};

}  // namespace ballast::balance
