// tests/unit/l7/forward_auth_cache_test.cpp — forward_auth's answer cache: answers expire at
// their deadline, a key is the whole subrequest, and a flood of distinct keys stays within the
// entry bound.
#include "l7/forward_auth_cache.h"

#include <gtest/gtest.h>

#include <string>

namespace ballast::l7 {
namespace {

ForwardAuthAnswer allowed(std::string user) {
  ForwardAuthAnswer a;
  a.status = 200;
  a.fields.emplace_back("x-user", std::move(user));
  return a;
}

TEST(ForwardAuthCacheTest, AnswersLiveUntilTheirDeadline) {
  ForwardAuthCache cache;
  cache.put("GET /check HTTP/1.1\r\nA: 1\r\n\r\n", allowed("alice"), 1'000, 0);
  const ForwardAuthAnswer* hit = cache.find("GET /check HTTP/1.1\r\nA: 1\r\n\r\n", 999);
  ASSERT_NE(hit, nullptr);
  EXPECT_TRUE(hit->allowed());
  EXPECT_EQ(hit->fields[0].second, "alice");
  EXPECT_EQ(cache.find("GET /check HTTP/1.1\r\nA: 2\r\n\r\n", 999), nullptr);    // another key
  EXPECT_EQ(cache.find("GET /check HTTP/1.1\r\nA: 1\r\n\r\n", 1'000), nullptr);  // expired
  EXPECT_EQ(cache.size(), 0U);                                                   // and gone
}

TEST(ForwardAuthCacheTest, RefusalsKeepTheirBody) {
  ForwardAuthCache cache;
  ForwardAuthAnswer no;
  no.status = 401;
  no.body = "login";
  no.content_type = "text/plain";
  cache.put("k", no, 10, 0);
  const ForwardAuthAnswer* hit = cache.find("k", 5);
  ASSERT_NE(hit, nullptr);
  EXPECT_FALSE(hit->allowed());
  EXPECT_EQ(hit->body, "login");
}

TEST(ForwardAuthCacheTest, AFloodOfKeysStaysBounded) {
  ForwardAuthCache cache;
  for (int i = 0; i < 100'000; ++i) {
    cache.put("key" + std::to_string(i), allowed("u"), 1'000'000, 0);
    ASSERT_LE(cache.size(), ForwardAuthCache::kMaxEntries);
  }
  // Expired entries make room before live ones are dropped.
  ForwardAuthCache c2;
  for (size_t i = 0; i + 1 < ForwardAuthCache::kMaxEntries; ++i) {
    c2.put("old" + std::to_string(i), allowed("u"), 10, 0);
  }
  c2.put("live", allowed("u"), 1'000, 0);
  c2.put("new", allowed("u"), 1'000, 20);  // full: the expired ones go, "live" stays
  EXPECT_NE(c2.find("live", 20), nullptr);
  EXPECT_NE(c2.find("new", 20), nullptr);
  EXPECT_EQ(c2.size(), 2U);
}

}  // namespace
}  // namespace ballast::l7
