// src/balance/round_robin.cpp — plain round robin over the up backends.
#include "balance/round_robin.h"

namespace ballast::balance {

void RoundRobinPicker::rebuild(std::span<const Candidate> backends) {
  // Keep the position across rebuilds so a health flap does not send the next request back to
  // backend 0; only clamp it when the set shrank under it.
  if (next_ >= backends.size()) {
    next_ = 0;
  }
}

std::optional<uint32_t> RoundRobinPicker::pick(std::span<const Candidate> backends,
                                               uint64_t /*key*/) {
  const auto n = static_cast<uint32_t>(backends.size());
  if (next_ >= n) {
    next_ = 0;
  }
  // Scanning from next_ reads up/down live, so a backend marked down is skipped even before
  // the owner calls rebuild(). Wrapping by comparison instead of a free-running counter and
  // `% n` keeps the rotation fair when the counter would overflow.
  uint32_t i = next_;
  for (uint32_t tried = 0; tried < n; ++tried) {
    const uint32_t current = i;
    i = (i + 1 == n) ? 0 : i + 1;
    if (backends[current].isUp()) {
      next_ = i;
      return current;
    }
  }
  return std::nullopt;  // the caller answers 503 and counts it
}

}  // namespace ballast::balance
