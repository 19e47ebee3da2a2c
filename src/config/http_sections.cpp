// src/config/http_sections.cpp — the http listener schema: HTTP timeouts, limits and settings,
// routes with their match conditions and header edits. Values are checked and normalized here
// (regexes compiled once to catch errors), so the router only compares.
#include "config/http_sections.h"

#include <re2/re2.h>

#include <algorithm>
#include <array>
#include <optional>
#include <unordered_map>

#include "config/acl_sections.h"
#include "config/basic_auth_sections.h"
#include "config/content_sections.h"
#include "config/edge_sections.h"
#include "config/forward_auth_sections.h"
#include "config/host_names.h"
#include "config/http_fields.h"
#include "config/jwt_sections.h"
#include "config/limits.h"
#include "config/rate_limit_sections.h"
#include "config/route_regex.h"

namespace ballast::config {
namespace {

using namespace std::string_view_literals;

constexpr std::array kRouteKeys = {"name"sv,
                                   "match"sv,
                                   "pool"sv,
                                   "request_headers"sv,
                                   "response_headers"sv,
                                   "redirect_https"sv,
                                   "hsts"sv,
                                   "security_headers"sv,
                                   "acl"sv,
                                   "deny"sv,
                                   "rate_limit"sv,
                                   "jwt"sv,
                                   "basic_auth"sv,
                                   "forward_auth"sv,
                                   "redirect"sv,
                                   "rewrite"sv,
                                   "respond"sv,
                                   "cors"sv,
                                   "error_pages"sv,
                                   "compress"sv,
                                   "cache"sv};
constexpr std::array kHttp2LimitKeys = {"max_concurrent_streams"sv,
                                        "stream_buffer"sv,
                                        "max_frame_size"sv,
                                        "header_table_size"sv,
                                        "reset_burst"sv,
                                        "resets_per_second"sv,
                                        "max_continuations"sv,
                                        "control_frames_per_second"sv};
constexpr std::array kMatchKeys = {"host"sv, "path"sv, "methods"sv, "headers"sv, "query"sv};
// In the order messages name them.
constexpr std::array kPathKeys = {"prefix"sv, "exact"sv, "regex"sv};
constexpr std::array kValueMatchKeys = {"name"sv, "exact"sv, "regex"sv};

constexpr std::string_view kDefaultRouteNamePrefix = "route-";
constexpr uint16_t kDefaultDenyStatus = 403;
constexpr uint64_t kMinDenyStatus = 400;
constexpr uint64_t kMaxDenyStatus = 599;
constexpr std::string_view kWildcardPrefix = "*.";
constexpr std::string_view kHostExpected =
    "a host such as api.example.com, *.example.com or [2001:db8::1], without a port";
constexpr std::string_view kPathExpected =
    "a path that starts with '/' and has no spaces, '?' or '#'";
constexpr std::string_view kPathFormExpected =
    "a path, {prefix: PATH}, {exact: PATH} or {regex: RE2}";
constexpr std::string_view kRegexExpected = "a non-empty RE2 regex";
constexpr std::string_view kHeaderValueExpected =
    "a non-empty header value without control characters (CR, LF, NUL)";
constexpr std::string_view kQueryValueExpected =
    "a non-empty query value (printable, without spaces, '&' or '#')";
constexpr std::string_view kPresenceHint = "; leave it out to require only presence";
constexpr std::string_view kCidrExpected =
    "an address or prefix such as 10.0.0.0/8, 192.0.2.1 or ::1/128";
constexpr std::string_view kAccessLogExpected =
    R"("stdout", an absolute file path, or "" for the application log)";
constexpr std::string_view kStdout = "stdout";

constexpr std::array<Choice<bool>, 2> kForwardedChoices = {{
    {"none", false},
    {"rfc7239", true},
}};

constexpr std::string_view kMethodExpected = "an HTTP method in uppercase letters such as GET";
constexpr char kFirstVisible = '!';
constexpr char kLastVisible = '~';

bool isHexDigit(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

// "[" hex, ':' and '.' "]": the bracketed form an IPv6 literal has in a Host header.
bool isBracketedIpv6(std::string_view text) {
  if (text.size() < 3 || text.front() != '[' || text.back() != ']') {
    return false;
  }
  const std::string_view inside = text.substr(1, text.size() - 2);
  return std::all_of(inside.begin(), inside.end(),
                     [](char c) { return isHexDigit(c) || c == ':' || c == '.'; });
}

// The stored form is lowercase: Host is case-insensitive (RFC 9110 §4.2.3), and the router then
// folds only the request's side.
std::optional<std::string> normalizeHost(std::string_view text) {
  if (text.size() > kMaxRouteHostLength) {
    return std::nullopt;
  }
  const bool wildcard = text.starts_with(kWildcardPrefix);
  const std::string_view name = wildcard ? text.substr(kWildcardPrefix.size()) : text;
  const bool ok = isDottedName(name) || (!wildcard && isBracketedIpv6(name));
  if (!ok) {
    return std::nullopt;
  }
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(), lowerAscii);
  return out;
}

// Matching is on the raw bytes of the request's path, so only what a request target can carry
// before its query is accepted.
bool isRoutePath(std::string_view text) {
  if (!text.starts_with('/') || text.size() > kMaxRoutePathLength) {
    return false;
  }
  return std::all_of(text.begin(), text.end(), [](char c) {
    return c >= kFirstVisible && c <= kLastVisible && c != '?' && c != '#';
  });
}

bool isMethod(std::string_view text) {
  return !text.empty() &&
         std::all_of(text.begin(), text.end(), [](char c) { return c >= 'A' && c <= 'Z'; });
}

std::optional<std::string> readHost(FileReader& file, const Field& field) {
  const auto text = readScalar(file, field, kHostExpected);
  if (!text) {
    return std::nullopt;
  }
  auto host = normalizeHost(*text);
  if (!host) {
    reportExpected(file, field, kHostExpected, quote(*text));
  }
  return host;
}

std::optional<std::string> readPathValue(FileReader& file, const Field& field) {
  auto text = readScalar(file, field, kPathExpected);
  if (!text) {
    return std::nullopt;
  }
  if (!isRoutePath(*text)) {
    reportExpected(file, field, kPathExpected, quote(*text));
    return std::nullopt;
  }
  return text;
}

// A pattern RE2 compiles, else nullopt after reporting RE2's reason at the value. `hint` ends
// the message for an empty pattern.
std::optional<std::string> readRegex(FileReader& file, const Field& field, std::string_view hint) {
  auto text = readScalar(file, field, kRegexExpected);
  if (!text) {
    return std::nullopt;
  }
  if (text->empty()) {
    reportExpected(file, field, kRegexExpected, quote(*text) + std::string(hint));
    return std::nullopt;
  }
  const RE2 regex(*text, routeRegexOptions());
  if (!regex.ok()) {
    file.error(field.valueMark(), field.key + ": invalid RE2 regex: " + regex.error());
    return std::nullopt;
  }
  return text;
}

// `path: /v1/` (a prefix), `path: {prefix: /v1/}`, `path: {exact: /healthz}` or
// `path: {regex: "^/v[0-9]+/"}`.
void readPath(FileReader& file, const Field& field, RouteMatch& match) {
  using PathKind = RouteMatch::PathKind;
  if (field.value.IsScalar()) {
    if (auto path = readPathValue(file, field)) {
      match.path_kind = PathKind::kPrefix;
      match.path = std::move(*path);
    }
    return;
  }
  if (!field.value.IsMap() && !field.value.IsNull()) {
    reportExpected(file, field, kPathFormExpected, describe(field.value));
    return;
  }
  const MapReader map(file, field, "path", kPathKeys);
  std::vector<const Field*> given;  // in kPathKeys order
  for (const auto key : kPathKeys) {
    if (const Field* f = map.find(key)) {
      given.push_back(f);
    }
  }
  if (given.empty()) {
    // Unknown keys were reported as such; only an empty mapping needs saying what is missing.
    if (field.value.size() == 0) {
      reportExpected(file, field, kPathFormExpected, describe(field.value));
    }
    return;
  }
  if (given.size() > 1) {
    // The later key is the one to remove, whichever order they were written in.
    const Field* later = *std::max_element(given.begin(), given.end(), [](auto* a, auto* b) {
      return a->key_mark.pos < b->key_mark.pos;
    });
    const std::string choice =
        given.size() == 2 ? "give either " + given[0]->key + " or " + given[1]->key + ", not both"
                          : "give only one of prefix, exact or regex";
    file.error(later->key_mark, later->key + ": " + choice);
    return;
  }
  const Field& only = *given.front();
  if (only.key == "regex") {
    if (auto regex = readRegex(file, only, "")) {
      match.path_kind = PathKind::kRegex;
      match.path = std::move(*regex);
    }
    return;
  }
  if (auto path = readPathValue(file, only)) {
    match.path_kind = only.key == "prefix" ? PathKind::kPrefix : PathKind::kExact;
    match.path = std::move(*path);
  }
}

void readMethods(FileReader& file, const Field& field, std::vector<std::string>& methods) {
  const auto items = listItems(file, field, "method");
  // An empty list would match nothing, which nobody means; any method is the key left out.
  if (items.empty() && (field.value.IsNull() || field.value.IsSequence())) {
    file.error(field.valueMark(),
               "methods: expected at least one method; leave the key out to match any");
    return;
  }
  for (const auto& item : items) {
    auto text = readScalar(file, item, kMethodExpected);
    if (!text) {
      continue;
    }
    if (!isMethod(*text)) {
      reportExpected(file, item, kMethodExpected, quote(*text));
      continue;
    }
    if (std::find(methods.begin(), methods.end(), *text) != methods.end()) {
      file.error(item.valueMark(), "method: " + quote(*text) + " is listed twice");
      continue;
    }
    methods.push_back(std::move(*text));
  }
}

// Header conditions look at field values as the parser hands them out; query conditions at the
// raw bytes of the request target.
enum class ValueSource : uint8_t { kHeader, kQuery };

std::optional<std::string> readQueryName(FileReader& file, const Field& field) {
  auto text = readScalar(file, field, kQueryNameExpected);
  if (!text) {
    return std::nullopt;
  }
  if (!isQueryName(*text)) {
    reportExpected(file, field, kQueryNameExpected, quote(*text));
    return std::nullopt;
  }
  return text;
}

// An exact value that a request could carry. An empty one is refused: it would read back as no
// value at all, which means "present".
std::optional<std::string> readExactValue(FileReader& file, const Field& field,
                                          ValueSource source) {
  const std::string_view expected =
      source == ValueSource::kHeader ? kHeaderValueExpected : kQueryValueExpected;
  auto text = readScalar(file, field, expected);
  if (!text) {
    return std::nullopt;
  }
  if (text->empty()) {
    reportExpected(file, field, expected, quote(*text) + std::string(kPresenceHint));
    return std::nullopt;
  }
  if (source == ValueSource::kQuery ? !isQueryValue(*text) : !isFieldValue(*text)) {
    reportExpected(file, field, expected, quote(*text));
    return std::nullopt;
  }
  const auto is_ows = [](char c) { return c == ' ' || c == '\t'; };
  if (source == ValueSource::kHeader && (is_ows(text->front()) || is_ows(text->back()))) {
    file.error(field.valueMark(),
               field.key + ": " + quote(*text) +
                   " can never match: the parser trims spaces and tabs around header values");
    return std::nullopt;
  }
  return text;
}

// One `{name: N, exact: V}`, `{name: N, regex: R}` or `{name: N}`; nullopt when it had errors.
std::optional<ValueMatch> readValueMatch(FileReader& file, const Field& item, ValueSource source) {
  const bool header = source == ValueSource::kHeader;
  const MapReader map(file, item, header ? "header condition" : "query condition", kValueMatchKeys);
  if (!map.ok()) {
    return std::nullopt;
  }
  ValueMatch match;
  bool ok = true;
  if (const Field* f = map.require(file, "name")) {
    const auto name = header ? readHeaderName(file, *f) : readQueryName(file, *f);
    assign(match.name, name);
    ok = name.has_value();
  } else {
    ok = false;
  }
  const Field* exact = map.find("exact");
  const Field* regex = map.find("regex");
  if (exact != nullptr && regex != nullptr) {
    const Field* later = exact->key_mark.pos < regex->key_mark.pos ? regex : exact;
    file.error(later->key_mark, later->key + ": give either exact or regex, not both");
    return std::nullopt;
  }
  if (exact != nullptr) {
    const auto value = readExactValue(file, *exact, source);
    assign(match.exact, value);
    ok = ok && value.has_value();
  } else if (regex != nullptr) {
    const auto value = readRegex(file, *regex, kPresenceHint);
    assign(match.regex, value);
    ok = ok && value.has_value();
  }
  return ok ? std::optional(std::move(match)) : std::nullopt;
}

// `headers:` or `query:`: a list of conditions, all of which must hold. An empty list adds none.
void readValueMatches(FileReader& file, const Field& field, ValueSource source,
                      std::vector<ValueMatch>& out) {
  const auto items =
      listItems(file, field, source == ValueSource::kHeader ? "header" : "parameter");
  if (items.size() > kMaxRouteConditions) {
    file.error(field.valueMark(), field.key + ": at most " + std::to_string(kMaxRouteConditions) +
                                      " conditions per route, got " + std::to_string(items.size()));
    return;
  }
  for (const auto& item : items) {
    if (auto match = readValueMatch(file, item, source)) {
      out.push_back(std::move(*match));
    }
  }
}

void readMatch(FileReader& file, const Field& field, RouteMatch& match) {
  const MapReader map(file, field, "match", kMatchKeys);
  if (const Field* f = map.find("host")) {
    assign(match.host, readHost(file, *f));
  }
  if (const Field* f = map.find("path")) {
    readPath(file, *f, match);
  }
  if (const Field* f = map.find("methods")) {
    readMethods(file, *f, match.methods);
  }
  if (const Field* f = map.find("headers")) {
    readValueMatches(file, *f, ValueSource::kHeader, match.headers);
  }
  if (const Field* f = map.find("query")) {
    readValueMatches(file, *f, ValueSource::kQuery, match.query);
  }
}

// A route's name and where it came from, for the uniqueness check.
struct NameUse {
  Location at;  // the name's value, or the route item when the name is a default
  bool given = false;
};

// Names must be unique within a listener because logs and metrics label requests by them. A
// default name ("route-2") can clash with one given to another route; the message then points
// at the given one, the only one the user can change.
void checkRouteName(FileReader& file, const std::string& name, const NameUse& use,
                    const std::string& listener_name,
                    std::unordered_map<std::string, NameUse>& seen) {
  const auto [it, inserted] = seen.emplace(name, use);
  if (inserted) {
    return;
  }
  const NameUse& first = it->second;
  if (first.given && use.given) {
    file.diagnostics().add(use.at, "name: duplicate route name \"" + name + "\" in listener \"" +
                                       listener_name + "\" (first at line " +
                                       std::to_string(first.at.line) + ")");
    return;
  }
  const NameUse& given = first.given ? first : use;
  const NameUse& unnamed = first.given ? use : first;
  file.diagnostics().add(given.at, "name: \"" + name +
                                       "\" is already the default name of the unnamed route at "
                                       "line " +
                                       std::to_string(unnamed.at.line));
}

void readTrustedProxies(FileReader& file, const Field& field, std::vector<net::Cidr>& proxies) {
  for (const auto& item : listItems(file, field, "trusted_proxy")) {
    const auto text = readScalar(file, item, kCidrExpected);
    if (!text) {
      continue;
    }
    const auto cidr = net::Cidr::parse(*text);
    if (!cidr) {
      reportExpected(file, item, kCidrExpected, quote(*text));
      continue;
    }
    proxies.push_back(*cidr);
  }
}

// The file itself is opened at startup: a config may be validated on another machine.
std::optional<std::string> readAccessLog(FileReader& file, const Field& field) {
  auto text = readScalar(file, field, kAccessLogExpected);
  if (!text) {
    return std::nullopt;
  }
  const bool file_path = text->starts_with('/') && !text->ends_with('/') &&
                         std::all_of(text->begin(), text->end(),
                                     [](char c) { return static_cast<unsigned char>(c) >= ' '; });
  if (!text->empty() && *text != kStdout && !file_path) {
    reportExpected(file, field, kAccessLogExpected, quote(*text));
    return std::nullopt;
  }
  return text;
}

void readHttp2Limits(FileReader& file, const Field& field, Http2Limits& l) {
  const MapReader map(file, field, "http2_limits", kHttp2LimitKeys);
  if (!map.ok()) {
    return;
  }
  const struct {
    std::string_view key;
    uint32_t* target;
    uint64_t min;
    uint64_t max;
    bool size;
  } keys[] = {
      {"max_concurrent_streams", &l.max_concurrent_streams, 1, 10'000, false},
      {"stream_buffer", &l.stream_buffer_bytes, 16 * 1024, 16 << 20, true},
      // RFC 9113 §6.5.2: 2^14 to 2^24-1.
      {"max_frame_size", &l.max_frame_size, 1 << 14, (1 << 24) - 1, true},
      {"header_table_size", &l.header_table_size, 0, 1 << 20, true},
      {"reset_burst", &l.reset_burst, 1, 1'000'000, false},
      {"resets_per_second", &l.resets_per_second, 1, 1'000'000, false},
      {"max_continuations", &l.max_continuations, 0, 1'000, false},
      {"control_frames_per_second", &l.control_frames_per_second, 1, 1'000'000, false},
  };
  for (const auto& k : keys) {
    if (const Field* f = map.find(k.key)) {
      const auto v =
          k.size ? readSize(file, *f, k.min, k.max) : readUnsigned(file, *f, k.min, k.max);
      if (v) {
        *k.target = static_cast<uint32_t>(*v);
      }
    }
  }
}

// `deny: true` (403) or `deny: STATUS` (400–599).
uint16_t readDenyStatus(FileReader& file, const Field& field) {
  const YAML::Node& v = field.value;
  if (v.IsScalar() && (v.Scalar() == "true" || v.Scalar() == "false")) {
    return v.Scalar() == "true" ? kDefaultDenyStatus : 0;
  }
  const auto status = readUnsigned(file, field, kMinDenyStatus, kMaxDenyStatus);
  return status ? static_cast<uint16_t>(*status) : 0;
}

}  // namespace

void readHttpSettings(FileReader& file, const MapReader& map, HttpSettings& http) {
  if (const Field* f = map.find("trusted_proxies")) {
    readTrustedProxies(file, *f, http.trusted_proxies);
  }
  if (const Field* f = map.find("forwarded")) {
    assign(http.forwarded_rfc7239, readChoice<bool>(file, *f, kForwardedChoices));
  }
  if (const Field* f = map.find("access_log")) {
    assign(http.access_log, readAccessLog(file, *f));
  }
  if (const Field* f = map.find("http2")) {
    assign(http.http2, readBool(file, *f));
  }
  if (const Field* f = map.find("http2_limits")) {
    readHttp2Limits(file, *f, http.http2_limits);
  }
  readEdgePolicy(file, map, http.edge);
  if (const Field* f = map.find("rate_limit")) {
    readRateLimits(file, *f, http.rate_limits);
  }
  if (const Field* f = map.find("jwt")) {
    readJwt(file, *f, http.jwt);
  }
  if (const Field* f = map.find("basic_auth")) {
    readBasicAuth(file, *f, http.basic_auth);
  }
  if (const Field* f = map.find("cors")) {
    readCors(file, *f, http.cors);
  }
  if (const Field* f = map.find("error_pages")) {
    readErrorPages(file, *f, http.error_pages);
  }
  if (const Field* f = map.find("compress")) {
    readCompress(file, *f, http.compress);
  }
  if (const Field* f = map.find("cache")) {
    readCache(file, *f, http.cache);
  }
}

void readHttpTimeouts(FileReader& file, const MapReader& map, HttpTimeouts& timeouts) {
  if (const Field* f = map.find("header")) {
    assign(timeouts.header, readDuration(file, *f, /*positive=*/true));
  }
  if (const Field* f = map.find("keep_alive")) {
    assign(timeouts.keep_alive, readDuration(file, *f, /*positive=*/true));
  }
  if (const Field* f = map.find("response_header")) {
    assign(timeouts.response_header, readDuration(file, *f, /*positive=*/true));
  }
  if (const Field* f = map.find("body_idle")) {
    assign(timeouts.body_idle, readDuration(file, *f, /*positive=*/true));
  }
}

void readHttpLimits(FileReader& file, const MapReader& map, HttpLimits& limits) {
  if (const Field* f = map.find("max_header_bytes")) {
    assign(limits.max_header_bytes, readSize(file, *f, kMinHttpHeaderBytes, kMaxHttpHeaderBytes));
  }
  if (const Field* f = map.find("max_request_line")) {
    const auto line = readSize(file, *f, kMinHttpRequestLineBytes, kMaxHttpRequestLineBytes);
    if (line && *line > limits.max_header_bytes) {
      file.error(f->valueMark(), "max_request_line: " + std::to_string(*line) +
                                     " bytes exceeds max_header_bytes (" +
                                     std::to_string(limits.max_header_bytes) +
                                     " bytes), which counts the request line too");
    } else {
      assign(limits.max_request_line, line);
    }
  } else if (limits.max_request_line > limits.max_header_bytes) {
    // A small max_header_bytes with the default request line would otherwise be an error
    // about a value the user never wrote; the head bounds its first line anyway.
    limits.max_request_line = limits.max_header_bytes;
  }
  if (const Field* f = map.find("max_headers")) {
    assign(limits.max_headers, readUnsigned(file, *f, 1, kMaxHttpHeaders));
  }
  if (const Field* f = map.find("max_body")) {
    assign(limits.max_body, readSize(file, *f, 0, kMaxHttpBodyBytes));
  }
}

size_t readRoutes(FileReader& file, const Field& field, const std::string& listener_name,
                  std::vector<Route>& routes, std::vector<RouteSource>& sources) {
  const auto items = listItems(file, field, "route");
  if (items.size() > kMaxRoutesPerListener) {
    file.error(field.valueMark(), "routes: at most " + std::to_string(kMaxRoutesPerListener) +
                                      " routes per listener, got " + std::to_string(items.size()));
    return items.size();
  }
  std::unordered_map<std::string, NameUse> seen;
  for (size_t index = 0; index < items.size(); ++index) {
    const MapReader map(file, items[index], "route", kRouteKeys);
    if (!map.ok()) {
      continue;
    }
    Route route;
    RouteSource source;
    // The position in the list, not among valid routes, so the name stays put while errors are
    // being fixed.
    route.name = std::string(kDefaultRouteNamePrefix) + std::to_string(index);
    NameUse use{file.at(items[index].valueMark()), false};
    bool name_ok = true;
    if (const Field* f = map.find("name")) {
      const auto name = readName(file, *f);
      assign(route.name, name);
      use = {file.at(f->valueMark()), true};
      name_ok = name.has_value();
    }
    if (name_ok) {
      checkRouteName(file, route.name, use, listener_name, seen);
    }
    if (const Field* f = map.find("match")) {
      readMatch(file, *f, route.match);
    }
    readEdgePolicy(file, map, route.edge);
    if (const Field* f = map.find("acl")) {
      readAcl(file, *f, route.acl);
    }
    if (const Field* f = map.find("deny")) {
      route.deny_status = readDenyStatus(file, *f);
    }
    if (const Field* f = map.find("rate_limit")) {
      readRateLimits(file, *f, route.rate_limits);
    }
    if (const Field* f = map.find("jwt")) {
      route.jwt.emplace();
      readJwt(file, *f, *route.jwt);
    }
    if (const Field* f = map.find("basic_auth")) {
      route.basic_auth.emplace();
      readBasicAuth(file, *f, *route.basic_auth);
    }
    if (const Field* f = map.find("forward_auth")) {
      route.forward_auth.emplace();
      source.forward_auth = readForwardAuth(file, *f, *route.forward_auth);
    }
    if (const Field* f = map.find("redirect")) {
      route.redirect_to.emplace();
      readRouteRedirect(file, *f, *route.redirect_to);
    }
    if (const Field* f = map.find("rewrite")) {
      route.rewrite.emplace();
      readPathRewrite(file, *f, *route.rewrite);
    }
    if (const Field* f = map.find("respond")) {
      route.respond.emplace();
      readDirectResponse(file, *f, *route.respond);
    }
    if (const Field* f = map.find("cors")) {
      route.cors.emplace();
      readCors(file, *f, *route.cors);
    }
    if (const Field* f = map.find("error_pages")) {
      route.error_pages.emplace();
      readErrorPages(file, *f, *route.error_pages);
    }
    if (const Field* f = map.find("compress")) {
      route.compress.emplace();
      readCompress(file, *f, *route.compress);
    }
    if (const Field* f = map.find("cache")) {
      route.cache.emplace();
      readCache(file, *f, *route.cache);
    }
    // A route that only redirects, only answers by itself, or only denies, forwards nothing: no
    // pool needed. (A redirect with a regex sends the paths it does not match to the pool, or
    // answers 404 without one.)
    const bool redirects = (route.edge.redirect_https && route.edge.redirect_https->enabled) ||
                           route.redirect_to.has_value();
    const bool answers = redirects || route.deny_status != 0 || route.respond.has_value();
    if (const Field* f = answers ? map.find("pool") : map.require(file, "pool")) {
      assign(route.pool, readName(file, *f));
      source.pool = file.at(f->valueMark());
    }
    if (const Field* f = map.find("request_headers")) {
      readHeaderOps(file, *f, route.request_headers);
    }
    if (const Field* f = map.find("response_headers")) {
      readHeaderOps(file, *f, route.response_headers);
    }
    routes.push_back(std::move(route));
    sources.push_back(std::move(source));
  }
  return items.size();
}

}  // namespace ballast::config
