// src/balance/algorithm.cpp — the names config uses for each balancing algorithm.
#include "balance/algorithm.h"

#include <array>

namespace ballast::balance {
namespace {

struct NamedAlgorithm {
  Algorithm algorithm;
  std::string_view name;
};

// One table serves both directions, so a name can never parse to an algorithm that prints
// under a different name.
constexpr std::array kNamedAlgorithms{
    NamedAlgorithm{Algorithm::kRoundRobin, "round_robin"},
    NamedAlgorithm{Algorithm::kWeightedRoundRobin, "weighted_round_robin"},
    NamedAlgorithm{Algorithm::kLeastConn, "least_conn"},
    NamedAlgorithm{Algorithm::kRandom, "random"},
    NamedAlgorithm{Algorithm::kPowerOfTwo, "power_of_two"},
    NamedAlgorithm{Algorithm::kSourceHash, "source_hash"},
    NamedAlgorithm{Algorithm::kConsistentHash, "consistent_hash"},
};

// Returned for a value no enumerator names (a cast gone wrong); never parses back.
constexpr std::string_view kUnknownName = "unknown";

}  // namespace

std::optional<Algorithm> algorithmFromName(std::string_view name) {
  for (const NamedAlgorithm& named : kNamedAlgorithms) {
    if (named.name == name) {
      return named.algorithm;
    }
  }
  return std::nullopt;
}

std::string_view algorithmName(Algorithm a) {
  for (const NamedAlgorithm& named : kNamedAlgorithms) {
    if (named.algorithm == a) {
      return named.name;
    }
  }
  return kUnknownName;
}

}  // namespace ballast::balance
