// src/balance/least_conn.cpp — weighted least connections with round-robin tie-breaking.
#include "balance/least_conn.h"

namespace ballast::balance {
namespace {

// True when a carries strictly less load per unit of weight than b. Both weights are non-zero
// (callers pass up backends only) and uint32_t * uint32_t cannot overflow uint64_t.
bool lessLoaded(const Candidate& a, const Candidate& b) {
  return static_cast<uint64_t>(a.active) * b.weight < static_cast<uint64_t>(b.active) * a.weight;
}

}  // namespace

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
  std::optional<uint32_t> best;
  uint32_t i = next_;
  for (uint32_t scanned = 0; scanned < n; ++scanned) {
    if (backends[i].isUp() && (!best || lessLoaded(backends[i], backends[*best]))) {
      best = i;
    }
    i = (i + 1 == n) ? 0 : i + 1;
  }
  if (best) {
    next_ = (*best + 1 == n) ? 0 : *best + 1;
  }
  return best;
}

}  // namespace ballast::balance
