// src/net/address.h — IPv4/IPv6 socket addresses and CIDR prefixes, parsed from text.
// Numeric addresses only: name resolution belongs to discovery, not to the data path.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace ballast::net {

class SocketAddress {
 public:
  SocketAddress() = default;
  // Accepts "1.2.3.4:80", "[::1]:80", "*:80" and ":80" (any IPv4), "[::]:80".
  // With allow_no_port, a bare host ("1.2.3.4", "::1", "[::1]") gets port 0.
  static std::optional<SocketAddress> parse(std::string_view text, bool allow_no_port = false);
  static SocketAddress fromSockaddr(const sockaddr* sa, socklen_t len);

  int family() const { return storage_.ss_family; }
  bool isV6() const { return family() == AF_INET6; }
  // 127.0.0.0/8, ::1 or ::ffff:127.0.0.0/104.
  bool isLoopback() const;
  uint16_t port() const;
  void setPort(uint16_t port);
  const sockaddr* sockaddrPtr() const { return reinterpret_cast<const sockaddr*>(&storage_); }
  sockaddr* sockaddrPtr() { return reinterpret_cast<sockaddr*>(&storage_); }
  socklen_t length() const { return length_; }
  // "1.2.3.4:80" or "[::1]:80".
  std::string toString() const;
  // The address without the port: "1.2.3.4" or "::1".
  std::string hostString() const;
  // Raw address bytes (4 or 16) for hashing and PROXY protocol.
  std::string_view addressBytes() const;

  bool operator==(const SocketAddress& other) const;

 private:
  sockaddr_storage storage_{};
  socklen_t length_ = 0;
};

struct SocketAddressHash {
  size_t operator()(const SocketAddress& a) const;
};

}  // namespace ballast::net
