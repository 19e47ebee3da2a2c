// tests/unit/config/units_test.cpp — durations, sizes and fractions, accepted and rejected.
#include "config/units.h"

#include <gtest/gtest.h>

namespace ballast::config {
namespace {

using std::chrono::hours;
using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;

TEST(ParseDurationTest, AcceptsUnitsAndCompounds) {
  const std::pair<const char*, Duration> cases[] = {
      {"500ms", milliseconds(500)},
      {"2s", seconds(2)},
      {"1m", minutes(1)},
      {"1h", hours(1)},
      {"1m30s", seconds(90)},
      {"1h2m3s4ms", hours(1) + minutes(2) + seconds(3) + milliseconds(4)},
      {"1h500ms", hours(1) + milliseconds(500)},
      {"0", Duration::zero()},
      {"0s", Duration::zero()},
      {"90s", seconds(90)},
      {"0005s", seconds(5)},
  };
  for (const auto& [text, expected] : cases) {
    const auto d = parseDuration(text);
    ASSERT_TRUE(d.has_value()) << text;
    EXPECT_EQ(*d, expected) << text;
  }
}

TEST(ParseDurationTest, RejectsMalformed) {
  const char* const cases[] = {"",
                               "5",
                               "s",
                               "5 s",
                               " 5s",
                               "5s ",
                               "-5s",
                               "+5s",
                               "1.5s",
                               "5sec",
                               "5S",
                               "5us",
                               "5D",
                               "30s1m",
                               "1m1m",
                               "1s1s",
                               "ms",
                               "1e3ms",
                               "0x10s",
                               "5s5",
                               "1ms1s",
                               "99999999999999999999ms",
                               "9999999999999999h"};
  for (const char* text : cases) {
    EXPECT_FALSE(parseDuration(text).has_value()) << text;
  }
}

TEST(FormatDurationTest, PrintsShortestFormThatParsesBack) {
  const std::pair<Duration, const char*> cases[] = {
      {Duration::zero(), "0s"},
      {milliseconds(500), "500ms"},
      {seconds(2), "2s"},
      {seconds(90), "1m30s"},
      {hours(1), "1h"},
      {milliseconds(1001), "1s1ms"},
      {hours(25) + seconds(1), "1d1h1s"},
      {hours(24 * 365), "365d"},
  };
  for (const auto& [d, text] : cases) {
    EXPECT_EQ(formatDuration(d), text);
    EXPECT_EQ(parseDuration(formatDuration(d)), d) << text;
  }
}

TEST(ParseSizeTest, AcceptsBinaryAndDecimalUnits) {
  constexpr uint64_t kKi = 1024;
  const std::pair<const char*, uint64_t> cases[] = {
      {"512", 512},
      {"0", 0},
      {"512B", 512},
      {"64KiB", 64 * kKi},
      {"1MiB", kKi * kKi},
      {"1GiB", kKi * kKi * kKi},
      {"2TiB", 2 * kKi * kKi * kKi * kKi},
      {"1KB", 1000},
      {"3MB", 3000000},
      {"1GB", 1000000000},
      {"1TB", 1000000000000ULL},
      {"18446744073709551615", UINT64_MAX},
  };
  for (const auto& [text, expected] : cases) {
    const auto s = parseSize(text);
    ASSERT_TRUE(s.has_value()) << text;
    EXPECT_EQ(*s, expected) << text;
  }
}

TEST(ParseSizeTest, RejectsMalformed) {
  const char* const cases[] = {"",
                               "KiB",
                               "64 KiB",
                               "64kib",
                               "64K",
                               "64k",
                               "-1",
                               "1.5MiB",
                               "64KiBs",
                               "1e3",
                               "0x10",
                               "64KiB ",
                               "18446744073709551616",
                               "17179869184GiB"};
  for (const char* text : cases) {
    EXPECT_FALSE(parseSize(text).has_value()) << text;
  }
}

TEST(ParseFractionTest, AcceptsPercentAndDecimal) {
  const std::pair<const char*, double> cases[] = {
      {"10%", 0.1}, {"0.1", 0.1}, {"0", 0.0}, {"0%", 0.0}, {"12.5%", 0.125}, {"1", 1.0},
  };
  for (const auto& [text, expected] : cases) {
    const auto f = parseFraction(text);
    ASSERT_TRUE(f.has_value()) << text;
    EXPECT_DOUBLE_EQ(*f, expected) << text;
  }
}

TEST(ParseFractionTest, RejectsMalformed) {
  const char* const cases[] = {"",    "%",   ".5",   "5.",   "-0.1",  "+0.1", "1e-1",
                               "inf", "nan", "10 %", "10%%", "0.1.2", "0x1"};
  for (const char* text : cases) {
    EXPECT_FALSE(parseFraction(text).has_value()) << text;
  }
}

TEST(ParseUnsignedTest, DigitsOnly) {
  EXPECT_EQ(parseUnsigned("0"), 0U);
  EXPECT_EQ(parseUnsigned("1024"), 1024U);
  EXPECT_FALSE(parseUnsigned("").has_value());
  EXPECT_FALSE(parseUnsigned("-1").has_value());
  EXPECT_FALSE(parseUnsigned("+1").has_value());
  EXPECT_FALSE(parseUnsigned("0x10").has_value());
  EXPECT_FALSE(parseUnsigned(" 1").has_value());
  EXPECT_FALSE(parseUnsigned("18446744073709551616").has_value());
}

}  // namespace
}  // namespace ballast::config
