// tests/unit/config/acl_config_test.cpp — ACL files (allow, deny, bare prefixes, comments, errors
// at the file's own line:column) and the acl and deny keys of listeners and routes.
#include <gtest/gtest.h>

#include <string>

#include "config/acl_sections.h"
#include "config/loader.h"

namespace ballast::config {
namespace {

net::SocketAddress at(const std::string& ip) { return *net::SocketAddress::parse(ip + ":1"); }

TEST(AclFileTest, ReadsAllowDenyAndBarePrefixes) {
  std::vector<AclFileError> errors;
  const auto entries = parseAclFile(
      "# block list\n10.0.0.0/8\n  deny 192.0.2.1  # one host\nallow 2001:db8::/32\n\n", &errors);
  EXPECT_TRUE(errors.empty());
  ASSERT_EQ(entries.size(), 3U);
  EXPECT_FALSE(entries[0].allow);
  EXPECT_FALSE(entries[1].allow);
  EXPECT_EQ(entries[1].cidr.toString(), "192.0.2.1/32");
  EXPECT_TRUE(entries[2].allow);
}

TEST(AclFileTest, ReportsEachBadLineWithItsPosition) {
  std::vector<AclFileError> errors;
  const auto entries = parseAclFile("10.0.0.0/8\n  permit 1.2.3.4\nallow 300.1.1.1\n", &errors);
  EXPECT_EQ(entries.size(), 1U);
  ASSERT_EQ(errors.size(), 2U);
  EXPECT_EQ(errors[0].line, 2);
  EXPECT_EQ(errors[0].column, 3);
  EXPECT_NE(errors[0].message.find("permit"), std::string::npos);
  EXPECT_EQ(errors[1].line, 3);
}

TEST(AclConfigTest, ListenerAndRouteRules) {
  const LoadResult r = loadConfigText(R"(listeners:
  - name: web
    bind: "127.0.0.1:8080"
    protocol: http
    pool: app
    acl: {allow: [10.0.0.0/8, "::1"], deny: [10.9.0.0/16]}
    routes:
      - {name: admin, match: {path: {prefix: /admin}}, acl: {allow: [10.1.0.0/16]}, pool: app}
      - {name: gone, match: {path: {prefix: /old}}, deny: 410}
      - {name: no, match: {path: {prefix: /no}}, deny: true}
pools:
  - {name: app, backends: [{address: "127.0.0.1:9001"}]}
)",
                                      "a.yaml");
  ASSERT_NE(r.config, nullptr) << (r.errors.empty() ? "" : r.errors[0].format());
  const auto& acl = r.config->listeners[0].acl;
  EXPECT_TRUE(acl.admits(at("10.1.2.3")));
  EXPECT_FALSE(acl.admits(at("10.9.2.3")));   // deny wins
  EXPECT_FALSE(acl.admits(at("192.0.2.1")));  // not on the allow list
  const auto& routes = r.config->listeners[0].http.routes;
  EXPECT_FALSE(routes[0].acl.admits(at("10.2.0.1")));
  EXPECT_EQ(routes[1].deny_status, 410);
  EXPECT_EQ(routes[2].deny_status, 403);
  EXPECT_TRUE(routes[1].pool.empty());
}

TEST(AclConfigTest, Errors) {
  const LoadResult r = loadConfigText(R"(listeners:
  - name: l4
    bind: "127.0.0.1:8080"
    pool: app
    acl: {allow: [10.0.0.0/33], files: [/nonexistent/acl.txt]}
pools:
  - {name: app, backends: [{address: "127.0.0.1:9001"}]}
)",
                                      "a.yaml");
  ASSERT_EQ(r.errors.size(), 2U);
  EXPECT_EQ(r.errors[0].format(),
            "a.yaml:5:19: allow: \"10.0.0.0/33\" is not an address or prefix (10.0.0.0/8, "
            "2001:db8::/32)");
  EXPECT_NE(r.errors[1].message.find("cannot read /nonexistent/acl.txt"), std::string::npos);
}

}  // namespace
}  // namespace ballast::config
