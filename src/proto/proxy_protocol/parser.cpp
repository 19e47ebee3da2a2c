// src/proto/proxy_protocol/parser.cpp — strict, incremental parsing of PROXY v1 and v2 headers.
// Whoever can reach a PROXY listener can send anything, so every field is checked, nothing past
// the input is read, and input that cannot become a valid header fails on the byte that shows it
// rather than after a timeout.
#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <array>
#include <climits>
#include <cstring>
#include <limits>
#include <string_view>

#include "proto/proxy_protocol/proxy_protocol.h"

namespace ballast::proto::proxy_protocol {
namespace {

using core::Errc;
using core::Error;
using core::Result;

constexpr Error kIncomplete{Errc::kNeedMore, "proxy protocol: incomplete header"};

constexpr Error bad(std::string_view what) { return Error{Errc::kBadInput, what}; }

constexpr size_t kIpv4Bytes = sizeof(in_addr);
constexpr size_t kIpv6Bytes = sizeof(in6_addr);
using AddressBytes = std::array<uint8_t, kIpv6Bytes>;  // big enough for either family
enum Side : size_t { kSource, kDestination, kSideCount };

// `address` holds kIpv4Bytes or kIpv6Bytes in network order; `port` is in host order.
net::SocketAddress makeAddress(int family, const uint8_t* address, uint16_t port) {
  if (family == AF_INET) {
    sockaddr_in sin{};
    sin.sin_family = AF_INET;
    sin.sin_port = htons(port);
    std::memcpy(&sin.sin_addr, address, kIpv4Bytes);
    return net::SocketAddress::fromSockaddr(reinterpret_cast<const sockaddr*>(&sin), sizeof(sin));
  }
  sockaddr_in6 sin6{};
  sin6.sin6_family = AF_INET6;
  sin6.sin6_port = htons(port);
  std::memcpy(&sin6.sin6_addr, address, kIpv6Bytes);
  return net::SocketAddress::fromSockaddr(reinterpret_cast<const sockaddr*>(&sin6), sizeof(sin6));
}

// ---- Version 1: one line of text.

constexpr std::string_view kV1Tcp4 = "TCP4";
constexpr std::string_view kV1Tcp6 = "TCP6";
constexpr std::string_view kV1Unknown = "UNKNOWN";
constexpr std::string_view kCrlf = "\r\n";
constexpr char kCr = '\r';
constexpr char kLf = '\n';
constexpr char kSpace = ' ';

// The fields after "PROXY ", in wire order.
enum V1Field : size_t {
  kProtocolField,
  kSourceField,
  kDestinationField,
  kSourcePortField,
  kDestinationPortField,
  kV1FieldCount,
};

constexpr size_t kMaxInet4TextBytes = INET_ADDRSTRLEN - 1;  // without the NUL
constexpr size_t kMaxInet6TextBytes = INET6_ADDRSTRLEN - 1;
constexpr size_t kMaxPortDigits = std::numeric_limits<uint16_t>::digits10 + 1;  // "65535"
constexpr uint32_t kDecimalBase = 10;

bool isDigit(char c) { return c >= '0' && c <= '9'; }
bool isHexDigit(char c) { return isDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

// A field is `complete` once a space or the CR follows it; before that it only has to be a
// possible beginning of a valid field. `out` is written only for complete fields.
bool checkAddress(std::string_view field, bool complete, int family, AddressBytes& out) {
  const bool v4 = family == AF_INET;
  if (field.size() > (v4 ? kMaxInet4TextBytes : kMaxInet6TextBytes)) {
    return false;
  }
  if (!complete) {
    // Cheap early rejection; inet_pton below is the real judge of the finished field.
    return std::all_of(field.begin(), field.end(), [v4](char c) {
      return v4 ? (isDigit(c) || c == '.') : (isHexDigit(c) || c == ':' || c == '.');
    });
  }
  // glibc's inet_pton is as strict as the spec: IPv4 needs four decimal parts without leading
  // zeros, and neither family takes a zone ("%eth0") or surrounding text.
  std::array<char, INET6_ADDRSTRLEN> text{};
  field.copy(text.data(), field.size());
  return inet_pton(family, text.data(), out.data()) == 1;
}

// Decimal 0..65535 without sign or leading zero, or a beginning of one when not `complete`.
bool checkPort(std::string_view field, bool complete, uint16_t& out) {
  if (field.empty()) {
    return !complete;
  }
  if (field.size() > kMaxPortDigits || (field.front() == '0' && field.size() > 1)) {
    return false;
  }
  uint32_t value = 0;
  for (const char c : field) {
    if (!isDigit(c)) {
      return false;
    }
    value = value * kDecimalBase + static_cast<uint32_t>(c - '0');
  }
  if (value > std::numeric_limits<uint16_t>::max()) {
    return false;
  }
  out = static_cast<uint16_t>(value);
  return true;
}

Result<ProxyHeader> parseV1(std::span<const uint8_t> data) {
  // A valid line ends within kMaxV1Bytes, so nothing beyond can change the verdict.
  const std::string_view text(reinterpret_cast<const char*>(data.data()),
                              std::min(data.size(), kMaxV1Bytes));
  const size_t signature_bytes = std::min(text.size(), wire::kV1Prefix.size());
  if (text.substr(0, signature_bytes) != wire::kV1Prefix.substr(0, signature_bytes)) {
    return bad("proxy protocol: bad v1 signature");
  }
  if (text.size() < wire::kV1Prefix.size()) {
    return kIncomplete;
  }

  // The line ends at the first CR, and only a CR immediately followed by LF ends it.
  const size_t eol = text.find_first_of(kCrlf);
  const bool line_ended = eol != std::string_view::npos;
  bool have_crlf = false;
  if (!line_ended) {
    if (text.size() == kMaxV1Bytes) {
      return bad("proxy protocol: v1 line has no CRLF within 107 bytes");
    }
  } else if (text[eol] != kCr) {
    return bad("proxy protocol: v1 line ends with a bare LF");
  } else if (eol + 1 < text.size()) {
    if (text[eol + 1] != kLf) {
      return bad("proxy protocol: v1 CR not followed by LF");
    }
    have_crlf = true;
  } else if (text.size() == kMaxV1Bytes) {
    return bad("proxy protocol: v1 line has no CRLF within 107 bytes");
  }
  const size_t header_length = have_crlf ? eol + kCrlf.size() : 0;
  const std::string_view line = text.substr(
      wire::kV1Prefix.size(), line_ended ? eol - wire::kV1Prefix.size() : std::string_view::npos);

  // The spec has the receiver ignore whatever follows "UNKNOWN" up to the CRLF.
  if (line.starts_with(kV1Unknown)) {
    const std::string_view rest = line.substr(kV1Unknown.size());
    if (!rest.empty() && rest.front() != kSpace) {
      return bad("proxy protocol: unknown v1 protocol");
    }
    if (!have_crlf) {
      return kIncomplete;
    }
    ProxyHeader header;
    header.local = true;
    header.header_length = header_length;
    return header;
  }

  // Exactly one space between fields: an empty field anywhere but at the growing end is an error.
  std::array<std::string_view, kV1FieldCount> fields{};
  size_t count = 0;
  for (size_t start = 0;;) {
    if (count == kV1FieldCount) {
      return bad("proxy protocol: too many v1 fields");
    }
    const size_t space = line.find(kSpace, start);
    const std::string_view field =
        line.substr(start, space == std::string_view::npos ? space : space - start);
    fields[count++] = field;
    if (space == std::string_view::npos) {
      break;
    }
    if (field.empty()) {
      return bad("proxy protocol: v1 fields must be separated by exactly one space");
    }
    start = space + 1;
  }
  if (line_ended && (count != kV1FieldCount || fields[count - 1].empty())) {
    return bad("proxy protocol: v1 line ends early or with a space");
  }
  const auto complete = [&](size_t field) { return field + 1 < count || line_ended; };

  const std::string_view protocol = fields[kProtocolField];
  if (!complete(kProtocolField)) {
    if (kV1Tcp4.starts_with(protocol) || kV1Tcp6.starts_with(protocol) ||
        kV1Unknown.starts_with(protocol)) {
      return kIncomplete;
    }
    return bad("proxy protocol: unknown v1 protocol");
  }
  int family = AF_UNSPEC;
  if (protocol == kV1Tcp4) {
    family = AF_INET;
  } else if (protocol == kV1Tcp6) {
    family = AF_INET6;
  } else {
    return bad("proxy protocol: unknown v1 protocol");
  }

  std::array<AddressBytes, kSideCount> addresses{};
  for (size_t f = kSourceField; f <= kDestinationField && f < count; ++f) {
    if (!checkAddress(fields[f], complete(f), family, addresses[f - kSourceField])) {
      return bad("proxy protocol: bad v1 address for the protocol's family");
    }
  }
  std::array<uint16_t, kSideCount> ports{};
  for (size_t f = kSourcePortField; f < count; ++f) {
    if (!checkPort(fields[f], complete(f), ports[f - kSourcePortField])) {
      return bad("proxy protocol: bad v1 port");
    }
  }
  if (!have_crlf) {
    return kIncomplete;
  }

  ProxyHeader header;
  header.source = makeAddress(family, addresses[kSource].data(), ports[kSource]);
  header.destination = makeAddress(family, addresses[kDestination].data(), ports[kDestination]);
  header.header_length = header_length;
  return header;
}

// ---- Version 2: fixed 16 bytes, then the address block and TLVs.

constexpr size_t kTlvLengthOffset = 1;  // after the type byte

uint16_t readBigEndian16(const uint8_t* p) {
  return static_cast<uint16_t>((unsigned{p[0]} << CHAR_BIT) | unsigned{p[1]});
}

Result<ProxyHeader> parseV2(std::span<const uint8_t> data) {
  const size_t signature_bytes = std::min(data.size(), wire::kV2Signature.size());
  if (!std::equal(data.begin(), data.begin() + static_cast<ptrdiff_t>(signature_bytes),
                  wire::kV2Signature.begin())) {
    return bad("proxy protocol: bad v2 signature");
  }
  if (data.size() <= wire::kV2VersionCommandOffset) {
    return kIncomplete;
  }
  const uint8_t version_command = data[wire::kV2VersionCommandOffset];
  if ((version_command & wire::kV2VersionMask) != wire::kV2Version) {
    return bad("proxy protocol: unsupported v2 version");
  }
  const uint8_t command = version_command & wire::kV2CommandMask;
  if (command != wire::kV2CommandLocal && command != wire::kV2CommandProxy) {
    return bad("proxy protocol: unknown v2 command");
  }

  if (data.size() <= wire::kV2FamilyOffset) {
    return kIncomplete;
  }
  int family = AF_UNSPEC;
  size_t address_block_bytes = 0;
  // Checked for LOCAL too, although LOCAL ignores it: a sender that gets this byte wrong is not
  // one we want to trust with the rest.
  switch (data[wire::kV2FamilyOffset]) {
    case wire::kV2Unspec:
      break;
    case wire::kV2Tcp4:
    case wire::kV2Udp4:
      family = AF_INET;
      address_block_bytes = kV2Inet4AddressBytes;
      break;
    case wire::kV2Tcp6:
    case wire::kV2Udp6:
      family = AF_INET6;
      address_block_bytes = kV2Inet6AddressBytes;
      break;
    case wire::kV2UnixStream:
    case wire::kV2UnixDgram:
      return bad("proxy protocol: v2 AF_UNIX is not supported");
    default:
      return bad("proxy protocol: invalid v2 family or transport");
  }

  if (data.size() < kV2FixedBytes) {
    return kIncomplete;
  }
  const size_t length = readBigEndian16(data.data() + wire::kV2LengthOffset);
  if (length < address_block_bytes) {
    return bad("proxy protocol: v2 length does not cover the address block");
  }
  if (length - address_block_bytes > kMaxV2TlvBytes) {
    return bad("proxy protocol: v2 TLVs over our limit");
  }
  const size_t total = kV2FixedBytes + length;

  // TLVs are skipped, but each must fit the header, or the sender and we disagree on where the
  // payload starts. Check as far as the bytes we have go.
  for (size_t at = kV2FixedBytes + address_block_bytes; at < total;) {
    if (at + wire::kV2TlvHeaderBytes > total) {
      return bad("proxy protocol: v2 TLV header overruns the header");
    }
    if (at + wire::kV2TlvHeaderBytes > data.size()) {
      return kIncomplete;
    }
    at += wire::kV2TlvHeaderBytes + readBigEndian16(data.data() + at + kTlvLengthOffset);
    if (at > total) {
      return bad("proxy protocol: v2 TLV overruns the header");
    }
  }
  if (data.size() < total) {
    return kIncomplete;
  }

  ProxyHeader header;
  header.header_length = total;
  if (command == wire::kV2CommandLocal || family == AF_UNSPEC) {
    header.local = true;
    return header;
  }
  // Source address, destination address, source port, destination port.
  const uint8_t* block = data.data() + kV2FixedBytes;
  const size_t ip_bytes = family == AF_INET ? kIpv4Bytes : kIpv6Bytes;
  const uint8_t* ports = block + ip_bytes + ip_bytes;
  header.source = makeAddress(family, block, readBigEndian16(ports));
  header.destination =
      makeAddress(family, block + ip_bytes, readBigEndian16(ports + sizeof(uint16_t)));
  return header;
}

}  // namespace

Result<ProxyHeader> parse(std::span<const uint8_t> data) {
  // The two signatures differ in their first byte, so one byte picks the parser, and anything
  // else (a stray "GET /", a TLS ClientHello) fails at once.
  if (data.empty()) {
    return kIncomplete;
  }
  if (data[0] == static_cast<uint8_t>(wire::kV1Prefix[0])) {
    return parseV1(data);
  }
  if (data[0] == wire::kV2Signature[0]) {
    return parseV2(data);
  }
  return bad("proxy protocol: no PROXY signature");
}

}  // namespace ballast::proto::proxy_protocol
