// tests/unit/policy/http_date_test.cpp — the three HTTP-date forms read to the same instant,
// near misses refused, and formatting back to IMF-fixdate.
#include "policy/http_date.h"

#include <gtest/gtest.h>

#include <string>

namespace ballast::policy {
namespace {

constexpr int64_t kRfcExample = 784111777;  // Sun, 06 Nov 1994 08:49:37 GMT (RFC 9110 §5.6.7)

TEST(HttpDate, ReadsAllThreeForms) {
  EXPECT_EQ(parseHttpDate("Sun, 06 Nov 1994 08:49:37 GMT"), kRfcExample);
  EXPECT_EQ(parseHttpDate("Sunday, 06-Nov-94 08:49:37 GMT"), kRfcExample);
  EXPECT_EQ(parseHttpDate("Sun Nov  6 08:49:37 1994"), kRfcExample);
  EXPECT_EQ(parseHttpDate("Thu, 01 Jan 1970 00:00:00 GMT"), 0);
  EXPECT_EQ(parseHttpDate("Monday, 01-Jan-24 00:00:00 GMT"), 1704067200);
}

TEST(HttpDate, RefusesNearMisses) {
  for (const char* bad :
       {"", "0", "-1", "Sun, 06 Nov 1994 08:49:37", "Sun, 6 Nov 1994 08:49:37 GMT",
        "Sun, 06 Nov 1994 08:49:37 UTC", "Sun, 06 Foo 1994 08:49:37 GMT",
        "Sun, 06 Nov 1994 25:49:37 GMT", "Sun, 00 Nov 1994 08:49:37 GMT",
        "Sun, 06 Nov 1994 08:49:37 GMT ", "Sun Nov 6 08:49:37 94"}) {
    EXPECT_FALSE(parseHttpDate(bad).has_value()) << bad;
  }
}

TEST(HttpDate, FormatsImfFixdateThatReadsBack) {
  std::string out;
  formatHttpDate(kRfcExample, out);
  EXPECT_EQ(out, "Sun, 06 Nov 1994 08:49:37 GMT");
  EXPECT_EQ(parseHttpDate(out), kRfcExample);
}

}  // namespace
}  // namespace ballast::policy
