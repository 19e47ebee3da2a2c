// tests/unit/config/loader_test.cpp — one test per schema rule, each pinning the exact
// "file:line:col: message" a user would see.
#include "config/loader.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

namespace ballast::config {
namespace {

// A pool every listener in these tests can point at.
constexpr std::string_view kPools = R"(pools:
  - name: app
    backends:
      - {address: "127.0.0.1:9001"}
)";

LoadResult load(std::string_view yaml) { return loadConfigText(yaml, "t.yaml"); }

std::string withPools(std::string_view yaml) { return std::string(yaml) + std::string(kPools); }

// Every error, one a line, for failure messages.
std::string allErrors(const LoadResult& r) {
  std::string out;
  for (const auto& e : r.errors) {
    out += e.format() + "\n";
  }
  return out;
}

// Exactly one error, starting with `expected`.
void expectOnlyError(std::string_view yaml, const std::string& expected) {
  const LoadResult r = load(yaml);
  EXPECT_EQ(r.config, nullptr);
  ASSERT_EQ(r.errors.size(), 1U) << allErrors(r);
  EXPECT_EQ(r.errors[0].format().substr(0, expected.size()), expected);
}

void expectValid(std::string_view yaml) {
  const LoadResult r = load(yaml);
  for (const auto& e : r.errors) {
    ADD_FAILURE() << e.format();
  }
  EXPECT_NE(r.config, nullptr);
}

TEST(LoaderTest, ErrorFormatsLikeACompiler) {
  EXPECT_EQ((ConfigError{"a.yaml", 3, 7, "bad"}).format(), "a.yaml:3:7: bad");
  EXPECT_EQ((ConfigError{"a.yaml", 0, 0, "gone"}).format(), "a.yaml: gone");
}

TEST(LoaderTest, EmptyDocumentIsValidWithDefaults) {
  const LoadResult r = load("");
  ASSERT_NE(r.config, nullptr);
  EXPECT_EQ(r.config->workers, 0U);
  EXPECT_EQ(r.config->io, IoBackend::kAuto);
  EXPECT_EQ(r.config->shutdown_timeout, std::chrono::seconds(30));
  EXPECT_TRUE(r.config->listeners.empty());
  EXPECT_TRUE(r.config->pools.empty());
}

TEST(LoaderTest, EmptyListenersListIsAllowed) { expectValid(withPools("listeners: []\n")); }

TEST(LoaderTest, UnknownTopLevelKeyNamesItAndTheAllowedOnes) {
  expectOnlyError("workers: 2\ncolour: blue\n",
                  "t.yaml:2:1: unknown key \"colour\" in top level; allowed keys: include, "
                  "workers, io, shutdown_timeout, logging, listeners, pools");
}

TEST(LoaderTest, ControlPlaneSectionsAreRead) {
  const LoadResult r = load(R"(admin:
  socket: /tmp/ballast-test/admin.sock
  bind: "127.0.0.1:9900"
  auth: {tokens_file: /etc/ballast/tokens, allow: ["10.0.0.0/8"], rate_limit_per_sec: 7}
  audit_log: /var/log/ballast/audit.log
metrics: {bind: "127.0.0.1:9100", path: /prom}
reload: {watch: true}
logging: {file: /var/log/ballast/ballast.log, gelf: "127.0.0.1:12201"}
)");
  ASSERT_TRUE(r.errors.empty()) << r.errors[0].format();
  const Config& c = *r.config;
  EXPECT_EQ(c.admin.socket, "/tmp/ballast-test/admin.sock");
  ASSERT_TRUE(c.admin.bind.has_value());
  EXPECT_EQ(c.admin.bind->toString(), "127.0.0.1:9900");
  EXPECT_EQ(c.admin.auth.tokens_file, "/etc/ballast/tokens");
  ASSERT_EQ(c.admin.auth.allow.size(), 1U);
  EXPECT_EQ(c.admin.auth.rate_limit_per_sec, 7U);
  EXPECT_EQ(c.admin.audit_log, "/var/log/ballast/audit.log");
  ASSERT_TRUE(c.metrics.bind.has_value());
  EXPECT_EQ(c.metrics.path, "/prom");
  EXPECT_TRUE(c.reload.watch);
  EXPECT_EQ(c.logging.file, "/var/log/ballast/ballast.log");
  ASSERT_TRUE(c.logging.gelf.has_value());
}

TEST(LoaderTest, ControlPlaneSectionErrorsHavePositions) {
  const LoadResult r = load(R"(admin: {bind: "198.18.0.1:9900", auth: {allow: [nonsense]}}
metrics: {path: metrics}
reload: {watch: sometimes}
)");
  ASSERT_EQ(r.errors.size(), 4U);
  EXPECT_EQ(r.errors[0].format().substr(0, 42), "t.yaml:1:15: bind: plain HTTP is allowed o");
  EXPECT_EQ(r.errors[1].format().substr(0, 13), "t.yaml:1:49: ");
  EXPECT_EQ(r.errors[2].format().substr(0, 17), "t.yaml:2:17: path");
  EXPECT_EQ(r.errors[3].format().substr(0, 13), "t.yaml:3:17: ");
}

TEST(LoaderTest, UnknownKeyInListener) {
  expectOnlyError(withPools(R"(listeners:
  - name: web
    bind: "0.0.0.0:80"
    pool: app
    prot: udp
)"),
                  "t.yaml:5:5: unknown key \"prot\" in listener; allowed keys: name, bind, "
                  "protocol, pool, timeouts, limits, proxy_protocol, acl");
}

TEST(LoaderTest, UnknownKeyInNestedMappings) {
  const LoadResult r = load(R"(logging: {level: info, colour: true}
listeners:
  - name: web
    bind: "0.0.0.0:80"
    pool: app
    timeouts: {connect: 1s, read: 2s}
pools:
  - name: app
    backend: []
    backends:
      - {address: "127.0.0.1:9001", wieght: 2}
    health_check: {type: tcp, prot: 80}
)");
  ASSERT_EQ(r.errors.size(), 5U);
  EXPECT_EQ(r.errors[0].format(),
            "t.yaml:1:24: unknown key \"colour\" in logging; allowed keys: level, format, "
            "file, gelf, repeat_burst, repeat_interval");
  EXPECT_EQ(r.errors[1].format(),
            "t.yaml:6:29: unknown key \"read\" in timeouts; allowed keys: connect, idle");
  EXPECT_EQ(r.errors[2].format().substr(0, 44), "t.yaml:9:5: unknown key \"backend\" in pool; a");
  EXPECT_EQ(r.errors[3].format(),
            "t.yaml:11:37: unknown key \"wieght\" in backend; allowed keys: address, weight, "
            "health_check, max_connections, backup");
  EXPECT_EQ(r.errors[4].format().substr(0, 50),
            "t.yaml:12:31: unknown key \"prot\" in health_check; ");
}

TEST(LoaderTest, DuplicateKeyPointsAtTheSecond) {
  expectOnlyError("workers: 2\nio: epoll\nworkers: 4\n",
                  "t.yaml:3:1: duplicate key \"workers\" (first at line 1)");
}

TEST(LoaderTest, WorkersAcceptsAutoAndRange) {
  EXPECT_EQ(load("workers: auto\n").config->workers, 0U);
  EXPECT_EQ(load("workers: 0\n").config->workers, 0U);
  EXPECT_EQ(load("workers: 1024\n").config->workers, 1024U);
  expectOnlyError("workers: 1025\n",
                  "t.yaml:1:10: workers: expected auto or an integer from 0 to 1024, got \"1025\"");
  expectOnlyError("workers: -1\n", "t.yaml:1:10: workers: expected auto or an integer");
  expectOnlyError("workers: [1]\n",
                  "t.yaml:1:10: workers: expected auto or an integer from 0 to 1024, got a list");
}

TEST(LoaderTest, IoBackendIsAChoice) {
  EXPECT_EQ(load("io: io_uring\n").config->io, IoBackend::kIoUring);
  expectOnlyError("io: kqueue\n",
                  "t.yaml:1:5: io: expected one of auto, io_uring, epoll, got \"kqueue\"");
}

TEST(LoaderTest, DurationErrorSaysWhatIsExpected) {
  expectOnlyError("shutdown_timeout: 30\n",
                  "t.yaml:1:19: shutdown_timeout: expected a duration like 500ms, 2s, 1m, got "
                  "\"30\"");
}

TEST(LoaderTest, ListenerTimeoutsMustBePositive) {
  expectOnlyError(withPools(R"(listeners:
  - name: web
    bind: "0.0.0.0:80"
    pool: app
    timeouts:
      connect: 0s
)"),
                  "t.yaml:6:16: connect: expected a positive duration like 500ms, 2s, 1m, got "
                  "\"0s\"");
}

TEST(LoaderTest, EmptyValuePointsAtItsKey) {
  expectOnlyError(withPools(R"(listeners:
  - name: web
    bind:
    pool: app
)"),
                  "t.yaml:3:5: bind: expected IP:port such as 127.0.0.1:8080 or [::1]:8080, "
                  "got nothing");
}

TEST(LoaderTest, LoggingLevelAndFormat) {
  const LoadResult ok = load("logging: {level: warn, format: text}\n");
  ASSERT_NE(ok.config, nullptr);
  EXPECT_EQ(ok.config->logging.level, LogLevel::kWarn);
  EXPECT_EQ(ok.config->logging.format, LogFormat::kText);
  expectOnlyError("logging:\n  level: verbose\n",
                  "t.yaml:2:10: level: expected one of debug, info, warn, error, got \"verbose\"");
  expectOnlyError("logging: text\n", "t.yaml:1:10: logging: expected a mapping, got \"text\"");
}

TEST(LoaderTest, ListenersMustBeAList) {
  expectOnlyError("listeners: {name: web}\n",
                  "t.yaml:1:12: listeners: expected a list, got a mapping");
  expectOnlyError("listeners:\n  - web\n", "t.yaml:2:5: listener: expected a mapping, got \"web\"");
}

TEST(LoaderTest, TopLevelMustBeAMapping) {
  expectOnlyError("- a\n- b\n",
                  "t.yaml:1:1: expected a mapping of settings at top level, got a list");
}

TEST(LoaderTest, MissingRequiredKeys) {
  const LoadResult r = load(withPools(R"(listeners:
  - name: web
    protocol: udp
)"));
  ASSERT_EQ(r.errors.size(), 2U);
  EXPECT_EQ(r.errors[0].format(), "t.yaml:2:5: listener is missing required key \"bind\"");
  EXPECT_EQ(r.errors[1].format(), "t.yaml:2:5: listener is missing required key \"pool\"");
}

TEST(LoaderTest, ListenerNameCharset) {
  expectOnlyError(withPools(R"(listeners:
  - name: "web site"
    bind: "0.0.0.0:80"
    pool: app
)"),
                  "t.yaml:2:11: name: expected a name of letters, digits, '_', '.' or '-' (at "
                  "most 64 characters), got \"web site\"");
  expectValid(withPools(R"(listeners:
  - name: web-1.internal_A
    bind: "0.0.0.0:80"
    pool: app
)"));
}

TEST(LoaderTest, BadBindAddress) {
  expectOnlyError(withPools(R"(listeners:
  - name: web
    bind: "localhost:8080"
    pool: app
)"),
                  "t.yaml:3:11: bind: expected IP:port such as 127.0.0.1:8080 or [::1]:8080, "
                  "got \"localhost:8080\"");
}

TEST(LoaderTest, BindWithoutPortIsRejected) {
  expectOnlyError(withPools(R"(listeners:
  - name: web
    bind: "::1"
    pool: app
)"),
                  "t.yaml:3:11: bind: expected IP:port such as 127.0.0.1:8080 or [::1]:8080, "
                  "got \"::1\"");
}

TEST(LoaderTest, Ipv6BindsAndBackends) {
  const LoadResult r = load(R"(listeners:
  - name: any6
    bind: "[::]:8080"
    pool: app
  - name: lo6
    bind: "[::1]:8443"
    protocol: udp
    pool: app
  - name: any4
    bind: "*:8080"
    pool: app
pools:
  - name: app
    backends:
      - {address: "[2001:db8::10]:9001"}
      - {address: "[::ffff:10.0.0.1]:9001"}
      - {address: "10.0.0.1:9001"}
)");
  ASSERT_TRUE(r.errors.empty()) << r.errors[0].format();
  const Config& c = *r.config;
  EXPECT_EQ(c.listeners[0].bind.toString(), "[::]:8080");
  EXPECT_TRUE(c.listeners[0].bind.isV6());
  EXPECT_EQ(c.listeners[1].bind.toString(), "[::1]:8443");
  EXPECT_EQ(c.listeners[1].protocol, Protocol::kUdp);
  EXPECT_EQ(c.listeners[2].bind.toString(), "0.0.0.0:8080");
  ASSERT_EQ(c.pools[0].backends.size(), 3U);
  EXPECT_EQ(c.pools[0].backends[0].address.toString(), "[2001:db8::10]:9001");
  EXPECT_EQ(c.pools[0].backends[1].address.toString(), "[::ffff:10.0.0.1]:9001");
}

TEST(LoaderTest, DuplicateListenerNamePointsAtSecondAndNamesFirstLine) {
  expectOnlyError(withPools(R"(listeners:
  - name: web
    bind: "0.0.0.0:80"
    pool: app
  - name: web
    bind: "0.0.0.0:81"
    pool: app
)"),
                  "t.yaml:5:11: duplicate listener name \"web\" (first defined at line 2)");
}

TEST(LoaderTest, DuplicatePoolName) {
  expectOnlyError(R"(pools:
  - name: app
    backends: [{address: "127.0.0.1:1"}]
  - name: app
    backends: [{address: "127.0.0.1:2"}]
)",
                  "t.yaml:4:11: duplicate pool name \"app\" (first defined at line 2)");
}

TEST(LoaderTest, SameBindAndProtocolConflicts) {
  expectOnlyError(withPools(R"(listeners:
  - name: a
    bind: "0.0.0.0:80"
    pool: app
  - name: b
    bind: "*:80"
    pool: app
)"),
                  "t.yaml:6:11: bind: 0.0.0.0:80/tcp is already bound by listener \"a\" (line 3)");
}

TEST(LoaderTest, SameBindWithOtherProtocolIsFine) {
  expectValid(withPools(R"(listeners:
  - name: dns-tcp
    bind: "0.0.0.0:53"
    pool: app
  - name: dns-udp
    bind: "0.0.0.0:53"
    protocol: udp
    pool: app
)"));
}

TEST(LoaderTest, ListenerNamingMissingPoolPointsAtPoolValue) {
  expectOnlyError(withPools(R"(listeners:
  - name: web
    bind: "0.0.0.0:80"
    pool: apps
)"),
                  "t.yaml:4:11: pool: listener \"web\" names unknown pool \"apps\"; defined "
                  "pools: app");
  expectOnlyError(R"(listeners:
  - name: web
    bind: "0.0.0.0:80"
    pool: app
)",
                  "t.yaml:4:11: pool: listener \"web\" names unknown pool \"app\"; no pools are "
                  "defined");
}

TEST(LoaderTest, WeightRange) {
  expectOnlyError(R"(pools:
  - name: app
    backends:
      - {address: "127.0.0.1:9001", weight: 1001}
)",
                  "t.yaml:4:45: weight: expected an integer from 0 to 1000, got \"1001\"");
  const LoadResult r = load(R"(pools:
  - name: app
    backends:
      - {address: "127.0.0.1:9001", weight: 0}
      - {address: "127.0.0.1:9002", weight: 1000}
)");
  ASSERT_NE(r.config, nullptr);
  EXPECT_EQ(r.config->pools[0].backends[0].weight, 0U);
  EXPECT_EQ(r.config->pools[0].backends[1].weight, kMaxWeight);
}

TEST(LoaderTest, BackendNeedsAPort) {
  expectOnlyError(R"(pools:
  - name: app
    backends:
      - address: 127.0.0.1
)",
                  "t.yaml:4:18: address: expected IP:port such as 127.0.0.1:8080 or [::1]:8080, "
                  "got \"127.0.0.1\"");
}

TEST(LoaderTest, DuplicateBackendAddressInAPool) {
  expectOnlyError(R"(pools:
  - name: app
    backends:
      - address: "[::1]:9001"
      - address: "[0:0::1]:9001"
)",
                  "t.yaml:5:18: address: duplicate backend [::1]:9001 in pool \"app\" (first at "
                  "line 4)");
}

TEST(LoaderTest, PoolWithoutBackends) {
  expectOnlyError("pools:\n  - name: app\n    backends: []\n",
                  "t.yaml:3:15: pool \"app\" has no backends");
  expectOnlyError("pools:\n  - name: app\n    algorithm: random\n",
                  "t.yaml:2:5: pool \"app\" has no backends");
}

TEST(LoaderTest, AlgorithmAndHashKey) {
  expectOnlyError(R"(pools:
  - name: app
    algorithm: fastest
    backends: [{address: "127.0.0.1:1"}]
)",
                  "t.yaml:3:16: algorithm: expected one of round_robin, weighted_round_robin, "
                  "least_conn, random, power_of_two, source_hash, consistent_hash, got "
                  "\"fastest\"");
  expectOnlyError(R"(pools:
  - name: app
    hash_key: dest_ip
    backends: [{address: "127.0.0.1:1"}]
)",
                  "t.yaml:3:15: hash_key: expected one of source_ip, source_ip_port, path, "
                  "header:NAME, cookie:NAME, query:NAME, got \"dest_ip\"");
}

TEST(LoaderTest, ConnectRetriesRange) {
  expectOnlyError(R"(pools:
  - name: app
    connect_retries: 11
    backends: [{address: "127.0.0.1:1"}]
)",
                  "t.yaml:3:22: connect_retries: expected an integer from 0 to 10, got \"11\"");
}

TEST(LoaderTest, HealthCheckTimeoutMustNotExceedInterval) {
  expectOnlyError(R"(pools:
  - name: app
    backends: [{address: "127.0.0.1:1"}]
    health_check: {type: tcp, interval: 2s, timeout: 5s}
)",
                  "t.yaml:4:54: timeout: health check timeout 5s must not exceed interval 2s");
}

TEST(LoaderTest, HealthCheckDefaultTimeoutFollowsAShortInterval) {
  const LoadResult r = load(R"(pools:
  - name: app
    backends: [{address: "127.0.0.1:1"}]
    health_check: {type: tcp, interval: 500ms}
)");
  ASSERT_NE(r.config, nullptr);
  EXPECT_EQ(r.config->pools[0].health_check.timeout, std::chrono::milliseconds(500));
}

TEST(LoaderTest, HealthCheckRiseFallAndJitter) {
  expectOnlyError(R"(pools:
  - name: app
    backends: [{address: "127.0.0.1:1"}]
    health_check:
      fall: 0
)",
                  "t.yaml:5:13: fall: expected an integer from 1 to 1000, got \"0\"");
  expectOnlyError(R"(pools:
  - name: app
    backends: [{address: "127.0.0.1:1"}]
    health_check:
      jitter: 75%
)",
                  "t.yaml:5:15: jitter: expected a fraction from 0 to 50% like 10% or 0.1, got "
                  "\"75%\"");
  const LoadResult r = load(R"(pools:
  - name: app
    backends: [{address: "127.0.0.1:1"}]
    health_check: {jitter: 0.25}
)");
  ASSERT_NE(r.config, nullptr);
  EXPECT_DOUBLE_EQ(r.config->pools[0].health_check.jitter, 0.25);
}

TEST(LoaderTest, ListenerLimitsAndProxyProtocol) {
  const LoadResult r = load(withPools(R"(listeners:
  - name: web
    bind: "0.0.0.0:80"
    pool: app
    limits: {max_connections: 0, buffer_bytes: 512}
    proxy_protocol: {send: v3, accept: yes}
)"));
  ASSERT_EQ(r.errors.size(), 4U);
  EXPECT_EQ(r.errors[0].format(),
            "t.yaml:5:31: max_connections: expected an integer from 1 to 16777216, got \"0\"");
  EXPECT_EQ(r.errors[1].format(),
            "t.yaml:5:48: buffer_bytes: expected a size from 1KiB to 64MiB like 64KiB or 1MiB, "
            "got \"512\"");
  EXPECT_EQ(r.errors[2].format(), "t.yaml:6:28: send: expected one of none, v1, v2, got \"v3\"");
  EXPECT_EQ(r.errors[3].format(), "t.yaml:6:40: accept: expected true or false, got \"yes\"");
}

TEST(LoaderTest, YamlSyntaxErrorHasPosition) {
  expectOnlyError("workers: 2\nlisteners: [\n", "t.yaml:3:1: invalid YAML: ");
  expectOnlyError("a: b: c\n", "t.yaml:1:5: invalid YAML: illegal map value");
}

TEST(LoaderTest, MoreThanOneDocumentIsAnError) {
  expectOnlyError("workers: 2\n---\nworkers: 3\n",
                  "t.yaml:2:1: expected one YAML document, found more (remove the \"---\")");
}

TEST(LoaderTest, StrayCommaIsAnErrorNotAHang) {
  // yaml-cpp 0.7's LoadAll() loops forever on these (jbeder/yaml-cpp#1040).
  expectOnlyError(",", "t.yaml:1:1: invalid YAML: unexpected content");
  expectOnlyError("- x\n,\n", "t.yaml:2:1: invalid YAML: unexpected content");
}

TEST(LoaderTest, CollectsEveryErrorInFileOrder) {
  const LoadResult r = load(R"(workers: many
io: kqueue
listeners:
  - name: web
    bind: nowhere
    pool: ghost
)");
  ASSERT_EQ(r.errors.size(), 4U);
  EXPECT_EQ(r.errors[0].line, 1);
  EXPECT_EQ(r.errors[1].line, 2);
  EXPECT_EQ(r.errors[2].line, 5);
  EXPECT_EQ(r.errors[3].line, 6);
  EXPECT_EQ(r.config, nullptr);
}

TEST(LoaderTest, IncludeIsRejectedWhenDisabled) {
  LoadOptions options;
  options.follow_includes = false;
  const LoadResult r = loadConfigText("include: [\"conf.d/*.yaml\"]\n", "t.yaml", ".", options);
  ASSERT_EQ(r.errors.size(), 1U);
  EXPECT_EQ(r.errors[0].format(), "t.yaml:1:11: include: includes are disabled for this load");
}

TEST(LoaderTest, AliasBombIsCutOffNotExpanded) {
  // A pool aliased N times, each with N aliased backends: N*N visits from a file of size N.
  constexpr int kFanOut = 2000;
  std::string backends;
  std::string pools;
  for (int i = 0; i < kFanOut; ++i) {
    backends += (i == 0 ? "" : ", ") + std::string("*b");
    pools += (i == 0 ? "" : ", ") + std::string("*p");
  }
  const std::string yaml =
      "kernel:\n  b: &b {address: \"127.0.0.1:1\"}\n  p: &p {name: p, "
      "backends: [" +
      backends + "]}\npools: [" + pools + "]\n";
  const LoadResult r = load(yaml);
  EXPECT_EQ(r.config, nullptr);
  ASSERT_FALSE(r.errors.empty());
  EXPECT_LE(r.errors.size(), 102U);  // capped, plus the budget and "too many errors" entries
  bool budget_reported = false;
  for (const auto& e : r.errors) {
    budget_reported |= e.message.starts_with("configuration too large");
  }
  EXPECT_TRUE(budget_reported);
}

TEST(LoaderTest, UnreadableFileIsFlagged) {
  const LoadResult r = loadConfigFile("/nonexistent/ballast.yaml");
  EXPECT_TRUE(r.unreadable);
  EXPECT_EQ(r.config, nullptr);
  ASSERT_EQ(r.errors.size(), 1U);
  EXPECT_EQ(r.errors[0].format(),
            "/nonexistent/ballast.yaml: cannot read file: No such file or directory");
}

TEST(LoaderTest, HostileBytesNeverThrow) {
  const std::string inputs[] = {
      std::string("\0\xff\xfe", 3),
      "{{{{{{{{{{{{",
      "[[[[[[[[",
      "&a [*a]",
      "!!binary x",
      "? [a]: b",
      "listeners: [[[]]]",
      "\t\tworkers: 1",
      "%YAML 9.9\n---\n",
      "*undefined",
  };
  for (const auto& in : inputs) {
    EXPECT_NO_THROW({
      const LoadResult r = load(in);
      (void)r;
    }) << in;
  }
}

}  // namespace
}  // namespace ballast::config
