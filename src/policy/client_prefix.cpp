// src/policy/client_prefix.cpp — prefix masking and the hash of a client address.
#include "policy/client_prefix.h"

#include <netinet/in.h>
#include <xxhash.h>

#include <algorithm>
#include <array>
#include <cstring>

namespace ballast::policy {
namespace {

constexpr size_t kIpv4Bytes = 4;
constexpr size_t kIpv6Bytes = 16;
constexpr size_t kMappedPrefixBytes = 12;  // ::ffff:a.b.c.d
constexpr unsigned kBitsPerByte = 8;
constexpr unsigned kByteMask = 0xff;

}  // namespace

uint64_t hashClientPrefix(uint64_t seed, const net::SocketAddress& client, unsigned ipv4_prefix,
                          unsigned ipv6_prefix) {
  std::array<uint8_t, kIpv6Bytes + 1> bytes{};
  size_t len = 0;
  unsigned prefix = 0;
  if (client.isV6()) {
    const auto* sa = reinterpret_cast<const sockaddr_in6*>(client.sockaddrPtr());
    const uint8_t* a = sa->sin6_addr.s6_addr;
    if (IN6_IS_ADDR_V4MAPPED(&sa->sin6_addr)) {
      std::memcpy(bytes.data(), a + kMappedPrefixBytes, kIpv4Bytes);
      len = kIpv4Bytes;
      prefix = ipv4_prefix;
    } else {
      std::memcpy(bytes.data(), a, kIpv6Bytes);
      len = kIpv6Bytes;
      prefix = ipv6_prefix;
    }
  } else {
    const auto* sa = reinterpret_cast<const sockaddr_in*>(client.sockaddrPtr());
    std::memcpy(bytes.data(), &sa->sin_addr, kIpv4Bytes);
    len = kIpv4Bytes;
    prefix = ipv4_prefix;
  }
  for (size_t i = 0; i < len; ++i) {
    const unsigned keep = std::min<unsigned>(
        kBitsPerByte, prefix > i * kBitsPerByte ? prefix - i * kBitsPerByte : 0U);
    bytes[i] &= static_cast<uint8_t>((kByteMask << (kBitsPerByte - keep)) & kByteMask);
  }
  bytes[len] = static_cast<uint8_t>(len);  // v4 and v6 never share a key
  return XXH3_64bits_withSeed(bytes.data(), len + 1, seed);
}

}  // namespace ballast::policy
