// tests/unit/policy/cache_control_test.cpp — Cache-Control as the proxy reads it: every
// directive the cache and compression use, quoting, repeats and malformed values.
#include "policy/cache_control.h"

#include <gtest/gtest.h>

#include <string_view>
#include <vector>

namespace ballast::policy {
namespace {

CacheDirectives parse(std::vector<std::string_view> fields) { return parseCacheControl(fields); }

TEST(CacheControl, ReadsEachDirective) {
  const auto d = parse({"public, max-age=60, s-maxage=30, must-revalidate, no-transform",
                        "stale-while-revalidate=5, stale-if-error=600, proxy-revalidate"});
  EXPECT_TRUE(d.public_);
  EXPECT_EQ(d.max_age, 60U);
  EXPECT_EQ(d.s_maxage, 30U);
  EXPECT_TRUE(d.must_revalidate);
  EXPECT_TRUE(d.proxy_revalidate);
  EXPECT_TRUE(d.no_transform);
  EXPECT_EQ(d.stale_while_revalidate, 5U);
  EXPECT_EQ(d.stale_if_error, 600U);
  EXPECT_FALSE(d.no_store);
  EXPECT_FALSE(d.malformed);
  const auto e = parse({"No-Store, PRIVATE=\"Set-Cookie, X-A\", no-cache=\"X-B\""});
  EXPECT_TRUE(e.no_store);
  EXPECT_TRUE(e.private_);
  EXPECT_TRUE(e.no_cache);
}

TEST(CacheControl, QuotedDeltaIsToleratedAndTheLowestRepeatWins) {
  EXPECT_EQ(parse({"max-age=\"120\""}).max_age, 120U);
  EXPECT_EQ(parse({"max-age=300, max-age=100"}).max_age, 100U);
}

TEST(CacheControl, HugeValuesAreCappedAndBadOnesIgnored) {
  EXPECT_EQ(parse({"max-age=99999999999999999999999"}).max_age, 2147483648U);
  const auto d = parse({"max-age=-1, s-maxage=ten, max-age, no-store"});
  EXPECT_FALSE(d.max_age);
  EXPECT_FALSE(d.s_maxage);
  EXPECT_TRUE(d.malformed);
  EXPECT_TRUE(d.no_store);
}

TEST(CacheControl, CommasInsideQuotesDoNotSplit) {
  const auto d = parse({"private=\"a, no-store\", max-age=5"});
  EXPECT_FALSE(d.no_store);
  EXPECT_EQ(d.max_age, 5U);
  EXPECT_FALSE(parse({"ext=\"\\\"no-store,\""}).no_store);
}

}  // namespace
}  // namespace ballast::policy
