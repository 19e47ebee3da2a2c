// src/proto/http1/fields.h — field lines of a head or trailer section: strict syntax checks
// (RFC 9110 §5, RFC 9112 §5) and the summary of the fields that decide framing and connection
// handling. Shared by the request and response parsers.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "proto/http1/message.h"

namespace ballast::proto::http1 {

inline constexpr std::string_view kCrlf = "\r\n";

// Parses `lines` — field lines each ending in CRLF, then the empty line — appending one Header per
// line to `out`. Views point into `lines`. Refuses (kBadInput, reason in what): obs-fold, a line
// without colon, an empty name, whitespace before the colon, non-token name bytes, and value bytes
// other than SP, HTAB, VCHAR and obs-text (so NUL, bare CR and other controls).
core::Result<core::Ok> parseFieldLines(std::string_view lines, std::vector<Header>& out);

struct TransferCodings {
  bool present = false;       // a Transfer-Encoding field was seen
  bool chunked_last = false;  // the final coding is chunked
  uint32_t chunked_count = 0;
  bool other = false;  // some coding other than chunked appears
};

// What the message says about itself, before request/response rules are applied.
struct FieldSummary {
  bool has_content_length = false;
  uint64_t content_length = 0;
  TransferCodings transfer;
  bool connection_close = false;
  bool connection_keep_alive = false;
  bool connection_upgrade = false;
  bool has_upgrade = false;  // a non-empty Upgrade field
  uint32_t host_count = 0;
  std::string_view host;  // the last Host value
  bool expect_continue = false;
};

// Reads the framing and connection fields and marks each header's hop_by_hop. Refuses (kBadInput):
// a Content-Length that is not 1*DIGIT or overflows, Content-Length values that differ (equal
// repeats, as separate fields or as a list "5, 5", fold into one), a Transfer-Encoding element
// that is not a token or parameters on chunked, a Transfer-Encoding without codings, Connection
// options that are not tokens or more than kMaxConnectionOptions of them.
core::Result<FieldSummary> summarizeFields(std::span<Header> headers);

// The value of the first field called `name` (case-insensitive).
std::optional<std::string_view> findField(std::span<const Header> headers, std::string_view name);

}  // namespace ballast::proto::http1
