// src/proto/http1/response_parser.h — incremental, strict HTTP/1.1 response parser (RFC 9110,
// RFC 9112) for a proxy reading its upstreams. Same header strictness as requests; any error is
// sticky and has status kBadGateway, which the proxy answers its client with.
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

// Same calling convention as RequestParser (see request_parser.h). Events for one response:
// kHead per 1xx interim response (no kMessageEnd for those), then the final kHead, kBody...,
// kMessageEnd. 101 Switching Protocols, and any 2xx when the request was CONNECT, are followed by
// kTunnel: raw bytes follow and the parser will not read them.
//
// Body length (RFC 9112 §6.3): none for HEAD requests, 1xx, 204 and 304 whatever the fields say;
// chunked; Content-Length; otherwise until the server closes (kUntilClose, keep_alive false),
// ended by finish().
//
// Choices where the RFCs leave room: Content-Length together with Transfer-Encoding is an error
// (RFC 9112 §6.3 would let Transfer-Encoding win); a Transfer-Encoding other than a single final
// chunked is an error rather than a close-delimited body, since we cannot undo the codings and
// forwarding them without the field would mislabel the body; so is Transfer-Encoding in an
// HTTP/1.0 response. Status codes outside 100..599 are errors. A status line without the SP
// after the code ("HTTP/1.1 200") is accepted. Bare LF and obs-fold are errors, as for requests.
class ResponseParser {
 public:
  explicit ResponseParser(const Limits& limits = Limits{});

  // The method of the request the next response answers: "HEAD" means no body, "CONNECT" turns
  // a 2xx into a tunnel. Set it before that response's head arrives; it holds across 1xx heads
  // and is forgotten at kMessageEnd (the default is a request with neither).
  void setRequestMethod(std::string_view method);

  Progress next(std::span<const uint8_t> in);
  // The server closed: kMessageEnd ends a close-delimited body; kClosed between responses or in a
  // tunnel; kError when the close cut a response short.
  Event finish();
  void reset();

  // Lifetimes as in RequestParser.
  const ResponseHead& head() const { return head_; }
  std::span<const Header> trailers() const { return engine_.trailers(); }
  Status errorStatus() const { return engine_.failure().status; }
  std::string_view errorReason() const { return engine_.failure().reason; }
  // A Content-Length body being read: its bytes still to come (0 otherwise), and a way to
  // account for bytes that went from socket to socket without being parsed (splice). A body's
  // end after skipped bytes is kMessageEnd on the next call to next(), with no input needed.
  uint64_t bodyLengthLeft() const { return engine_.bodyLengthLeft(); }
  void skipBody(uint64_t n) { engine_.skipBody(n); }

 private:
  std::optional<Failure> parseHead(std::string_view section, BodyPlan* plan);

  Limits limits_;
  FramingEngine engine_;
  std::vector<Header> headers_;
  ResponseHead head_;
  bool head_request_ = false;
  bool connect_request_ = false;
};

}  // namespace ballast::proto::http1
