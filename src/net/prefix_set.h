// src/net/prefix_set.h — membership in a large set of CIDR prefixes (ACLs of 100,000 entries and
// more): "is this address inside any of them?" in a binary search. The prefixes become address
// ranges, sorted and merged, one vector per family, so a lookup is about 17 comparisons for
// 100k entries and memory is 8 (IPv4) or 32 (IPv6) bytes per range. Built once per config
// snapshot; read-only and safe to share between workers.
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

#include "net/address.h"
#include "net/cidr.h"

namespace ballast::net {

class PrefixSet {
 public:
  void add(const Cidr& cidr);
  // Sorts and merges; call once after the last add(), before contains().
  void seal();
  // As Cidr::contains: an IPv4 address also matches IPv6 prefixes through its v4-mapped form
  // (::ffff:a.b.c.d) and the other way round.
  bool contains(const SocketAddress& address) const;
  bool empty() const { return v4_.empty() && v6_.empty(); }
  // Ranges after merging (overlapping and adjacent prefixes become one).
  size_t ranges() const { return v4_.size() + v6_.size(); }

 private:
  using U128 = unsigned __int128;
  bool containsV4(uint32_t a) const;
  bool containsV6(U128 a) const;

  std::vector<std::pair<uint32_t, uint32_t>> v4_;  // [first, last]
  std::vector<std::pair<U128, U128>> v6_;
};

}  // namespace ballast::net
