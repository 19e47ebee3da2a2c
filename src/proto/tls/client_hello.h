// src/proto/tls/client_hello.h — reads a TLS ClientHello without terminating TLS: the server
// name (SNI, RFC 6066 §3) and the ALPN protocols (RFC 7301) a client offers, so an L4 listener
// can pick a pool before it connects. No sockets here: the caller hands over the bytes received
// so far and hears "need more", "malformed" or the hello.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "core/result.h"

namespace ballast::proto::tls {

// TLSPlaintext header: content type, legacy version, length (RFC 8446 §5.1).
constexpr size_t kRecordHeaderBytes = 5;
// A record's fragment may not exceed 2^14 bytes (RFC 8446 §5.1).
constexpr size_t kMaxRecordPayloadBytes = size_t{16} * 1024;
// Handshake header: message type, 24-bit length (RFC 8446 §4).
constexpr size_t kHandshakeHeaderBytes = 4;
// The ClientHello message body we accept. Real ones are 200 bytes to ~2 KiB (post-quantum key
// shares included); 16 KiB is what OpenSSL and Go accept for a ClientHello too, and it bounds
// what a client can make us hold before we know where to send it.
constexpr size_t kMaxClientHelloBytes = size_t{16} * 1024;
// A ClientHello may be fragmented over several records (RFC 8446 §5.1 allows it). Beyond this
// many the client is more likely probing than fragmenting; it also bounds the work of a rescan.
constexpr size_t kMaxHelloRecords = 64;
// What a caller must be ready to buffer before parseClientHello() either succeeds or fails.
constexpr size_t kMaxBufferedBytes =
    kMaxClientHelloBytes + kHandshakeHeaderBytes + kMaxHelloRecords * kRecordHeaderBytes;
// A DNS name is at most 253 characters without the trailing dot (RFC 1035 §2.3.4); RFC 6066
// gives the field 2^16 - 1 bytes, but no real name is longer.
constexpr size_t kMaxServerNameBytes = 253;

// Bytes on the wire, shared by the parser and the tests.
namespace wire {
constexpr uint8_t kContentHandshake = 22;
constexpr uint8_t kHandshakeClientHello = 1;
constexpr uint8_t kMajorVersion = 3;  // SSL 3.0 and every TLS version
constexpr uint8_t kMaxMinorVersion = 4;
constexpr uint16_t kExtServerName = 0;
constexpr uint16_t kExtAlpn = 16;
constexpr uint8_t kNameTypeHostName = 0;
constexpr size_t kRandomBytes = 32;
constexpr size_t kMaxSessionIdBytes = 32;
}  // namespace wire

struct ClientHello {
  std::string server_name;        // as sent (any case), without a trailing dot; empty: no SNI
  std::vector<std::string> alpn;  // protocols in the client's order; empty: no ALPN extension
  uint16_t legacy_version = 0;    // the hello's client_version, e.g. 0x0303
  size_t wire_bytes = 0;          // input bytes up to the end of the record completing the hello
};

// Parses the ClientHello at the start of `input`, which holds every byte the client sent so far
// (records, headers included). Errors: kNeedMore — a valid prefix, call again with more bytes
// (never returned once kMaxBufferedBytes are in hand); kBadInput — not a ClientHello we accept
// (`what` says why in a few static words). Never reads outside `input`. Allocates only for the
// results, and for the copy of a hello fragmented over several records.
core::Result<ClientHello> parseClientHello(std::span<const uint8_t> input);

}  // namespace ballast::proto::tls
