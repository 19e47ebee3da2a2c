// tests/unit/config/http_routes_ext_test.cpp — the HTTP settings beyond host/path/method
// routing: trusted proxies, Forwarded, access log, path regexes, header and query conditions,
// header edits, HTTP hash keys and sticky sessions. Each rule pins the exact
// "file:line:col: message" a user would see; one file sets every field and reads it back.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "config/limits.h"
#include "config/loader.h"

namespace ballast::config {
namespace {

using std::chrono::hours;
using std::chrono::minutes;
using PathKind = RouteMatch::PathKind;
using Pairs = std::vector<std::pair<std::string, std::string>>;
using Names = std::vector<std::string>;

// Pools every listener in these tests can point at; appended after the listeners, so line
// numbers in expectations count from the top of each test's YAML.
constexpr std::string_view kPools = R"(pools:
  - name: app
    backends:
      - {address: "127.0.0.1:9001"}
)";

LoadResult loadWhole(std::string_view yaml) { return loadConfigText(std::string(yaml), "r.yaml"); }

LoadResult load(std::string_view yaml) {
  return loadWhole(std::string(yaml) + std::string(kPools));
}

std::string allErrors(const LoadResult& r) {
  std::string out;
  for (const auto& e : r.errors) {
    out += e.format() + "\n";
  }
  return out;
}

void expectResult(const LoadResult& r, const std::vector<std::string>& expected) {
  EXPECT_EQ(r.config, nullptr);
  ASSERT_EQ(r.errors.size(), expected.size()) << allErrors(r);
  for (size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ(r.errors[i].format(), expected[i]);
  }
}

// Exactly these errors, in order, each given whole.
void expectErrors(std::string_view yaml, const std::vector<std::string>& expected) {
  expectResult(load(yaml), expected);
}

void expectOnlyError(std::string_view yaml, const std::string& expected) {
  expectErrors(yaml, {expected});
}

ConfigPtr expectValid(const LoadResult& r) {
  EXPECT_TRUE(r.errors.empty()) << allErrors(r);
  return r.config;
}

// The one listener of a valid config.
Listener loadListener(std::string_view yaml) {
  const ConfigPtr config = expectValid(load(yaml));
  if (config == nullptr || config->listeners.size() != 1) {
    ADD_FAILURE() << "expected one listener";
    return {};
  }
  return config->listeners[0];
}

// ---- the full example, read back field by field

constexpr std::string_view kFull = R"(listeners:
  - name: web
    bind: "127.0.0.1:8080"
    protocol: http
    pool: app
    trusted_proxies: ["10.0.0.0/8", "::1/128", 192.0.2.7]
    forwarded: rfc7239
    access_log: /var/log/ballast/access.log
    routes:
      - name: items
        match:
          path: {regex: "^/v[0-9]+/items/[0-9]+$"}
          headers: [{name: X-Canary, exact: "1"}, {name: User-Agent, regex: ".*curl.*"}, {name: X-Present}]
          query: [{name: debug, exact: "true"}, {name: page, regex: "[0-9]+"}, {name: trace}]
        pool: api
        request_headers: {remove: [X-Internal, Cookie], set: {X-Env: prod, Authorization: "Bearer t"}, add: {X-Trace: on}}
        response_headers: {set: {Cache-Control: no-store}, remove: [Server]}
      - pool: app
        response_headers:
          add:
            Strict-Transport-Security: "max-age=63072000"
            X-Empty: ""
  - name: web2
    bind: "127.0.0.1:8081"
    protocol: http
    pool: cookie
    forwarded: none
    access_log: stdout
pools:
  - name: app
    algorithm: consistent_hash
    hash_key: "header:X-User"
    sticky: {cookie: BALLAST_ID, ttl: 1h30m}
    backends: [{address: "127.0.0.1:9001"}]
  - name: api
    hash_key: path
    sticky: {cookie: s}
    backends: [{address: "127.0.0.1:9002"}]
  - name: cookie
    algorithm: source_hash
    hash_key: cookie:session
    backends: [{address: "127.0.0.1:9003"}]
  - name: query
    hash_key: query:user_id
    backends: [{address: "127.0.0.1:9004"}]
  - name: plain
    hash_key: source_ip_port
    backends: [{address: "127.0.0.1:9005"}]
)";

TEST(HttpRoutesExtTest, EveryFieldIsRead) {
  const ConfigPtr config = expectValid(loadWhole(kFull));
  ASSERT_NE(config, nullptr);
  ASSERT_EQ(config->listeners.size(), 2U);
  const HttpSettings& web = config->listeners[0].http;
  ASSERT_EQ(web.trusted_proxies.size(), 3U);
  EXPECT_EQ(web.trusted_proxies[0].toString(), "10.0.0.0/8");
  EXPECT_EQ(web.trusted_proxies[1].toString(), "::1/128");
  EXPECT_EQ(web.trusted_proxies[2].toString(), "192.0.2.7/32");  // a bare address is a /32
  EXPECT_TRUE(web.forwarded_rfc7239);
  EXPECT_EQ(web.access_log, "/var/log/ballast/access.log");

  ASSERT_EQ(web.routes.size(), 2U);
  const Route& items = web.routes[0];
  EXPECT_EQ(items.match.path_kind, PathKind::kRegex);
  EXPECT_EQ(items.match.path, "^/v[0-9]+/items/[0-9]+$");
  ASSERT_EQ(items.match.headers.size(), 3U);
  EXPECT_EQ(items.match.headers[0].name, "X-Canary");
  EXPECT_EQ(items.match.headers[0].exact, "1");
  EXPECT_EQ(items.match.headers[0].regex, "");
  EXPECT_EQ(items.match.headers[1].name, "User-Agent");
  EXPECT_EQ(items.match.headers[1].exact, "");
  EXPECT_EQ(items.match.headers[1].regex, ".*curl.*");
  EXPECT_EQ(items.match.headers[2].name, "X-Present");  // presence only
  EXPECT_EQ(items.match.headers[2].exact, "");
  EXPECT_EQ(items.match.headers[2].regex, "");
  ASSERT_EQ(items.match.query.size(), 3U);
  EXPECT_EQ(items.match.query[0].name, "debug");
  EXPECT_EQ(items.match.query[0].exact, "true");
  EXPECT_EQ(items.match.query[1].name, "page");
  EXPECT_EQ(items.match.query[1].regex, "[0-9]+");
  EXPECT_EQ(items.match.query[2].name, "trace");
  EXPECT_EQ(items.match.query[2].exact, "");
  EXPECT_EQ(items.match.query[2].regex, "");
  EXPECT_EQ(items.request_headers.remove, (Names{"X-Internal", "Cookie"}));
  EXPECT_EQ(items.request_headers.set, (Pairs{{"X-Env", "prod"}, {"Authorization", "Bearer t"}}));
  EXPECT_EQ(items.request_headers.add, (Pairs{{"X-Trace", "on"}}));  // YAML 1.2: "on" is text
  EXPECT_EQ(items.response_headers.remove, (Names{"Server"}));
  EXPECT_EQ(items.response_headers.set, (Pairs{{"Cache-Control", "no-store"}}));
  EXPECT_TRUE(items.response_headers.add.empty());

  const Route& rest = web.routes[1];
  EXPECT_EQ(rest.match.path_kind, PathKind::kAny);
  EXPECT_TRUE(rest.match.headers.empty());
  EXPECT_TRUE(rest.match.query.empty());
  EXPECT_TRUE(rest.request_headers.empty());
  EXPECT_EQ(rest.response_headers.add,
            (Pairs{{"Strict-Transport-Security", "max-age=63072000"}, {"X-Empty", ""}}));

  const HttpSettings& web2 = config->listeners[1].http;
  EXPECT_TRUE(web2.trusted_proxies.empty());
  EXPECT_FALSE(web2.forwarded_rfc7239);
  EXPECT_EQ(web2.access_log, "stdout");

  ASSERT_EQ(config->pools.size(), 5U);
  const Pool& app = config->pools[0];
  EXPECT_EQ(app.hash_key, HashKey::kHeader);
  EXPECT_EQ(app.hash_key_name, "X-User");
  EXPECT_EQ(app.sticky_cookie, "BALLAST_ID");
  EXPECT_EQ(app.sticky_ttl, minutes(90));
  const Pool& api = config->pools[1];
  EXPECT_EQ(api.hash_key, HashKey::kPath);
  EXPECT_EQ(api.hash_key_name, "");
  EXPECT_EQ(api.sticky_cookie, "s");
  EXPECT_EQ(api.sticky_ttl, hours(1));  // the default
  EXPECT_EQ(config->pools[2].hash_key, HashKey::kCookie);
  EXPECT_EQ(config->pools[2].hash_key_name, "session");
  EXPECT_EQ(config->pools[2].sticky_cookie, "");
  EXPECT_EQ(config->pools[3].hash_key, HashKey::kQuery);
  EXPECT_EQ(config->pools[3].hash_key_name, "user_id");
  EXPECT_EQ(config->pools[4].hash_key, HashKey::kSourceIpPort);
  EXPECT_EQ(config->pools[4].hash_key_name, "");
}

TEST(HttpRoutesExtTest, LoadingTwiceGivesEqualSettings) {
  const ConfigPtr a = expectValid(loadWhole(kFull));
  const ConfigPtr b = expectValid(loadWhole(kFull));
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  const Route& ra = a->listeners[0].http.routes[0];
  const Route& rb = b->listeners[0].http.routes[0];
  EXPECT_EQ(ra.match.path, rb.match.path);
  EXPECT_EQ(ra.request_headers.set, rb.request_headers.set);
  EXPECT_EQ(a->listeners[0].http.trusted_proxies, b->listeners[0].http.trusted_proxies);
}

TEST(HttpRoutesExtTest, DefaultsComeFromConfigTypes) {
  const Listener web = loadListener(R"(listeners:
  - name: web
    bind: "127.0.0.1:8080"
    protocol: http
    pool: app
    routes: [{pool: app}]
)");
  EXPECT_TRUE(web.http.trusted_proxies.empty());
  EXPECT_FALSE(web.http.forwarded_rfc7239);
  EXPECT_EQ(web.http.access_log, "");
  ASSERT_EQ(web.http.routes.size(), 1U);
  EXPECT_TRUE(web.http.routes[0].match.headers.empty());
  EXPECT_TRUE(web.http.routes[0].match.query.empty());
  EXPECT_TRUE(web.http.routes[0].request_headers.empty());
  EXPECT_TRUE(web.http.routes[0].response_headers.empty());
  const ConfigPtr config = expectValid(load("listeners: []\n"));
  ASSERT_NE(config, nullptr);
  EXPECT_EQ(config->pools[0].hash_key, HashKey::kSourceIp);
  EXPECT_EQ(config->pools[0].sticky_cookie, "");
  EXPECT_EQ(config->pools[0].sticky_ttl, hours(1));
}

// ---- listener settings

TEST(HttpRoutesExtTest, ListenerSettingsAreOnlyForHttp) {
  expectErrors(R"(listeners:
  - name: db
    bind: "127.0.0.1:5432"
    pool: app
    trusted_proxies: ["10.0.0.0/8"]
    forwarded: rfc7239
  - name: dns
    bind: "127.0.0.1:53"
    protocol: udp
    pool: app
    access_log: stdout
)",
               {"r.yaml:5:5: trusted_proxies: only for protocol: http, not tcp",
                "r.yaml:6:5: forwarded: only for protocol: http, not tcp",
                "r.yaml:11:5: access_log: only for protocol: http, not udp"});
}

TEST(HttpRoutesExtTest, UnreadableProtocolStillChecksTheSettingsThemselves) {
  expectErrors(
      R"(listeners:
  - name: web
    bind: "127.0.0.1:8080"
    protocol: htp
    pool: app
    forwarded: yes
)",
      {"r.yaml:4:15: protocol: expected one of tcp, udp, http, https, tls_passthrough, got \"htp\"",
       "r.yaml:6:16: forwarded: expected one of none, rfc7239, got \"yes\""});
}

// One http listener with a default pool; the line-5 setting is the test's.
std::string withSetting(std::string_view setting) {
  return R"(listeners:
  - name: web
    bind: "127.0.0.1:8080"
    protocol: http
    )" + std::string(setting) +
         "\n    pool: app\n";
}

TEST(HttpRoutesExtTest, TrustedProxyErrorsPointAtTheBadElement) {
  expectErrors(
      withSetting(
          R"(trusted_proxies: ["10.0.0.0/8", "10.0.0.0/33", "::1/128", "host.example", "[::1]:80"])"),
      {"r.yaml:5:37: trusted_proxy: expected an address or prefix such as 10.0.0.0/8, "
       "192.0.2.1 or ::1/128, got \"10.0.0.0/33\"",
       "r.yaml:5:63: trusted_proxy: expected an address or prefix such as 10.0.0.0/8, "
       "192.0.2.1 or ::1/128, got \"host.example\"",
       "r.yaml:5:79: trusted_proxy: expected an address or prefix such as 10.0.0.0/8, "
       "192.0.2.1 or ::1/128, got \"[::1]:80\""});
  expectOnlyError(withSetting("trusted_proxies:\n      - 10.0.0.0/8\n      - [a]"),
                  "r.yaml:7:9: trusted_proxy: expected an address or prefix such as 10.0.0.0/8, "
                  "192.0.2.1 or ::1/128, got a list");
  expectOnlyError(withSetting("trusted_proxies: 10.0.0.0/8"),
                  "r.yaml:5:22: trusted_proxies: expected a list, got \"10.0.0.0/8\"");
  EXPECT_TRUE(loadListener(withSetting("trusted_proxies: []")).http.trusted_proxies.empty());
}

TEST(HttpRoutesExtTest, ForwardedIsNoneOrRfc7239) {
  EXPECT_TRUE(loadListener(withSetting("forwarded: rfc7239")).http.forwarded_rfc7239);
  EXPECT_FALSE(loadListener(withSetting("forwarded: none")).http.forwarded_rfc7239);
  expectOnlyError(withSetting("forwarded: x-forwarded-for"),
                  "r.yaml:5:16: forwarded: expected one of none, rfc7239, got "
                  "\"x-forwarded-for\"");
  expectOnlyError(withSetting("forwarded: RFC7239"),
                  "r.yaml:5:16: forwarded: expected one of none, rfc7239, got \"RFC7239\"");
  expectOnlyError(withSetting("forwarded: true"),
                  "r.yaml:5:16: forwarded: expected one of none, rfc7239, got \"true\"");
}

TEST(HttpRoutesExtTest, AccessLogIsEmptyStdoutOrAnAbsolutePath) {
  EXPECT_EQ(loadListener(withSetting("access_log: \"\"")).http.access_log, "");
  EXPECT_EQ(loadListener(withSetting("access_log: stdout")).http.access_log, "stdout");
  EXPECT_EQ(loadListener(withSetting("access_log: /tmp/a.log")).http.access_log, "/tmp/a.log");
  const std::string expected =
      "access_log: expected \"stdout\", an absolute file path, or \"\" for the application log, "
      "got ";
  expectOnlyError(withSetting("access_log: logs/access.log"),
                  "r.yaml:5:17: " + expected + "\"logs/access.log\"");
  expectOnlyError(withSetting("access_log: stderr"), "r.yaml:5:17: " + expected + "\"stderr\"");
  expectOnlyError(withSetting("access_log: /var/log/"),
                  "r.yaml:5:17: " + expected + "\"/var/log/\"");
  expectOnlyError(withSetting("access_log: \"/var/log/a\\nb\""),
                  "r.yaml:5:17: " + expected + "\"/var/log/a?b\"");
  expectOnlyError(withSetting("access_log:"),
                  "r.yaml:5:5: access_log: expected \"stdout\", an absolute file path, or \"\" "
                  "for the application log, got nothing");
}

// ---- routes: one http listener with `routes:` on line 6; items start on line 7.

std::string withRoutes(std::string_view routes) {
  return R"(listeners:
  - name: web
    bind: "127.0.0.1:8080"
    protocol: http
    pool: app
    routes:
)" + std::string(routes);
}

// One route `- {match: {<match>}, pool: app}` on line 7; the match's keys start at column 18.
std::string withMatch(std::string_view match) {
  return withRoutes("      - {match: {" + std::string(match) + "}, pool: app}\n");
}

RouteMatch loadMatch(std::string_view match) {
  const Listener l = loadListener(withMatch(match));
  return l.http.routes.empty() ? RouteMatch{} : l.http.routes[0].match;
}

TEST(HttpRoutesExtTest, PathRegex) {
  const RouteMatch m = loadMatch(R"(path: {regex: "/v[0-9]+/.*"})");
  EXPECT_EQ(m.path_kind, PathKind::kRegex);
  EXPECT_EQ(m.path, "/v[0-9]+/.*");
  // Not a path, so the path rules (leading '/', no '?') do not apply; RE2's do.
  EXPECT_EQ(loadMatch(R"(path: {regex: ".*[?]x"})").path, ".*[?]x");
}

TEST(HttpRoutesExtTest, PathRegexErrorsCarryRe2sMessage) {
  expectOnlyError(withMatch(R"(path: {regex: "/v(1"})"),
                  "r.yaml:7:32: regex: invalid RE2 regex: missing ): /v(1");
  expectOnlyError(withMatch(R"(path: {regex: "[z-a]"})"),
                  "r.yaml:7:32: regex: invalid RE2 regex: invalid character class range: z-a");
  expectOnlyError(withMatch(R"(path: {regex: "(?<=a)b"})"),  // RE2 has no lookbehind
                  "r.yaml:7:32: regex: invalid RE2 regex: invalid perl operator: (?<");
  expectOnlyError(withMatch(R"(path: {regex: ""})"),
                  "r.yaml:7:32: regex: expected a non-empty RE2 regex, got \"\"");
  expectOnlyError(withMatch("path: {regex: [a]}"),
                  "r.yaml:7:32: regex: expected a non-empty RE2 regex, got a list");
}

TEST(HttpRoutesExtTest, PathTakesOneOfPrefixExactOrRegex) {
  expectOnlyError(withMatch("path: {prefix: /a, regex: /b}"),
                  "r.yaml:7:37: regex: give either prefix or regex, not both");
  expectOnlyError(withMatch("path: {regex: /b, exact: /a}"),
                  "r.yaml:7:36: exact: give either exact or regex, not both");
  expectOnlyError(withMatch("path: {regex: /b, exact: /a, prefix: /c}"),
                  "r.yaml:7:47: prefix: give only one of prefix, exact or regex");
}

TEST(HttpRoutesExtTest, HeaderConditionForms) {
  const RouteMatch m = loadMatch(
      R"(headers: [{name: x-canary, exact: "a b"}, {name: "Accept", regex: "text/.*"}, {name: X-P}])");
  ASSERT_EQ(m.headers.size(), 3U);
  EXPECT_EQ(m.headers[0].name, "x-canary");  // names are kept as written
  EXPECT_EQ(m.headers[0].exact, "a b");
  EXPECT_EQ(m.headers[1].regex, "text/.*");
  EXPECT_EQ(m.headers[2].name, "X-P");
  EXPECT_TRUE(loadMatch("headers: []").headers.empty());
}

TEST(HttpRoutesExtTest, HeaderConditionErrors) {
  expectOnlyError(withMatch("headers: [{exact: \"1\"}]"),
                  "r.yaml:7:28: header condition is missing required key \"name\"");
  expectOnlyError(withMatch("headers: [{name: \"X Canary\"}]"),
                  "r.yaml:7:35: name: expected a header name (letters, digits and "
                  "!#$%&'*+-.^_`|~), got \"X Canary\"");
  expectOnlyError(withMatch("headers: [{name: \"X:Y\"}]"),
                  "r.yaml:7:35: name: expected a header name (letters, digits and "
                  "!#$%&'*+-.^_`|~), got \"X:Y\"");
  expectOnlyError(withMatch("headers: [{name: X-A, exact: \"1\", regex: \"1\"}]"),
                  "r.yaml:7:52: regex: give either exact or regex, not both");
  expectOnlyError(withMatch("headers: [{name: X-A, regex: \"1\", exact: \"1\"}]"),
                  "r.yaml:7:52: exact: give either exact or regex, not both");
  expectOnlyError(withMatch("headers: [{name: X-A, value: \"1\"}]"),
                  "r.yaml:7:40: unknown key \"value\" in header condition; allowed keys: name, "
                  "exact, regex");
  expectOnlyError(withMatch("headers: [X-A]"),
                  "r.yaml:7:28: header: expected a mapping, got \"X-A\"");
  expectOnlyError(withMatch("headers: {name: X-A}"),
                  "r.yaml:7:27: headers: expected a list, got a mapping");
}

TEST(HttpRoutesExtTest, HeaderConditionValueErrors) {
  expectOnlyError(withMatch("headers: [{name: X-A, exact: \"\"}]"),
                  "r.yaml:7:47: exact: expected a non-empty header value without control "
                  "characters (CR, LF, NUL), got \"\"; leave it out to require only presence");
  expectOnlyError(withMatch("headers: [{name: X-A, regex: \"\"}]"),
                  "r.yaml:7:47: regex: expected a non-empty RE2 regex, got \"\"; leave it out to "
                  "require only presence");
  expectOnlyError(withMatch("headers: [{name: X-A, exact: \"a\\r\\nX-B: 1\"}]"),
                  "r.yaml:7:47: exact: expected a non-empty header value without control "
                  "characters (CR, LF, NUL), got \"a??X-B: 1\"");
  expectOnlyError(withMatch("headers: [{name: X-A, exact: \" 1\"}]"),
                  "r.yaml:7:47: exact: \" 1\" can never match: the parser trims spaces and tabs "
                  "around header values");
  expectOnlyError(withMatch("headers: [{name: X-A, exact: \"1\\t\"}]"),
                  "r.yaml:7:47: exact: \"1?\" can never match: the parser trims spaces and tabs "
                  "around header values");
  expectOnlyError(withMatch("headers: [{name: X-A, regex: \"a{2,1}\"}]"),
                  "r.yaml:7:47: regex: invalid RE2 regex: invalid repetition size: {2,1}");
}

TEST(HttpRoutesExtTest, QueryConditionForms) {
  const RouteMatch m = loadMatch(
      R"(query: [{name: debug, exact: "a=b"}, {name: "p[]", regex: "[0-9]+"}, {name: "a%20b"}])");
  ASSERT_EQ(m.query.size(), 3U);
  EXPECT_EQ(m.query[0].name, "debug");
  EXPECT_EQ(m.query[0].exact, "a=b");  // only the first '=' splits name from value
  EXPECT_EQ(m.query[1].name, "p[]");
  EXPECT_EQ(m.query[2].name, "a%20b");  // raw bytes: no percent-decoding
}

TEST(HttpRoutesExtTest, QueryConditionErrors) {
  const std::string name_expected =
      "name: expected a query parameter name (printable, without spaces, '&', '=' or '#'), got ";
  expectOnlyError(withMatch("query: [{name: \"a=b\"}]"),
                  "r.yaml:7:33: " + name_expected + "\"a=b\"");
  expectOnlyError(withMatch("query: [{name: \"a&b\"}]"),
                  "r.yaml:7:33: " + name_expected + "\"a&b\"");
  expectOnlyError(withMatch("query: [{name: \"a b\"}]"),
                  "r.yaml:7:33: " + name_expected + "\"a b\"");
  expectOnlyError(withMatch("query: [{name: \"\"}]"), "r.yaml:7:33: " + name_expected + "\"\"");
  const std::string value_expected =
      "exact: expected a non-empty query value (printable, without spaces, '&' or '#'), got ";
  expectOnlyError(withMatch("query: [{name: a, exact: \"1&b=2\"}]"),
                  "r.yaml:7:43: " + value_expected + "\"1&b=2\"");
  expectOnlyError(withMatch("query: [{name: a, exact: \"1 2\"}]"),
                  "r.yaml:7:43: " + value_expected + "\"1 2\"");
  expectOnlyError(withMatch("query: [{name: a, exact: \"\"}]"),
                  "r.yaml:7:43: " + value_expected + "\"\"; leave it out to require only presence");
  expectOnlyError(withMatch("query: [{name: a, regex: \"(\"}]"),
                  "r.yaml:7:43: regex: invalid RE2 regex: missing ): (");
  expectOnlyError(withMatch("query: [{name: a, exact: \"1\", regex: \"1\"}]"),
                  "r.yaml:7:48: regex: give either exact or regex, not both");
  expectOnlyError(withMatch("query: [{exact: \"1\"}]"),
                  "r.yaml:7:26: query condition is missing required key \"name\"");
}

TEST(HttpRoutesExtTest, TooManyConditions) {
  std::string list;
  for (size_t i = 0; i <= kMaxRouteConditions; ++i) {
    list += (i == 0 ? "" : ", ") + std::string("{name: a") + std::to_string(i) + "}";
  }
  expectErrors(withMatch("headers: [" + list + "], query: [" + list + "]"),
               {"r.yaml:7:27: headers: at most 32 conditions per route, got 33",
                "r.yaml:7:" + std::to_string(27 + list.size() + 11) +
                    ": query: at most 32 conditions per route, got 33"});
}

// ---- header edits

// One route on line 7 whose `request_headers:` value starts at column 38.
std::string withEdits(std::string_view edits) {
  return withRoutes("      - {pool: app, request_headers: " + std::string(edits) + "}\n");
}

HeaderOps loadEdits(std::string_view edits) {
  const Listener l = loadListener(withEdits(edits));
  return l.http.routes.empty() ? HeaderOps{} : l.http.routes[0].request_headers;
}

TEST(HttpRoutesExtTest, HeaderEditForms) {
  const HeaderOps ops = loadEdits(R"({add: {X-A: "1"}, remove: [x-b], set: {X-C: "a, b\tc ü"}})");
  EXPECT_EQ(ops.remove, (Names{"x-b"}));
  EXPECT_EQ(ops.set, (Pairs{{"X-C", "a, b\tc \xc3\xbc"}}));  // tabs and UTF-8 are field text
  EXPECT_EQ(ops.add, (Pairs{{"X-A", "1"}}));
  EXPECT_TRUE(loadEdits("{}").empty());
  EXPECT_TRUE(loadEdits("{set: , remove: []}").empty());
  // The same name in different edits is fine: remove, then set, then add.
  const HeaderOps all = loadEdits("{remove: [X-A], set: {X-A: '1'}, add: {X-A: '2'}}");
  EXPECT_EQ(all.remove.size() + all.set.size() + all.add.size(), 3U);
}

TEST(HttpRoutesExtTest, HeaderEditNamesMustBeTokens) {
  const std::string expected = "expected a header name (letters, digits and !#$%&'*+-.^_`|~), got ";
  expectOnlyError(withEdits("{remove: [\"X Internal\"]}"),
                  "r.yaml:7:48: remove: " + expected + "\"X Internal\"");
  expectOnlyError(withEdits("{set: {\"X:Env\": prod}}"),
                  "r.yaml:7:45: set: " + expected + "\"X:Env\"");
  expectOnlyError(withEdits("{add: {\"\": x}}"), "r.yaml:7:45: add: " + expected + "\"\"");
  expectOnlyError(withEdits("{add: {[a]: x}}"), "r.yaml:7:45: add: " + expected + "a list");
}

TEST(HttpRoutesExtTest, HeaderEditsMayNotTouchWhatTheProxyManages) {
  expectErrors(
      withEdits("{remove: [Connection, host], set: {Transfer-Encoding: chunked, content-length: "
                "'0'}, add: {Upgrade: h2c, TE: trailers, Keep-Alive: '5'}}"),
      {"r.yaml:7:48: remove: \"Connection\" is managed by the proxy (hop-by-hop or framing) and "
       "cannot be removed",
       "r.yaml:7:60: remove: \"host\" is managed by the proxy (hop-by-hop or framing) and cannot "
       "be removed",
       "r.yaml:7:73: set: \"Transfer-Encoding\" is managed by the proxy (hop-by-hop or framing) "
       "and cannot be set",
       "r.yaml:7:101: set: \"content-length\" is managed by the proxy (hop-by-hop or framing) and "
       "cannot be set",
       "r.yaml:7:129: add: \"Upgrade\" is managed by the proxy (hop-by-hop or framing) and cannot "
       "be added",
       "r.yaml:7:143: add: \"TE\" is managed by the proxy (hop-by-hop or framing) and cannot be "
       "added",
       "r.yaml:7:157: add: \"Keep-Alive\" is managed by the proxy (hop-by-hop or framing) and "
       "cannot be added"});
}

TEST(HttpRoutesExtTest, HeaderEditValuesMustBePrintable) {
  const std::string expected =
      "expected a header value without control characters (CR, LF, NUL), got ";
  expectOnlyError(withEdits(R"({set: {X-A: "1\r\nX-Injected: 1"}})"),
                  "r.yaml:7:50: X-A: " + expected + "\"1??X-Injected: 1\"");
  expectOnlyError(withEdits(R"({add: {X-A: "a\0b"}})"),
                  "r.yaml:7:50: X-A: " + expected + "\"a?b\"");
  expectOnlyError(withEdits(R"({add: {X-A: "a\x7fb"}})"),
                  "r.yaml:7:50: X-A: " + expected + "\"a?b\"");
  expectOnlyError(withEdits("{set: {X-A: [1]}}"), "r.yaml:7:50: X-A: " + expected + "a list");
  expectOnlyError(withEdits("{set: {X-A: }}"), "r.yaml:7:45: X-A: " + expected + "nothing");
}

TEST(HttpRoutesExtTest, HeaderEditShapeErrors) {
  expectOnlyError(withEdits("{set: [X-A]}"),
                  "r.yaml:7:44: set: expected a mapping of header names to values, got a list");
  expectOnlyError(withEdits("{remove: X-A}"), "r.yaml:7:47: remove: expected a list, got \"X-A\"");
  expectOnlyError(withEdits("{replace: {X-A: 1}}"),
                  "r.yaml:7:39: unknown key \"replace\" in request_headers; allowed keys: remove, "
                  "set, add");
  expectOnlyError(withEdits("[X-A]"),
                  "r.yaml:7:38: request_headers: expected a mapping, got a list");
  expectOnlyError(withRoutes("      - {pool: app, response_headers: {set: {Host: x}}}\n"),
                  "r.yaml:7:46: set: \"Host\" is managed by the proxy (hop-by-hop or framing) and "
                  "cannot be set");
}

TEST(HttpRoutesExtTest, HeaderEditNamesAppearOncePerEdit) {
  expectErrors(withRoutes(R"(      - pool: app
        request_headers:
          remove: [X-A, x-a]
          set:
            X-B: "1"
            x-b: "2"
)"),
               {"r.yaml:9:25: remove: \"x-a\" is listed twice (first at line 9)",
                "r.yaml:12:13: set: \"x-b\" is listed twice (first at line 11)"});
}

TEST(HttpRoutesExtTest, TooManyHeaderEdits) {
  std::string set;
  for (size_t i = 0; i < kMaxHeaderEdits; ++i) {
    set += (i == 0 ? "" : ", ") + std::string("X-") + std::to_string(i) + ": v";
  }
  EXPECT_EQ(loadEdits("{set: {" + set + "}}").set.size(), kMaxHeaderEdits);
  expectOnlyError(withEdits("{remove: [X-Extra], set: {" + set + "}}"),
                  "r.yaml:7:38: request_headers: at most 64 header edits (remove, set and add "
                  "together), got 65");
}

// ---- pools: hash keys and sticky sessions

// A pool `p` with the given line-3 setting, used by an http listener.
std::string httpPool(std::string_view setting) {
  return R"(pools:
  - name: p
    )" + std::string(setting) +
         R"(
    backends: [{address: "127.0.0.1:9001"}]
listeners:
  - {name: web, bind: "127.0.0.1:8080", protocol: http, pool: p}
)";
}

Pool loadPool(std::string_view setting) {
  const ConfigPtr config = expectValid(loadWhole(httpPool(setting)));
  return config == nullptr ? Pool{} : config->pools[0];
}

TEST(HttpRoutesExtTest, HashKeyForms) {
  EXPECT_EQ(loadPool("hash_key: source_ip").hash_key, HashKey::kSourceIp);
  EXPECT_EQ(loadPool("hash_key: path").hash_key, HashKey::kPath);
  const Pool header = loadPool("hash_key: \"header:x-user-id\"");
  EXPECT_EQ(header.hash_key, HashKey::kHeader);
  EXPECT_EQ(header.hash_key_name, "x-user-id");
  const Pool cookie = loadPool("hash_key: cookie:__Host-sid");
  EXPECT_EQ(cookie.hash_key, HashKey::kCookie);
  EXPECT_EQ(cookie.hash_key_name, "__Host-sid");
  const Pool query = loadPool("hash_key: query:uid");
  EXPECT_EQ(query.hash_key, HashKey::kQuery);
  EXPECT_EQ(query.hash_key_name, "uid");
}

TEST(HttpRoutesExtTest, HashKeyErrors) {
  const auto error = [](std::string_view setting, const std::string& expected) {
    expectResult(loadWhole(httpPool(setting)), {expected});
  };
  error("hash_key: dest_ip",
        "r.yaml:3:15: hash_key: expected one of source_ip, source_ip_port, path, header:NAME, "
        "cookie:NAME, query:NAME, got \"dest_ip\"");
  error("hash_key: \"header:\"",
        "r.yaml:3:15: hash_key: expected a header name (letters, digits and !#$%&'*+-.^_`|~) "
        "after \"header:\", got \"\"");
  error("hash_key: \"header:X User\"",
        "r.yaml:3:15: hash_key: expected a header name (letters, digits and !#$%&'*+-.^_`|~) "
        "after \"header:\", got \"X User\"");
  error("hash_key: \"cookie:a=b\"",
        "r.yaml:3:15: hash_key: expected a cookie name (letters, digits and !#$%&'*+-.^_`|~) "
        "after \"cookie:\", got \"a=b\"");
  error("hash_key: \"query:a&b\"",
        "r.yaml:3:15: hash_key: expected a query parameter name (printable, without spaces, '&', "
        "'=' or '#') after \"query:\", got \"a&b\"");
  error("hash_key: \"Header:X\"",
        "r.yaml:3:15: hash_key: expected one of source_ip, source_ip_port, path, header:NAME, "
        "cookie:NAME, query:NAME, got \"Header:X\"");
  error("hash_key: \"path:/x\"",
        "r.yaml:3:15: hash_key: expected one of source_ip, source_ip_port, path, header:NAME, "
        "cookie:NAME, query:NAME, got \"path:/x\"");
}

// Pool `p` (hash_key on line 3, sticky on line 4) and three listeners using it or not.
constexpr std::string_view kMixedUse = R"(pools:
  - name: p
    hash_key: "header:X-User"
    sticky: {cookie: sid}
    backends: [{address: "127.0.0.1:9001"}]
  - name: q
    backends: [{address: "127.0.0.1:9002"}]
listeners:
  - {name: web, bind: "127.0.0.1:8080", protocol: http, routes: [{pool: p}]}
  - {name: db, bind: "127.0.0.1:5432", pool: p}
  - {name: dns, bind: "127.0.0.1:53", protocol: udp, pool: p}
  - {name: other, bind: "127.0.0.1:5433", pool: q}
)";

TEST(HttpRoutesExtTest, HttpHashKeyAndStickyNeedHttpListenersOnly) {
  // Reported once per setting, naming the first tcp or udp listener that uses the pool.
  expectResult(loadWhole(kMixedUse),
               {"r.yaml:3:15: hash_key: header:X-User needs HTTP requests, but pool \"p\" is used "
                "by tcp listener \"db\" (line 10)",
                "r.yaml:4:5: sticky: needs HTTP responses to set its cookie, but pool \"p\" is "
                "used by tcp listener \"db\" (line 10)"});
  const std::string udp = R"(pools:
  - name: p
    hash_key: path
    backends: [{address: "127.0.0.1:9001"}]
listeners:
  - name: dns
    bind: "127.0.0.1:53"
    protocol: udp
    pool: p
)";
  expectResult(loadWhole(udp), {"r.yaml:3:15: hash_key: path needs HTTP requests, but pool \"p\" "
                                "is used by udp listener \"dns\" (line 9)"});
  const std::string sticky_only = R"(listeners:
  - {name: db, bind: "127.0.0.1:5432", pool: p}
pools:
  - name: p
    hash_key: source_ip_port
    sticky:
      cookie: sid
    backends: [{address: "127.0.0.1:9001"}]
)";
  expectResult(loadWhole(sticky_only),
               {"r.yaml:6:5: sticky: needs HTTP responses to set its cookie, but pool \"p\" is "
                "used by tcp listener \"db\" (line 2)"});
}

TEST(HttpRoutesExtTest, HttpPoolSettingsAreFineOnUnusedOrHttpOnlyPools) {
  expectValid(loadWhole(R"(pools:
  - name: unused
    hash_key: "cookie:sid"
    sticky: {cookie: sid}
    backends: [{address: "127.0.0.1:9001"}]
  - name: l4
    hash_key: source_ip
    backends: [{address: "127.0.0.1:9002"}]
listeners:
  - {name: web, bind: "127.0.0.1:8080", protocol: http, pool: l4}
  - {name: db, bind: "127.0.0.1:5432", pool: l4}
)"));
}

TEST(HttpRoutesExtTest, UnreadableProtocolDoesNotBlameThePool) {
  expectResult(loadWhole(R"(pools:
  - name: p
    hash_key: "header:X-User"
    backends: [{address: "127.0.0.1:9001"}]
listeners:
  - {name: web, bind: "127.0.0.1:8080", protocol: htp, pool: p}
)"),
               {"r.yaml:6:51: protocol: expected one of tcp, udp, http, https, tls_passthrough, "
                "got \"htp\""});
}

TEST(HttpRoutesExtTest, StickyForms) {
  const Pool p = loadPool("sticky: {cookie: BALLAST_ID, ttl: 10m}");
  EXPECT_EQ(p.sticky_cookie, "BALLAST_ID");
  EXPECT_EQ(p.sticky_ttl, minutes(10));
  EXPECT_EQ(loadPool("sticky: {cookie: a}").sticky_ttl, hours(1));
  EXPECT_EQ(loadPool("sticky: {cookie: a, ttl: 1s}").sticky_ttl, std::chrono::seconds(1));
  EXPECT_EQ(loadPool("sticky: {cookie: a, ttl: 2000ms}").sticky_ttl, std::chrono::seconds(2));
}

TEST(HttpRoutesExtTest, StickyErrors) {
  const auto error = [](std::string_view setting, const std::string& expected) {
    expectResult(loadWhole(httpPool(setting)), {expected});
  };
  error("sticky: {ttl: 1h}", "r.yaml:3:13: sticky is missing required key \"cookie\"");
  error("sticky:", "r.yaml:3:5: sticky is missing required key \"cookie\"");
  error("sticky: {cookie: \"a b\"}",
        "r.yaml:3:22: cookie: expected a cookie name (letters, digits and !#$%&'*+-.^_`|~), got "
        "\"a b\"");
  error("sticky: {cookie: \"a=b\"}",
        "r.yaml:3:22: cookie: expected a cookie name (letters, digits and !#$%&'*+-.^_`|~), got "
        "\"a=b\"");
  error("sticky: {cookie: s, ttl: 0s}",
        "r.yaml:3:30: ttl: expected a positive duration like 500ms, 2s, 1m, got \"0s\"");
  error("sticky: {cookie: s, ttl: -1h}",
        "r.yaml:3:30: ttl: expected a positive duration like 500ms, 2s, 1m, got \"-1h\"");
  error("sticky: {cookie: s, ttl: 500ms}",
        "r.yaml:3:30: ttl: 500ms is not a whole number of seconds, which the cookie's Max-Age "
        "counts in");
  error("sticky: {cookie: s, ttl: 1s500ms}",
        "r.yaml:3:30: ttl: 1s500ms is not a whole number of seconds, which the cookie's Max-Age "
        "counts in");
  error("sticky: {cookie: s, path: /}",
        "r.yaml:3:25: unknown key \"path\" in sticky; allowed keys: cookie, ttl, key_file, store");
  error("sticky: BALLAST_ID", "r.yaml:3:13: sticky: expected a mapping, got \"BALLAST_ID\"");
  error("sticky: {cookie: s, store: \"http://127.0.0.1:6379\"}",
        "r.yaml:3:32: store: expected redis://HOST:PORT, got \"http://127.0.0.1:6379\"");
  error("sticky: {cookie: s, key_file: /dev/null, store: \"redis://127.0.0.1:6379\"}",
        "r.yaml:3:46: store: the session id it issues is random and looked up in the store, so "
        "key_file (signed cookies without a store) cannot be given beside it");
}

TEST(HttpRoutesExtTest, StickyStore) {
  const Pool p = loadPool("sticky: {cookie: SID, store: \"redis://[::1]:6380\"}");
  EXPECT_EQ(p.sticky_store.host, "::1");
  EXPECT_EQ(p.sticky_store.port, 6380);
  EXPECT_EQ(p.sticky_store.url(), "redis://[::1]:6380");
  EXPECT_FALSE(loadPool("sticky: {cookie: SID}").sticky_store.enabled());
}

}  // namespace
}  // namespace ballast::config
