// src/balance/round_robin.h — plain round robin: every up backend in turn, weights ignored.
#pragma once

#include <cstdint>
#include <optional>
#include <span>

#include "balance/picker.h"

namespace ballast::balance {

// Equal shares for every up backend whatever its weight (weight only decides up or down, as 0
// means "send nothing"). Use weighted_round_robin when weights should shape the shares.
class RoundRobinPicker final : public Picker {
 public:
  void rebuild(std::span<const Candidate> backends) override;
  std::optional<uint32_t> pick(std::span<const Candidate> backends, uint64_t key) override;

 private:
  uint32_t next_ = 0;  // index tried first by the next pick; worker-local, so no atomic
};

}  // namespace ballast::balance
