// src/balance/weighted_round_robin.cpp — smooth weighted round robin (NGINX's algorithm).
#include "balance/weighted_round_robin.h"

#include <algorithm>

namespace ballast::balance {

void WeightedRoundRobinPicker::rebuild(std::span<const Candidate> backends) {
  current_weights_.assign(backends.size(), 0);
}

std::optional<uint32_t> WeightedRoundRobinPicker::pick(std::span<const Candidate> backends,
                                                       uint64_t /*key*/) {
  // If the set grew without a rebuild() the extra backends have no state yet; ignoring them
  // keeps pick() allocation-free until the owner rebuilds.
  const size_t n = std::min(backends.size(), current_weights_.size());
  int64_t total = 0;
  std::optional<uint32_t> best;
  for (size_t i = 0; i < n; ++i) {
    const Candidate& backend = backends[i];
    if (!backend.isUp()) {
      continue;  // a down backend's current weight stays frozen, as in NGINX
    }
    current_weights_[i] += backend.weight;
    total += backend.weight;
    if (!best || current_weights_[i] > current_weights_[*best]) {
      best = static_cast<uint32_t>(i);
    }
  }
  if (best) {
    current_weights_[*best] -= total;
  }
  return best;
}

}  // namespace ballast::balance
