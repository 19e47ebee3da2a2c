// tests/unit/config/config_json_test.cpp — the effective configuration as the admin API shows it
// (`GET /api/v1/config`, `ballast show config`): the access policies of listeners and routes are
// in it, and secrets are not (paths only).
#include "config/config_json.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <string>

#include "config/loader.h"

namespace ballast::config {
namespace {

std::string tempFile(const std::string& text) {
  std::string path = ::testing::TempDir() + "config_json_XXXXXX";
  const int fd = mkstemp(path.data());
  EXPECT_GE(fd, 0);
  close(fd);
  std::ofstream(path) << text;
  return path;
}

TEST(ConfigJsonTest, AccessPoliciesAreShownWithoutTheirSecrets) {
  const std::string users =
      tempFile("alice:$2y$04$v/DkC9WnVm.2lidYxsnS.OQT7LPV6jkFPhH92ouR8hHe9Bbeydmqa\n");
  const LoadResult r = loadConfigText(R"(listeners:
  - name: web
    bind: "127.0.0.1:8080"
    protocol: http
    pool: app
    acl: {deny: ["198.18.0.0/24"]}
    rate_limit: {name: per-client, key: source_ip, rate: 100/s, burst: 200}
    basic_auth: {users_file: )" + users + R"(, realm: staff}
    routes:
      - name: admin
        match: {path: /admin}
        pool: app
        acl: {allow: ["198.18.1.0/24"]}
        rate_limit: {key: [source_ip, "header:X-User"], rate: 10/m}
        basic_auth: off
pools:
  - {name: app, backends: [{address: "127.0.0.1:9001"}]}
)",
                                      "a.yaml");
  ASSERT_NE(r.config, nullptr) << (r.errors.empty() ? "" : r.errors[0].format());
  const nlohmann::json j = toJson(*r.config);
  const auto& l = j["listeners"][0];
  EXPECT_EQ(l["acl"]["deny"], nlohmann::json::array({"198.18.0.0/24"}));
  const auto& limit = l["http"]["rate_limits"][0];
  EXPECT_EQ(limit["name"], "per-client");
  EXPECT_EQ(limit["key"], nlohmann::json::array({"source_ip"}));
  EXPECT_EQ(limit["rate"], 100);
  EXPECT_EQ(limit["period_s"], 1);
  EXPECT_EQ(limit["burst"], 200);
  EXPECT_EQ(l["http"]["basic_auth"]["users_file"], users);
  EXPECT_EQ(l["http"]["basic_auth"]["realm"], "staff");
  EXPECT_EQ(l["http"]["jwt"]["enabled"], false);
  const auto& route = l["http"]["routes"][0];
  EXPECT_EQ(route["acl"]["allow"], nlohmann::json::array({"198.18.1.0/24"}));
  EXPECT_EQ(route["rate_limits"][0]["key"], nlohmann::json::array({"source_ip", "header:x-user"}));
  EXPECT_EQ(route["rate_limits"][0]["period_s"], 60);
  EXPECT_EQ(route["basic_auth"]["enabled"], false);
  // The password hashes never appear.
  EXPECT_EQ(j.dump().find("$2y$"), std::string::npos);
}

}  // namespace
}  // namespace ballast::config
