// tests/unit/config/http_listener_test.cpp — the `protocol: http` listener schema: HTTP timeouts
// and limits, routes and their match conditions. Each rule pins the exact
// "file:line:col: message" a user would see; one file sets every field and reads it back.
#include <gtest/gtest.h>

#include <string>

#include "config/limits.h"
#include "config/loader.h"

namespace ballast::config {
namespace {

using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;
using PathKind = RouteMatch::PathKind;

// Pools every listener in these tests can point at; appended after the listeners, so line
// numbers in expectations count from the top of each test's YAML.
constexpr std::string_view kPools = R"(pools:
  - name: app
    backends:
      - {address: "127.0.0.1:9001"}
  - name: api
    backends:
      - {address: "127.0.0.1:9002"}
)";

LoadResult load(std::string_view yaml) {
  return loadConfigText(std::string(yaml) + std::string(kPools), "h.yaml");
}

std::string allErrors(const LoadResult& r) {
  std::string out;
  for (const auto& e : r.errors) {
    out += e.format() + "\n";
  }
  return out;
}

// Exactly these errors, in order, each given whole.
void expectErrors(std::string_view yaml, const std::vector<std::string>& expected) {
  const LoadResult r = load(yaml);
  EXPECT_EQ(r.config, nullptr);
  ASSERT_EQ(r.errors.size(), expected.size()) << allErrors(r);
  for (size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ(r.errors[i].format(), expected[i]);
  }
}

void expectOnlyError(std::string_view yaml, const std::string& expected) {
  expectErrors(yaml, {expected});
}

// The one listener of a valid config.
Listener loadListener(std::string_view yaml) {
  const LoadResult r = load(yaml);
  EXPECT_TRUE(r.errors.empty()) << allErrors(r);
  if (r.config == nullptr || r.config->listeners.size() != 1) {
    ADD_FAILURE() << "expected one listener";
    return {};
  }
  return r.config->listeners[0];
}

// ---- the full example, read back field by field

constexpr std::string_view kFull = R"(listeners:
  - name: web
    bind: "127.0.0.1:8080"
    protocol: http
    pool: app
    timeouts: {connect: 4s, idle: 6m, header: 11s, keep_alive: 61s, response_header: 31s, body_idle: 62s}
    limits: {max_connections: 8000, max_request_line: 4KiB, max_header_bytes: 32KiB, max_headers: 50, max_body: 10MiB}
    proxy_protocol: {accept: true}
    routes:
      - name: api
        match: {host: "API.Example.com", path: {prefix: /v1/}, methods: [GET, POST]}
        pool: api
      - match: {host: "*.example.com", path: {exact: /healthz}}
        pool: app
      - match:
          path: /static/
        pool: app
      - name: fallback
        pool: api
)";

TEST(HttpListenerTest, EveryFieldIsRead) {
  const Listener web = loadListener(kFull);
  EXPECT_EQ(web.name, "web");
  EXPECT_EQ(web.protocol, Protocol::kHttp);
  EXPECT_EQ(web.pool, "app");
  EXPECT_EQ(web.timeouts.connect, seconds(4));
  EXPECT_EQ(web.timeouts.idle, minutes(6));
  EXPECT_EQ(web.http.timeouts.header, seconds(11));
  EXPECT_EQ(web.http.timeouts.keep_alive, seconds(61));
  EXPECT_EQ(web.http.timeouts.response_header, seconds(31));
  EXPECT_EQ(web.http.timeouts.body_idle, seconds(62));
  EXPECT_EQ(web.limits.max_connections, 8000U);
  EXPECT_EQ(web.http.limits.max_request_line, 4U * 1024U);
  EXPECT_EQ(web.http.limits.max_header_bytes, 32U * 1024U);
  EXPECT_EQ(web.http.limits.max_headers, 50U);
  EXPECT_EQ(web.http.limits.max_body, 10U * 1024U * 1024U);
  EXPECT_TRUE(web.proxy_protocol.accept);

  const auto& routes = web.http.routes;
  ASSERT_EQ(routes.size(), 4U);
  EXPECT_EQ(routes[0].name, "api");
  EXPECT_EQ(routes[0].match.host, "api.example.com");  // stored lowercased
  EXPECT_EQ(routes[0].match.path_kind, PathKind::kPrefix);
  EXPECT_EQ(routes[0].match.path, "/v1/");
  EXPECT_EQ(routes[0].match.methods, (std::vector<std::string>{"GET", "POST"}));
  EXPECT_EQ(routes[0].pool, "api");

  EXPECT_EQ(routes[1].name, "route-1");  // the default name is the index in the list
  EXPECT_EQ(routes[1].match.host, "*.example.com");
  EXPECT_EQ(routes[1].match.path_kind, PathKind::kExact);
  EXPECT_EQ(routes[1].match.path, "/healthz");
  EXPECT_TRUE(routes[1].match.methods.empty());
  EXPECT_EQ(routes[1].pool, "app");

  EXPECT_EQ(routes[2].name, "route-2");
  EXPECT_EQ(routes[2].match.host, "");
  EXPECT_EQ(routes[2].match.path_kind, PathKind::kPrefix);  // a bare path is a prefix
  EXPECT_EQ(routes[2].match.path, "/static/");

  EXPECT_EQ(routes[3].name, "fallback");  // no match: every request
  EXPECT_EQ(routes[3].match.host, "");
  EXPECT_EQ(routes[3].match.path_kind, PathKind::kAny);
  EXPECT_TRUE(routes[3].match.methods.empty());
  EXPECT_EQ(routes[3].pool, "api");
}

TEST(HttpListenerTest, DefaultsComeFromConfigTypes) {
  const Listener web = loadListener(R"(listeners:
  - name: web
    bind: "127.0.0.1:8080"
    protocol: http
    pool: app
)");
  const HttpSettings defaults;
  EXPECT_EQ(web.protocol, Protocol::kHttp);
  EXPECT_EQ(web.http.timeouts.header, defaults.timeouts.header);
  EXPECT_EQ(web.http.timeouts.keep_alive, defaults.timeouts.keep_alive);
  EXPECT_EQ(web.http.timeouts.response_header, defaults.timeouts.response_header);
  EXPECT_EQ(web.http.timeouts.body_idle, defaults.timeouts.body_idle);
  EXPECT_EQ(web.http.limits.max_request_line, defaults.limits.max_request_line);
  EXPECT_EQ(web.http.limits.max_header_bytes, defaults.limits.max_header_bytes);
  EXPECT_EQ(web.http.limits.max_headers, defaults.limits.max_headers);
  EXPECT_EQ(web.http.limits.max_body, 0U);  // unlimited
  EXPECT_TRUE(web.http.routes.empty());
  EXPECT_EQ(web.timeouts.connect, ListenerTimeouts{}.connect);
  EXPECT_EQ(web.limits.max_connections, ListenerLimits{}.max_connections);
}

TEST(HttpListenerTest, LoadingTwiceGivesEqualRoutes) {
  const Listener a = loadListener(kFull);
  const Listener b = loadListener(kFull);
  ASSERT_EQ(a.http.routes.size(), b.http.routes.size());
  for (size_t i = 0; i < a.http.routes.size(); ++i) {
    EXPECT_EQ(a.http.routes[i].name, b.http.routes[i].name);
    EXPECT_EQ(a.http.routes[i].match.host, b.http.routes[i].match.host);
    EXPECT_EQ(a.http.routes[i].match.path, b.http.routes[i].match.path);
    EXPECT_EQ(a.http.routes[i].pool, b.http.routes[i].pool);
  }
}

// ---- protocol and pool

TEST(HttpListenerTest, ProtocolChoicesNameHttpAndHttps) {
  expectOnlyError(R"(listeners:
  - name: web
    bind: "127.0.0.1:8080"
    protocol: http2
    pool: app
)",
                  "h.yaml:4:15: protocol: expected one of tcp, udp, http, https, tls_passthrough, "
                  "got \"http2\"");
}

TEST(HttpListenerTest, HttpsNeedsATlsBlock) {
  expectOnlyError(R"(listeners:
  - name: web
    bind: "127.0.0.1:8080"
    protocol: https
    pool: app
)",
                  "h.yaml:2:5: listener is missing required key \"tls\"");
}

TEST(HttpListenerTest, TlsOnlyForHttps) {
  expectOnlyError(R"(listeners:
  - name: web
    bind: "127.0.0.1:8080"
    protocol: http
    pool: app
    tls: {certificates: []}
)",
                  "h.yaml:6:5: tls: only for protocol: https, not http");
}

TEST(HttpListenerTest, UnreadableCertificateIsReportedAtItsLine) {
  expectOnlyError(R"(listeners:
  - name: web
    bind: "127.0.0.1:8080"
    protocol: https
    pool: app
    tls:
      certificates:
        - {cert: /nonexistent/c.pem, key: /nonexistent/c.key}
)",
                  "h.yaml:8:18: tls.certificates: cannot read /nonexistent/c.pem: No such file "
                  "or directory");
}

TEST(HttpListenerTest, UnreadableProtocolDoesNotCascade) {
  // Neither the missing pool nor the http keys are blamed on a protocol we could not read.
  expectOnlyError(
      R"(listeners:
  - name: web
    bind: "127.0.0.1:8080"
    protocol: htp
    timeouts: {header: 5s}
    routes:
      - pool: app
)",
      "h.yaml:4:15: protocol: expected one of tcp, udp, http, https, tls_passthrough, got \"htp\"");
}

TEST(HttpListenerTest, PoolIsOptionalWhenRoutesExist) {
  const Listener web = loadListener(R"(listeners:
  - name: web
    bind: "127.0.0.1:8080"
    protocol: http
    routes:
      - match: {path: /v1/}
        pool: api
)");
  EXPECT_EQ(web.pool, "");
  ASSERT_EQ(web.http.routes.size(), 1U);
}

TEST(HttpListenerTest, NeitherPoolNorRoutesPointsAtTheListener) {
  expectOnlyError(R"(listeners:
  - name: web
    bind: "127.0.0.1:8080"
    protocol: http
)",
                  "h.yaml:2:5: http listener \"web\" needs a default \"pool\" or at least one "
                  "route");
}

TEST(HttpListenerTest, EmptyRoutesWithoutPoolPointsAtRoutes) {
  expectOnlyError(R"(listeners:
  - name: web
    bind: "127.0.0.1:8080"
    protocol: http
    routes: []
)",
                  "h.yaml:5:13: routes: http listener \"web\" has no pool, so it needs at least "
                  "one route");
}

TEST(HttpListenerTest, EmptyRoutesWithPoolIsFine) {
  const Listener web = loadListener(R"(listeners:
  - name: web
    bind: "127.0.0.1:8080"
    protocol: http
    pool: app
    routes: []
)");
  EXPECT_TRUE(web.http.routes.empty());
}

TEST(HttpListenerTest, TcpAndUdpStillRequireAPool) {
  expectErrors(R"(listeners:
  - name: db
    bind: "127.0.0.1:5432"
    routes:
      - pool: app
)",
               {"h.yaml:2:5: listener is missing required key \"pool\"",
                "h.yaml:4:5: routes: only for protocol: http, not tcp"});
  const LoadResult r = load(R"(listeners:
  - name: db
    bind: "127.0.0.1:5432"
    protocol: udp
)");
  ASSERT_EQ(r.errors.size(), 1U) << allErrors(r);
  EXPECT_EQ(r.errors[0].format(), "h.yaml:2:5: listener is missing required key \"pool\"");
}

TEST(HttpListenerTest, UnknownListenerKeyListsRoutes) {
  expectOnlyError(
      R"(listeners:
  - name: web
    bind: "127.0.0.1:8080"
    protocol: http
    pool: app
    route: []
)",
      "h.yaml:6:5: unknown key \"route\" in listener; allowed keys: name, bind, "
      "protocol, pool, timeouts, limits, proxy_protocol, acl, rate_limit, jwt, basic_auth, "
      "forward_auth, routes, "
      "trusted_proxies, "
      "forwarded, access_log, http2, http2_limits, redirect_https, hsts, security_headers, cors, "
      "error_pages, compress, cache, tls, sni");
}

TEST(HttpListenerTest, Http2IsOffAndCanBeTurnedOn) {
  constexpr std::string_view kBase = R"(listeners:
  - name: web
    bind: "127.0.0.1:8080"
    protocol: http
    pool: app
)";
  EXPECT_FALSE(loadListener(kBase).http.http2);
  EXPECT_TRUE(loadListener(std::string(kBase) + "    http2: true\n").http.http2);
  expectOnlyError(std::string(kBase) + "    http2: maybe\n",
                  "h.yaml:6:12: http2: expected true or false, got \"maybe\"");
}

// ---- keys only http listeners have

TEST(HttpListenerTest, HttpTimeoutsOnTcpListenerAreOnlyForHttp) {
  expectErrors(R"(listeners:
  - name: db
    bind: "127.0.0.1:5432"
    pool: app
    timeouts: {connect: 1s, header: 5s, keep_alive: 1m}
  - name: dns
    bind: "127.0.0.1:53"
    protocol: udp
    pool: app
    timeouts:
      response_header: 5s
      body_idle: 5s
)",
               {"h.yaml:5:29: header: only for protocol: http, not tcp",
                "h.yaml:5:41: keep_alive: only for protocol: http, not tcp",
                "h.yaml:11:7: response_header: only for protocol: http, not udp",
                "h.yaml:12:7: body_idle: only for protocol: http, not udp"});
}

TEST(HttpListenerTest, HttpLimitsOnTcpListenerAreOnlyForHttp) {
  expectErrors(R"(listeners:
  - name: db
    bind: "127.0.0.1:5432"
    pool: app
    limits:
      max_connections: 10
      max_request_line: 4KiB
      max_header_bytes: 8KiB
      max_headers: 10
      max_body: 1MiB
)",
               {"h.yaml:7:7: max_request_line: only for protocol: http, not tcp",
                "h.yaml:8:7: max_header_bytes: only for protocol: http, not tcp",
                "h.yaml:9:7: max_headers: only for protocol: http, not tcp",
                "h.yaml:10:7: max_body: only for protocol: http, not tcp"});
}

TEST(HttpListenerTest, UnknownKeysListWhatTheProtocolAllows) {
  expectErrors(R"(listeners:
  - name: web
    bind: "127.0.0.1:8080"
    protocol: http
    pool: app
    timeouts: {headers: 5s}
    limits: {max_header: 5}
  - name: db
    bind: "127.0.0.1:5432"
    pool: app
    timeouts: {headers: 5s}
)",
               {"h.yaml:6:16: unknown key \"headers\" in timeouts; allowed keys: connect, idle, "
                "header, keep_alive, response_header, body_idle",
                "h.yaml:7:14: unknown key \"max_header\" in limits; allowed keys: max_connections, "
                "max_flows, buffer_bytes, max_connections_per_ip, connection_rate_per_ip, "
                "connection_burst_per_ip, per_ip_prefix, max_request_line, max_header_bytes, "
                "max_headers, max_body",
                "h.yaml:11:16: unknown key \"headers\" in timeouts; allowed keys: connect, idle"});
}

TEST(HttpListenerTest, HttpTimeoutsMustBePositive) {
  expectOnlyError(R"(listeners:
  - name: web
    bind: "127.0.0.1:8080"
    protocol: http
    pool: app
    timeouts: {keep_alive: 0s}
)",
                  "h.yaml:6:28: keep_alive: expected a positive duration like 500ms, 2s, 1m, got "
                  "\"0s\"");
}

// ---- limits and their bounds

// One http listener with `limits: {<limits>}` on line 6, column 14.
std::string withLimits(std::string_view limits) {
  return R"(listeners:
  - name: web
    bind: "127.0.0.1:8080"
    protocol: http
    pool: app
    limits: {)" +
         std::string(limits) + "}\n";
}

TEST(HttpListenerTest, LimitBounds) {
  expectOnlyError(withLimits("max_header_bytes: 512"),
                  "h.yaml:6:32: max_header_bytes: expected a size from 1KiB to 1MiB like 64KiB "
                  "or 1MiB, got \"512\"");
  expectOnlyError(withLimits("max_header_bytes: 2MiB"),
                  "h.yaml:6:32: max_header_bytes: expected a size from 1KiB to 1MiB like 64KiB "
                  "or 1MiB, got \"2MiB\"");
  expectOnlyError(withLimits("max_request_line: 255"),
                  "h.yaml:6:32: max_request_line: expected a size from 256 to 64KiB like 64KiB "
                  "or 1MiB, got \"255\"");
  expectOnlyError(withLimits("max_headers: 0"),
                  "h.yaml:6:27: max_headers: expected an integer from 1 to 1000, got \"0\"");
  expectOnlyError(withLimits("max_headers: 1001"),
                  "h.yaml:6:27: max_headers: expected an integer from 1 to 1000, got \"1001\"");
  expectOnlyError(withLimits("max_body: 2TiB"),
                  "h.yaml:6:24: max_body: expected a size from 0 to 1TiB like 64KiB or 1MiB, got "
                  "\"2TiB\"");

  const Listener edges =
      loadListener(withLimits("max_header_bytes: 1MiB, max_request_line: 64KiB, max_headers: 1000, "
                              "max_body: 1TiB"));
  EXPECT_EQ(edges.http.limits.max_header_bytes, kMaxHttpHeaderBytes);
  EXPECT_EQ(edges.http.limits.max_request_line, kMaxHttpRequestLineBytes);
  EXPECT_EQ(edges.http.limits.max_headers, kMaxHttpHeaders);
  EXPECT_EQ(edges.http.limits.max_body, kMaxHttpBodyBytes);
  EXPECT_EQ(loadListener(withLimits("max_body: 0")).http.limits.max_body, 0U);
}

TEST(HttpListenerTest, RequestLineMustFitInTheHead) {
  expectOnlyError(withLimits("max_header_bytes: 4KiB, max_request_line: 8KiB"),
                  "h.yaml:6:56: max_request_line: 8192 bytes exceeds max_header_bytes (4096 "
                  "bytes), which counts the request line too");
  // The default request line (8KiB) is capped rather than blamed for a value nobody wrote.
  const Listener small = loadListener(withLimits("max_header_bytes: 2KiB"));
  EXPECT_EQ(small.http.limits.max_request_line, 2U * 1024U);
  EXPECT_EQ(small.http.limits.max_header_bytes, 2U * 1024U);
}

// ---- routes

// One http listener with a default pool and `routes:` on line 6; items start on line 7.
std::string withRoutes(std::string_view routes) {
  return R"(listeners:
  - name: web
    bind: "127.0.0.1:8080"
    protocol: http
    pool: app
    routes:
)" + std::string(routes);
}

TEST(HttpListenerTest, RouteKeysAndRequiredPool) {
  expectErrors(
      withRoutes(R"(      - name: a
        matches: {path: /}
        pool: app
      - match: {path: /, verb: GET}
)"),
      {"h.yaml:8:9: unknown key \"matches\" in route; allowed keys: name, match, pool, "
       "request_headers, response_headers, redirect_https, hsts, security_headers, acl, "
       "deny, rate_limit, jwt, basic_auth, forward_auth, redirect, rewrite, respond, cors, "
       "error_pages, "
       "compress, cache",
       "h.yaml:10:9: route is missing required key \"pool\"",
       "h.yaml:10:26: unknown key \"verb\" in match; allowed keys: host, path, "
       "methods, headers, query"});
  expectOnlyError(withRoutes("      - /v1/\n"),
                  "h.yaml:7:9: route: expected a mapping, got \"/v1/\"");
  expectOnlyError(R"(listeners:
  - name: web
    bind: "127.0.0.1:8080"
    protocol: http
    routes: {pool: app}
)",
                  "h.yaml:5:13: routes: expected a list, got a mapping");
}

TEST(HttpListenerTest, RoutePoolMustExistAndPointsAtItsValue) {
  expectOnlyError(withRoutes(R"(      - name: api
        match: {path: /v1/}
        pool: apii
)"),
                  "h.yaml:9:15: pool: route \"api\" of listener \"web\" names unknown pool "
                  "\"apii\"; defined pools: app, api");
  expectOnlyError(withRoutes("      - {pool: nope}\n"),
                  "h.yaml:7:16: pool: route \"route-0\" of listener \"web\" names unknown pool "
                  "\"nope\"; defined pools: app, api");
}

TEST(HttpListenerTest, RouteNames) {
  expectOnlyError(withRoutes("      - {name: \"my route\", pool: app}\n"),
                  "h.yaml:7:16: name: expected a name of letters, digits, '_', '.' or '-' (at "
                  "most 64 characters), got \"my route\"");
  expectOnlyError(withRoutes(R"(      - {name: api, pool: api}
      - {name: api, pool: app}
)"),
                  "h.yaml:8:16: name: duplicate route name \"api\" in listener \"web\" (first at "
                  "line 7)");
  // A given name may not take the default name of an unnamed route, before or after it.
  expectOnlyError(withRoutes(R"(      - {name: route-1, pool: api}
      - {pool: app}
)"),
                  "h.yaml:7:16: name: \"route-1\" is already the default name of the unnamed "
                  "route at line 8");
  expectOnlyError(withRoutes(R"(      - {pool: app}
      - {name: route-0, pool: api}
)"),
                  "h.yaml:8:16: name: \"route-0\" is already the default name of the unnamed "
                  "route at line 7");
  // Names are per listener.
  const LoadResult r = load(R"(listeners:
  - name: a
    bind: "127.0.0.1:8080"
    protocol: http
    routes: [{name: api, pool: api}]
  - name: b
    bind: "127.0.0.1:8081"
    protocol: http
    routes: [{name: api, pool: api}]
)");
  EXPECT_TRUE(r.errors.empty()) << allErrors(r);
}

TEST(HttpListenerTest, TooManyRoutes) {
  std::string routes;
  for (size_t i = 0; i <= kMaxRoutesPerListener; ++i) {
    routes += "      - {pool: app}\n";
  }
  expectOnlyError(withRoutes(routes),
                  "h.yaml:7:7: routes: at most 1000 routes per listener, got 1001");
  routes.resize(routes.size() - std::string_view("      - {pool: app}\n").size());
  EXPECT_EQ(loadListener(withRoutes(routes)).http.routes.size(), kMaxRoutesPerListener);
}

// One route `- {match: {<match>}, pool: app}` on line 7; the match's keys start at column 18.
std::string withMatch(std::string_view match) {
  return withRoutes("      - {match: {" + std::string(match) + "}, pool: app}\n");
}

RouteMatch loadMatch(std::string_view match) {
  const Listener l = loadListener(withMatch(match));
  return l.http.routes.empty() ? RouteMatch{} : l.http.routes[0].match;
}

TEST(HttpListenerTest, HostForms) {
  EXPECT_EQ(loadMatch("host: API.Example.COM").host, "api.example.com");
  EXPECT_EQ(loadMatch("host: \"*.Example.com\"").host, "*.example.com");
  EXPECT_EQ(loadMatch("host: 10.0.0.1").host, "10.0.0.1");
  EXPECT_EQ(loadMatch("host: \"[2001:DB8::1]\"").host, "[2001:db8::1]");
  EXPECT_EQ(loadMatch("host: under_score.example").host, "under_score.example");
}

TEST(HttpListenerTest, HostErrors) {
  const std::string expected =
      "h.yaml:7:24: host: expected a host such as api.example.com, *.example.com or "
      "[2001:db8::1], without a port, got ";
  expectOnlyError(withMatch("host: \"api.example.com:8080\""),
                  expected + "\"api.example.com:8080\"");
  expectOnlyError(withMatch("host: \"[::1]:80\""), expected + "\"[::1]:80\"");
  expectOnlyError(withMatch("host: \"*\""), expected + "\"*\"");
  expectOnlyError(withMatch("host: \"*.*.example.com\""), expected + "\"*.*.example.com\"");
  expectOnlyError(withMatch("host: \"api.*.com\""), expected + "\"api.*.com\"");
  expectOnlyError(withMatch("host: \"a..b\""), expected + "\"a..b\"");
  expectOnlyError(withMatch("host: \"example.com.\""), expected + "\"example.com.\"");
  expectOnlyError(withMatch("host: \"\""), expected + "\"\"");
  expectOnlyError(withMatch("host: \"[::1\""), expected + "\"[::1\"");
  expectOnlyError(withMatch("host: [a]"),
                  "h.yaml:7:24: host: expected a host such as api.example.com, *.example.com or "
                  "[2001:db8::1], without a port, got a list");
}

TEST(HttpListenerTest, PathForms) {
  const RouteMatch bare = loadMatch("path: /v1/");
  EXPECT_EQ(bare.path_kind, PathKind::kPrefix);
  EXPECT_EQ(bare.path, "/v1/");
  const RouteMatch prefix = loadMatch("path: {prefix: /}");
  EXPECT_EQ(prefix.path_kind, PathKind::kPrefix);
  EXPECT_EQ(prefix.path, "/");
  const RouteMatch exact = loadMatch("path: {exact: \"/a%20b\"}");
  EXPECT_EQ(exact.path_kind, PathKind::kExact);
  EXPECT_EQ(exact.path, "/a%20b");  // raw bytes: no percent-decoding
  EXPECT_EQ(loadMatch("host: a.b").path_kind, PathKind::kAny);
}

TEST(HttpListenerTest, PathErrors) {
  const std::string expected =
      "expected a path that starts with '/' and has no spaces, '?' or '#', got ";
  expectOnlyError(withMatch("path: v1/"), "h.yaml:7:24: path: " + expected + "\"v1/\"");
  expectOnlyError(withMatch("path: {prefix: \"/a?b=1\"}"),
                  "h.yaml:7:33: prefix: " + expected + "\"/a?b=1\"");
  expectOnlyError(withMatch("path: {exact: \"/a b\"}"),
                  "h.yaml:7:32: exact: " + expected + "\"/a b\"");
  expectOnlyError(withMatch("path: {exact: \"/a#b\"}"),
                  "h.yaml:7:32: exact: " + expected + "\"/a#b\"");
  expectOnlyError(withMatch("path: {prefix: /a, exact: /b}"),
                  "h.yaml:7:37: exact: give either prefix or exact, not both");
  expectOnlyError(withMatch("path: {exact: /b, prefix: /a}"),
                  "h.yaml:7:36: prefix: give either prefix or exact, not both");
  expectOnlyError(withMatch("path: {}"),
                  "h.yaml:7:24: path: expected a path, {prefix: PATH}, {exact: PATH} or "
                  "{regex: RE2}, got a mapping");
  expectOnlyError(withMatch("path: [/a]"),
                  "h.yaml:7:24: path: expected a path, {prefix: PATH}, {exact: PATH} or "
                  "{regex: RE2}, got a list");
  expectOnlyError(withMatch("path: {glob: /a}"),
                  "h.yaml:7:25: unknown key \"glob\" in path; allowed keys: prefix, exact, regex");
}

TEST(HttpListenerTest, Methods) {
  EXPECT_EQ(loadMatch("methods: [GET, PURGE]").methods, (std::vector<std::string>{"GET", "PURGE"}));
  expectOnlyError(withMatch("methods: [GET, get]"),
                  "h.yaml:7:33: method: expected an HTTP method in uppercase letters such as GET, "
                  "got \"get\"");
  expectOnlyError(withMatch("methods: [GET, M-SEARCH]"),
                  "h.yaml:7:33: method: expected an HTTP method in uppercase letters such as GET, "
                  "got \"M-SEARCH\"");
  expectOnlyError(withMatch("methods: [GET, POST, GET]"),
                  "h.yaml:7:39: method: \"GET\" is listed twice");
  expectOnlyError(withMatch("methods: []"),
                  "h.yaml:7:27: methods: expected at least one method; leave the key out to "
                  "match any");
  expectOnlyError(withMatch("methods: GET"), "h.yaml:7:27: methods: expected a list, got \"GET\"");
}

// ---- checks across listeners

TEST(HttpListenerTest, HttpAndTcpShareTheTcpPortSpace) {
  expectOnlyError(R"(listeners:
  - name: raw
    bind: "127.0.0.1:8080"
    pool: app
  - name: web
    bind: "127.0.0.1:8080"
    protocol: http
    pool: app
)",
                  "h.yaml:6:11: bind: 127.0.0.1:8080/tcp is already bound by listener \"raw\" "
                  "(line 3)");
  const LoadResult r = load(R"(listeners:
  - name: dns
    bind: "127.0.0.1:8080"
    protocol: udp
    pool: app
  - name: web
    bind: "127.0.0.1:8080"
    protocol: http
    pool: app
)");
  EXPECT_TRUE(r.errors.empty()) << allErrors(r);
}

}  // namespace
}  // namespace ballast::config
