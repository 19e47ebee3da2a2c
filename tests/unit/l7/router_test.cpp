// tests/unit/l7/router_test.cpp — route selection: host, path, method, header and query rules,
// path regexes, first match wins, and the default pool (or none) when nothing matches.
#include "l7/router.h"

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

namespace ballast::l7 {
namespace {

using config::Listener;
using config::Route;
using config::ValueMatch;
using proto::http1::Header;
using PathKind = config::RouteMatch::PathKind;
using Headers = std::vector<Header>;

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
int routeFor(const Router& router, std::string_view host, std::string_view target,
             std::string_view method = "GET", const Headers& headers = {}) {
  return router.match(host, target, method, headers).route;
}

// The route index for a GET of `target` with these headers, any host.
int routeWith(const Router& router, std::string_view target, const Headers& headers = {}) {
  return routeFor(router, "h", target, "GET", headers);
}

ValueMatch present(std::string name) { return {std::move(name), "", ""}; }
ValueMatch exact(std::string name, std::string value) {
  return {std::move(name), std::move(value), ""};
}
ValueMatch regex(std::string name, std::string pattern) {
  return {std::move(name), "", std::move(pattern)};
}

Route withHeaders(std::string name, std::vector<ValueMatch> headers) {
  Route r = route(std::move(name), "api");
  r.match.headers = std::move(headers);
  return r;
}

Route withQuery(std::string name, std::vector<ValueMatch> query) {
  Route r = route(std::move(name), "api");
  r.match.query = std::move(query);
  return r;
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
  EXPECT_EQ(r.match("api.example.com", "/v1/admin/users", "GET", {}).pool, kAdmin);
  // api comes first
  EXPECT_EQ(r.match("api.example.com", "/static/x.css", "GET", {}).pool, kApi);
  EXPECT_EQ(r.match("www.example.com", "/static/x.css", "GET", {}).pool, kStatic);
  const Router::Match rest = r.match("other.org", "/", "DELETE", {});
  EXPECT_EQ(rest.route, 3);
  EXPECT_EQ(rest.pool, kApp);
  EXPECT_EQ(r.routeName(rest.route), "catch-all");
}

TEST(RouterTest, NoMatchFallsBackToTheDefaultPool) {
  const Router r = makeRouter({route("api", "api", "api.example.com")}, "static");
  const Router::Match m = r.match("www.example.com", "/", "GET", {});
  EXPECT_EQ(m.route, -1);
  EXPECT_EQ(m.pool, kStatic);
  EXPECT_EQ(r.routeName(m.route), "");
  const Router::Match hit = r.match("api.example.com", "/", "GET", {});
  EXPECT_EQ(hit.route, 0);
  EXPECT_EQ(hit.pool, kApi);
}

TEST(RouterTest, NoMatchAndNoDefaultPoolGivesNoPool) {
  const Router r = makeRouter({route("api", "api", "api.example.com")});
  const Router::Match m = r.match("www.example.com", "/", "GET", {});
  EXPECT_EQ(m.route, -1);
  EXPECT_EQ(m.pool, -1);
}

TEST(RouterTest, NoRoutesAtAll) {
  EXPECT_EQ(makeRouter({}, "app").match("h", "/", "GET", {}).pool, kApp);
  EXPECT_EQ(makeRouter({}).match("h", "/", "GET", {}).pool, -1);
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
  EXPECT_EQ(r.match("h", "/", "GET", {}).route, 0);
  EXPECT_EQ(r.match("h", "/", "GET", {}).pool, -1);
}

TEST(RouterTest, OutlivesTheListenerItWasBuiltFrom) {
  std::optional<Router> r;
  {
    Listener l;
    l.pool = "app";
    l.http.routes = {route("api", "api", "api.example.com", PathKind::kExact, "/x", {"GET"})};
    r.emplace(l, poolIndex);
  }
  EXPECT_EQ(r->match("api.example.com", "/x", "GET", {}).pool, kApi);
  EXPECT_EQ(r->routeName(0), "api");
}

// ---- targets

TEST(RouterTest, AbsoluteFormTargetsAreMatchedOnTheirPathAndQuery) {
  const Router r = makeRouter({route("hz", "app", "", PathKind::kExact, "/healthz"),
                               withQuery("dbg", {present("debug")}),
                               route("root", "static", "", PathKind::kExact, "/")});
  EXPECT_EQ(routeWith(r, "http://h.example/healthz"), 0);
  EXPECT_EQ(routeWith(r, "https://h.example:8443/healthz?x=1"), 0);
  EXPECT_EQ(routeWith(r, "http://h.example/x?debug"), 1);
  EXPECT_EQ(routeWith(r, "http://h.example?debug"), 1);  // no path: the root, with a query
  EXPECT_EQ(routeWith(r, "http://h.example"), 2);
  EXPECT_EQ(routeWith(r, "http://h.example?x"), 2);
}

TEST(RouterTest, AuthorityAndAsteriskFormsAreTheirOwnPath) {
  const Router r = makeRouter({route("star", "app", "", PathKind::kExact, "*"),
                               route("slash", "api", "", PathKind::kPrefix, "/")});
  EXPECT_EQ(routeFor(r, "h", "*", "OPTIONS"), 0);
  EXPECT_EQ(routeFor(r, "db.example:5432", "db.example:5432", "CONNECT"), -1);
}

// ---- path regex

TEST(RouterTest, PathRegexMatchesTheWholePathWithoutTheQuery) {
  const Router r =
      makeRouter({route("items", "api", "", PathKind::kRegex, "/v[0-9]+/items/[0-9]+")});
  EXPECT_EQ(routeWith(r, "/v1/items/42"), 0);
  EXPECT_EQ(routeWith(r, "/v12/items/7?page=2"), 0);
  EXPECT_EQ(routeWith(r, "/v1/items/42/"), -1);   // whole path: no implicit ".*" at the end
  EXPECT_EQ(routeWith(r, "/x/v1/items/42"), -1);  // nor at the start
  EXPECT_EQ(routeWith(r, "/v1/items/"), -1);
  EXPECT_EQ(routeWith(r, "/v1/items/42?/v1/items/43"), 0);
  EXPECT_EQ(routeWith(r, "/vx/items/42"), -1);
}

TEST(RouterTest, PathRegexAnchorsAreHarmless) {
  const Router r =
      makeRouter({route("items", "api", "", PathKind::kRegex, "^/v[0-9]+/items/[0-9]+$")});
  EXPECT_EQ(routeWith(r, "/v2/items/9"), 0);
  EXPECT_EQ(routeWith(r, "/v2/items/9x"), -1);
}

TEST(RouterTest, PathRegexCombinesWithOtherConditions) {
  const Router r =
      makeRouter({route("api", "api", "api.example.com", PathKind::kRegex, "/v[0-9]+/.*", {"GET"}),
                  route("rest", "app")});
  EXPECT_EQ(routeFor(r, "api.example.com", "/v1/x"), 0);
  EXPECT_EQ(routeFor(r, "api.example.com", "/v1/x", "POST"), 1);
  EXPECT_EQ(routeFor(r, "www.example.com", "/v1/x"), 1);
  EXPECT_EQ(routeFor(r, "api.example.com", "/w1/x"), 1);
}

TEST(RouterTest, PathRegexThatDoesNotCompileNeverMatches) {
  // Only hand-built listeners can get here: the loader rejects such a regex.
  const Router r =
      makeRouter({route("bad", "api", "", PathKind::kRegex, "(unclosed"), route("rest", "app")});
  EXPECT_EQ(routeWith(r, "/(unclosed"), 1);
  EXPECT_EQ(routeWith(r, "/"), 1);
}

// ---- header conditions

TEST(RouterTest, HeaderExactValue) {
  const Router r = makeRouter({withHeaders("canary", {exact("X-Canary", "1")})});
  EXPECT_EQ(routeWith(r, "/", {{"X-Canary", "1"}}), 0);
  EXPECT_EQ(routeWith(r, "/", {{"Host", "h"}, {"X-Canary", "1"}, {"Accept", "*/*"}}), 0);
  EXPECT_EQ(routeWith(r, "/", {{"X-Canary", "0"}}), -1);
  EXPECT_EQ(routeWith(r, "/", {{"X-Canary", "11"}}), -1);
  EXPECT_EQ(routeWith(r, "/", {{"X-Canary", ""}}), -1);
  EXPECT_EQ(routeWith(r, "/", {{"X-Canary-2", "1"}}), -1);
}

TEST(RouterTest, HeaderNamesAreCaseInsensitiveValuesAreNot) {
  const Router r = makeRouter({withHeaders("env", {exact("X-Env", "Prod")})});
  EXPECT_EQ(routeWith(r, "/", {{"x-env", "Prod"}}), 0);
  EXPECT_EQ(routeWith(r, "/", {{"X-ENV", "Prod"}}), 0);
  EXPECT_EQ(routeWith(r, "/", {{"X-Env", "prod"}}), -1);
}

TEST(RouterTest, AbsentHeaderFailsEveryKindOfCondition) {
  const Router r = makeRouter({withHeaders("present", {present("X-Present")}),
                               withHeaders("exact", {exact("X-Exact", "1")}),
                               withHeaders("regex", {regex("X-Regex", ".*")})});
  EXPECT_EQ(routeWith(r, "/"), -1);
  EXPECT_EQ(routeWith(r, "/", {{"X-Other", "1"}}), -1);
  EXPECT_EQ(routeWith(r, "/", {{"X-Regex", ""}}), 2);  // ".*" accepts the empty value
}

TEST(RouterTest, HeaderPresenceAcceptsAnyValueEvenEmpty) {
  const Router r = makeRouter({withHeaders("p", {present("X-Present")})});
  EXPECT_EQ(routeWith(r, "/", {{"X-Present", "anything"}}), 0);
  EXPECT_EQ(routeWith(r, "/", {{"x-present", ""}}), 0);
}

TEST(RouterTest, HeaderRegexMatchesTheWholeValue) {
  const Router r = makeRouter({withHeaders("curl", {regex("User-Agent", ".*curl.*")}),
                               withHeaders("num", {regex("X-Id", "[0-9]+")})});
  EXPECT_EQ(routeWith(r, "/", {{"User-Agent", "curl/8.5.0"}}), 0);
  EXPECT_EQ(routeWith(r, "/", {{"User-Agent", "Mozilla/5.0"}}), -1);
  EXPECT_EQ(routeWith(r, "/", {{"X-Id", "123"}}), 1);
  EXPECT_EQ(routeWith(r, "/", {{"X-Id", "123a"}}), -1);  // FullMatch: not a substring search
}

TEST(RouterTest, RepeatedHeaderMatchesWhenAnyOccurrenceDoes) {
  const Router r = makeRouter({withHeaders("exact", {exact("X-Tag", "blue")}),
                               withHeaders("regex", {regex("X-Id", "[0-9]+")})});
  EXPECT_EQ(routeWith(r, "/", {{"X-Tag", "red"}, {"X-Tag", "blue"}}), 0);
  EXPECT_EQ(routeWith(r, "/", {{"X-Tag", "blue"}, {"x-tag", "red"}}), 0);
  EXPECT_EQ(routeWith(r, "/", {{"X-Tag", "red"}, {"X-Tag", "green"}}), -1);
  // A comma-joined list is one value, not several: it is compared whole.
  EXPECT_EQ(routeWith(r, "/", {{"X-Tag", "red, blue"}}), -1);
  EXPECT_EQ(routeWith(r, "/", {{"X-Id", "x"}, {"X-Id", "7"}}), 1);
}

TEST(RouterTest, EveryHeaderConditionMustHold) {
  const Router r = makeRouter({withHeaders(
      "both", {exact("X-Canary", "1"), regex("User-Agent", ".*curl.*"), present("X-Present")})});
  const Header canary{"X-Canary", "1"};
  const Header agent{"User-Agent", "curl/8"};
  const Header present_header{"X-Present", ""};
  EXPECT_EQ(routeWith(r, "/", {canary, agent, present_header}), 0);
  EXPECT_EQ(routeWith(r, "/", {present_header, agent, canary}), 0);  // order does not matter
  EXPECT_EQ(routeWith(r, "/", {canary, agent}), -1);
  EXPECT_EQ(routeWith(r, "/", {canary, present_header}), -1);
  EXPECT_EQ(routeWith(r, "/", {agent, present_header}), -1);
}

TEST(RouterTest, TwoConditionsOnOneHeaderMayBeMetByDifferentOccurrences) {
  const Router r = makeRouter({withHeaders("two", {exact("X-A", "1"), exact("X-A", "2")})});
  EXPECT_EQ(routeWith(r, "/", {{"X-A", "1"}, {"X-A", "2"}}), 0);
  EXPECT_EQ(routeWith(r, "/", {{"X-A", "1"}}), -1);
}

TEST(RouterTest, HeaderRegexThatDoesNotCompileNeverMatches) {
  const Router r = makeRouter({withHeaders("bad", {regex("X-A", "[")}), route("rest", "app")});
  EXPECT_EQ(routeWith(r, "/", {{"X-A", "["}}), 1);
}

// ---- query conditions

TEST(RouterTest, QueryExactValue) {
  const Router r = makeRouter({withQuery("dbg", {exact("debug", "true")})});
  EXPECT_EQ(routeWith(r, "/?debug=true"), 0);
  EXPECT_EQ(routeWith(r, "/x?a=1&debug=true&b=2"), 0);
  EXPECT_EQ(routeWith(r, "/?debug=false"), -1);
  EXPECT_EQ(routeWith(r, "/?debug=TRUE"), -1);
  EXPECT_EQ(routeWith(r, "/?debug=true1"), -1);
  EXPECT_EQ(routeWith(r, "/?Debug=true"), -1);  // names are exact, unlike header names
  EXPECT_EQ(routeWith(r, "/?xdebug=true"), -1);
  EXPECT_EQ(routeWith(r, "/debug=true"), -1);  // no '?': no query
  EXPECT_EQ(routeWith(r, "/"), -1);
}

TEST(RouterTest, QueryParameterWithoutEqualsHasAnEmptyValue) {
  const Router r =
      makeRouter({withQuery("present", {present("debug")}),
                  withQuery("empty", {regex("flag", "^$")}), withQuery("any", {regex("x", ".*")})});
  EXPECT_EQ(routeWith(r, "/?debug"), 0);
  EXPECT_EQ(routeWith(r, "/?debug="), 0);
  EXPECT_EQ(routeWith(r, "/?a&debug&b"), 0);
  EXPECT_EQ(routeWith(r, "/?flag"), 1);
  EXPECT_EQ(routeWith(r, "/?flag="), 1);
  EXPECT_EQ(routeWith(r, "/?flag=0"), -1);
  EXPECT_EQ(routeWith(r, "/?x"), 2);
  EXPECT_EQ(routeWith(r, "/?x="), 2);
}

TEST(RouterTest, QueryEdgeCases) {
  const Router r = makeRouter({withQuery("a", {exact("a", "1")})});
  EXPECT_EQ(routeWith(r, "/?a=1&"), 0);         // trailing '&'
  EXPECT_EQ(routeWith(r, "/?&&a=1"), 0);        // empty parameters are skipped
  EXPECT_EQ(routeWith(r, "/?"), -1);            // empty query
  EXPECT_EQ(routeWith(r, "/?a=2&a=1"), 0);      // repeated: any occurrence
  EXPECT_EQ(routeWith(r, "/?a=1=2"), -1);       // the value is "1=2": only the first '=' splits
  EXPECT_EQ(routeWith(r, "/?a%3D1"), -1);       // no percent-decoding
  EXPECT_EQ(routeWith(r, "/?b=a=1"), -1);       // "a=1" is b's value, not a parameter
  EXPECT_EQ(routeWith(r, "/p?q?a=1"), -1);      // the query starts at the first '?'
  EXPECT_EQ(routeWith(r, "/p?x=1&a=1?z"), -1);  // ... so this value is "1?z"
  const Router eq = makeRouter({withQuery("eq", {exact("a", "1=2")})});
  EXPECT_EQ(routeWith(eq, "/?a=1=2"), 0);
  const Router pct = makeRouter({withQuery("pct", {exact("q", "a%20b")})});
  EXPECT_EQ(routeWith(pct, "/?q=a%20b"), 0);
  EXPECT_EQ(routeWith(pct, "/?q=a+b"), -1);  // '+' is not a space either
}

TEST(RouterTest, QueryRegexMatchesTheWholeValue) {
  const Router r = makeRouter({withQuery("page", {regex("page", "[0-9]{1,3}")})});
  EXPECT_EQ(routeWith(r, "/?page=7"), 0);
  EXPECT_EQ(routeWith(r, "/?page=1000"), -1);
  EXPECT_EQ(routeWith(r, "/?page=x&page=12"), 0);
  EXPECT_EQ(routeWith(r, "/?page"), -1);
}

TEST(RouterTest, EveryQueryConditionMustHold) {
  const Router r = makeRouter({withQuery("both", {exact("a", "1"), present("b")})});
  EXPECT_EQ(routeWith(r, "/?a=1&b"), 0);
  EXPECT_EQ(routeWith(r, "/?b=9&a=1"), 0);
  EXPECT_EQ(routeWith(r, "/?a=1"), -1);
  EXPECT_EQ(routeWith(r, "/?b"), -1);
}

TEST(RouterTest, HeaderAndQueryAndPathConditionsTogether) {
  Route canary = route("canary", "api", "", PathKind::kRegex, "/v[0-9]+/items/[0-9]+");
  canary.match.headers = {exact("X-Canary", "1")};
  canary.match.query = {exact("debug", "true")};
  const Router r = makeRouter({std::move(canary)}, "app");
  EXPECT_EQ(r.match("h", "/v1/items/5?debug=true", "GET", Headers{{"X-Canary", "1"}}).pool, kApi);
  EXPECT_EQ(r.match("h", "/v1/items/5?debug=true", "GET", {}).pool, kApp);
  EXPECT_EQ(r.match("h", "/v1/items/5", "GET", Headers{{"X-Canary", "1"}}).pool, kApp);
  EXPECT_EQ(r.match("h", "/v1/items?debug=true", "GET", Headers{{"X-Canary", "1"}}).pool, kApp);
}

TEST(RouterTest, RoutersWithRegexesMoveAndOutliveTheirListener) {
  std::optional<Router> moved;
  {
    Router original = makeRouter({withHeaders("h", {regex("X-A", "a+")}),
                                  route("p", "static", "", PathKind::kRegex, "/s/.*")});
    moved.emplace(std::move(original));
  }
  EXPECT_EQ(routeWith(*moved, "/", {{"X-A", "aaa"}}), 0);
  EXPECT_EQ(routeWith(*moved, "/s/x.css"), 1);
  EXPECT_EQ(moved->routeName(1), "p");
}

}  // namespace
}  // namespace ballast::l7
