// src/proto/proxy_protocol/writer.cpp — builds the PROXY v1 or v2 header we send to a backend
// that asked for one, so it sees the client's address instead of ours.
#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <array>
#include <cassert>
#include <charconv>
#include <climits>
#include <cstring>
#include <limits>
#include <string_view>

#include "proto/proxy_protocol/proxy_protocol.h"

namespace ballast::proto::proxy_protocol {
namespace {

constexpr size_t kIpv4Bytes = sizeof(in_addr);
constexpr size_t kIpv6Bytes = sizeof(in6_addr);
// An IPv4-mapped IPv6 address (RFC 4291 2.5.5.2) is ten zero bytes, two 0xff bytes, then the
// IPv4 address.
constexpr size_t kMappedMarkerOffset = 10;
constexpr size_t kMappedIpv4Offset = kIpv6Bytes - kIpv4Bytes;
constexpr uint8_t kMappedMarker = 0xFF;
constexpr uint8_t kByteMask = 0xFF;

// Both ends in one family, since neither version can carry a mixed pair.
struct Endpoints {
  int family = AF_UNSPEC;  // AF_INET or AF_INET6; AF_UNSPEC when either end is not IP
  std::array<uint8_t, kIpv6Bytes> source{};
  std::array<uint8_t, kIpv6Bytes> destination{};
  uint16_t source_port = 0;
  uint16_t destination_port = 0;
};

// Also checks the raw bytes' size, so the copies below stay in bounds whatever `a` holds.
bool isIp(const net::SocketAddress& a) {
  const size_t raw_bytes = a.addressBytes().size();
  return (a.family() == AF_INET && raw_bytes == kIpv4Bytes) ||
         (a.family() == AF_INET6 && raw_bytes == kIpv6Bytes);
}

// `a` passed isIp(). Copies the raw address, mapping IPv4 into IPv6 when `family` is AF_INET6.
void copyAddress(const net::SocketAddress& a, int family, std::array<uint8_t, kIpv6Bytes>& out) {
  const std::string_view raw = a.addressBytes();
  if (family == AF_INET6 && a.family() == AF_INET) {
    std::fill(out.begin() + kMappedMarkerOffset, out.begin() + kMappedIpv4Offset, kMappedMarker);
    std::memcpy(out.data() + kMappedIpv4Offset, raw.data(), kIpv4Bytes);
    return;
  }
  std::memcpy(out.data(), raw.data(), raw.size());
}

Endpoints endpointsOf(const net::SocketAddress& src, const net::SocketAddress& dst) {
  Endpoints e;
  if (!isIp(src) || !isIp(dst)) {
    return e;
  }
  e.family = src.family() == dst.family() ? src.family() : AF_INET6;
  copyAddress(src, e.family, e.source);
  copyAddress(dst, e.family, e.destination);
  e.source_port = src.port();
  e.destination_port = dst.port();
  return e;
}

// Appends into a buffer the caller sized for the worst case; overflowing it is a bug here.
class Output {
 public:
  explicit Output(std::span<uint8_t> out) : out_(out) {}

  void append(std::span<const uint8_t> bytes) {
    assert(length_ + bytes.size() <= out_.size());
    std::memcpy(out_.data() + length_, bytes.data(), bytes.size());
    length_ += bytes.size();
  }
  void append(std::string_view text) {
    append(std::span(reinterpret_cast<const uint8_t*>(text.data()), text.size()));
  }
  void appendByte(uint8_t byte) { append(std::span(&byte, 1)); }
  void appendBigEndian16(uint16_t value) {
    appendByte(static_cast<uint8_t>(value >> CHAR_BIT));
    appendByte(static_cast<uint8_t>(value & kByteMask));
  }
  void appendDecimal(uint16_t value) {
    std::array<char, std::numeric_limits<uint16_t>::digits10 + 1> digits{};
    const auto [end, ec] = std::to_chars(digits.begin(), digits.end(), value);
    assert(ec == std::errc());
    append(std::string_view(digits.data(), static_cast<size_t>(end - digits.data())));
  }
  void appendAddressText(int family, const uint8_t* address) {
    std::array<char, INET6_ADDRSTRLEN> text{};
    const char* written = inet_ntop(family, address, text.data(), text.size());
    assert(written != nullptr);
    append(std::string_view(written));
  }

  size_t length() const { return length_; }

 private:
  std::span<uint8_t> out_;
  size_t length_ = 0;
};

}  // namespace

size_t writeV1(const net::SocketAddress& src, const net::SocketAddress& dst,
               std::span<uint8_t> out) {
  assert(out.size() >= kMaxWriteBytes);
  const Endpoints e = endpointsOf(src, dst);
  Output line(out);
  line.append(wire::kV1Prefix);
  if (e.family == AF_UNSPEC) {
    line.append("UNKNOWN\r\n");
    return line.length();
  }
  line.append(e.family == AF_INET ? "TCP4 " : "TCP6 ");
  line.appendAddressText(e.family, e.source.data());
  line.append(" ");
  line.appendAddressText(e.family, e.destination.data());
  line.append(" ");
  line.appendDecimal(e.source_port);
  line.append(" ");
  line.appendDecimal(e.destination_port);
  line.append("\r\n");
  assert(line.length() <= kMaxV1Bytes);
  return line.length();
}

size_t writeV2(const net::SocketAddress& src, const net::SocketAddress& dst,
               std::span<uint8_t> out) {
  assert(out.size() >= kMaxWriteBytes);
  const Endpoints e = endpointsOf(src, dst);
  Output header(out);
  header.append(wire::kV2Signature);
  // PROXY even when the addresses are not IP: LOCAL would claim we opened the connection
  // ourselves (a health check), while AF_UNSPEC says "relayed, addresses unknown".
  header.appendByte(wire::kV2Version | wire::kV2CommandProxy);
  if (e.family == AF_UNSPEC) {
    header.appendByte(wire::kV2Unspec);
    header.appendBigEndian16(0);
    return header.length();
  }
  // Ballast relays TCP, hence STREAM.
  const bool v4 = e.family == AF_INET;
  const size_t ip_bytes = v4 ? kIpv4Bytes : kIpv6Bytes;
  header.appendByte(v4 ? wire::kV2Tcp4 : wire::kV2Tcp6);
  header.appendBigEndian16(static_cast<uint16_t>(v4 ? kV2Inet4AddressBytes : kV2Inet6AddressBytes));
  header.append(std::span(e.source.data(), ip_bytes));
  header.append(std::span(e.destination.data(), ip_bytes));
  header.appendBigEndian16(e.source_port);
  header.appendBigEndian16(e.destination_port);
  return header.length();
}

}  // namespace ballast::proto::proxy_protocol
