// src/policy/url_template.h — the templates of redirect targets and path rewrites, in the
// variables NGINX users already write: $scheme, $host, $path, $query, $request_uri and the regex
// captures $1…$9 ($$ is a dollar sign). Checked once at load, expanded per request without
// allocating beyond the output string.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace ballast::policy {

// What one request offers a template.
struct TemplateValues {
  std::string_view scheme;                     // "http" or "https"
  std::string_view host;                       // the authority the client named
  std::string_view path;                       // without the query
  std::string_view query;                      // without the '?'; empty when none
  std::span<const std::string_view> captures;  // $1…$9: captures[0] is $1
};

// Why `text` is not a template whose captures stay within `max_capture` (0: no regex, so no
// $N at all), or nullopt when it is one.
std::optional<std::string> checkTemplate(std::string_view text, int max_capture);

// Appends `text` (a template checkTemplate accepted) with its variables replaced. A capture the
// regex did not fill expands to nothing.
void expandTemplate(std::string_view text, const TemplateValues& values, std::string& out);

}  // namespace ballast::policy
