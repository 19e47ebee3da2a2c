// tests/unit/config/health_sections_test.cpp — the protocol check types, per-backend overrides,
// backoff and exec's opt-in: values read back and each rule's exact "file:line:col: message".
#include <gtest/gtest.h>

#include <string>

#include "config/loader.h"
#include "config/sections.h"

namespace ballast::config {
namespace {

LoadResult load(std::string_view health_check, std::string_view backend_extra = "",
                std::string_view top = "") {
  const std::string yaml = std::string(top) + R"(pools:
  - name: app
    health_check: )" + std::string(health_check) +
                           R"(
    backends:
      - {address: "127.0.0.1:9001")" +
                           std::string(backend_extra) + "}\n";
  return loadConfigText(yaml, "hc.yaml");
}

std::string firstError(const LoadResult& r) { return r.errors.empty() ? "" : r.errors[0].format(); }

TEST(HealthSectionsConfig, EachTypeReadsItsKeys) {
  auto r = load("{type: tls, sni: db.svc.test, verify: true, ca: /etc/ssl/ca.pem}");
  ASSERT_TRUE(r.errors.empty()) << firstError(r);
  EXPECT_EQ(r.config->pools[0].health_check.sni, "db.svc.test");
  EXPECT_TRUE(r.config->pools[0].health_check.verify);
  r = load("{type: postgres, user: app, database: orders}");
  ASSERT_TRUE(r.errors.empty()) << firstError(r);
  EXPECT_EQ(r.config->pools[0].health_check.user, "app");
  r = load("{type: redis, password: s3cret, role: master}");
  ASSERT_TRUE(r.errors.empty()) << firstError(r);
  EXPECT_TRUE(r.config->pools[0].health_check.role_master);
  r = load(R"({type: send_expect, transport: udp, send: "PING\r\n\x00", expect: "PONG"})");
  ASSERT_TRUE(r.errors.empty()) << firstError(r);
  EXPECT_EQ(r.config->pools[0].health_check.send, std::string("PING\r\n\0", 7));
  EXPECT_EQ(r.config->pools[0].health_check.transport, CheckTransport::kUdp);
  r = load("{type: dns, query: svc.test, query_type: AAAA}");
  ASSERT_TRUE(r.errors.empty()) << firstError(r);
  EXPECT_EQ(r.config->pools[0].health_check.query_type, 28);
  r = load("{type: mysql, backoff: {max: 30s}}");
  ASSERT_TRUE(r.errors.empty()) << firstError(r);
  EXPECT_EQ(r.config->pools[0].health_check.backoff_max, std::chrono::seconds(30));
}

TEST(HealthSectionsConfig, GrpcReadsItsService) {
  auto r = load("{type: grpc, service: echo.Echo}");
  ASSERT_TRUE(r.errors.empty()) << firstError(r);
  EXPECT_EQ(r.config->pools[0].health_check.type, HealthCheckType::kGrpc);
  EXPECT_EQ(r.config->pools[0].health_check.service, "echo.Echo");
  r = load("{type: grpc}");
  ASSERT_TRUE(r.errors.empty()) << firstError(r);
  EXPECT_EQ(r.config->pools[0].health_check.service, "");  // the server as a whole
  EXPECT_EQ(firstError(load("{type: http, service: echo}")),
            "hc.yaml:3:32: service: only for health_check type grpc, not http");
  EXPECT_EQ(firstError(load("{type: grpc, service: \"a\\tb\"}")),
            "hc.yaml:3:41: service: expected a gRPC service name, got \"a?b\"");
}

TEST(HealthSectionsConfig, GrpcOnATlsPoolSpeaksTlsWithThePoolsSettings) {
  const auto r = loadConfigText(R"(pools:
  - name: app
    health_check: {type: grpc, service: echo}
    tls: {verify: true, ca: /etc/ssl/certs/ca-certificates.crt, sni: grpc.test}
    backends: [{address: "127.0.0.1:9001"}]
)",
                                "hc.yaml");
  ASSERT_TRUE(r.errors.empty()) << firstError(r);
  const auto& check = r.config->pools[0].health_check;
  EXPECT_TRUE(check.over_tls);
  EXPECT_TRUE(check.verify);
  EXPECT_EQ(check.sni, "grpc.test");
  EXPECT_EQ(check.ca, "/etc/ssl/certs/ca-certificates.crt");
}

TEST(HealthSectionsConfig, KeyOfAnotherTypeIsRefusedWhereItStands) {
  EXPECT_EQ(firstError(load("{type: redis, sni: a.test}")),
            "hc.yaml:3:33: sni: only for health_check type tls, not redis");
}

TEST(HealthSectionsConfig, SendExpectNeedsOneExpectation) {
  EXPECT_EQ(firstError(load("{type: send_expect, send: hi}")),
            "hc.yaml:3:26: health_check type send_expect needs exactly one of expect, "
            "expect_regex");
  EXPECT_EQ(firstError(load("{type: send_expect, expect_regex: \"(\"}")),
            "hc.yaml:3:53: expect_regex: missing ): (");
  EXPECT_EQ(firstError(load(R"({type: send_expect, send: 'a\q', expect: x})")),
            "hc.yaml:3:45: send: unknown escape \\q (known: \\r \\n \\t \\0 \\\\ \\xHH)");
}

TEST(HealthSectionsConfig, ExecNeedsTheTopLevelOptIn) {
  EXPECT_EQ(firstError(load("{type: exec, command: [/bin/true]}")),
            "hc.yaml:3:26: health_check type exec runs a command: set allow_exec_checks: true "
            "at the top level to allow it");
  const auto r = load("{type: exec, command: [/bin/true]}", "", "allow_exec_checks: true\n");
  ASSERT_TRUE(r.errors.empty()) << firstError(r);
  EXPECT_EQ(r.config->pools[0].health_check.command.at(0), "/bin/true");
  EXPECT_EQ(firstError(load("{type: exec, command: [true]}", "", "allow_exec_checks: true\n")),
            "hc.yaml:4:41: command: the program must be an absolute path, got \"true\"");
}

TEST(HealthSectionsConfig, BackendOverridesStartFromThePoolCheck) {
  const auto r = load("{type: redis, interval: 1s, role: master}",
                      ", health_check: {address: 127.0.0.2, port: 7000, interval: 3s}");
  ASSERT_TRUE(r.errors.empty()) << firstError(r);
  const auto& own = r.config->pools[0].backends[0].health_check;
  ASSERT_TRUE(own);
  EXPECT_EQ(own->type, HealthCheckType::kRedis);
  EXPECT_TRUE(own->role_master);
  EXPECT_EQ(own->interval, std::chrono::seconds(3));
  EXPECT_EQ(own->port, 7000);
  EXPECT_EQ(own->address->toString(), "127.0.0.2:0");
  EXPECT_EQ(r.config->pools[0].health_check.interval, std::chrono::seconds(1));
}

TEST(HealthSectionsConfig, AddressOnlyPerBackendAndBackoffNotBelowInterval) {
  EXPECT_EQ(firstError(load("{type: tcp, address: 127.0.0.2}")),
            "hc.yaml:3:31: address: only in a backend's health_check (each backend has its own)");
  EXPECT_EQ(firstError(load("{type: tcp}", ", health_check: {address: \"127.0.0.2:80\"}")),
            "hc.yaml:5:61: address: expected an IP address such as 127.0.0.2 or ::1, got "
            "\"127.0.0.2:80\"");
  EXPECT_EQ(firstError(load("{type: tcp, interval: 5s, backoff: {max: 2s}}")),
            "hc.yaml:3:60: max: backoff limit 2s is shorter than interval 5s");
}

TEST(HealthSectionsConfig, EscapesDecode) {
  std::string error;
  EXPECT_EQ(decodeEscapes("a\\x41\\\\\\t", error), std::optional<std::string>("aA\\\t"));
  EXPECT_FALSE(decodeEscapes("\\x4", error));
  EXPECT_EQ(error, "\\x needs two hex digits");
  EXPECT_FALSE(decodeEscapes("end\\", error));
}

}  // namespace
}  // namespace ballast::config
