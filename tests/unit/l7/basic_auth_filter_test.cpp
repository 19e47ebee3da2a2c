// tests/unit/l7/basic_auth_filter_test.cpp — Authorization: Basic parsing (scheme case, padding,
// garbage base64, no colon, control bytes) and the filter's answers: 401 with the Basic
// challenge for missing, malformed, unknown and wrong credentials, counted by outcome; a pass
// drops Authorization unless forward_credentials; a route's `basic_auth: off` opens it.
#include "l7/basic_auth_filter.h"

#include <gtest/gtest.h>

#include <memory>
#include <vector>

namespace ballast::l7 {
namespace {

constexpr const char* kBcrypt = "$2y$04$v/DkC9WnVm.2lidYxsnS.OQT7LPV6jkFPhH92ouR8hHe9Bbeydmqa";

TEST(BasicCredentialsTest, Parses) {
  // "alice:wonder:land" — the password may hold a colon.
  auto c = parseBasicCredentials("Basic YWxpY2U6d29uZGVyOmxhbmQ=");
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->user, "alice");
  EXPECT_EQ(c->password, "wonder:land");
  c = parseBasicCredentials("  bAsIc   YWxpY2U6d29uZGVyOmxhbmQ  ");  // unpadded, any case
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->password, "wonder:land");
  c = parseBasicCredentials("Basic YTo=");  // "a:" — an empty password is a password
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->password, "");
  EXPECT_FALSE(parseBasicCredentials("Bearer YWxpY2U6eA==").has_value());
  EXPECT_FALSE(parseBasicCredentials("Basic").has_value());
  EXPECT_FALSE(parseBasicCredentials("Basic !!!notbase64").has_value());
  EXPECT_FALSE(parseBasicCredentials("Basic YWxpY2U").has_value());       // "alice": no colon
  EXPECT_FALSE(parseBasicCredentials("Basic OmFsaWNl").has_value());      // ":alice": no user
  EXPECT_FALSE(parseBasicCredentials("Basic YQ0KOmI=").has_value());      // "a\r\n:b"
  EXPECT_FALSE(parseBasicCredentials("Basic YWxpY2U6eA=x").has_value());  // '=' inside
  EXPECT_FALSE(
      parseBasicCredentials("Basic " + std::string(kMaxBasicCredentialBytes + 4, 'Q')).has_value());
}

class BasicAuthFilterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto users = std::make_shared<policy::HtpasswdUsers>();
    users->entries.emplace_back("alice", kBcrypt);
    listener_.name = "web";
    listener_.http.basic_auth.enabled = true;
    listener_.http.basic_auth.realm = "staff";
    listener_.http.basic_auth.users = users;
    config::Route open;
    open.name = "open";
    open.basic_auth.emplace();  // enabled = false: `basic_auth: off`
    listener_.http.routes.push_back(open);
  }

  Verdict run(const std::string& authorization, const config::Route* route = nullptr) {
    headers_.clear();
    if (!authorization.empty()) {
      headers_.push_back({"Authorization", authorization});
    }
    RequestView req;
    req.method = "GET";
    req.target = "/";
    req.headers = headers_;
    ex_ = Exchange{};
    ex_.route_config = route;
    if (!filter_) {
      filter_ = std::make_unique<BasicAuthFilter>(listener_, counters_);
    }
    return filter_->onRequest(ex_, req, *net::SocketAddress::parse("127.0.0.1:1"));
  }
  uint64_t count(BasicAuthResult r) {
    return counters_.basic_auth_requests_total[static_cast<size_t>(r)].value();
  }

  config::Listener listener_;
  metrics::ListenerCounters counters_;
  std::unique_ptr<BasicAuthFilter> filter_;
  std::vector<proto::http1::Header> headers_;
  Exchange ex_;
};

TEST_F(BasicAuthFilterTest, RefusalsAnswer401WithChallenge) {
  for (const auto& [header, result] : std::vector<std::pair<std::string, BasicAuthResult>>{
           {"", BasicAuthResult::kMissing},
           {"Basic %%%", BasicAuthResult::kMalformed},
           {"Bearer abc", BasicAuthResult::kMalformed},
           {"Basic Ym9iOndvbmRlcmxhbmQ=", BasicAuthResult::kUnknownUser},  // bob:wonderland
           {"Basic YWxpY2U6d3Jvbmc=", BasicAuthResult::kBadPassword}}) {   // alice:wrong
    const uint64_t before = count(result);
    const Verdict v = run(header);
    EXPECT_EQ(v.status, 401) << header;
    EXPECT_EQ(ex_.answer_fields, "WWW-Authenticate: Basic realm=\"staff\", charset=\"UTF-8\"\r\n");
    EXPECT_EQ(count(result), before + 1) << header;
    EXPECT_TRUE(ex_.drop_fields.empty());
  }
  EXPECT_EQ(count(BasicAuthResult::kOk), 0U);
}

TEST_F(BasicAuthFilterTest, PassDropsCredentialsUnlessForwarded) {
  const std::string good = "Basic YWxpY2U6d29uZGVybGFuZA==";  // alice:wonderland
  EXPECT_TRUE(run(good).proceed());
  ASSERT_EQ(ex_.drop_fields.size(), 1U);
  EXPECT_EQ(ex_.drop_fields[0], "authorization");
  // Again: served from the cache, with the same outcome; a wrong password still fails after.
  EXPECT_TRUE(run(good).proceed());
  EXPECT_EQ(run("Basic YWxpY2U6d29uZGVybGFuZQ==").status, 401);  // alice:wonderlane
  EXPECT_EQ(count(BasicAuthResult::kOk), 2U);
  EXPECT_EQ(count(BasicAuthResult::kBadPassword), 1U);
  listener_.http.basic_auth.forward_credentials = true;
  filter_.reset();
  EXPECT_TRUE(run(good).proceed());
  EXPECT_TRUE(ex_.drop_fields.empty());
}

TEST_F(BasicAuthFilterTest, RouteOffOpensIt) {
  EXPECT_TRUE(run("", &listener_.http.routes[0]).proceed());
  EXPECT_EQ(count(BasicAuthResult::kMissing), 0U);
}

}  // namespace
}  // namespace ballast::l7
