// src/proto/http1/request_parser.cpp — request line, target form and the request framing rules
// (RFC 9112 §3, §6.1, §6.3); the message loop itself is FramingEngine's.
#include "proto/http1/request_parser.h"

#include <optional>

#include "proto/http1/fields.h"
#include "proto/http1/syntax.h"

namespace ballast::proto::http1 {
namespace {

constexpr uint8_t kMinor0 = 0;

Failure badRequest(std::string_view reason) { return {Status::kBadRequest, reason}; }

struct RequestLine {
  std::string_view method;
  std::string_view target;
  uint8_t version_minor = 0;
};

std::optional<Failure> parseRequestLine(std::string_view line, RequestLine* out) {
  // Exactly one SP between the three parts (RFC 9112 §3 lets recipients split on any run of
  // whitespace; we do not). Splitting at the first and last SP lets a space inside the target
  // be reported as such.
  const size_t first = line.find(' ');
  const size_t last = line.rfind(' ');
  if (first == std::string_view::npos || first == last) {
    return badRequest("malformed request line");
  }
  out->method = line.substr(0, first);
  if (!isToken(out->method)) {
    return badRequest("invalid method");
  }
  out->target = line.substr(first + 1, last - first - 1);
  if (out->target.empty()) {
    return badRequest("empty request target");
  }
  for (const char c : out->target) {
    if (!isVchar(static_cast<uint8_t>(c))) {
      return badRequest("invalid character in request target");
    }
  }
  const auto version = parseVersion(line.substr(last + 1));
  if (!version.has_value()) {
    return badRequest("malformed HTTP version");
  }
  if (version->major != 1 || version->minor > kMaxMinorVersion) {
    return Failure{Status::kVersionNotSupported, "unsupported HTTP version"};
  }
  out->version_minor = version->minor;
  return std::nullopt;
}

// RFC 3986 §3.1: scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." )
bool isSchemeChar(uint8_t c) {
  return isAlpha(c) || isDigit(c) || c == '+' || c == '-' || c == '.';
}

// absolute-form "scheme://authority[/path][?query]": the authority, or a failure.
std::optional<Failure> absoluteAuthority(std::string_view target, std::string_view* authority) {
  constexpr std::string_view kSchemeEnd = "://";
  const size_t scheme_end = target.find(kSchemeEnd);
  if (scheme_end == std::string_view::npos || scheme_end == 0 ||
      !isAlpha(static_cast<uint8_t>(target.front()))) {
    return badRequest("invalid request target");
  }
  for (const char c : target.substr(0, scheme_end)) {
    if (!isSchemeChar(static_cast<uint8_t>(c))) {
      return badRequest("invalid request target");
    }
  }
  const std::string_view rest = target.substr(scheme_end + kSchemeEnd.size());
  *authority = rest.substr(0, rest.find_first_of("/?"));
  if (authority->find('@') != std::string_view::npos) {
    // RFC 9110 §4.2.4: userinfo is deprecated and a recipient should treat it as an error.
    return badRequest("userinfo in request target");
  }
  if (authority->empty() || !isValidAuthority(*authority, false)) {
    return badRequest("invalid authority in request target");
  }
  return std::nullopt;
}

// Works out head->form and, for absolute and authority form, the authority the target names.
std::optional<Failure> classifyTarget(RequestHead* head, std::string_view* authority) {
  const std::string_view target = head->target;
  if (target.find('#') != std::string_view::npos) {
    return badRequest("fragment in request target");
  }
  if (head->method == "CONNECT") {
    if (!isValidAuthority(target, true)) {
      return badRequest("CONNECT needs an authority-form target");
    }
    head->form = TargetForm::kAuthority;
    *authority = target;
    return std::nullopt;
  }
  if (target == "*") {
    if (head->method != "OPTIONS") {
      return badRequest("asterisk-form target needs OPTIONS");
    }
    head->form = TargetForm::kAsterisk;
    return std::nullopt;
  }
  if (target.front() == '/') {
    head->form = TargetForm::kOrigin;
    return std::nullopt;
  }
  head->form = TargetForm::kAbsolute;
  return absoluteAuthority(target, authority);
}

std::optional<Failure> checkHost(const FieldSummary& fields, uint8_t version_minor) {
  // RFC 9112 §3.2: 400 for an HTTP/1.1 request without Host, with several, or an invalid one.
  if (fields.host_count > 1) {
    return badRequest("duplicate Host");
  }
  if (fields.host_count == 0) {
    if (version_minor != kMinor0) {
      return badRequest("missing Host");
    }
    return std::nullopt;
  }
  if (!isValidAuthority(fields.host, false)) {
    return badRequest("invalid Host");
  }
  return std::nullopt;
}

std::optional<Failure> chooseBody(const FieldSummary& fields, const Limits& limits,
                                  RequestHead* head) {
  const TransferCodings& codings = fields.transfer;
  if (codings.present) {
    // RFC 9112 §6.1: Content-Length next to Transfer-Encoding is a smuggling attempt or a broken
    // hop; either way the length is unknowable. A server may instead drop Content-Length.
    if (fields.has_content_length) {
      return badRequest("both Content-Length and Transfer-Encoding");
    }
    if (head->version_minor == kMinor0) {
      return badRequest("Transfer-Encoding in HTTP/1.0");
    }
    if (!codings.chunked_last) {
      return badRequest("final transfer coding is not chunked");
    }
    if (codings.chunked_count > 1) {
      return badRequest("chunked applied more than once");
    }
    if (codings.other) {
      return Failure{Status::kNotImplemented, "unsupported transfer coding"};
    }
    head->body = BodyKind::kChunked;
  } else if (fields.has_content_length) {
    if (limits.max_body != kUnlimitedBody && fields.content_length > limits.max_body) {
      return Failure{Status::kContentTooLarge, "body exceeds limit"};
    }
    head->body = BodyKind::kLength;
    head->content_length = fields.content_length;
  }
  // RFC 9110 §9.3.6: CONNECT has no content, and bytes after its head belong to the tunnel.
  if (head->method == "CONNECT" &&
      (head->body == BodyKind::kChunked || head->content_length != 0)) {
    return badRequest("CONNECT with a body");
  }
  return std::nullopt;
}

}  // namespace

RequestParser::RequestParser(const Limits& limits)
    : limits_(limits), engine_(Side::kRequest, limits) {}

Progress RequestParser::next(std::span<const uint8_t> in) {
  const Progress progress = engine_.next(in);
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

Event RequestParser::finish() { return engine_.finish(); }

void RequestParser::resume() { engine_.resume(); }

void RequestParser::reset() {
  engine_.reset();
  headers_.clear();
  head_ = RequestHead{};
}

std::optional<Failure> RequestParser::parseHead(std::string_view section, BodyPlan* plan) {
  head_ = RequestHead{};
  headers_.clear();
  const size_t line_end = section.find(kCrlf);
  RequestLine line;
  if (auto failure = parseRequestLine(section.substr(0, line_end), &line)) {
    return failure;
  }
  head_.method = line.method;
  head_.target = line.target;
  head_.version_minor = line.version_minor;

  const auto parsed = parseFieldLines(section.substr(line_end + kCrlf.size()), headers_);
  if (!parsed.has_value()) {
    return badRequest(parsed.error().what);
  }
  const auto fields = summarizeFields(headers_);
  if (!fields.has_value()) {
    return badRequest(fields.error().what);
  }
  head_.headers = headers_;

  std::string_view authority;
  if (auto failure = classifyTarget(&head_, &authority)) {
    return failure;
  }
  if (auto failure = checkHost(*fields, head_.version_minor)) {
    return failure;
  }
  const bool target_names_host =
      head_.form == TargetForm::kAbsolute || head_.form == TargetForm::kAuthority;
  head_.host = target_names_host ? authority : fields->host;
  if (auto failure = chooseBody(*fields, limits_, &head_)) {
    return failure;
  }

  const bool http11 = head_.version_minor != kMinor0;
  head_.keep_alive = !fields->connection_close && (http11 || fields->connection_keep_alive);
  head_.expect_continue = http11 && fields->expect_continue;
  head_.upgrade = http11 && fields->has_upgrade && fields->connection_upgrade;

  plan->body = head_.body;
  plan->length = head_.content_length;
  plan->then = head_.method == "CONNECT" || head_.upgrade ? BodyPlan::Then::kTunnelAfterEnd
                                                          : BodyPlan::Then::kNextMessage;
  return std::nullopt;
}

}  // namespace ballast::proto::http1
