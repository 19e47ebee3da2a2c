// src/proto/http1/writer.h — serializes request and response heads for the next hop, without
// connection-level fields and with framing fields rebuilt from the parsed framing, and encodes
// chunked bodies.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "core/result.h"
#include "proto/http1/fields.h"
#include "proto/http1/limits.h"
#include "proto/http1/message.h"

namespace ballast::proto::http1 {

// Appends a head to `out` (keep one string per connection: its capacity is reused). The start
// line always says HTTP/1.1, the version we speak (RFC 9110 §6.2). Of head.headers it drops
// every hop-by-hop field (isHopByHop: the fixed list plus names listed in Connection, Host
// excepted) and every Content-Length, then writes the framing head.body calls for:
//   kLength     "Content-Length: <content_length>"
//   kChunked    "Transfer-Encoding: chunked"
//   kNone       nothing, except a response's advisory "Content-Length" (HEAD, 304) when
//               has_content_length
//   kUntilClose nothing
// so the next hop frames the body exactly as we parsed it, whatever spelling the sender used. To
// reframe (say, a close-delimited response to a keep-alive client), change body on a copy of the
// head. Then `add` (the proxy's own fields, Connection included), then the empty line.
// kBadInput, with `out` unchanged, when something would not parse back the same: a method or
// field name that is not a token, a target that is not VCHAR, a value or reason with CR, LF or
// other controls, a status outside 100..599, or framing fields in `add`.
core::Result<core::Ok> writeRequestHead(const RequestHead& head, std::span<const Header> add,
                                        std::string& out);
core::Result<core::Ok> writeResponseHead(const ResponseHead& head, std::span<const Header> add,
                                         std::string& out);

// Chunked encoding (RFC 9112 §7.1): for each non-empty piece of body, writeChunkHeader, the
// bytes, kChunkEnd; then kLastChunk, or writeLastChunk to send trailers. Extensions are never
// written.
constexpr size_t kMaxChunkHeaderBytes = kMaxChunkSizeDigits + kCrlf.size();
inline constexpr std::string_view kChunkEnd = "\r\n";
inline constexpr std::string_view kLastChunk = "0\r\n\r\n";

// Writes "<size in hex>\r\n" and returns its length. size must not be 0 (that is the last chunk).
size_t writeChunkHeader(uint64_t size, std::span<uint8_t, kMaxChunkHeaderBytes> out);

// Appends "0\r\n", the trailer fields and "\r\n". kBadInput, `out` unchanged, for a field that
// would not parse back the same.
core::Result<core::Ok> writeLastChunk(std::span<const Header> trailers, std::string& out);

}  // namespace ballast::proto::http1
