// src/proto/http1/request_parser.h — incremental, strict HTTP/1.1 request parser (RFC 9110,
// RFC 9112) for a proxy facing untrusted clients: every framing ambiguity that could let two hops
// disagree about where a request ends is refused with the status the RFC names.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "proto/http1/framing_engine.h"
#include "proto/http1/limits.h"
#include "proto/http1/message.h"

namespace ballast::proto::http1 {

// Usage, per connection and on its worker only:
//
//   for (;;) {
//     const Progress p = parser.next(in);
//     in = in.subspan(p.consumed);
//     switch (p.event) { ... }             // kHead: parser.head(); kBody: p.body; ...
//     if (p.event == Event::kNeedMore || p.event == Event::kTunnel ||
//         p.event == Event::kError) break;  // wait for the next read (or stop)
//   }
//
// Input may be split anywhere, down to single bytes; kNeedMore always uses the whole input, so
// the caller never keeps unparsed bytes. A head that arrives split is copied into a buffer of at
// most max_header_bytes; a whole one is not copied at all. Body bytes are never copied.
//
// Events for one request: kHead, kBody..., kMessageEnd (for a bodiless request, on the call after
// kHead, consuming nothing). Then the next pipelined request, except:
//  - after a CONNECT request or one with upgrade set, kMessageEnd is followed by kTunnel until
//    resume() (the upstream refused: parse what follows as requests) — bytes after such a request
//    are never parsed as requests before the proxy knows whether the connection switched;
//  - after a request with keep_alive false the caller should stop reading.
// Errors are sticky: kError forever, with errorStatus() the status to answer before closing.
//
// Choices where the RFCs leave room: bare LF line endings are refused (400); obs-fold is refused
// (400); Content-Length repeated with equal values, as fields or as "5, 5", folds into one value;
// differing values, empty list elements, signs and overflow are 400. Transfer-Encoding: 400 when
// the final coding is not chunked, when chunked appears twice, in HTTP/1.0, or alongside
// Content-Length; 501 for other codings before a final chunked ("gzip, chunked"). HTTP/1.1
// without Host, a second Host or an invalid one are 400, absolute-form included (the target's
// authority then wins over Host). Targets: VCHAR only, no fragment, no userinfo; asterisk-form
// only for OPTIONS, authority-form only (and always) for CONNECT. CONNECT with a body is 400.
// Expect and Upgrade are ignored in HTTP/1.0 requests (RFC 9110 §10.1.1, §7.8). Up to
// kMaxLeadingEmptyLines empty lines before the request line are skipped. Chunk sizes: 1 to
// kMaxChunkSizeDigits hex digits (leading zeros count), then chunk-ext exactly as RFC 9112 §7.1.1
// writes it, BWS around ';' and '=' included ("5 ;x" is size 5), bounded by max_chunk_ext;
// anything else, including whitespace before the CRLF, is 400.
// Limits: a request line over max_request_line is 414 (as soon as that many bytes arrive, CRLF
// or not); a head (request line included) over max_header_bytes, or more than max_headers field
// lines, is 431; a Content-Length over max_body is 413 at the head, a chunked body 413 at the
// chunk that would cross it, after the bytes before it. HTTP versions other than 1.0 and 1.1 are
// 505; a malformed version is 400.
class RequestParser {
 public:
  explicit RequestParser(const Limits& limits = Limits{});

  Progress next(std::span<const uint8_t> in);
  // The client closed its side: kClosed between requests (or in a tunnel), kError (400) inside one.
  Event finish();
  // After kTunnel: the upstream did not switch protocols; parse the following bytes as requests.
  void resume();
  // Back to a fresh connection's state (errors cleared); buffers keep their capacity.
  void reset();

  // After kHead, until the next call. Views point into the input of the call that returned kHead
  // or into the parser's own buffer; the caller must copy what it keeps longer.
  const RequestHead& head() const { return head_; }
  // After kMessageEnd of a chunked request, until the next call. Parsed and validated like header
  // fields, on their own max_header_bytes/max_headers budget; never merged into the head.
  std::span<const Header> trailers() const { return engine_.trailers(); }
  // After kError.
  Status errorStatus() const { return engine_.failure().status; }
  std::string_view errorReason() const { return engine_.failure().reason; }
  // As ResponseParser's: a Content-Length body's bytes still to come, and bytes of it that went
  // from socket to socket without being parsed (splice).
  uint64_t bodyLengthLeft() const { return engine_.bodyLengthLeft(); }
  void skipBody(uint64_t n) { engine_.skipBody(n); }

 private:
  // Fills head_ from a complete head section; the failure to answer otherwise.
  std::optional<Failure> parseHead(std::string_view section, BodyPlan* plan);

  Limits limits_;
  FramingEngine engine_;
  std::vector<Header> headers_;
  RequestHead head_;
};

}  // namespace ballast::proto::http1
