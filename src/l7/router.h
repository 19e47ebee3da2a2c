// src/l7/router.h — picks the route (and so the pool) for one HTTP request from its host, path,
// method, headers and query. No sockets, and no allocation when matching without regexes: it
// runs once per request.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "config/config_types.h"
#include "proto/http1/message.h"

namespace re2 {
class RE2;
}  // namespace re2

namespace ballast::l7 {

// Built once per config snapshot from one listener's routes, then read-only: a worker may share
// it or build its own. Routes are tried in order and the first whose every condition holds wins;
// a route's match conditions are already checked and normalized by the config loader, and its
// regexes are compiled here, once.
class Router {
 public:
  // pool_index maps a pool name to its index in config->pools, -1 when it knows none (the
  // loader rejects such configs, so that only happens to hand-built listeners; the route then
  // matches with pool -1).
  Router(const config::Listener& listener,
         const std::function<int(const std::string&)>& pool_index);
  ~Router();
  Router(Router&&) noexcept;
  Router& operator=(Router&&) noexcept;
  Router(const Router&) = delete;
  Router& operator=(const Router&) = delete;

  struct Match {
    int route = -1;  // index into the listener's routes; -1: no route matched, default pool
    int pool = -1;   // -1: no pool (no route matched and the listener has none) → 404
  };

  // host: the request's authority (Host header or absolute-form authority), any case, with or
  // without ":port", IPv6 literals bracketed ("[::1]:80"); one trailing dot is ignored.
  // target: the request target as received — origin form ("/p?q"), absolute form
  // ("http://h/p?q", whose path is "/" when it has none), or anything else (authority or
  // asterisk form), which is its own path. Path conditions see the path without the query.
  // The query is split on '&' into name=value parameters, without percent-decoding ("a%20b" and
  // "a+b" are matched as written); a parameter without '=' has an empty value.
  // method: the token as received (case-sensitive). headers: the request's fields; names compare
  // case-insensitively, and a condition holds when any one field of that name satisfies it.
  // Never allocates unless a regex runs (RE2 fills its DFA cache lazily, bounded by max_mem).
  Match match(std::string_view host, std::string_view target, std::string_view method,
              std::span<const proto::http1::Header> headers) const;

  // The route's name for logs and metrics; empty for -1 (the default pool).
  // Precondition: -1 <= route < routeCount().
  const std::string& routeName(int route) const;
  int routeCount() const { return static_cast<int>(routes_.size()); }

 private:
  enum class HostKind : uint8_t { kAny, kExact, kSuffix };

  // A header or query condition. kNever stands for a regex that did not compile (only possible
  // in hand-built listeners: the loader rejects them), which matches nothing rather than all.
  struct Condition {
    enum class Kind : uint8_t { kPresent, kExact, kRegex, kNever };
    Kind kind = Kind::kPresent;
    std::string name;
    std::string exact;
    std::unique_ptr<re2::RE2> regex;  // kRegex only

    bool accepts(std::string_view value) const;
  };

  struct CompiledRoute {
    HostKind host_kind = HostKind::kAny;
    std::string host;  // lowercase; for kSuffix the part after '*', dot included (".example.com")
    config::RouteMatch::PathKind path_kind = config::RouteMatch::PathKind::kAny;
    std::string path;
    std::unique_ptr<re2::RE2> path_regex;  // kRegex; null when it did not compile: never matches
    std::vector<std::string> methods;      // empty: any
    std::vector<Condition> headers;
    std::vector<Condition> query;
    int pool = -1;
  };

  static Condition compileCondition(const config::ValueMatch& match);
  static bool matches(const CompiledRoute& route, std::string_view host, std::string_view path,
                      std::string_view query, std::string_view method,
                      std::span<const proto::http1::Header> headers);

  std::vector<CompiledRoute> routes_;
  std::vector<std::string> names_;  // parallel to routes_
  int default_pool_ = -1;
  std::string no_name_;  // what routeName(-1) refers to
};

}  // namespace ballast::l7
