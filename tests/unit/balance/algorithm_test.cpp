// tests/unit/balance/algorithm_test.cpp — algorithm names parse and print as config spells them.
#include "balance/algorithm.h"

#include <gtest/gtest.h>

#include <array>
#include <optional>
#include <string_view>

namespace ballast::balance {
namespace {

struct Spelling {
  Algorithm algorithm;
  std::string_view name;
};

// Written out again rather than taken from algorithm.cpp, so renaming one there fails here:
// config files in the wild use these exact strings.
constexpr std::array kSpellings{
    Spelling{Algorithm::kRoundRobin, "round_robin"},
    Spelling{Algorithm::kWeightedRoundRobin, "weighted_round_robin"},
    Spelling{Algorithm::kLeastConn, "least_conn"},
    Spelling{Algorithm::kRandom, "random"},
    Spelling{Algorithm::kPowerOfTwo, "power_of_two"},
    Spelling{Algorithm::kSourceHash, "source_hash"},
    Spelling{Algorithm::kConsistentHash, "consistent_hash"},
};

TEST(AlgorithmTest, EveryAlgorithmRoundTripsThroughItsName) {
  for (const Spelling& spelling : kSpellings) {
    EXPECT_EQ(algorithmName(spelling.algorithm), spelling.name);
    EXPECT_EQ(algorithmFromName(spelling.name), spelling.algorithm) << spelling.name;
  }
}

TEST(AlgorithmTest, RejectsUnknownAndMisspelledNames) {
  EXPECT_EQ(algorithmFromName(""), std::nullopt);
  EXPECT_EQ(algorithmFromName("maglev"), std::nullopt);
  EXPECT_EQ(algorithmFromName("Round_Robin"), std::nullopt);  // names are case-sensitive
  EXPECT_EQ(algorithmFromName("round_robin "), std::nullopt);
  EXPECT_EQ(algorithmFromName("least"), std::nullopt);  // no prefix matching
}

TEST(AlgorithmTest, OutOfRangeValueHasANameThatDoesNotParse) {
  constexpr auto kBogus = static_cast<Algorithm>(kSpellings.size());
  const std::string_view name = algorithmName(kBogus);
  EXPECT_FALSE(name.empty());
  EXPECT_EQ(algorithmFromName(name), std::nullopt);
}

}  // namespace
}  // namespace ballast::balance
