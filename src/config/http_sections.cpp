// src/config/http_sections.cpp — the http listener schema: HTTP timeouts and limits, routes and
// their match conditions. Values are checked and normalized here, so the router only compares.
#include "config/http_sections.h"

#include <algorithm>
#include <array>
#include <optional>
#include <unordered_map>

#include "config/limits.h"

namespace ballast::config {
namespace {

using namespace std::string_view_literals;

constexpr std::array kRouteKeys = {"name"sv, "match"sv, "pool"sv};
constexpr std::array kMatchKeys = {"host"sv, "path"sv, "methods"sv};
constexpr std::array kPathKeys = {"prefix"sv, "exact"sv};

constexpr std::string_view kDefaultRouteNamePrefix = "route-";
constexpr std::string_view kWildcardPrefix = "*.";
constexpr std::string_view kHostExpected =
    "a host such as api.example.com, *.example.com or [2001:db8::1], without a port";
constexpr std::string_view kPathExpected =
    "a path that starts with '/' and has no spaces, '?' or '#'";
constexpr std::string_view kPathFormExpected = "a path, {prefix: PATH} or {exact: PATH}";
constexpr std::string_view kMethodExpected = "an HTTP method in uppercase letters such as GET";
constexpr char kFirstVisible = '!';
constexpr char kLastVisible = '~';

char lowerAscii(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool isHexDigit(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

bool isLabelChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_';
}

// Dot-separated non-empty labels: a DNS name or an IPv4 address. No trailing dot, so that one
// host has one spelling (the router drops a request's trailing dot before comparing).
bool isDottedName(std::string_view text) {
  if (text.empty() || text.front() == '.' || text.back() == '.') {
    return false;
  }
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '.') {
      if (text[i - 1] == '.') {
        return false;
      }
    } else if (!isLabelChar(text[i])) {
      return false;
    }
  }
  return true;
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

// `path: /v1/` (a prefix), `path: {prefix: /v1/}` or `path: {exact: /healthz}`.
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
  const Field* prefix = map.find("prefix");
  const Field* exact = map.find("exact");
  if (prefix == nullptr && exact == nullptr) {
    // Unknown keys were reported as such; only an empty mapping needs saying what is missing.
    if (field.value.size() == 0) {
      reportExpected(file, field, kPathFormExpected, describe(field.value));
    }
    return;
  }
  if (prefix != nullptr && exact != nullptr) {
    // The later key is the one to remove, whichever order they were written in.
    const Field* later = prefix->key_mark.pos < exact->key_mark.pos ? exact : prefix;
    file.error(later->key_mark, later->key + ": give either prefix or exact, not both");
    return;
  }
  const Field& given = prefix != nullptr ? *prefix : *exact;
  if (auto path = readPathValue(file, given)) {
    match.path_kind = prefix != nullptr ? PathKind::kPrefix : PathKind::kExact;
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

}  // namespace

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
    if (const Field* f = map.require(file, "pool")) {
      assign(route.pool, readName(file, *f));
      source.pool = file.at(f->valueMark());
    }
    routes.push_back(std::move(route));
    sources.push_back(std::move(source));
  }
  return items.size();
}

}  // namespace ballast::config
