// src/net/address.cpp — parsing and printing of numeric IPv4/IPv6 socket addresses.
#include "net/address.h"

#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cstring>
#include <functional>
#include <limits>

namespace ballast::net {
namespace {

constexpr size_t kMaxPortDigits = 5;  // "65535"
constexpr uint32_t kMaxPort = 65535;
constexpr std::string_view kAnyV4 = "0.0.0.0";

// Digits only: no sign, no spaces, no hex; std::from_chars alone would accept a prefix.
std::optional<uint16_t> parsePort(std::string_view text) {
  if (text.empty() || text.size() > kMaxPortDigits) {
    return std::nullopt;
  }
  if (!std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return std::nullopt;
  }
  uint32_t value = 0;
  std::from_chars(text.data(), text.data() + text.size(), value);
  if (value == 0 || value > kMaxPort) {
    return std::nullopt;
  }
  return static_cast<uint16_t>(value);
}

// inet_pton needs a NUL-terminated string; an embedded NUL would silently cut the input
// short, so it is rejected before the copy.
std::optional<SocketAddress> fromHost(std::string_view host, int family, uint16_t port) {
  if (host.empty() || host.find('\0') != std::string_view::npos) {
    return std::nullopt;
  }
  const std::string copy(host);
  sockaddr_storage storage{};
  socklen_t length = 0;
  if (family == AF_INET) {
    auto* sin = reinterpret_cast<sockaddr_in*>(&storage);
    if (inet_pton(AF_INET, copy.c_str(), &sin->sin_addr) != 1) {
      return std::nullopt;
    }
    sin->sin_family = AF_INET;
    length = sizeof(sockaddr_in);
  } else {
    auto* sin6 = reinterpret_cast<sockaddr_in6*>(&storage);
    if (inet_pton(AF_INET6, copy.c_str(), &sin6->sin6_addr) != 1) {
      return std::nullopt;
    }
    sin6->sin6_family = AF_INET6;
    length = sizeof(sockaddr_in6);
  }
  SocketAddress address =
      SocketAddress::fromSockaddr(reinterpret_cast<const sockaddr*>(&storage), length);
  address.setPort(port);
  return address;
}

// "[host]" or "[host]:port"; only IPv6 may sit inside brackets.
std::optional<SocketAddress> parseBracketed(std::string_view text, bool allow_no_port) {
  const size_t close = text.find(']');
  if (close == std::string_view::npos) {
    return std::nullopt;
  }
  const std::string_view host = text.substr(1, close - 1);
  const std::string_view rest = text.substr(close + 1);
  if (rest.empty()) {
    return allow_no_port ? fromHost(host, AF_INET6, 0) : std::nullopt;
  }
  if (rest.front() != ':') {
    return std::nullopt;
  }
  const auto port = parsePort(rest.substr(1));
  if (!port) {
    return std::nullopt;
  }
  return fromHost(host, AF_INET6, *port);
}

}  // namespace

std::optional<SocketAddress> SocketAddress::parse(std::string_view text, bool allow_no_port) {
  if (text.empty()) {
    return std::nullopt;
  }
  if (text.front() == '[') {
    return parseBracketed(text, allow_no_port);
  }
  const size_t colons = static_cast<size_t>(std::count(text.begin(), text.end(), ':'));
  if (colons == 0) {
    return allow_no_port ? fromHost(text, AF_INET, 0) : std::nullopt;
  }
  if (colons > 1) {
    // "::1:80" could be a host and port or the address ::1:80; only the port-less reading
    // is unambiguous, and a port requires brackets.
    return allow_no_port ? fromHost(text, AF_INET6, 0) : std::nullopt;
  }
  const size_t colon = text.find(':');
  std::string_view host = text.substr(0, colon);
  const auto port = parsePort(text.substr(colon + 1));
  if (!port) {
    return std::nullopt;
  }
  if (host.empty() || host == "*") {
    host = kAnyV4;
  }
  return fromHost(host, AF_INET, *port);
}

SocketAddress SocketAddress::fromSockaddr(const sockaddr* sa, socklen_t len) {
  SocketAddress address;
  if (sa == nullptr) {
    return address;
  }
  const auto n = std::min<size_t>(len, sizeof(address.storage_));
  std::memcpy(&address.storage_, sa, n);
  address.length_ = static_cast<socklen_t>(n);
  return address;
}

uint16_t SocketAddress::port() const {
  if (family() == AF_INET) {
    return ntohs(reinterpret_cast<const sockaddr_in*>(&storage_)->sin_port);
  }
  if (family() == AF_INET6) {
    return ntohs(reinterpret_cast<const sockaddr_in6*>(&storage_)->sin6_port);
  }
  return 0;
}

void SocketAddress::setPort(uint16_t port) {
  if (family() == AF_INET) {
    reinterpret_cast<sockaddr_in*>(&storage_)->sin_port = htons(port);
  } else if (family() == AF_INET6) {
    reinterpret_cast<sockaddr_in6*>(&storage_)->sin6_port = htons(port);
  }
}

std::string SocketAddress::hostString() const {
  std::array<char, INET6_ADDRSTRLEN> buf{};
  const std::string_view bytes = addressBytes();
  if (bytes.empty() || inet_ntop(family(), bytes.data(), buf.data(), buf.size()) == nullptr) {
    return {};
  }
  return {buf.data()};
}

std::string SocketAddress::toString() const {
  std::string host = hostString();
  if (host.empty()) {
    return {};
  }
  const std::string port_text = std::to_string(port());
  if (isV6()) {
    return "[" + host + "]:" + port_text;
  }
  return host + ":" + port_text;
}

std::string_view SocketAddress::addressBytes() const {
  if (family() == AF_INET) {
    const auto& addr = reinterpret_cast<const sockaddr_in*>(&storage_)->sin_addr;
    return {reinterpret_cast<const char*>(&addr), sizeof(addr)};
  }
  if (family() == AF_INET6) {
    const auto& addr = reinterpret_cast<const sockaddr_in6*>(&storage_)->sin6_addr;
    return {reinterpret_cast<const char*>(&addr), sizeof(addr)};
  }
  return {};
}

bool SocketAddress::operator==(const SocketAddress& other) const {
  return family() == other.family() && port() == other.port() &&
         addressBytes() == other.addressBytes();
}

size_t SocketAddressHash::operator()(const SocketAddress& a) const {
  // Boost's hash_combine constant: spreads the port across the address hash's bits.
  constexpr size_t kGoldenRatio = 0x9e3779b97f4a7c15ULL;
  constexpr unsigned kShiftLeft = 6;
  constexpr unsigned kShiftRight = 2;
  size_t h = std::hash<std::string_view>{}(a.addressBytes());
  const size_t extra =
      (static_cast<size_t>(a.family()) << std::numeric_limits<uint16_t>::digits) | a.port();
  h ^= extra + kGoldenRatio + (h << kShiftLeft) + (h >> kShiftRight);
  return h;
}

bool SocketAddress::isLoopback() const {
  constexpr uint32_t kLoopbackNet = 0x7f000000;
  constexpr uint32_t kLoopbackMask = 0xff000000;
  if (family() == AF_INET) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(&storage_);
    return (ntohl(in->sin_addr.s_addr) & kLoopbackMask) == kLoopbackNet;
  }
  if (family() == AF_INET6) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(&storage_);
    if (IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr)) {
      return true;
    }
    constexpr size_t kV4Offset = 12;
    constexpr uint8_t kLoopbackFirstByte = 127;
    return IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr) &&
           in6->sin6_addr.s6_addr[kV4Offset] == kLoopbackFirstByte;
  }
  return false;
}

}  // namespace ballast::net
