// src/l7/sticky.cpp — sticky cookie values and lookups.
#include "l7/sticky.h"

#include <xxhash.h>

#include <array>
#include <cstdio>

namespace ballast::l7 {
namespace {
constexpr size_t kValueChars = 16;
}  // namespace

std::string stickyValue(const std::string& pool, const upstream::BackendState& backend) {
  const uint64_t seed = XXH64(pool.data(), pool.size(), 0);
  const uint64_t h = XXH64(backend.name.data(), backend.name.size(), seed);
  std::array<char, kValueChars + 1> out{};
  snprintf(out.data(), out.size(), "%016llx", static_cast<unsigned long long>(h));
  return std::string(out.data(), kValueChars);
}

std::optional<uint32_t> stickyBackend(upstream::WorkerPool& pool, std::string_view value) {
  if (value.size() != kValueChars) {
    return std::nullopt;
  }
  const auto& rt = pool.runtime();
  for (uint32_t i = 0; i < rt.backends.size(); ++i) {
    if (stickyValue(rt.config->name, *rt.backends[i]) == value) {
      return pool.isUp(i) ? std::optional<uint32_t>(i) : std::nullopt;
    }
  }
  return std::nullopt;
}

}  // namespace ballast::l7
