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

uint64_t fixedNow() { return 1'000'000'000; }

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
