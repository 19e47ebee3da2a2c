// src/net/cidr.cpp — prefix parsing and matching for IPv4 and IPv6.
#include "net/cidr.h"

#include <arpa/inet.h>

#include <algorithm>
#include <charconv>
#include <climits>
#include <cstring>

namespace ballast::net {
namespace {

constexpr size_t kV4Bytes = 4;
constexpr size_t kV6Bytes = 16;
constexpr uint32_t kV4Bits = kV4Bytes * CHAR_BIT;
constexpr uint32_t kV6Bits = kV6Bytes * CHAR_BIT;
constexpr size_t kMaxPrefixDigits = 3;  // "128"
// ::ffff:0:0/96, RFC 4291 section 2.5.5.2.
constexpr std::array<uint8_t, kV6Bytes - kV4Bytes> kV4MappedPrefix = {0, 0, 0, 0, 0,    0,
                                                                      0, 0, 0, 0, 0xff, 0xff};

std::optional<uint32_t> parsePrefixLength(std::string_view text) {
  if (text.empty() || text.size() > kMaxPrefixDigits ||
      !std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return std::nullopt;
  }
  uint32_t value = 0;
  std::from_chars(text.data(), text.data() + text.size(), value);
  return value;
}

// True when the first `bits` bits of a and b agree.
bool prefixMatches(const uint8_t* a, const uint8_t* b, uint32_t bits) {
  const uint32_t whole = bits / CHAR_BIT;
  if (std::memcmp(a, b, whole) != 0) {
    return false;
  }
  const uint32_t rest = bits % CHAR_BIT;
  if (rest == 0) {
    return true;
  }
  const auto mask = static_cast<uint8_t>(UINT8_MAX << (CHAR_BIT - rest));
  return (a[whole] & mask) == (b[whole] & mask);
}

}  // namespace

std::optional<Cidr> Cidr::parse(std::string_view text) {
  const size_t slash = text.find('/');
  const std::string_view host = text.substr(0, slash);
  // A bracketed or ported form is a socket address, not a prefix.
  if (host.find_first_of("[]") != std::string_view::npos) {
    return std::nullopt;
  }
  const auto address = SocketAddress::parse(host, /*allow_no_port=*/true);
  if (!address || address->port() != 0) {
    return std::nullopt;
  }
  Cidr cidr;
  cidr.family_ = address->family();
  const uint32_t max_bits = address->isV6() ? kV6Bits : kV4Bits;
  cidr.prefix_length_ = max_bits;
  if (slash != std::string_view::npos) {
    const auto length = parsePrefixLength(text.substr(slash + 1));
    if (!length || *length > max_bits) {
      return std::nullopt;
    }
    cidr.prefix_length_ = *length;
  }
  const std::string_view bytes = address->addressBytes();
  std::memcpy(cidr.network_.data(), bytes.data(), bytes.size());
  for (uint32_t bit = cidr.prefix_length_; bit < max_bits; ++bit) {
    cidr.network_[bit / CHAR_BIT] &= static_cast<uint8_t>(~(1U << (CHAR_BIT - 1 - bit % CHAR_BIT)));
  }
  return cidr;
}

bool Cidr::contains(const SocketAddress& address) const {
  const std::string_view view = address.addressBytes();
  const auto* bytes = reinterpret_cast<const uint8_t*>(view.data());
  if (address.family() == family_) {
    return prefixMatches(network_.data(), bytes, prefix_length_);
  }
  if (family_ == AF_INET && view.size() == kV6Bytes) {
    if (!std::equal(kV4MappedPrefix.begin(), kV4MappedPrefix.end(), bytes)) {
      return false;
    }
    return prefixMatches(network_.data(), bytes + kV4MappedPrefix.size(), prefix_length_);
  }
  if (family_ == AF_INET6 && view.size() == kV4Bytes) {
    std::array<uint8_t, kV6Bytes> mapped{};
    std::copy(kV4MappedPrefix.begin(), kV4MappedPrefix.end(), mapped.begin());
    std::memcpy(mapped.data() + kV4MappedPrefix.size(), bytes, kV4Bytes);
    return prefixMatches(network_.data(), mapped.data(), prefix_length_);
  }
  return false;
}

std::string Cidr::toString() const {
  std::array<char, INET6_ADDRSTRLEN> buf{};
  if (inet_ntop(family_, network_.data(), buf.data(), buf.size()) == nullptr) {
    return {};
  }
  return std::string(buf.data()) + "/" + std::to_string(prefix_length_);
}

}  // namespace ballast::net
