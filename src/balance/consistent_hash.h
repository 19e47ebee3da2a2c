// src/balance/consistent_hash.h — consistent hashing with a weighted Maglev lookup table
// (Eisenbud et al., "Maglev: A Fast and Reliable Software Network Load Balancer", NSDI 2016).
#pragma once

#include <cstdint>
#include <limits>
#include <optional>
#include <span>
#include <vector>

#include "balance/picker.h"

namespace ballast::balance {

// rebuild() fills a table of prime size M from the up backends; pick() is table[key % M], one
// memory read. When one backend goes down, its keys move and almost every other key stays.
//
// Identity: Candidate carries no name, so a backend's permutation is seeded by its index in the
// span (XXH64 of the index with one seed for the offset and another for the skip). The owner
// must therefore keep indices stable for the same backend across rebuilds: a removed backend is
// marked down rather than erased, and new backends are appended. If indices shift, keys move as
// though every backend had been replaced.
//
// Weights: a backend with the largest weight W takes one slot per filling round; one of weight w
// earns w credit per round and takes a slot whenever it has saved W, so slot counts are
// proportional to weight (to within one slot). Backends are served in index order within a
// round, as the paper's round-robin population does.
//
// Maglev balances well only while M is much larger than the number of up backends (the paper
// suggests M > 100 * N for under 1% imbalance): 65537 suits up to several hundred backends.
// With more up backends than slots, some get none.
class ConsistentHashPicker final : public Picker {
 public:
  // Prime, as the paper requires: then every skip in [1, M-1] visits every slot.
  static constexpr uint32_t kDefaultTableSize = 65537;

  // `table_size` must be prime; tests use smaller primes.
  explicit ConsistentHashPicker(uint32_t table_size = kDefaultTableSize);

  void rebuild(std::span<const Candidate> backends) override;
  std::optional<uint32_t> pick(std::span<const Candidate> backends, uint64_t key) override;

  uint32_t tableSize() const { return table_size_; }

 private:
  static constexpr uint32_t kNoBackend = std::numeric_limits<uint32_t>::max();

  uint32_t table_size_;
  std::vector<uint32_t> table_;  // backend index per slot; empty until the first rebuild()
  bool any_up_ = false;          // false: every slot is kNoBackend
};

}  // namespace ballast::balance
