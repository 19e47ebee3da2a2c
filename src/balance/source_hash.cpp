// src/balance/source_hash.cpp — map-based source hashing with rehash past down backends.
#include "balance/source_hash.h"

#include <xxhash.h>

namespace ballast::balance {
namespace {

// Seed of the first attempt; attempt k uses kFirstSeed + k. Any fixed value works, but it must
// never change: every worker and every restart must send a key to the same backend.
constexpr uint64_t kFirstSeed = 0x62616c6c61737431ULL;  // "ballast1"

// The key is hashed again even on the first attempt because callers may pass raw addresses,
// whose low bits cluster; XXH64 spreads them evenly over the table.
uint64_t hashKey(uint64_t key, uint64_t seed) { return XXH64(&key, sizeof(key), seed); }

}  // namespace

void SourceHashPicker::rebuild(std::span<const Candidate> backends) {
  weighted_.rebuild(backends, WeightedTable::Members::kWeighted);
  up_.rebuild(backends, WeightedTable::Members::kUp);
}

std::optional<uint32_t> SourceHashPicker::pick(std::span<const Candidate> backends, uint64_t key) {
  uint64_t hash = 0;
  if (!weighted_.empty()) {
    for (uint32_t attempt = 0; attempt < kMaxHashAttempts; ++attempt) {
      hash = hashKey(key, kFirstSeed + attempt);
      const uint32_t chosen = weighted_.backendAt(weighted_.positionFor(hash));
      if (chosen < backends.size() && backends[chosen].isUp()) {
        return chosen;
      }
    }
  } else {
    hash = hashKey(key, kFirstSeed);
  }
  if (!up_.empty()) {
    const uint32_t chosen = up_.backendAt(up_.positionFor(hash));
    if (chosen < backends.size() && backends[chosen].isUp()) {
      return chosen;
    }
  }
  // Only reached when up/down changed without a rebuild(): still deterministic for the key.
  return firstUpFrom(backends, hash);
}

}  // namespace ballast::balance
