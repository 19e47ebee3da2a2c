// src/balance/power_of_two.cpp — weighted power of two choices.
#include "balance/power_of_two.h"

namespace ballast::balance {
namespace {

// The backend the table drew, or the next up one if it went down since rebuild().
std::optional<uint32_t> usable(std::span<const Candidate> backends, uint32_t drawn) {
  if (drawn < backends.size() && backends[drawn].isUp()) {
    return drawn;
  }
  return firstUpFrom(backends, drawn);
}

}  // namespace

PowerOfTwoPicker::PowerOfTwoPicker(uint64_t seed) : rng_(seed) {}

void PowerOfTwoPicker::rebuild(std::span<const Candidate> backends) {
  table_.rebuild(backends, WeightedTable::Members::kUp);
}

std::optional<uint32_t> PowerOfTwoPicker::pick(std::span<const Candidate> backends,
                                               uint64_t /*key*/) {
  if (table_.empty()) {
    return firstUpFrom(backends, 0);  // nothing was up at rebuild(); something may be now
  }
  const size_t first_position = table_.positionFor(rng_.next());
  const std::optional<uint32_t> first = usable(backends, table_.backendAt(first_position));
  if (!first || table_.size() == 1) {
    return first;
  }
  const size_t second_position = table_.positionForExcluding(rng_.next(), first_position);
  const std::optional<uint32_t> second = usable(backends, table_.backendAt(second_position));
  if (!second) {
    return first;
  }
  const Candidate& a = backends[*first];
  const Candidate& b = backends[*second];
  // b wins only when strictly less loaded per unit of weight; 64-bit products cannot overflow.
  const bool second_lighter =
      static_cast<uint64_t>(b.active) * a.weight < static_cast<uint64_t>(a.active) * b.weight;
  return second_lighter ? second : first;
}

}  // namespace ballast::balance
