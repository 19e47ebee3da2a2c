// src/balance/weighted_round_robin.h — smooth weighted round robin, as NGINX's
// ngx_http_upstream_get_peer: shares follow the weights and heavy backends are interleaved
// with light ones instead of receiving their whole share in a burst.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "balance/picker.h"

namespace ballast::balance {

// Each pick adds every up backend's weight to its current weight, picks the largest (the first
// one on a tie, as NGINX does) and subtracts the total from the winner. Weights {5,1,1} give
// a a b a c a a.
//
// NGINX also keeps an "effective weight" that failures lower and successes restore. A picker
// gets no failure feedback through the Picker interface: failures reach it only as a backend
// marked down by health checking, so here the effective weight is always the configured one.
class WeightedRoundRobinPicker final : public Picker {
 public:
  // Resets every current weight to 0, so the sequence restarts from its beginning: a restart
  // is as smooth as continuing, and stale credit of a backend that was down cannot make it
  // win a burst when it returns.
  void rebuild(std::span<const Candidate> backends) override;
  std::optional<uint32_t> pick(std::span<const Candidate> backends, uint64_t key) override;

 private:
  // Signed and 64-bit: the winner goes negative by up to the sum of all weights, and a sum of
  // uint32_t weights does not fit in 32 bits.
  std::vector<int64_t> current_weights_;
};

}  // namespace ballast::balance
