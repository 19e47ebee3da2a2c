// tests/unit/cache/freshness_test.cpp — RFC 9111 decisions for a shared cache: what may be
// stored, for how long, the corrected age, and conditional requests.
#include "cache/freshness.h"

#include <gtest/gtest.h>

#include <vector>

namespace ballast::cache {
namespace {

namespace h1 = proto::http1;

constexpr int64_t kNow = 1764928800;  // Fri, 05 Dec 2025 10:00:00 GMT

ResponseFreshness assess(uint16_t status, std::vector<h1::Header> fields, bool auth = false,
                         bool heuristic = false) {
  return assessResponse(status, fields, auth, heuristic, kNow);
}

TEST(Freshness, ExplicitLifetimes) {
  EXPECT_EQ(assess(200, {{"Cache-Control", "max-age=60"}}).lifetime_s, 60U);
  const auto s = assess(200, {{"Cache-Control", "max-age=60, s-maxage=5"}});
  EXPECT_EQ(s.lifetime_s, 5U);  // a shared cache takes s-maxage first
  EXPECT_TRUE(s.must_revalidate);
  const auto e = assess(200, {{"Date", "Fri, 05 Dec 2025 10:00:00 GMT"},
                              {"Expires", "Fri, 05 Dec 2025 10:01:40 GMT"}});
  EXPECT_TRUE(e.storable);
  EXPECT_EQ(e.lifetime_s, 100U);
  // max-age wins over Expires.
  EXPECT_EQ(
      assess(200, {{"Expires", "Fri, 05 Dec 2025 11:00:00 GMT"}, {"Cache-Control", "max-age=7"}})
          .lifetime_s,
      7U);
}

TEST(Freshness, NotStored) {
  EXPECT_EQ(assess(200, {{"Cache-Control", "no-store, max-age=60"}}).why_not, "no-store");
  EXPECT_EQ(assess(200, {{"Cache-Control", "private, max-age=60"}}).why_not, "private");
  EXPECT_EQ(assess(200, {{"Cache-Control", "max-age=60"}, {"Set-Cookie", "a=b"}}).why_not,
            "Set-Cookie");
  EXPECT_EQ(assess(200, {{"Cache-Control", "max-age=60"}, {"Vary", "*"}}).why_not, "Vary: *");
  EXPECT_EQ(assess(206, {{"Cache-Control", "max-age=60"}}).why_not, "status");
  EXPECT_EQ(assess(500, {{"Cache-Control", "max-age=60"}}).why_not, "status");
  EXPECT_FALSE(assess(200, {}).storable);  // nothing says how long
  // An invalid Expires is in the past, and without a validator not worth keeping.
  EXPECT_FALSE(assess(200, {{"Expires", "0"}}).storable);
  EXPECT_TRUE(assess(200, {{"Expires", "0"}, {"ETag", "\"a\""}}).storable);
}

TEST(Freshness, AuthorizedRequestsNeedADirectiveThatShares) {
  EXPECT_EQ(assess(200, {{"Cache-Control", "max-age=60"}}, true).why_not, "Authorization");
  EXPECT_TRUE(assess(200, {{"Cache-Control", "public, max-age=60"}}, true).storable);
  EXPECT_TRUE(assess(200, {{"Cache-Control", "s-maxage=60"}}, true).storable);
}

TEST(Freshness, HeuristicOnlyWhenAskedAndCappedAtADay) {
  const std::vector<h1::Header> lm = {{"Date", "Fri, 05 Dec 2025 10:00:00 GMT"},
                                      {"Last-Modified", "Thu, 04 Dec 2025 10:00:00 GMT"}};
  EXPECT_FALSE(assess(200, lm).storable);
  EXPECT_EQ(assess(200, lm, false, true).lifetime_s, 8640U);  // 10% of a day
  const std::vector<h1::Header> old = {{"Date", "Fri, 05 Dec 2025 10:00:00 GMT"},
                                       {"Last-Modified", "Mon, 01 Jan 2024 00:00:00 GMT"}};
  EXPECT_EQ(assess(200, old, false, true).lifetime_s, 86400U);
}

TEST(Freshness, NoCacheIsStoredButAlwaysValidated) {
  const auto r = assess(200, {{"Cache-Control", "no-cache"}, {"ETag", "\"v\""}});
  EXPECT_TRUE(r.storable);
  EXPECT_TRUE(r.no_cache);
  EXPECT_EQ(r.etag, "\"v\"");
}

TEST(Freshness, CorrectedInitialAge) {
  // Age field plus the time the response took.
  EXPECT_EQ(initialAge(std::vector<h1::Header>{{"Age", "30"}}, 1000000, 1003000), 33U);
  // An old Date makes the apparent age win.
  const std::vector<h1::Header> dated = {{"Date", "Fri, 05 Dec 2025 09:59:00 GMT"}};
  EXPECT_EQ(initialAge(dated, kNow * 1000, kNow * 1000), 60U);
  EXPECT_EQ(initialAge(std::vector<h1::Header>{{"Age", "x1"}}, 0, 0), 0U);
}

TEST(Freshness, Conditionals) {
  EXPECT_TRUE(notModified({"\"a\", W/\"b\"", ""}, "\"b\"", ""));
  EXPECT_TRUE(notModified({"*", ""}, "\"b\"", ""));
  EXPECT_FALSE(notModified({"\"a\"", ""}, "\"b\"", ""));
  EXPECT_FALSE(notModified({"\"a\"", ""}, "", "Thu, 04 Dec 2025 10:00:00 GMT"));
  // If-None-Match decides alone when present.
  EXPECT_FALSE(notModified({"\"x\"", "Fri, 05 Dec 2025 10:00:00 GMT"}, "\"b\"",
                           "Thu, 04 Dec 2025 10:00:00 GMT"));
  EXPECT_TRUE(
      notModified({"", "Fri, 05 Dec 2025 10:00:00 GMT"}, "", "Thu, 04 Dec 2025 10:00:00 GMT"));
  EXPECT_FALSE(
      notModified({"", "Wed, 03 Dec 2025 10:00:00 GMT"}, "", "Thu, 04 Dec 2025 10:00:00 GMT"));
  EXPECT_FALSE(notModified({"", "garbage"}, "", "Thu, 04 Dec 2025 10:00:00 GMT"));
}

}  // namespace
}  // namespace ballast::cache
