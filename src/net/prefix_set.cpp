// src/net/prefix_set.cpp — prefixes as merged ranges, looked up by binary search.
#include "net/prefix_set.h"

#include <sys/socket.h>

#include <algorithm>
#include <cstring>

namespace ballast::net {
namespace {

constexpr size_t kV4Bytes = 4;
constexpr size_t kV6Bytes = 16;
constexpr uint32_t kV4Bits = 32;
constexpr uint32_t kV6Bits = 128;
// ::ffff:0:0/96, the v4-mapped block.
constexpr unsigned __int128 kV4MappedBase = static_cast<unsigned __int128>(0xffff) << 32;

uint32_t v4Of(const uint8_t* b) {
  return (uint32_t{b[0]} << 24) | (uint32_t{b[1]} << 16) | (uint32_t{b[2]} << 8) | b[3];
}

unsigned __int128 v6Of(const uint8_t* b) {
  unsigned __int128 v = 0;
  for (size_t i = 0; i < kV6Bytes; ++i) {
    v = (v << 8) | b[i];
  }
  return v;
}

template <typename T>
void merge(std::vector<std::pair<T, T>>& ranges) {
  std::sort(ranges.begin(), ranges.end());
  std::vector<std::pair<T, T>> out;
  for (const auto& r : ranges) {
    // Overlapping or adjacent (and no wrap past the top of the space): extend the last one.
    if (!out.empty() &&
        (r.first <= out.back().second ||
         (out.back().second != static_cast<T>(~T{0}) && r.first == out.back().second + 1))) {
      out.back().second = std::max(out.back().second, r.second);
    } else {
      out.push_back(r);
    }
  }
  ranges.swap(out);
}

template <typename T>
bool inRanges(const std::vector<std::pair<T, T>>& ranges, T a) {
  // The last range starting at or before `a`.
  auto it = std::upper_bound(ranges.begin(), ranges.end(), a,
                             [](T value, const std::pair<T, T>& r) { return value < r.first; });
  return it != ranges.begin() && a <= std::prev(it)->second;
}

}  // namespace

void PrefixSet::add(const Cidr& cidr) {
  const uint8_t* b = cidr.network().data();
  if (cidr.family() == AF_INET) {
    const uint32_t first = v4Of(b);
    const uint32_t host_bits = kV4Bits - cidr.prefixLength();
    const uint32_t span = host_bits == kV4Bits ? ~0U : (1U << host_bits) - 1;
    v4_.emplace_back(first, first | span);
    return;
  }
  const U128 first = v6Of(b);
  const uint32_t host_bits = kV6Bits - cidr.prefixLength();
  const U128 span = host_bits == kV6Bits ? ~U128{0} : (U128{1} << host_bits) - 1;
  v6_.emplace_back(first, first | span);
}

void PrefixSet::seal() {
  merge(v4_);
  merge(v6_);
}

bool PrefixSet::containsV4(uint32_t a) const { return inRanges(v4_, a); }

bool PrefixSet::containsV6(U128 a) const { return inRanges(v6_, a); }

bool PrefixSet::contains(const SocketAddress& address) const {
  const std::string_view view = address.addressBytes();
  const auto* b = reinterpret_cast<const uint8_t*>(view.data());
  if (view.size() == kV4Bytes) {
    const uint32_t a = v4Of(b);
    return containsV4(a) || (!v6_.empty() && containsV6(kV4MappedBase | a));
  }
  if (view.size() != kV6Bytes) {
    return false;
  }
  const U128 a = v6Of(b);
  if (containsV6(a)) {
    return true;
  }
  // A v4-mapped address is its IPv4 address too.
  return (a >> 32) == 0xffff && containsV4(static_cast<uint32_t>(a));
}

}  // namespace ballast::net
