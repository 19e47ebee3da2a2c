// src/balance/power_of_two.h — power of two choices: draw two up backends at random by weight
// and send the request to the one with less load per unit of weight.
#pragma once

#include <cstdint>
#include <optional>
#include <span>

#include "balance/picker.h"
#include "balance/random.h"

namespace ballast::balance {

// The second choice is drawn by weight from the backends other than the first (as Finagle's
// P2C does), not with replacement. Drawing the same backend twice wastes the comparison, and
// with distinct choices the most loaded backend is never picked while any other is up, which
// is the property that keeps a slow backend from being piled on.
//
// Load is compared as active/weight by cross-multiplication, as in least_conn. On a tie the
// first choice wins; it was drawn by weight, so idle backends still receive traffic in
// proportion to their weights.
class PowerOfTwoPicker final : public Picker {
 public:
  explicit PowerOfTwoPicker(uint64_t seed);
  void rebuild(std::span<const Candidate> backends) override;
  std::optional<uint32_t> pick(std::span<const Candidate> backends, uint64_t key) override;
  bool usesLoad() const override { return true; }

 private:
  Xoshiro256 rng_;
  WeightedTable table_;  // up backends only
};

}  // namespace ballast::balance
