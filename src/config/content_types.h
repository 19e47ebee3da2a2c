// src/config/content_types.h — the content rules of a route (and, for error pages and CORS, of a
// listener): redirects, path and host rewrites, direct responses, custom error pages and CORS.
// Regexes are compiled once at load and shared read-only by every worker.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "compress/compressor.h"

namespace re2 {
class RE2;
}  // namespace re2

namespace ballast::config {

// redirect: {status, to, regex} — answer with a redirect to a templated target
// (policy/url_template.h). With `regex`, only paths it matches (whole path, RE2) are redirected,
// and its captures fill $1…$9; other requests go on to the route's pool.
struct RouteRedirect {
  uint16_t status = 302;  // 301, 302, 303, 307 or 308
  std::string to;
  std::string regex;
  std::shared_ptr<const re2::RE2> compiled;  // null without `regex`
};

// rewrite: the request's path (and Host) as the backend sees them. Either a prefix swap
// {prefix, replace} or a regex {regex, replace} whose replacement is a template with $1…$9;
// the query is kept. `host` replaces the Host field (X-Forwarded-Host keeps the client's).
struct PathRewrite {
  std::string prefix;
  std::string regex;
  std::shared_ptr<const re2::RE2> compiled;  // null without `regex`
  std::string replace;
  bool has_path_rule = false;  // prefix or regex given
  std::string host;            // "" = the client's Host
};

// respond: {status, body | file, content_type, headers} — the edge answers by itself
// (maintenance pages, health endpoints). A file is read at load and on reload.
struct DirectResponse {
  uint16_t status = 200;
  std::string body;
  std::string file;  // "" = the inline body
  std::string content_type = "text/plain; charset=utf-8";
  std::vector<std::pair<std::string, std::string>> headers;
};

// error_pages: the body of the answers Ballast gives itself (404, 429, 502, 503, 504…) per
// status, read from files at load; with `backend_errors`, a backend's 5xx answer with a page for
// its status is replaced by the page too.
struct ErrorPage {
  std::string file;
  std::string body;
};
struct ErrorPages {
  std::map<uint16_t, ErrorPage> pages;
  std::string content_type = "text/html; charset=utf-8";
  bool backend_errors = false;
  bool empty() const { return pages.empty(); }
};

// cors: Cross-Origin Resource Sharing answered at the edge. Preflights (OPTIONS with
// Access-Control-Request-Method) are answered here and never reach a backend; other requests
// from an allowed origin get the Access-Control-* response fields. The edge owns those fields on
// such a route: a backend's own are dropped, and a disallowed origin gets none.
struct CorsPolicy {
  bool enabled = false;
  bool any_origin = false;           // origins: ["*"]
  std::vector<std::string> origins;  // exact, as browsers send them: scheme://host[:port]
  std::vector<std::string> origin_regexes;
  std::vector<std::shared_ptr<const re2::RE2>> compiled;  // origin_regexes, compiled
  std::vector<std::string> methods = {"GET", "HEAD", "POST"};
  std::vector<std::string> headers;         // request fields a preflight may ask for
  std::vector<std::string> expose_headers;  // response fields scripts may read
  bool credentials = false;
  uint32_t max_age_s = 0;  // 0: Access-Control-Max-Age is not sent
  // Pre-joined for the answer: "GET, HEAD, POST".
  std::string methods_joined;
  std::string headers_joined;
  std::string expose_joined;
};

// compress: response bodies compressed on the way to the client, in the coding the client's
// Accept-Encoding ranks highest among `algorithms` (ties: this order).
struct CompressPolicy {
  bool enabled = false;
  std::vector<compress::Encoding> algorithms = {
      compress::Encoding::kZstd, compress::Encoding::kBrotli, compress::Encoding::kGzip};
  // Media types, "text/*" for a whole top-level type; compared without parameters and case.
  std::vector<std::string> types = {"text/*",          "application/json", "application/javascript",
                                    "application/xml", "application/wasm", "image/svg+xml"};
  uint64_t min_size = 1024;  // a body known to be smaller goes as it is
  // Per coding (indexed by compress::Encoding); the library's default unless `level:` says.
  std::array<int, 4> level = {0, 6, 3, 4};
};

// cache: responses to GET and HEAD kept in memory (RFC 9111), shared by every worker; concurrent
// misses for one key wait for one backend response (coalescing). The store is the listener's;
// a route's `cache:` changes the rules for its requests (or turns caching off there).
struct CachePolicy {
  bool enabled = false;
  uint64_t max_size = uint64_t{64} << 20;           // the listener's store
  uint64_t max_object_size = uint64_t{8} << 20;     // bigger bodies stream through, not stored
  std::string key = "$scheme://$host$request_uri";  // a url template (policy/url_template.h)
  bool coalesce = true;
  std::chrono::milliseconds coalesce_timeout{5000};  // a waiter then goes upstream itself
  bool heuristic_freshness = false;                  // 10% of Last-Modified's age, at most a day
};

}  // namespace ballast::config
