// src/proto/http1/syntax.h — RFC 9110/9112 lexical rules shared by the parsers and the writer:
// character classes, tokens, lists, decimal numbers, versions and hosts. Pure functions.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "core/result.h"

namespace ballast::proto::http1 {

// Byte values below SP and DEL are controls; bytes from 0x80 are obs-text.
constexpr uint8_t kDel = 0x7F;
constexpr uint8_t kObsTextFirst = 0x80;
constexpr unsigned kDecimalBase = 10;
constexpr unsigned kHexBase = 16;
// Largest HTTP/1.x minor version we speak.
constexpr uint8_t kMaxMinorVersion = 1;
constexpr size_t kMaxPortDigits = 5;
constexpr uint32_t kMaxPort = 65535;

// tchar (RFC 9110 §5.6.2).
bool isTchar(uint8_t c);
// Non-empty run of tchar.
bool isToken(std::string_view s);
// SP, HTAB, VCHAR or obs-text: what a field value, reason phrase or quoted text may hold.
bool isFieldValueChar(uint8_t c);
// VCHAR (0x21..0x7E): what a request target may hold. Strict: no obs-text, no controls.
bool isVchar(uint8_t c);
bool isHexDigit(uint8_t c);
// Value of a hex digit; c must be one.
unsigned hexValue(uint8_t c);
bool isDigit(uint8_t c);
bool isAlpha(uint8_t c);
inline bool isOws(uint8_t c) { return c == ' ' || c == '\t'; }

// ASCII case-insensitive equality: field names, tokens and codings are case-insensitive.
bool equalsIgnoreCase(std::string_view a, std::string_view b);
std::string_view trimOws(std::string_view s);

// Walks a comma-separated list (RFC 9110 §5.6.1). Quoted strings are not understood: none of the
// lists we read (Connection, Transfer-Encoding, Content-Length, Expect) needs them, and a comma
// inside quotes then only makes an element invalid, never valid.
class ListCursor {
 public:
  explicit ListCursor(std::string_view list) : rest_(list) {}
  // The next element with OWS trimmed; empty elements ("a, ,b") come out empty so that callers
  // decide whether to skip or reject them. False once the list is used up.
  bool next(std::string_view* element);

 private:
  std::string_view rest_;
  bool done_ = false;
};

// 1*DIGIT into a uint64_t. kBadInput for anything else: sign, space, empty, overflow.
core::Result<uint64_t> parseDecimal(std::string_view digits);

struct Version {
  uint8_t major = 0;
  uint8_t minor = 0;
};
// "HTTP/" DIGIT "." DIGIT, case-sensitive (RFC 9112 §2.3). Callers decide which they accept.
core::Result<Version> parseVersion(std::string_view text);

// Host field value or authority (RFC 9110 §4.2.3, RFC 3986 §3.2.2): uri-host [":" port] with
// IP-literal, IPv4 or reg-name hosts. No userinfo. An empty port ("host:") is refused although
// RFC 3986 allows it. The empty string passes unless require_port (authority-form needs a port).
bool isValidAuthority(std::string_view authority, bool require_port);

}  // namespace ballast::proto::http1
