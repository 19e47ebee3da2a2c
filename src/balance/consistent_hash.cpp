// src/balance/consistent_hash.cpp — weighted Maglev table population and lookup.
#include "balance/consistent_hash.h"

#include <xxhash.h>

#include <algorithm>
#include <cassert>

namespace ballast::balance {
namespace {

// Two unrelated fixed seeds give two independent hashes of one identity, as the paper's offset
// and skip need. They must never change: every worker must build the same table.
constexpr uint64_t kOffsetSeed = 0x6d61676c65762d6fULL;  // "maglev-o"
constexpr uint64_t kSkipSeed = 0x6d61676c65762d73ULL;    // "maglev-s"

// How many other slots pick() tries when the slot's backend went down without a rebuild(). The
// slots are chosen by rehashing the key, not by stepping to the neighbours: a small set's table
// is interleaved arithmetic progressions, so neighbours are correlated: with 4 backends and one
// down, stepping gave the survivors 29% to 36% of keys where each was owed 33%. Rehashed slots
// are independent, so orphaned keys spread by slot share, and each key still lands in the same
// place every time. A scan of the set follows if all probes fail.
constexpr uint32_t kStaleProbes = 16;
constexpr uint64_t kStaleProbeSeed = 0x6d61676c65762d70ULL;  // "maglev-p"

constexpr bool isPrime(uint32_t n) {
  constexpr uint32_t kFirstOddPrime = 3;
  constexpr uint32_t kTwo = 2;
  if (n < kTwo) {
    return false;
  }
  if (n % kTwo == 0) {
    return n == kTwo;
  }
  for (uint32_t d = kFirstOddPrime; static_cast<uint64_t>(d) * d <= n; d += kTwo) {
    if (n % d == 0) {
      return false;
    }
  }
  return true;
}

static_assert(isPrime(ConsistentHashPicker::kDefaultTableSize));

// One up backend's walk through its permutation while the table fills.
struct Filler {
  uint32_t backend;  // index in the span, also the identity the permutation is seeded with
  uint32_t weight;
  uint64_t position;  // permutation[next] of the paper, advanced by `skip` modulo M
  uint64_t skip;
  uint64_t credit;  // weight saved towards the next slot
};

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

}  // namespace

ConsistentHashPicker::ConsistentHashPicker(uint32_t table_size) : table_size_(table_size) {
  assert(isPrime(table_size) && "Maglev needs a prime table size");
}

void ConsistentHashPicker::rebuild(std::span<const Candidate> backends) {
  const uint64_t m = table_size_;
  table_.assign(table_size_, kNoBackend);

  std::vector<Filler> fillers;
  uint32_t max_weight = 0;
  for (size_t i = 0; i < backends.size(); ++i) {
    if (!backends[i].isUp()) {
      continue;
    }
    const uint64_t identity = i;
    const uint64_t offset = XXH64(&identity, sizeof(identity), kOffsetSeed) % m;
    const uint64_t skip = XXH64(&identity, sizeof(identity), kSkipSeed) % (m - 1) + 1;
    fillers.push_back(Filler{static_cast<uint32_t>(i), backends[i].weight, offset, skip, 0});
    max_weight = std::max(max_weight, backends[i].weight);
  }
  any_up_ = !fillers.empty();
  if (!any_up_) {
    return;
  }

  // Every round gives the heaviest backends a slot, so each round fills at least one slot and
  // the loop ends after at most M rounds. Each walk is a full permutation of the slots (M is
  // prime), so a backend always finds a free slot while the table is not full.
  uint32_t filled = 0;
  for (;;) {
    for (Filler& filler : fillers) {
      filler.credit += filler.weight;
      if (filler.credit < max_weight) {
        continue;
      }
      filler.credit -= max_weight;
      while (table_[filler.position] != kNoBackend) {
        filler.position += filler.skip;
        if (filler.position >= m) {
          filler.position -= m;
        }
      }
      table_[filler.position] = filler.backend;
      if (++filled == table_size_) {
        return;
      }
    }
  }
}

std::optional<uint32_t> ConsistentHashPicker::pick(std::span<const Candidate> backends,
                                                   uint64_t key) {
  if (!any_up_) {
    return firstUpFrom(backends, key);  // not built, or nothing was up at rebuild()
  }
  uint32_t chosen = table_[key % table_size_];
  if (chosen < backends.size() && backends[chosen].isUp()) {
    return chosen;
  }
  // The owner changed up/down without rebuilding; stay correct until it does.
  for (uint32_t probe = 0; probe < kStaleProbes; ++probe) {
    chosen = table_[XXH64(&key, sizeof(key), kStaleProbeSeed + probe) % table_size_];
    if (chosen < backends.size() && backends[chosen].isUp()) {
      return chosen;
    }
  }
  return firstUpFrom(backends, key);
}

}  // namespace ballast::balance
