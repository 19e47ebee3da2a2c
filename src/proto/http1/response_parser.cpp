// src/proto/http1/response_parser.cpp — status line and the response body-length rules
// (RFC 9112 §4, §6.3); the message loop itself is FramingEngine's.
#include "proto/http1/response_parser.h"

#include "proto/http1/fields.h"
#include "proto/http1/syntax.h"

namespace ballast::proto::http1 {
namespace {

constexpr uint8_t kMinor0 = 0;
constexpr size_t kStatusDigits = 3;
constexpr uint16_t kFirstStatus = 100;
constexpr uint16_t kLastStatus = 599;
constexpr uint16_t kSwitchingProtocols = 101;
constexpr uint16_t kFirstSuccess = 200;
constexpr uint16_t kFirstRedirection = 300;
constexpr uint16_t kNoContent = 204;
constexpr uint16_t kNotModified = 304;

// Only the reason text matters: FramingEngine turns every response failure into 502.
Failure bad(std::string_view reason) { return {Status::kBadGateway, reason}; }

std::optional<Failure> parseStatusLine(std::string_view line, ResponseHead* head) {
  const size_t space = line.find(' ');
  if (space == std::string_view::npos) {
    return bad("malformed status line");
  }
  const auto version = parseVersion(line.substr(0, space));
  if (!version.has_value()) {
    return bad("malformed HTTP version");
  }
  if (version->major != 1 || version->minor > kMaxMinorVersion) {
    return bad("unsupported HTTP version");
  }
  head->version_minor = version->minor;
  const std::string_view rest = line.substr(space + 1);
  if (rest.size() < kStatusDigits || (rest.size() > kStatusDigits && rest[kStatusDigits] != ' ')) {
    return bad("malformed status code");
  }
  uint16_t status = 0;
  for (const char c : rest.substr(0, kStatusDigits)) {
    if (!isDigit(static_cast<uint8_t>(c))) {
      return bad("malformed status code");
    }
    status = static_cast<uint16_t>(status * kDecimalBase + static_cast<unsigned>(c - '0'));
  }
  if (status < kFirstStatus || status > kLastStatus) {
    return bad("status code out of range");
  }
  head->status = status;
  if (rest.size() > kStatusDigits) {
    head->reason = rest.substr(kStatusDigits + 1);
  }
  for (const char c : head->reason) {
    if (!isFieldValueChar(static_cast<uint8_t>(c))) {
      return bad("invalid character in reason phrase");
    }
  }
  return std::nullopt;
}

}  // namespace

ResponseParser::ResponseParser(const Limits& limits)
    : limits_(limits), engine_(Side::kResponse, limits) {}

void ResponseParser::setRequestMethod(std::string_view method) {
  head_request_ = method == "HEAD";
  connect_request_ = method == "CONNECT";
}

Progress ResponseParser::next(std::span<const uint8_t> in) {
  const Progress progress = engine_.next(in);
  if (progress.event == Event::kMessageEnd) {
    head_request_ = false;
    connect_request_ = false;
  }
  if (progress.event != Event::kHead) {
    return progress;
  }
  BodyPlan plan;
  if (const auto failure = parseHead(engine_.headSection(), &plan)) {
    return engine_.fail(*failure, progress.consumed);
  }
  engine_.accept(plan);
  return progress;
}

Event ResponseParser::finish() {
  const Event event = engine_.finish();
  if (event == Event::kMessageEnd) {
    head_request_ = false;
    connect_request_ = false;
  }
  return event;
}

void ResponseParser::reset() {
  engine_.reset();
  headers_.clear();
  head_ = ResponseHead{};
  head_request_ = false;
  connect_request_ = false;
}

std::optional<Failure> ResponseParser::parseHead(std::string_view section, BodyPlan* plan) {
  head_ = ResponseHead{};
  headers_.clear();
  const size_t line_end = section.find(kCrlf);
  if (auto failure = parseStatusLine(section.substr(0, line_end), &head_)) {
    return failure;
  }
  const auto parsed = parseFieldLines(section.substr(line_end + kCrlf.size()), headers_);
  if (!parsed.has_value()) {
    return bad(parsed.error().what);
  }
  const auto fields = summarizeFields(headers_);
  if (!fields.has_value()) {
    return bad(fields.error().what);
  }
  head_.headers = headers_;
  head_.has_content_length = fields->has_content_length;
  head_.content_length = fields->content_length;
  const TransferCodings& codings = fields->transfer;
  if (codings.present && fields->has_content_length) {
    return bad("both Content-Length and Transfer-Encoding");
  }

  const uint16_t status = head_.status;
  const bool http11 = head_.version_minor != kMinor0;
  head_.keep_alive = !fields->connection_close && (http11 || fields->connection_keep_alive);
  if (status == kSwitchingProtocols ||
      (connect_request_ && status >= kFirstSuccess && status < kFirstRedirection)) {
    plan->then = BodyPlan::Then::kTunnelNow;
    return std::nullopt;
  }
  if (status < kFirstSuccess) {
    plan->then = BodyPlan::Then::kAnotherHead;
    return std::nullopt;
  }
  if (head_request_ || status == kNoContent || status == kNotModified) {
    head_.body = BodyKind::kNone;
  } else if (codings.present) {
    if (!http11) {
      return bad("Transfer-Encoding in HTTP/1.0");
    }
    if (!codings.chunked_last || codings.chunked_count > 1 || codings.other) {
      return bad("unsupported transfer coding");
    }
    head_.body = BodyKind::kChunked;
  } else if (fields->has_content_length) {
    if (limits_.max_body != kUnlimitedBody && fields->content_length > limits_.max_body) {
      return bad("body exceeds limit");
    }
    head_.body = BodyKind::kLength;
  } else {
    head_.body = BodyKind::kUntilClose;
    head_.keep_alive = false;
  }
  plan->body = head_.body;
  plan->length = head_.content_length;
  return std::nullopt;
}

}  // namespace ballast::proto::http1
