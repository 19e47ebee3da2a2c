// src/balance/least_conn.h — weighted least connections: the up backend with the fewest
// in-flight connections per unit of weight.
#pragma once

#include <cstdint>
#include <optional>
#include <span>

#include "balance/picker.h"

namespace ballast::balance {

// Minimises active/weight. Ratios are compared by cross-multiplication in 64 bits
// (a.active * b.weight < b.active * a.weight), which is exact for any uint32_t inputs, where
// integer division would call 1/3 and 2/7 equal and floating point would round.
//
// Ties are broken round robin: the scan starts just after the previous winner and keeps the
// first of equal ratios, so a cold start or equal loads spread across backends instead of
// piling onto backend 0 until the caller's active counts catch up.
class LeastConnPicker final : public Picker {
 public:
  void rebuild(std::span<const Candidate> backends) override;
  std::optional<uint32_t> pick(std::span<const Candidate> backends, uint64_t key) override;
  bool usesLoad() const override { return true; }

 private:
  uint32_t next_ = 0;  // where the next scan starts; worker-local, so no atomic
};

}  // namespace ballast::balance
