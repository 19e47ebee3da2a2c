// tests/unit/l7/rate_limit_filter_test.cpp — rate-limit keys (IPv6 grouped by prefix, IPv4-mapped
// as IPv4, header, cookie, path and tuples, a missing part) and the filter's 429 answer with an
// injected clock; a `store:` rule whose Redis cannot be reached falls back to on_store_error.
#include "l7/rate_limit_filter.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <thread>
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

// A loopback port nobody listens on: connecting is refused at once.
uint16_t closedPort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(sa);
  EXPECT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&sa), len), 0);
  EXPECT_EQ(getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len), 0);
  close(fd);
  return ntohs(sa.sin_port);
}

TEST(RateLimitFilterTest, UnreachableStoreFallsBackToOnStoreError) {
  const uint16_t port = closedPort();
  const auto client = at("198.18.0.1:1");
  const RequestView req;
  const auto make = [&](config::StoreFallback fallback, uint64_t id) {
    config::Listener listener;
    listener.name = "web";
    auto r = rule({{config::RateKeyKind::kSourceIp, {}}});
    r.id = id;
    r.store = {"127.0.0.1", port};
    r.on_store_error = fallback;
    listener.http.rate_limits.push_back(r);
    return listener;
  };
  const config::Listener allow = make(config::StoreFallback::kAllow, 1);
  const config::Listener deny = make(config::StoreFallback::kDeny, 2);
  const config::Listener local = make(config::StoreFallback::kLocal, 3);
  policy::GcraTable table(1024);
  RateLimitFilter allow_filter(allow, table, &fixedNow);
  RateLimitFilter deny_filter(deny, table, &fixedNow);
  RateLimitFilter local_filter(local, table, &fixedNow);
  // Readiness: the store thread's first connect is refused.
  const policy::RedisStore& store = policy::RedisStore::forEndpoint("127.0.0.1", port);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (store.up() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ASSERT_FALSE(store.up());
  Exchange ex;
  for (int i = 0; i < 5; ++i) {
    EXPECT_TRUE(allow_filter.onRequest(ex, req, client).proceed()) << i;
    EXPECT_EQ(deny_filter.onRequest(ex, req, client).status, 429) << i;
  }
  // local: this process's own bucket, burst 2.
  EXPECT_TRUE(local_filter.onRequest(ex, req, client).proceed());
  EXPECT_TRUE(local_filter.onRequest(ex, req, client).proceed());
  EXPECT_EQ(local_filter.onRequest(ex, req, client).status, 429);
  EXPECT_EQ(allow.http.rate_limits[0].stats->store_errors_total.load(), 5U);
  EXPECT_EQ(deny.http.rate_limits[0].stats->store_errors_total.load(), 5U);
  EXPECT_EQ(local.http.rate_limits[0].stats->store_errors_total.load(), 3U);
  EXPECT_EQ(store.outages(), 1U);
}

}  // namespace
}  // namespace ballast::l7
