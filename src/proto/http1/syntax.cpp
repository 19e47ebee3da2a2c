// src/proto/http1/syntax.cpp — character tables and the small lexical parsers of syntax.h.
#include "proto/http1/syntax.h"

#include <array>
#include <limits>

namespace ballast::proto::http1 {
namespace {

constexpr size_t kByteValues = size_t{std::numeric_limits<uint8_t>::max()} + 1;
// Hex digits after '%' in a pct-encoded octet.
constexpr size_t kPctDigits = 2;

enum CharClass : uint8_t {
  kTchar = 1U << 0U,
  kHex = 1U << 1U,
  // unreserved or sub-delims (RFC 3986): what a reg-name may hold besides pct-encoding.
  kRegName = 1U << 2U,
};

constexpr bool inRange(size_t c, char first, char last) {
  return c >= static_cast<uint8_t>(first) && c <= static_cast<uint8_t>(last);
}

constexpr std::array<uint8_t, kByteValues> kClasses = [] {
  std::array<uint8_t, kByteValues> table{};
  constexpr std::string_view kTcharPunct = "!#$%&'*+-.^_`|~";
  constexpr std::string_view kRegNamePunct = "-._~!$&'()*+,;=";
  for (size_t c = 0; c < kByteValues; ++c) {
    const bool alpha = inRange(c, 'a', 'z') || inRange(c, 'A', 'Z');
    const bool digit = inRange(c, '0', '9');
    uint8_t bits = 0;
    if (alpha || digit || kTcharPunct.find(static_cast<char>(c)) != std::string_view::npos) {
      bits |= kTchar;
    }
    if (digit || inRange(c, 'a', 'f') || inRange(c, 'A', 'F')) {
      bits |= kHex;
    }
    if (alpha || digit || kRegNamePunct.find(static_cast<char>(c)) != std::string_view::npos) {
      bits |= kRegName;
    }
    table[c] = bits;
  }
  return table;
}();

constexpr uint8_t toLower(uint8_t c) {
  return inRange(c, 'A', 'Z') ? static_cast<uint8_t>(c - 'A' + 'a') : c;
}

bool isRegName(std::string_view host) {
  for (size_t i = 0; i < host.size(); ++i) {
    const auto c = static_cast<uint8_t>(host[i]);
    if (c == '%') {
      // pct-encoded: exactly two hex digits follow
      if (host.size() - i <= kPctDigits || !isHexDigit(host[i + 1]) ||
          !isHexDigit(host[i + kPctDigits])) {
        return false;
      }
      i += kPctDigits;
    } else if ((kClasses[c] & kRegName) == 0) {
      return false;
    }
  }
  return true;
}

// IP-literal contents: IPv6 (hex, ':', '.', a "%25" zone id per RFC 6874) or IPvFuture ('v',
// unreserved, sub-delims, ':').
// Checking the alphabet, not the address, is enough to keep the value from meaning something
// else to the next hop; resolving is not our job.
bool isIpLiteralBody(std::string_view body) {
  if (body.empty()) {
    return false;
  }
  for (const char ch : body) {
    const auto c = static_cast<uint8_t>(ch);
    if (c != ':' && c != '%' && (kClasses[c] & kRegName) == 0) {
      return false;
    }
  }
  return true;
}

bool isPort(std::string_view port) {
  if (port.empty() || port.size() > kMaxPortDigits) {
    return false;
  }
  const auto value = parseDecimal(port);
  return value.has_value() && *value <= kMaxPort;
}

}  // namespace

bool isTchar(uint8_t c) { return (kClasses[c] & kTchar) != 0; }

bool isToken(std::string_view s) {
  if (s.empty()) {
    return false;
  }
  for (const char c : s) {
    if (!isTchar(static_cast<uint8_t>(c))) {
      return false;
    }
  }
  return true;
}

bool isFieldValueChar(uint8_t c) { return c == '\t' || (c >= ' ' && c != kDel); }

bool isVchar(uint8_t c) { return c > ' ' && c < kDel; }

bool isHexDigit(uint8_t c) { return (kClasses[c] & kHex) != 0; }

unsigned hexValue(uint8_t c) {
  if (isDigit(c)) {
    return c - '0';
  }
  return toLower(c) - 'a' + kDecimalBase;
}

bool isDigit(uint8_t c) { return c >= '0' && c <= '9'; }

bool isAlpha(uint8_t c) { return inRange(c, 'a', 'z') || inRange(c, 'A', 'Z'); }

bool equalsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) {
    return false;
  }
  for (size_t i = 0; i < a.size(); ++i) {
    if (toLower(static_cast<uint8_t>(a[i])) != toLower(static_cast<uint8_t>(b[i]))) {
      return false;
    }
  }
  return true;
}

std::string_view trimOws(std::string_view s) {
  while (!s.empty() && isOws(s.front())) {
    s.remove_prefix(1);
  }
  while (!s.empty() && isOws(s.back())) {
    s.remove_suffix(1);
  }
  return s;
}

bool ListCursor::next(std::string_view* element) {
  if (done_) {
    return false;
  }
  const size_t comma = rest_.find(',');
  if (comma == std::string_view::npos) {
    *element = trimOws(rest_);
    done_ = true;
    return true;
  }
  *element = trimOws(rest_.substr(0, comma));
  rest_.remove_prefix(comma + 1);
  return true;
}

core::Result<uint64_t> parseDecimal(std::string_view digits) {
  if (digits.empty()) {
    return core::Error{core::Errc::kBadInput, "empty number"};
  }
  constexpr uint64_t kMax = std::numeric_limits<uint64_t>::max();
  uint64_t value = 0;
  for (const char ch : digits) {
    const auto c = static_cast<uint8_t>(ch);
    if (!isDigit(c)) {
      return core::Error{core::Errc::kBadInput, "not a decimal number"};
    }
    const unsigned digit = c - '0';
    if (value > (kMax - digit) / kDecimalBase) {
      return core::Error{core::Errc::kBadInput, "number overflows"};
    }
    value = value * kDecimalBase + digit;
  }
  return value;
}

core::Result<Version> parseVersion(std::string_view text) {
  constexpr std::string_view kPrefix = "HTTP/";
  constexpr std::string_view kShape = "HTTP/1.1";  // only the length matters
  if (text.size() != kShape.size() || !text.starts_with(kPrefix)) {
    return core::Error{core::Errc::kBadInput, "malformed HTTP version"};
  }
  constexpr size_t kMajorAt = kPrefix.size();
  constexpr size_t kDotAt = kMajorAt + 1;
  constexpr size_t kMinorAt = kDotAt + 1;
  const auto major = static_cast<uint8_t>(text[kMajorAt]);
  const auto dot = static_cast<uint8_t>(text[kDotAt]);
  const auto minor = static_cast<uint8_t>(text[kMinorAt]);
  if (!isDigit(major) || dot != '.' || !isDigit(minor)) {
    return core::Error{core::Errc::kBadInput, "malformed HTTP version"};
  }
  return Version{static_cast<uint8_t>(major - '0'), static_cast<uint8_t>(minor - '0')};
}

bool isValidAuthority(std::string_view authority, bool require_port) {
  if (authority.empty()) {
    return !require_port;
  }
  std::string_view host = authority;
  std::string_view after_host;
  if (authority.front() == '[') {
    const size_t close = authority.find(']');
    if (close == std::string_view::npos || !isIpLiteralBody(authority.substr(1, close - 1))) {
      return false;
    }
    host = authority.substr(0, close + 1);
    after_host = authority.substr(close + 1);
  } else {
    const size_t colon = authority.find(':');
    if (colon != std::string_view::npos) {
      host = authority.substr(0, colon);
      after_host = authority.substr(colon);
    }
    if (host.empty() || !isRegName(host)) {
      return false;
    }
  }
  if (after_host.empty()) {
    return !require_port;
  }
  return after_host.front() == ':' && isPort(after_host.substr(1));
}

}  // namespace ballast::proto::http1
