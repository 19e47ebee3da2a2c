// tests/unit/l7/router_test.cpp — route selection: host, path and method rules, first match
// wins, and the default pool (or none) when nothing matches.
#include "l7/router.h"

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

namespace ballast::l7 {
namespace {

using config::Listener;
using config::Route;
using PathKind = config::RouteMatch::PathKind;

// Pools as a config would list them; a name's index is its position.
const std::vector<std::string> kPools = {"app", "api", "static", "admin"};
constexpr int kApp = 0;
constexpr int kApi = 1;
constexpr int kStatic = 2;
constexpr int kAdmin = 3;

int poolIndex(const std::string& name) {
  for (size_t i = 0; i < kPools.size(); ++i) {
    if (kPools[i] == name) {
      return static_cast<int>(i);
    }
  }
  return -1;
}

Route route(std::string name, std::string pool, std::string host = "",
            PathKind path_kind = PathKind::kAny, std::string path = "",
            std::vector<std::string> methods = {}) {
  Route r;
  r.name = std::move(name);
  r.pool = std::move(pool);
  r.match.host = std::move(host);
  r.match.path_kind = path_kind;
  r.match.path = std::move(path);
  r.match.methods = std::move(methods);
  return r;
}

Router makeRouter(std::vector<Route> routes, std::string default_pool = "") {
  Listener l;
  l.name = "web";
  l.protocol = config::Protocol::kHttp;
  l.pool = std::move(default_pool);
  l.http.routes = std::move(routes);
  return Router(l, poolIndex);
}

// The route index a request picks.
int routeFor(const Router& router, std::string_view host, std::string_view path,
             std::string_view method = "GET") {
  return router.match(host, path, method).route;
}

TEST(RouterTest, ExactHostIsCaseInsensitiveAndIgnoresThePort) {
  const Router r = makeRouter({route("api", "api", "api.example.com")});
  EXPECT_EQ(routeFor(r, "api.example.com", "/"), 0);
  EXPECT_EQ(routeFor(r, "API.Example.COM", "/"), 0);
  EXPECT_EQ(routeFor(r, "api.example.com:8080", "/"), 0);
  EXPECT_EQ(routeFor(r, "api.example.com:", "/"), 0);
  EXPECT_EQ(routeFor(r, "api.example.com.", "/"), 0);  // fully qualified: the same host
  EXPECT_EQ(routeFor(r, "api.example.com.:80", "/"), 0);
  EXPECT_EQ(routeFor(r, "api.example.org", "/"), -1);
  EXPECT_EQ(routeFor(r, "x.api.example.com", "/"), -1);
  EXPECT_EQ(routeFor(r, "api.example.co", "/"), -1);
  EXPECT_EQ(routeFor(r, "", "/"), -1);  // HTTP/1.0 without Host matches no host rule
}

TEST(RouterTest, RouteHostsAreFoldedWhenBuilt) {
  // The loader lowercases; a hand-built listener gets the same behaviour.
  const Router r = makeRouter({route("api", "api", "API.Example.com")});
  EXPECT_EQ(routeFor(r, "api.EXAMPLE.com", "/"), 0);
}

TEST(RouterTest, Ipv6LiteralsKeepTheirBracketsAndLoseThePort) {
  const Router r = makeRouter({route("v6", "api", "[2001:db8::1]")});
  EXPECT_EQ(routeFor(r, "[2001:db8::1]", "/"), 0);
  EXPECT_EQ(routeFor(r, "[2001:DB8::1]:443", "/"), 0);
  EXPECT_EQ(routeFor(r, "[2001:db8::2]:443", "/"), -1);
  EXPECT_EQ(routeFor(r, "2001:db8::1", "/"), -1);  // unbracketed: "2001" before the first ':'
  EXPECT_EQ(routeFor(r, "[2001:db8::1", "/"), -1);
}

TEST(RouterTest, WildcardMatchesSubdomainsButNotTheApex) {
  const Router r = makeRouter({route("wild", "app", "*.example.com")});
  EXPECT_EQ(routeFor(r, "a.example.com", "/"), 0);
  EXPECT_EQ(routeFor(r, "a.b.example.com", "/"), 0);
  EXPECT_EQ(routeFor(r, "A.Example.Com:8443", "/"), 0);
  EXPECT_EQ(routeFor(r, "example.com", "/"), -1);
  EXPECT_EQ(routeFor(r, ".example.com", "/"), -1);
  EXPECT_EQ(routeFor(r, "a..example.com", "/"), -1);
  EXPECT_EQ(routeFor(r, "aexample.com", "/"), -1);
  EXPECT_EQ(routeFor(r, "a.example.com.evil", "/"), -1);
  EXPECT_EQ(routeFor(r, "a.example.org", "/"), -1);
}

TEST(RouterTest, PathPrefixIsAPlainStringPrefix) {
  const Router r = makeRouter({route("v1", "api", "", PathKind::kPrefix, "/v1/")});
  EXPECT_EQ(routeFor(r, "h", "/v1/"), 0);
  EXPECT_EQ(routeFor(r, "h", "/v1/users"), 0);
  EXPECT_EQ(routeFor(r, "h", "/v1"), -1);
  EXPECT_EQ(routeFor(r, "h", "/v10/x"), -1);
  EXPECT_EQ(routeFor(r, "h", "/V1/x"), -1);  // paths are case-sensitive
  EXPECT_EQ(routeFor(r, "h", "/api/v1/x"), -1);
  EXPECT_EQ(routeFor(r, "h", "/v1%2Fx"), -1);  // raw bytes: no percent-decoding
}

TEST(RouterTest, PrefixWithoutTrailingSlashIsStillAStringPrefix) {
  const Router r = makeRouter({route("v1", "api", "", PathKind::kPrefix, "/v1")});
  EXPECT_EQ(routeFor(r, "h", "/v1"), 0);
  EXPECT_EQ(routeFor(r, "h", "/v10"), 0);
}

TEST(RouterTest, PathExactIsEquality) {
  const Router r = makeRouter({route("hz", "app", "", PathKind::kExact, "/healthz")});
  EXPECT_EQ(routeFor(r, "h", "/healthz"), 0);
  EXPECT_EQ(routeFor(r, "h", "/healthz/"), -1);
  EXPECT_EQ(routeFor(r, "h", "/healthzz"), -1);
  EXPECT_EQ(routeFor(r, "h", "/health"), -1);
}

TEST(RouterTest, QueryStringIsIgnored) {
  const Router r = makeRouter({route("hz", "app", "", PathKind::kExact, "/healthz"),
                               route("v1", "api", "", PathKind::kPrefix, "/v1/")});
  EXPECT_EQ(routeFor(r, "h", "/healthz?verbose=1"), 0);
  EXPECT_EQ(routeFor(r, "h", "/healthz?"), 0);
  EXPECT_EQ(routeFor(r, "h", "/v1/x?a=/v1/"), 1);
  EXPECT_EQ(routeFor(r, "h", "/v1?/v1/"), -1);  // a '/' in the query does not extend the path
}

TEST(RouterTest, MethodsAreExactTokens) {
  const Router r = makeRouter({route("rw", "api", "", PathKind::kAny, "", {"GET", "POST"})});
  EXPECT_EQ(routeFor(r, "h", "/", "GET"), 0);
  EXPECT_EQ(routeFor(r, "h", "/", "POST"), 0);
  EXPECT_EQ(routeFor(r, "h", "/", "PUT"), -1);
  EXPECT_EQ(routeFor(r, "h", "/", "get"), -1);  // methods are case-sensitive (RFC 9110 §9.1)
  EXPECT_EQ(routeFor(r, "h", "/", "GETX"), -1);
  EXPECT_EQ(routeFor(r, "h", "/", ""), -1);
}

TEST(RouterTest, EveryConditionMustHold) {
  const Router r =
      makeRouter({route("api", "api", "api.example.com", PathKind::kPrefix, "/v1/", {"POST"})});
  EXPECT_EQ(routeFor(r, "api.example.com", "/v1/x", "POST"), 0);
  EXPECT_EQ(routeFor(r, "www.example.com", "/v1/x", "POST"), -1);
  EXPECT_EQ(routeFor(r, "api.example.com", "/v2/x", "POST"), -1);
  EXPECT_EQ(routeFor(r, "api.example.com", "/v1/x", "GET"), -1);
}

TEST(RouterTest, FirstMatchWinsInListOrder) {
  const Router r = makeRouter({
      route("admin", "admin", "api.example.com", PathKind::kPrefix, "/v1/admin/"),
      route("api", "api", "api.example.com"),
      route("static", "static", "*.example.com", PathKind::kPrefix, "/static/"),
      route("catch-all", "app"),
  });
  EXPECT_EQ(r.match("api.example.com", "/v1/admin/users", "GET").pool, kAdmin);
  EXPECT_EQ(r.match("api.example.com", "/static/x.css", "GET").pool, kApi);  // api comes first
  EXPECT_EQ(r.match("www.example.com", "/static/x.css", "GET").pool, kStatic);
  const Router::Match rest = r.match("other.org", "/", "DELETE");
  EXPECT_EQ(rest.route, 3);
  EXPECT_EQ(rest.pool, kApp);
  EXPECT_EQ(r.routeName(rest.route), "catch-all");
}

TEST(RouterTest, NoMatchFallsBackToTheDefaultPool) {
  const Router r = makeRouter({route("api", "api", "api.example.com")}, "static");
  const Router::Match m = r.match("www.example.com", "/", "GET");
  EXPECT_EQ(m.route, -1);
  EXPECT_EQ(m.pool, kStatic);
  EXPECT_EQ(r.routeName(m.route), "");
  const Router::Match hit = r.match("api.example.com", "/", "GET");
  EXPECT_EQ(hit.route, 0);
  EXPECT_EQ(hit.pool, kApi);
}

TEST(RouterTest, NoMatchAndNoDefaultPoolGivesNoPool) {
  const Router r = makeRouter({route("api", "api", "api.example.com")});
  const Router::Match m = r.match("www.example.com", "/", "GET");
  EXPECT_EQ(m.route, -1);
  EXPECT_EQ(m.pool, -1);
}

TEST(RouterTest, NoRoutesAtAll) {
  EXPECT_EQ(makeRouter({}, "app").match("h", "/", "GET").pool, kApp);
  EXPECT_EQ(makeRouter({}).match("h", "/", "GET").pool, -1);
  EXPECT_EQ(makeRouter({}).routeCount(), 0);
}

TEST(RouterTest, RouteNamesAndCount) {
  const Router r = makeRouter({route("api", "api"), route("route-1", "app")});
  EXPECT_EQ(r.routeCount(), 2);
  EXPECT_EQ(r.routeName(0), "api");
  EXPECT_EQ(r.routeName(1), "route-1");
  EXPECT_EQ(r.routeName(-1), "");
}

TEST(RouterTest, UnknownPoolNameGivesPoolMinusOne) {
  // Only hand-built listeners can get here: the loader rejects unknown pools.
  const Router r = makeRouter({route("ghost", "nope")}, "gone");
  EXPECT_EQ(r.match("h", "/", "GET").route, 0);
  EXPECT_EQ(r.match("h", "/", "GET").pool, -1);
}

TEST(RouterTest, OutlivesTheListenerItWasBuiltFrom) {
  std::optional<Router> r;
  {
    Listener l;
    l.pool = "app";
    l.http.routes = {route("api", "api", "api.example.com", PathKind::kExact, "/x", {"GET"})};
    r.emplace(l, poolIndex);
  }
  EXPECT_EQ(r->match("api.example.com", "/x", "GET").pool, kApi);
  EXPECT_EQ(r->routeName(0), "api");
}

}  // namespace
}  // namespace ballast::l7
