// src/config/http_sections.h — readers for what only an http listener has: the HTTP timeouts,
// limits and settings (trusted proxies, Forwarded, access log), and the routes with their match
// conditions and header edits.
#pragma once

#include <array>
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "config/config_types.h"
#include "config/validate.h"
#include "config/yaml_reader.h"

namespace ballast::config {

// Keys of `timeouts:` and `limits:` that only an http listener accepts; a tcp or udp listener
// reports them as "only for protocol: http".
inline constexpr std::array<std::string_view, 4> kHttpOnlyTimeoutKeys = {
    "header", "keep_alive", "response_header", "body_idle"};
inline constexpr std::array<std::string_view, 4> kHttpOnlyLimitKeys = {
    "max_request_line", "max_header_bytes", "max_headers", "max_body"};
// Listener keys only an http listener accepts (besides `routes`).
inline constexpr std::array<std::string_view, 14> kHttpOnlyListenerKeys = {
    "trusted_proxies",  "forwarded",  "access_log", "http2",      "redirect_https", "hsts",
    "security_headers", "rate_limit", "jwt",        "basic_auth", "forward_auth",   "cors",
    "error_pages",      "compress"};

// The kHttpOnlyListenerKeys of an http listener's own mapping.
void readHttpSettings(FileReader& file, const MapReader& map, HttpSettings& http);

// The HTTP keys of an http listener's `timeouts:` mapping (already walked by the caller).
void readHttpTimeouts(FileReader& file, const MapReader& map, HttpTimeouts& timeouts);
// The HTTP keys of an http listener's `limits:` mapping.
void readHttpLimits(FileReader& file, const MapReader& map, HttpLimits& limits);

// Appends one Route (and its RouteSource) per list item that is a mapping; fields with errors
// keep their defaults. Route names are checked for uniqueness here, pools later by
// validateConfig. Returns the number of list items, so the caller can tell an empty list.
size_t readRoutes(FileReader& file, const Field& field, const std::string& listener_name,
                  std::vector<Route>& routes, std::vector<RouteSource>& sources);

}  // namespace ballast::config
