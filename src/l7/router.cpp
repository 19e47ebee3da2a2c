// src/l7/router.cpp — first-match route selection. Comparisons fold only the request's side:
// route hosts are lowercased and regexes compiled once when the router is built.
#include "l7/router.h"

#include <re2/re2.h>

#include <algorithm>
#include <cassert>

#include "config/route_regex.h"
#include "proto/http1/syntax.h"

namespace ballast::l7 {
namespace {

using config::RouteMatch;
using proto::http1::Header;

constexpr std::string_view kWildcardPrefix = "*.";
constexpr std::string_view kSchemeEnd = "://";
constexpr std::string_view kRootPath = "/";

char lowerAscii(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

// The host part of an authority: "[::1]:80" → "[::1]", "Example.com:8080" → "Example.com",
// "example.com." → "example.com" (a fully qualified name is the same host, RFC 1034 §3.1).
std::string_view hostOf(std::string_view authority) {
  std::string_view host = authority;
  if (host.starts_with('[')) {
    const size_t close = host.find(']');
    if (close != std::string_view::npos) {
      host = host.substr(0, close + 1);
    }
  } else if (const size_t colon = host.find(':'); colon != std::string_view::npos) {
    host = host.substr(0, colon);
  }
  if (host.ends_with('.')) {
    host.remove_suffix(1);
  }
  return host;
}

// lower is already lowercase.
bool equalsFolded(std::string_view text, std::string_view lower) {
  if (text.size() != lower.size()) {
    return false;
  }
  for (size_t i = 0; i < text.size(); ++i) {
    if (lowerAscii(text[i]) != lower[i]) {
      return false;
    }
  }
  return true;
}

// lower_suffix is ".example.com": at least one non-empty label must come before it, so
// "example.com" itself and ".example.com" do not match.
bool hasSubdomainSuffix(std::string_view host, std::string_view lower_suffix) {
  if (host.size() <= lower_suffix.size()) {
    return false;
  }
  const size_t start = host.size() - lower_suffix.size();
  return host[start - 1] != '.' && equalsFolded(host.substr(start), lower_suffix);
}

// A request target cut into the parts routes look at.
struct TargetParts {
  std::string_view path;
  std::string_view query;  // after the first '?'; empty when there is none
};

// The parser has checked the target's form already (and refused fragments), so this only cuts.
TargetParts splitTarget(std::string_view target) {
  std::string_view rest = target;
  bool absolute = false;
  if (!rest.starts_with('/')) {
    if (const size_t scheme = rest.find(kSchemeEnd); scheme != std::string_view::npos) {
      // absolute-form: the authority ends at the path or, without one, at the query.
      absolute = true;
      rest.remove_prefix(scheme + kSchemeEnd.size());
      const size_t start = rest.find_first_of("/?");
      rest = start == std::string_view::npos ? std::string_view() : rest.substr(start);
    }
  }
  const size_t question = rest.find('?');
  TargetParts parts;
  parts.path = rest.substr(0, question);
  if (question != std::string_view::npos) {
    parts.query = rest.substr(question + 1);
  }
  if (absolute && parts.path.empty()) {
    parts.path = kRootPath;  // "http://h" and "http://h?q" ask for the root
  }
  return parts;
}

}  // namespace

Router::~Router() = default;
Router::Router(Router&&) noexcept = default;
Router& Router::operator=(Router&&) noexcept = default;

bool Router::Condition::accepts(std::string_view value) const {
  switch (kind) {
    case Kind::kPresent:
      return true;
    case Kind::kExact:
      return value == exact;
    case Kind::kRegex:
      return RE2::FullMatch(value, *regex);
    case Kind::kNever:
      break;
  }
  return false;
}

Router::Condition Router::compileCondition(const config::ValueMatch& match) {
  Condition condition;
  condition.name = match.name;
  // The loader never sets both; a hand-built listener that does gets the regex.
  if (!match.regex.empty()) {
    condition.regex = std::make_unique<RE2>(match.regex, config::routeRegexOptions());
    condition.kind = condition.regex->ok() ? Condition::Kind::kRegex : Condition::Kind::kNever;
  } else if (!match.exact.empty()) {
    condition.kind = Condition::Kind::kExact;
    condition.exact = match.exact;
  }
  return condition;
}

Router::Router(const config::Listener& listener,
               const std::function<int(const std::string&)>& pool_index) {
  routes_.reserve(listener.http.routes.size());
  names_.reserve(listener.http.routes.size());
  for (const config::Route& r : listener.http.routes) {
    CompiledRoute route;
    const std::string& host = r.match.host;
    if (host.empty()) {
      route.host_kind = HostKind::kAny;
    } else if (host.starts_with(kWildcardPrefix)) {
      route.host_kind = HostKind::kSuffix;
      route.host = host.substr(kWildcardPrefix.size() - 1);  // keeps the dot
    } else {
      route.host_kind = HostKind::kExact;
      route.host = host;
    }
    // The loader stores hosts lowercased already; hand-built listeners get the same behaviour.
    std::transform(route.host.begin(), route.host.end(), route.host.begin(), lowerAscii);
    route.path_kind = r.match.path_kind;
    route.path = r.match.path;
    if (route.path_kind == RouteMatch::PathKind::kRegex) {
      route.path_regex = std::make_unique<RE2>(route.path, config::routeRegexOptions());
      if (!route.path_regex->ok()) {
        route.path_regex.reset();
      }
    }
    route.methods = r.match.methods;
    for (const config::ValueMatch& h : r.match.headers) {
      route.headers.push_back(compileCondition(h));
    }
    for (const config::ValueMatch& q : r.match.query) {
      route.query.push_back(compileCondition(q));
    }
    route.pool = r.pool.empty() ? -1 : pool_index(r.pool);
    routes_.push_back(std::move(route));
    names_.push_back(r.name);
  }
  default_pool_ = listener.pool.empty() ? -1 : pool_index(listener.pool);
}

namespace {

// Some field named like the condition satisfies it (a repeated header is several fields).
bool anyHeaderAccepted(const auto& condition, std::span<const Header> headers) {
  return std::any_of(headers.begin(), headers.end(), [&](const Header& h) {
    return proto::http1::equalsIgnoreCase(h.name, condition.name) && condition.accepts(h.value);
  });
}

// Some name=value parameter of the query satisfies the condition. Names compare exactly.
bool anyParameterAccepted(const auto& condition, std::string_view query) {
  while (true) {
    const size_t amp = query.find('&');
    const std::string_view parameter = query.substr(0, amp);
    const size_t equals = parameter.find('=');
    const std::string_view name = parameter.substr(0, equals);
    const std::string_view value =
        equals == std::string_view::npos ? std::string_view() : parameter.substr(equals + 1);
    if (name == condition.name && condition.accepts(value)) {
      return true;
    }
    if (amp == std::string_view::npos) {
      return false;
    }
    query.remove_prefix(amp + 1);
  }
}

}  // namespace

// Cheap conditions first: the regexes run only for requests that pass everything else.
bool Router::matches(const CompiledRoute& route, std::string_view host, std::string_view path,
                     std::string_view query, std::string_view method,
                     std::span<const Header> headers) {
  switch (route.host_kind) {
    case HostKind::kAny:
      break;
    case HostKind::kExact:
      if (!equalsFolded(host, route.host)) {
        return false;
      }
      break;
    case HostKind::kSuffix:
      if (!hasSubdomainSuffix(host, route.host)) {
        return false;
      }
      break;
  }
  switch (route.path_kind) {
    case RouteMatch::PathKind::kAny:
    case RouteMatch::PathKind::kRegex:  // below
      break;
    case RouteMatch::PathKind::kPrefix:
      if (!path.starts_with(route.path)) {
        return false;
      }
      break;
    case RouteMatch::PathKind::kExact:
      if (path != route.path) {
        return false;
      }
      break;
  }
  if (!route.methods.empty() &&
      std::find(route.methods.begin(), route.methods.end(), method) == route.methods.end()) {
    return false;
  }
  for (const Condition& c : route.query) {
    if (!anyParameterAccepted(c, query)) {
      return false;
    }
  }
  for (const Condition& c : route.headers) {
    if (!anyHeaderAccepted(c, headers)) {
      return false;
    }
  }
  if (route.path_kind == RouteMatch::PathKind::kRegex) {
    return route.path_regex != nullptr && RE2::FullMatch(path, *route.path_regex);
  }
  return true;
}

Router::Match Router::match(std::string_view host, std::string_view target, std::string_view method,
                            std::span<const Header> headers) const {
  const std::string_view bare_host = hostOf(host);
  const TargetParts parts = splitTarget(target);
  for (size_t i = 0; i < routes_.size(); ++i) {
    if (matches(routes_[i], bare_host, parts.path, parts.query, method, headers)) {
      return {static_cast<int>(i), routes_[i].pool};
    }
  }
  return {-1, default_pool_};
}

const std::string& Router::routeName(int route) const {
  assert(route >= -1 && route < routeCount());
  return route < 0 ? no_name_ : names_[static_cast<size_t>(route)];
}

}  // namespace ballast::l7
