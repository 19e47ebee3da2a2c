// src/proto/http1/limits.h — the bounds the HTTP/1.1 parsers enforce, with units and defaults.
// Config overrides the fields of Limits; the constants below them are fixed by the codec.
#pragma once

#include <cstddef>
#include <cstdint>

namespace ballast::proto::http1 {

// Request line (method, target, version; CRLF excluded) before 414. RFC 9112 §3 asks every
// recipient to support at least 8000 octets; it also bounds a response's status line.
constexpr size_t kDefaultMaxRequestLineBytes = size_t{8} * 1024;
// A whole head: start line, field lines and every CRLF. It is also the most we ever copy when a
// head arrives split across reads, so it is the parser's memory bound per connection.
constexpr size_t kDefaultMaxHeaderBytes = size_t{64} * 1024;
// Field lines in one head (or one trailer section) before 431.
constexpr size_t kDefaultMaxHeaders = 100;
// Body bytes; 0 means no limit (a proxy streams bodies, so size costs no memory).
constexpr uint64_t kUnlimitedBody = 0;
// Bytes after a chunk size, up to its CRLF. Nobody sends long extensions but an attacker
// streaming them to keep us parsing without a byte of data.
constexpr size_t kDefaultMaxChunkExtBytes = 4096;

// Empty lines skipped before a request or status line. RFC 9112 §2.2 asks servers to ignore at
// least one (clients used to send CRLF after a POST body); a few more costs nothing, endless ones
// would be a way to hold a connection without sending a request.
constexpr size_t kMaxLeadingEmptyLines = 4;
// Hex digits in a chunk size, leading zeros included. Sixteen fill a uint64_t, so the digit count
// is the overflow check.
constexpr size_t kMaxChunkSizeDigits = 16;

// Trailer sections are bounded by the same max_header_bytes and max_headers as heads, each
// section on its own budget.
struct Limits {
  size_t max_request_line = kDefaultMaxRequestLineBytes;
  size_t max_header_bytes = kDefaultMaxHeaderBytes;
  size_t max_headers = kDefaultMaxHeaders;
  uint64_t max_body = kUnlimitedBody;
  size_t max_chunk_ext = kDefaultMaxChunkExtBytes;
};

}  // namespace ballast::proto::http1
