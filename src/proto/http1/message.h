// src/proto/http1/message.h — the types the HTTP/1.1 parsers hand out and the writer takes:
// parsed heads, body framing, events and error statuses. No logic beyond names.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

namespace ballast::proto::http1 {

// What a parse error should turn into on the wire. The request parser picks the status the RFC
// names; every response-side error is kBadGateway, since the proxy answers its client with 502.
enum class Status : uint16_t {
  kNone = 0,
  kBadRequest = 400,
  kContentTooLarge = 413,
  kUriTooLong = 414,
  kHeaderFieldsTooLarge = 431,
  kNotImplemented = 501,
  kBadGateway = 502,
  kVersionNotSupported = 505,
};

// Reason phrase for a status line of ours ("Bad Request").
constexpr std::string_view reasonPhrase(Status status) {
  switch (status) {
    case Status::kBadRequest:
      return "Bad Request";
    case Status::kContentTooLarge:
      return "Content Too Large";
    case Status::kUriTooLong:
      return "URI Too Long";
    case Status::kHeaderFieldsTooLarge:
      return "Request Header Fields Too Large";
    case Status::kNotImplemented:
      return "Not Implemented";
    case Status::kBadGateway:
      return "Bad Gateway";
    case Status::kVersionNotSupported:
      return "HTTP Version Not Supported";
    case Status::kNone:
      break;
  }
  return "";
}

enum class Event : uint8_t {
  kNeedMore,    // every byte of the input was used; call again with more
  kHead,        // head() is valid until the next call
  kBody,        // Progress::body holds body bytes (transfer framing removed)
  kMessageEnd,  // the message is complete; trailers() is valid until the next call
  kTunnel,      // the connection stops being HTTP: raw bytes follow (see the parsers)
  kClosed,      // finish() at a message boundary: nothing was lost
  kError,       // errorStatus()/errorReason() say why; sticky until reset()
};

enum class BodyKind : uint8_t {
  kNone,        // no body at all
  kLength,      // exactly content_length bytes (possibly 0)
  kChunked,     // chunked transfer coding, then trailers
  kUntilClose,  // responses only: everything until the server closes
};

enum class TargetForm : uint8_t { kOrigin, kAbsolute, kAuthority, kAsterisk };

struct Header {
  std::string_view name;   // as received; compare case-insensitively
  std::string_view value;  // leading and trailing whitespace removed
  // Connection-level (RFC 9110 §7.6.1): a fixed hop-by-hop name or one listed in Connection.
  // Set by the parsers; the writer works it out again itself.
  bool hop_by_hop = false;
};

struct RequestHead {
  std::string_view method;
  std::string_view target;
  TargetForm form = TargetForm::kOrigin;
  uint8_t version_minor = 1;  // HTTP/1.0 or HTTP/1.1; nothing else parses
  std::span<const Header> headers;
  // The authority the request is for: the target's for absolute and authority form (RFC 9112
  // §3.2.2: the target wins over a differing Host field), else the Host field's value.
  std::string_view host;
  BodyKind body = BodyKind::kNone;  // never kUntilClose
  uint64_t content_length = 0;      // kLength only
  bool keep_alive = true;           // the client lets the connection carry another request
  bool expect_continue = false;     // "Expect: 100-continue" in an HTTP/1.1 request
  bool upgrade = false;  // Upgrade field plus the "upgrade" Connection option, HTTP/1.1 only
};

struct ResponseHead {
  uint16_t status = 0;  // 100..599
  std::string_view reason;
  uint8_t version_minor = 1;
  std::span<const Header> headers;
  BodyKind body = BodyKind::kNone;
  uint64_t content_length = 0;      // the Content-Length value when has_content_length
  bool has_content_length = false;  // also for bodiless HEAD/304 answers, where it is advisory
  bool keep_alive = true;           // the server lets the connection carry another response
};

// One step of a parser. The caller drops `consumed` bytes from the front of its input and calls
// again with the rest (possibly empty) until kNeedMore, kTunnel or kError.
struct Progress {
  Event event = Event::kNeedMore;
  size_t consumed = 0;
  // kBody only: a subrange of the input that ends exactly at `consumed`; never empty.
  std::span<const uint8_t> body;
};

// An error and its status; reason is static text, so failing never allocates.
struct Failure {
  Status status = Status::kNone;
  std::string_view reason;
};

}  // namespace ballast::proto::http1
