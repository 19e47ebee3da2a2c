// tests/unit/config/sni_sections_test.cpp — the tls_passthrough listener: `sni:` entries, the
// default pool, the ClientHello timeout, and each mistake reported at file:line:column.
#include "config/sni_sections.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "config/loader.h"

namespace ballast::config {
namespace {

using std::chrono::seconds;
using Names = std::vector<std::string>;

constexpr std::string_view kPools = R"(pools:
  - name: a
    backends:
      - {address: "127.0.0.1:9001"}
  - name: b
    backends:
      - {address: "127.0.0.1:9002"}
)";

LoadResult load(std::string_view yaml) {
  return loadConfigText(std::string(yaml) + std::string(kPools), "t.yaml");
}

std::string allErrors(const LoadResult& r) {
  std::string out;
  for (const auto& e : r.errors) {
    out += e.format() + "\n";
  }
  return out;
}

void expectErrors(std::string_view yaml, const std::vector<std::string>& expected) {
  const auto r = load(yaml);
  EXPECT_EQ(r.config, nullptr);
  ASSERT_EQ(r.errors.size(), expected.size()) << allErrors(r);
  for (size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ(r.errors[i].format(), expected[i]);
  }
}

TEST(TlsListener, ReadsSniRoutesDefaultPoolAndTimeout) {
  const auto r = load(R"(listeners:
  - name: tls
    bind: 127.0.0.1:8443
    protocol: tls_passthrough
    pool: b
    timeouts: {client_hello: 3s, idle: 60s}
    sni:
      - names: [A.Example.Test, "*.wild.example.test"]
        pool: a
      - names: [b.example.test]
        pool: b
)");
  ASSERT_NE(r.config, nullptr) << allErrors(r);
  const Listener& l = r.config->listeners.at(0);
  EXPECT_EQ(l.protocol, Protocol::kTlsPassthrough);
  EXPECT_EQ(l.pool, "b");
  EXPECT_EQ(l.timeouts.client_hello, seconds(3));
  ASSERT_EQ(l.sni.size(), 2U);
  EXPECT_EQ(l.sni[0].names, (Names{"a.example.test", "*.wild.example.test"}));  // lowercased
  EXPECT_EQ(l.sni[0].pool, "a");
  EXPECT_EQ(l.sni[1].names, (Names{"b.example.test"}));
}

TEST(TlsListener, DefaultPoolAloneOrSniAloneIsEnough) {
  auto r = load(R"(listeners:
  - {name: t, bind: "127.0.0.1:8443", protocol: tls_passthrough, pool: a}
)");
  ASSERT_NE(r.config, nullptr) << allErrors(r);
  EXPECT_EQ(r.config->listeners[0].timeouts.client_hello, seconds(10));  // the default
  r = load(R"(listeners:
  - name: t
    bind: 127.0.0.1:8443
    protocol: tls_passthrough
    sni: [{names: [x.test], pool: a}]
)");
  ASSERT_NE(r.config, nullptr) << allErrors(r);
  EXPECT_EQ(r.config->listeners[0].pool, "");
}

TEST(TlsListener, NeedsAPoolOrAnSniEntry) {
  expectErrors(R"(listeners:
  - {name: t, bind: "127.0.0.1:8443", protocol: tls_passthrough}
)",
               {"t.yaml:2:5: tls_passthrough listener \"t\" needs a default \"pool\" or at least "
                "one sni entry"});
  expectErrors(R"(listeners:
  - name: t
    bind: 127.0.0.1:8443
    protocol: tls_passthrough
    sni: []
)",
               {"t.yaml:5:10: sni: tls_passthrough listener \"t\" has no pool, so it needs at "
                "least one entry"});
}

TEST(TlsListener, UnknownPoolsAtTheirPosition) {
  expectErrors(
      R"(listeners:
  - name: t
    bind: 127.0.0.1:8443
    protocol: tls_passthrough
    pool: nope
    sni:
      - names: [x.test]
        pool: missing
)",
      {"t.yaml:5:11: pool: listener \"t\" names unknown pool \"nope\"; defined pools: a, b",
       "t.yaml:8:15: pool: sni entry 1 of listener \"t\" names unknown pool \"missing\"; "
       "defined pools: a, b"});
}

TEST(TlsListener, BadNamesAndDuplicates) {
  const std::string expected =
      "expected a server name such as a.example.test, or *.example.test where '*' stands for "
      "exactly one leftmost label, got ";
  expectErrors(R"(listeners:
  - name: t
    bind: 127.0.0.1:8443
    protocol: tls_passthrough
    pool: a
    sni:
      - names: ["*example.test", "a.*.test", "*", "x..test", "x.test.", "**.test", "a b"]
        pool: a
      - names: [ok.test, OK.test]
        pool: b
      - names: []
        pool: b
      - {pool: b}
)",
               {"t.yaml:7:17: server name: " + expected + "\"*example.test\"",
                "t.yaml:7:34: server name: " + expected + "\"a.*.test\"",
                "t.yaml:7:46: server name: " + expected + "\"*\"",
                "t.yaml:7:51: server name: " + expected + "\"x..test\"",
                "t.yaml:7:62: server name: " + expected + "\"x.test.\"",
                "t.yaml:7:73: server name: " + expected + "\"**.test\"",
                "t.yaml:7:84: server name: " + expected + "\"a b\"",
                "t.yaml:9:26: names: \"ok.test\" is already routed (at line 9); a server name may "
                "go to one pool only",
                "t.yaml:11:16: names: expected at least one server name",
                "t.yaml:13:9: sni entry is missing required key \"names\""});
}

TEST(TlsListener, KeysOfOtherProtocols) {
  expectErrors(R"(listeners:
  - name: t
    bind: 127.0.0.1:8443
    protocol: tcp
    pool: a
    timeouts: {client_hello: 1s}
    sni: [{names: [x.test], pool: a}]
  - name: h
    bind: 127.0.0.1:8080
    protocol: http
    pool: a
    timeouts: {client_hello: 1s}
  - name: s
    bind: 127.0.0.1:8444
    protocol: tls_passthrough
    pool: a
    timeouts: {header: 1s}
    routes: []
)",
               {"t.yaml:6:16: client_hello: only for protocol: tls_passthrough, not tcp",
                "t.yaml:7:5: sni: only for protocol: tls_passthrough, not tcp",
                "t.yaml:12:16: client_hello: only for protocol: tls_passthrough, not http",
                "t.yaml:17:16: header: only for protocol: http, not tls_passthrough",
                "t.yaml:18:5: routes: only for protocol: http, not tls_passthrough"});
}

TEST(TlsListener, NormalizeServerName) {
  EXPECT_EQ(normalizeServerName("WWW.Example.Test"), "www.example.test");
  EXPECT_EQ(normalizeServerName("*.Example.Test"), "*.example.test");
  EXPECT_EQ(normalizeServerName("localhost"), "localhost");
  EXPECT_EQ(normalizeServerName("*.test"), "*.test");
  EXPECT_EQ(normalizeServerName(""), std::nullopt);
  EXPECT_EQ(normalizeServerName("*."), std::nullopt);
  EXPECT_EQ(normalizeServerName("a.*"), std::nullopt);
  EXPECT_EQ(normalizeServerName(std::string(254, 'a')), std::nullopt);
}

}  // namespace
}  // namespace ballast::config
