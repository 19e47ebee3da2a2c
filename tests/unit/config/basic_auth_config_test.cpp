// tests/unit/config/basic_auth_config_test.cpp — `basic_auth:` of listeners and routes: the
// users file read at load, `off` on a route, and errors at file:line:column (a weak hash in the
// users file points into that file; an unknown key, a bad realm and a missing file into the
// config).
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <string>

#include "config/loader.h"
#include "policy/htpasswd.h"

namespace ballast::config {
namespace {

std::string usersFile(const std::string& text) {
  std::string path = ::testing::TempDir() + "basic_auth_users_XXXXXX";
  const int fd = mkstemp(path.data());
  EXPECT_GE(fd, 0);
  close(fd);
  std::ofstream(path) << text;
  return path;
}

std::string configWith(const std::string& listener_auth, const std::string& route_auth) {
  return R"(listeners:
  - name: web
    bind: "127.0.0.1:8080"
    protocol: http
    pool: app
    basic_auth: )" +
         listener_auth + R"(
    routes:
      - name: open
        match: {path: /healthz}
        pool: app
        basic_auth: )" +
         route_auth + R"(
pools:
  - {name: app, backends: [{address: "127.0.0.1:9001"}]}
)";
}

TEST(BasicAuthConfigTest, ListenerAndRouteOff) {
  const std::string users =
      usersFile("alice:$2y$04$v/DkC9WnVm.2lidYxsnS.OQT7LPV6jkFPhH92ouR8hHe9Bbeydmqa\n");
  const LoadResult r = loadConfigText(
      configWith("{users_file: " + users + ", realm: staff, forward_credentials: true}", "off"),
      "a.yaml");
  ASSERT_NE(r.config, nullptr) << (r.errors.empty() ? "" : r.errors[0].format());
  const auto& l = r.config->listeners[0];
  EXPECT_TRUE(l.http.basic_auth.enabled);
  EXPECT_EQ(l.http.basic_auth.realm, "staff");
  EXPECT_TRUE(l.http.basic_auth.forward_credentials);
  EXPECT_EQ(l.http.basic_auth.users_file, users);
  ASSERT_NE(l.http.basic_auth.users, nullptr);
  EXPECT_NE(l.http.basic_auth.users->find("alice"), nullptr);
  ASSERT_TRUE(l.http.routes[0].basic_auth.has_value());
  EXPECT_FALSE(l.http.routes[0].basic_auth->enabled);
}

TEST(BasicAuthConfigTest, Errors) {
  const std::string users = usersFile("# weak\nold:$apr1$HZnKTaln$zcuUvkVKWgbvW3dXL5AXR1\n");
  const LoadResult r = loadConfigText(
      configWith("{users_file: " + users + ", realm: \"a\\\"b\"}", "{realm: x, user: y}"),
      "a.yaml");
  ASSERT_EQ(r.errors.size(), 4U);
  const std::string quoted_realm_at = "a.yaml:6:" + std::to_string(39 + users.size());
  EXPECT_EQ(r.errors[0].format(),
            quoted_realm_at + ": realm: 1 to 128 bytes, without quotes or backslashes");
  EXPECT_EQ(r.errors[1].format(),
            "a.yaml:11:21: basic_auth is missing required key \"users_file\"");
  EXPECT_EQ(r.errors[2].format(),
            "a.yaml:11:32: unknown key \"user\" in basic_auth; allowed keys: realm, users_file, "
            "forward_credentials");
  EXPECT_EQ(r.errors[3].format().substr(0, users.size() + 5), users + ":2:5:");
  EXPECT_NE(r.errors[3].message.find("users_file: user \"old\": MD5-apr1 hashes"),
            std::string::npos)
      << r.errors[3].message;
}

TEST(BasicAuthConfigTest, JwtOnAuthorizationClashes) {
  const std::string users =
      usersFile("alice:$2y$04$v/DkC9WnVm.2lidYxsnS.OQT7LPV6jkFPhH92ouR8hHe9Bbeydmqa\n");
  const std::string jwks = usersFile(
      R"({"keys": [{"kty": "oct", "kid": "k", "k": "c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0MTI"}]})");
  const LoadResult r = loadConfigText(R"(listeners:
  - name: web
    bind: "127.0.0.1:8080"
    protocol: http
    pool: app
    jwt: {jwks_file: )" + jwks + R"(, algorithms: [HS256]}
    routes:
      - name: staff
        match: {path: /staff}
        pool: app
        basic_auth: {users_file: )" + users +
                                          R"(}
      - name: ok
        match: {path: /ok}
        pool: app
        jwt: off
        basic_auth: {users_file: )" + users +
                                          R"(}
pools:
  - {name: app, backends: [{address: "127.0.0.1:9001"}]}
)",
                                      "a.yaml");
  ASSERT_EQ(r.errors.size(), 1U);
  EXPECT_EQ(r.errors[0].format(),
            "a.yaml:2:11: listener \"web\": jwt (Authorization: Bearer) and basic_auth both apply "
            "to route \"staff\", which one Authorization field cannot pass; read the token from "
            "jwt.from: header:NAME or cookie:NAME, or turn one off there");
}

}  // namespace
}  // namespace ballast::config
