// tests/unit/l7/rate_limit_filter_test.cpp — rate-limit keys (IPv6 grouped by prefix, IPv4-mapped
// as IPv4, header, cookie, path and tuples, a missing part) and the filter's 429 answer with an
// injected clock.
#include "l7/rate_limit_filter.h"

#include <gtest/gtest.h>

#include <vector>

namespace ballast::l7 {
namespace {

net::SocketAddress at(const std::string& text) { return *net::SocketAddress::parse(text); }

config::RateLimitRule rule(std::vector<config::RateKeyPart> key) {
  config::RateLimitRule r;
  r.name = "r";
  r.key = std::move(key);
  r.rate = 2;
  r.burst = 2;
  r.id = 7;
  return r;
}

TEST(RateLimitKeyTest, SourceIpGroupsIpv6ByPrefix) {
  auto r = rule({{config::RateKeyKind::kSourceIp, {}}});
  const RequestView req;
  EXPECT_EQ(rateLimitKey(r, req, at("[2001:db8:1:2::1]:1")),
            rateLimitKey(r, req, at("[2001:db8:1:2:ffff::9]:2")));  // same /64
  EXPECT_NE(rateLimitKey(r, req, at("[2001:db8:1:2::1]:1")),
            rateLimitKey(r, req, at("[2001:db8:1:3::1]:1")));
  r.ipv6_prefix = 48;
  EXPECT_EQ(rateLimitKey(r, req, at("[2001:db8:1:2::1]:1")),
            rateLimitKey(r, req, at("[2001:db8:1:3::1]:1")));
  EXPECT_EQ(rateLimitKey(r, req, at("[::ffff:192.0.2.1]:1")),
            rateLimitKey(r, req, at("192.0.2.1:5")));
  EXPECT_NE(rateLimitKey(r, req, at("192.0.2.1:1")), rateLimitKey(r, req, at("192.0.2.2:1")));
  r.ipv4_prefix = 24;
  EXPECT_EQ(rateLimitKey(r, req, at("192.0.2.1:1")), rateLimitKey(r, req, at("192.0.2.2:1")));
}

TEST(RateLimitKeyTest, HeaderCookiePathTuple) {
  const auto r = rule({{config::RateKeyKind::kHeader, "x-api-key"},
                       {config::RateKeyKind::kCookie, "s"},
                       {config::RateKeyKind::kPath, {}}});
  const std::vector<proto::http1::Header> h1 = {{"X-Api-Key", "k1"}, {"Cookie", "a=1; s=abc"}};
  const std::vector<proto::http1::Header> h2 = {{"x-api-key", "k2"}, {"cookie", "s=abc"}};
  RequestView a;
  a.target = "/p?x=1";
  a.headers = h1;
  RequestView b = a;
  b.target = "/p?x=2";  // the query is not part of `path`
  const auto client = at("127.0.0.1:1");
  ASSERT_TRUE(rateLimitKey(r, a, client).has_value());
  EXPECT_EQ(rateLimitKey(r, a, client), rateLimitKey(r, b, client));
  b.headers = h2;
  EXPECT_NE(rateLimitKey(r, a, client), rateLimitKey(r, b, client));
  RequestView none;
  none.target = "/p";
  EXPECT_FALSE(rateLimitKey(r, none, client).has_value());  // no header: the rule skips it
}

TEST(RateLimitKeyTest, JwtClaimOrClientAddress) {
  const auto r = rule({{config::RateKeyKind::kJwtClaim, "sub"}});
  const RequestView req;
  const std::vector<std::pair<std::string_view, std::string>> alice = {{"sub", "alice"}};
  const std::vector<std::pair<std::string_view, std::string>> bob = {{"email", "x"},
                                                                     {"sub", "bob"}};
  const auto c1 = at("192.0.2.1:1");
  const auto c2 = at("192.0.2.2:1");
  // The claim, wherever the client connects from.
  EXPECT_EQ(rateLimitKey(r, req, c1, alice), rateLimitKey(r, req, c2, alice));
  EXPECT_NE(rateLimitKey(r, req, c1, alice), rateLimitKey(r, req, c1, bob));
  // No verified claim: the client's address, distinct from any claim's bucket.
  ASSERT_TRUE(rateLimitKey(r, req, c1).has_value());
  EXPECT_NE(rateLimitKey(r, req, c1), rateLimitKey(r, req, c2));
  EXPECT_NE(rateLimitKey(r, req, c1), rateLimitKey(r, req, c1, alice));
  const std::vector<std::pair<std::string_view, std::string>> other = {{"email", "x"}};
  EXPECT_EQ(rateLimitKey(r, req, c1, other), rateLimitKey(r, req, c1));
}

uint64_t fixedNow() { return 1'000'000'000; }

TEST(RateLimitFilterTest, ClaimRulesRunOnlyAfterJwt) {
  config::Listener listener;
  listener.name = "web";
  auto by_claim = rule({{config::RateKeyKind::kJwtClaim, "sub"}});
  by_claim.rate = 1;
  by_claim.burst = 1;
  listener.http.rate_limits.push_back(by_claim);
  policy::GcraTable table(1024);
  RateLimitFilter before(listener, table, &fixedNow);
  RateLimitFilter after(listener, table, &fixedNow, RateLimitStage::kAfterJwt);
  Exchange ex;
  const RequestView req;
  const auto client = at("198.18.0.1:1");
  for (int i = 0; i < 3; ++i) {
    EXPECT_TRUE(before.onRequest(ex, req, client).proceed());  // not its stage
  }
  ex.jwt_claims.emplace_back("sub", "alice");
  EXPECT_TRUE(after.onRequest(ex, req, client).proceed());
  EXPECT_EQ(after.onRequest(ex, req, client).status, 429);  // alice's bucket is empty
  ex.jwt_claims[0].second = "bob";
  EXPECT_TRUE(after.onRequest(ex, req, client).proceed());  // bob has his own
  ex.jwt_claims.clear();
  EXPECT_TRUE(after.onRequest(ex, req, client).proceed());  // no claim: the address's bucket
  EXPECT_EQ(after.onRequest(ex, req, client).status, 429);
}

TEST(RateLimitFilterTest, RefusesPastTheBurstWithFields) {
  config::Listener listener;
  listener.name = "web";
  listener.http.rate_limits.push_back(rule({{config::RateKeyKind::kSourceIp, {}}}));
  policy::GcraTable table(1024);
  RateLimitFilter filter(listener, table, &fixedNow);
  Exchange ex;
  const RequestView req;
  const auto client = at("198.18.0.1:1");
  EXPECT_TRUE(filter.onRequest(ex, req, client).proceed());
  EXPECT_TRUE(filter.onRequest(ex, req, client).proceed());
  const Verdict v = filter.onRequest(ex, req, client);
  EXPECT_EQ(v.status, 429);
  EXPECT_EQ(ex.answer_fields,
            "Retry-After: 1\r\nRateLimit-Policy: \"r\";q=2;w=1\r\nRateLimit: \"r\";r=0;t=1\r\n");
  EXPECT_EQ(listener.http.rate_limits[0].stats->limited_total.load(), 1U);
}

}  // namespace
}  // namespace ballast::l7
