// src/l7/router.cpp — first-match route selection. Comparisons fold only the request's side:
// route hosts are lowercased once when the router is built.
#include "l7/router.h"

#include <algorithm>
#include <cassert>

namespace ballast::l7 {
namespace {

constexpr std::string_view kWildcardPrefix = "*.";

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

}  // namespace

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
    route.methods = r.match.methods;
    route.pool = r.pool.empty() ? -1 : pool_index(r.pool);
    routes_.push_back(std::move(route));
    names_.push_back(r.name);
  }
  default_pool_ = listener.pool.empty() ? -1 : pool_index(listener.pool);
}

bool Router::matches(const CompiledRoute& route, std::string_view host, std::string_view path,
                     std::string_view method) {
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
    case config::RouteMatch::PathKind::kAny:
      break;
    case config::RouteMatch::PathKind::kPrefix:
      if (!path.starts_with(route.path)) {
        return false;
      }
      break;
    case config::RouteMatch::PathKind::kExact:
      if (path != route.path) {
        return false;
      }
      break;
    case config::RouteMatch::PathKind::kRegex:
      return false;  // not read from config yet: never matches rather than matching everything
  }
  return route.methods.empty() ||
         std::find(route.methods.begin(), route.methods.end(), method) != route.methods.end();
}

Router::Match Router::match(std::string_view host, std::string_view path,
                            std::string_view method) const {
  const std::string_view bare_host = hostOf(host);
  const std::string_view bare_path = path.substr(0, path.find('?'));
  for (size_t i = 0; i < routes_.size(); ++i) {
    if (matches(routes_[i], bare_host, bare_path, method)) {
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
