// src/config/http_fields.h — HTTP names and values as the config accepts them (header and cookie
// names, header values, query parameter names and values) and the header edits of a route.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "config/config_types.h"
#include "config/yaml_reader.h"

namespace ballast::config {

inline constexpr std::string_view kHeaderNameExpected =
    "a header name (letters, digits and !#$%&'*+-.^_`|~)";
inline constexpr std::string_view kCookieNameExpected =
    "a cookie name (letters, digits and !#$%&'*+-.^_`|~)";
inline constexpr std::string_view kQueryNameExpected =
    "a query parameter name (printable, without spaces, '&', '=' or '#')";

// RFC 9110 §5.6.2 token: what a header name (and, RFC 6265 §4.1.1, a cookie name) must be.
bool isToken(std::string_view text);
// RFC 9110 §5.5 field value: HTAB, SP, visible ASCII and obs-text; no CR, LF, NUL or other
// control.
bool isFieldValue(std::string_view text);
// A name as it can appear in a request target's query (raw bytes, no percent-decoding), and one
// that splitting on '&' and the first '=' leaves whole.
bool isQueryName(std::string_view text);
// A value as it can appear in a query: visible ASCII without '&' or '#' ('=' is fine: only the
// first '=' of a parameter separates its name).
bool isQueryValue(std::string_view text);
// Fields the proxy writes itself: the connection-level ones (RFC 9110 §7.6.1) and those that
// frame the message or name its target. Case-insensitive.
bool isProxyManagedHeader(std::string_view name);
bool equalsIgnoreCase(std::string_view a, std::string_view b);

// A scalar that is a token, or nullopt after reporting `<key>: expected a header name, got …`.
std::optional<std::string> readHeaderName(FileReader& file, const Field& field);

// `request_headers:` or `response_headers:` — {remove: [NAME…], set: {NAME: VALUE…},
// add: {NAME: VALUE…}}. Entries with errors are left out (and reported); names are kept as
// written, since that is how they go on the wire.
void readHeaderOps(FileReader& file, const Field& field, HeaderOps& ops);

}  // namespace ballast::config
