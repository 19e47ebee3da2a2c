// src/proto/proxy_protocol/proxy_protocol.h — PROXY protocol v1 (text) and v2 (binary), as in
// HAProxy's proxy-protocol.txt: parse the header a trusted proxy in front of us sends, and write
// the one we send to backends.
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "core/result.h"
#include "net/address.h"

namespace ballast::proto::proxy_protocol {

struct ProxyHeader {
  bool local = false;  // v2 LOCAL command, v2 AF_UNSPEC or v1 "UNKNOWN": use the real connection's
                       // addresses; source and destination are then left empty
  net::SocketAddress source;       // client as seen by the sender
  net::SocketAddress destination;  // address the client connected to
  size_t header_length = 0;        // bytes consumed from the stream
};

// The spec's worst case, "PROXY UNKNOWN <39> <39> 65535 65535\r\n", CRLF included.
constexpr size_t kMaxV1Bytes = 107;
// Signature (12), version/command, family/transport, big-endian length (2).
constexpr size_t kV2FixedBytes = 16;
// Two addresses and two ports.
constexpr size_t kV2Inet4AddressBytes = 12;
constexpr size_t kV2Inet6AddressBytes = 36;
// TLVs (ALPN, authority, SSL details) are skipped, so they only cost buffer space; the bound keeps
// a client from making us hold much before its first payload byte while leaving room for what
// HAProxy or a cloud load balancer sends.
constexpr size_t kMaxV2TlvBytes = 512;
// What a caller must be ready to buffer before parse() either succeeds or fails.
constexpr size_t kMaxHeaderBytes =
    std::max(kMaxV1Bytes, kV2FixedBytes + kV2Inet6AddressBytes + kMaxV2TlvBytes);
// What writeV1/writeV2 may produce; we never write TLVs.
constexpr size_t kMaxWriteBytes = std::max(kMaxV1Bytes, kV2FixedBytes + kV2Inet6AddressBytes);

// Bytes on the wire, shared by the parser, the writer and the tests.
namespace wire {
inline constexpr std::string_view kV1Prefix = "PROXY ";
inline constexpr std::array<uint8_t, 12> kV2Signature = {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D,
                                                         0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A};
constexpr size_t kV2VersionCommandOffset = 12;
constexpr size_t kV2FamilyOffset = 13;
constexpr size_t kV2LengthOffset = 14;
constexpr uint8_t kV2VersionMask = 0xF0;
constexpr uint8_t kV2CommandMask = 0x0F;
constexpr uint8_t kV2Version = 0x20;
constexpr uint8_t kV2CommandLocal = 0x00;
constexpr uint8_t kV2CommandProxy = 0x01;
// Family in the high nibble, transport in the low one; the spec lists the valid combinations.
constexpr uint8_t kV2Unspec = 0x00;
constexpr uint8_t kV2Tcp4 = 0x11;
constexpr uint8_t kV2Udp4 = 0x12;
constexpr uint8_t kV2Tcp6 = 0x21;
constexpr uint8_t kV2Udp6 = 0x22;
constexpr uint8_t kV2UnixStream = 0x31;
constexpr uint8_t kV2UnixDgram = 0x32;
// Type, then a big-endian 16-bit value length.
constexpr size_t kV2TlvHeaderBytes = 3;
}  // namespace wire

// Parses a header at the start of `data`, v1 or v2 told apart by the signature. Reads no byte
// past data, and none past kMaxHeaderBytes. Errors:
//   kNeedMore  data is a valid prefix of a header; read more and call again with all of it;
//   kBadInput  anything malformed, unsupported or over our limits, decided as early as the bytes
//              allow (the first byte of "GET /" is enough).
core::Result<ProxyHeader> parse(std::span<const uint8_t> data);

// Write a header for a connection from `src` to `dst` into `out`, which must hold at least
// kMaxWriteBytes, and return its length. Mixed IPv4/IPv6 pairs are sent as IPv6 with the IPv4 side
// mapped (::ffff:a.b.c.d); pairs that are not IP at all become v1 "UNKNOWN" or v2 AF_UNSPEC, which
// tell the receiver to use the connection's own addresses.
size_t writeV1(const net::SocketAddress& src, const net::SocketAddress& dst,
               std::span<uint8_t> out);
size_t writeV2(const net::SocketAddress& src, const net::SocketAddress& dst,
               std::span<uint8_t> out);

}  // namespace ballast::proto::proxy_protocol
