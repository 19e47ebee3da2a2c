// src/balance/least_conn.cpp — weighted least connections with round-robin tie-breaking.
#include "balance/least_conn.h"

namespace ballast::balance {

void LeastConnPicker::rebuild(std::span<const Candidate> backends) {
  // Weights and up/down are read live in pick(); only the scan start must stay in range.
  if (next_ >= backends.size()) {
    next_ = 0;
  }
}

std::optional<uint32_t> LeastConnPicker::pick(std::span<const Candidate> backends,
                                              uint64_t /*key*/) {
  const auto n = static_cast<uint32_t>(backends.size());
  if (next_ >= n) {
    next_ = 0;
  }
  // Two straight runs, [next_, n) then [0, next_), instead of one wrapping index: no wrap test
  // per backend, and the best so far is kept in locals rather than re-read through an index.
  std::optional<uint32_t> best;
  uint64_t best_active = 0;
  uint64_t best_weight = 1;
  const auto consider = [&](uint32_t i) {
    const Candidate& backend = backends[i];
    if (!backend.isUp()) {
      return;
    }
    // active/weight < best ratio, cross-multiplied: uint32_t by uint32_t in 64 bits cannot
    // overflow. Strictly less, so on a tie the earlier one in scan order keeps it.
    if (!best || backend.active * best_weight < best_active * backend.weight) {
      best = i;
      best_active = backend.active;
      best_weight = backend.weight;
    }
  };
  for (uint32_t i = next_; i < n; ++i) {
    consider(i);
  }
  for (uint32_t i = 0; i < next_; ++i) {
    consider(i);
  }
  if (best) {
    next_ = (*best + 1 == n) ? 0 : *best + 1;
  }
  return best;
}

}  // namespace ballast::balance
