// src/l7/router.h — picks the route (and so the pool) for one HTTP request from its host, path
// and method. No sockets and no allocation when matching: it runs once per request.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "config/config_types.h"

namespace ballast::l7 {

// Built once per config snapshot from one listener's routes, then read-only: a worker may share
// it or build its own. Routes are tried in order and the first whose every condition holds wins;
// a route's match conditions are already checked and normalized by the config loader.
class Router {
 public:
  // pool_index maps a pool name to its index in config->pools, -1 when it knows none (the
  // loader rejects such configs, so that only happens to hand-built listeners; the route then
  // matches with pool -1).
  Router(const config::Listener& listener,
         const std::function<int(const std::string&)>& pool_index);

  struct Match {
    int route = -1;  // index into the listener's routes; -1: no route matched, default pool
    int pool = -1;   // -1: no pool (no route matched and the listener has none) → 404
  };

  // host: the request's authority (Host header or absolute-form authority), any case, with or
  // without ":port", IPv6 literals bracketed ("[::1]:80"); one trailing dot is ignored.
  // path: the request target in origin form; anything from the first '?' on is dropped here, so
  // the caller may pass the whole target. method: the token as received (case-sensitive).
  // Never allocates.
  Match match(std::string_view host, std::string_view path, std::string_view method) const;

  // The route's name for logs and metrics; empty for -1 (the default pool).
  // Precondition: -1 <= route < routeCount().
  const std::string& routeName(int route) const;
  int routeCount() const { return static_cast<int>(routes_.size()); }

 private:
  enum class HostKind : uint8_t { kAny, kExact, kSuffix };

  struct CompiledRoute {
    HostKind host_kind = HostKind::kAny;
    std::string host;  // lowercase; for kSuffix the part after '*', dot included (".example.com")
    config::RouteMatch::PathKind path_kind = config::RouteMatch::PathKind::kAny;
    std::string path;
    std::vector<std::string> methods;  // empty: any
    int pool = -1;
  };

  static bool matches(const CompiledRoute& route, std::string_view host, std::string_view path,
                      std::string_view method);

  std::vector<CompiledRoute> routes_;
  std::vector<std::string> names_;  // parallel to routes_
  int default_pool_ = -1;
  std::string no_name_;  // what routeName(-1) refers to
};

}  // namespace ballast::l7
