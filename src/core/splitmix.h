// src/core/splitmix.h — splitmix64 (Steele, Lea and Flood): a tiny generator for seeds, jitter
// and ids. Not for anything an attacker must not predict.
#pragma once

#include <cstdint>

namespace ballast::core {

constexpr uint64_t kSplitMixGamma = 0x9e3779b97f4a7c15ULL;

// The finalizer alone: spreads the bits of any 64-bit value.
constexpr uint64_t splitMixFinalize(uint64_t z) {
  constexpr uint64_t kMultiplier1 = 0xbf58476d1ce4e5b9ULL;
  constexpr uint64_t kMultiplier2 = 0x94d049bb133111ebULL;
  constexpr int kShift1 = 30;
  constexpr int kShift2 = 27;
  constexpr int kShift3 = 31;
  z = (z ^ (z >> kShift1)) * kMultiplier1;
  z = (z ^ (z >> kShift2)) * kMultiplier2;
  return z ^ (z >> kShift3);
}

// Advances `state` and returns the next value.
constexpr uint64_t splitMix64(uint64_t& state) {
  state += kSplitMixGamma;
  return splitMixFinalize(state);
}

}  // namespace ballast::core
