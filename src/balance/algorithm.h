// src/balance/algorithm.h — the balancing algorithms by name, for config and factories.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace ballast::balance {

enum class Algorithm : uint8_t {
  kRoundRobin,
  kWeightedRoundRobin,
  kLeastConn,
  kRandom,
  kPowerOfTwo,
  kSourceHash,
  kConsistentHash,
};

// "round_robin", "weighted_round_robin", "least_conn", "random", "power_of_two",
// "source_hash", "consistent_hash".
std::optional<Algorithm> algorithmFromName(std::string_view name);
std::string_view algorithmName(Algorithm a);

}  // namespace ballast::balance
