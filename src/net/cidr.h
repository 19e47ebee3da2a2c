// src/net/cidr.h — IPv4/IPv6 prefixes ("10.0.0.0/8", "::1/128") for allow lists and
// trusted-proxy checks.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "net/address.h"

namespace ballast::net {

class Cidr {
 public:
  // "10.0.0.0/8", "2001:db8::/32"; a bare address is a /32 or /128. Host bits past the
  // prefix are cleared, as `ip route` does, so "10.1.2.3/8" is 10.0.0.0/8.
  static std::optional<Cidr> parse(std::string_view text);

  // An IPv4 address also matches through its v4-mapped IPv6 form (::ffff:a.b.c.d) and the
  // other way round, because dual-stack sockets report IPv4 peers that way.
  bool contains(const SocketAddress& address) const;
  // "10.0.0.0/8" or "2001:db8::/32".
  std::string toString() const;

  int family() const { return family_; }
  uint32_t prefixLength() const { return prefix_length_; }
  // The network's address bytes: 4 for IPv4 (in the first 4), 16 for IPv6; host bits clear.
  const std::array<uint8_t, 16>& network() const { return network_; }
  bool operator==(const Cidr& other) const = default;

 private:
  static constexpr size_t kV6Bytes = 16;
  int family_ = AF_INET;
  uint32_t prefix_length_ = 0;
  std::array<uint8_t, kV6Bytes> network_{};  // IPv4 uses the first 4 bytes
};

}  // namespace ballast::net
