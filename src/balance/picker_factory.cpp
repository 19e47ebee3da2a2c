// src/balance/picker_factory.cpp — makePicker: the one place that maps an Algorithm to its
// picker class, so config and workers never name the classes.
#include <cassert>
#include <memory>

#include "balance/consistent_hash.h"
#include "balance/least_conn.h"
#include "balance/picker.h"
#include "balance/power_of_two.h"
#include "balance/random.h"
#include "balance/round_robin.h"
#include "balance/source_hash.h"
#include "balance/weighted_round_robin.h"

namespace ballast::balance {

PickerPtr makePicker(Algorithm algorithm, uint64_t seed) {
  switch (algorithm) {
    case Algorithm::kRoundRobin:
      return std::make_unique<RoundRobinPicker>();
    case Algorithm::kWeightedRoundRobin:
      return std::make_unique<WeightedRoundRobinPicker>();
    case Algorithm::kLeastConn:
      return std::make_unique<LeastConnPicker>();
    case Algorithm::kRandom:
      return std::make_unique<RandomPicker>(seed);
    case Algorithm::kPowerOfTwo:
      return std::make_unique<PowerOfTwoPicker>(seed);
    case Algorithm::kSourceHash:
      return std::make_unique<SourceHashPicker>();
    case Algorithm::kConsistentHash:
      return std::make_unique<ConsistentHashPicker>();
  }
  // Only a value cast from outside the enum gets here; config parses names with
  // algorithmFromName, which cannot produce one. Round robin is the safe choice in release.
  assert(false && "makePicker: Algorithm out of range");
  return std::make_unique<RoundRobinPicker>();
}

}  // namespace ballast::balance
