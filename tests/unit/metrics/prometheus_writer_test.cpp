// tests/unit/metrics/prometheus_writer_test.cpp — the text exposition format: HELP/TYPE lines,
// label and help escaping, exact integers past 2^53, special doubles, and histograms written by
// writeHistogram with cumulative buckets, _sum and _count.
#include "metrics/prometheus_writer.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <sstream>
#include <string>
#include <vector>

#include "metrics/proxy_metrics.h"

namespace ballast::metrics {
namespace {

std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    out.push_back(line);
  }
  return out;
}

TEST(PrometheusWriterTest, FamilyWritesHelpThenType) {
  PrometheusWriter w;
  w.family("ballast_x_total", "counter", "Things counted.");
  EXPECT_EQ(w.text(), "# HELP ballast_x_total Things counted.\n# TYPE ballast_x_total counter\n");
}

TEST(PrometheusWriterTest, HelpEscapesBackslashAndNewlineButNotQuotes) {
  PrometheusWriter w;
  w.family("m", "gauge", "a \"quoted\" C:\\path\nsecond line");
  EXPECT_EQ(lines(w.text())[0], R"(# HELP m a "quoted" C:\\path\nsecond line)");
}

TEST(PrometheusWriterTest, LabelValuesAreEscaped) {
  PrometheusWriter w;
  w.sampleInt("m", {{"a", "say \"hi\""}, {"b", "back\\slash"}, {"c", "two\nlines"}, {"d", ""}}, 1);
  EXPECT_EQ(w.text(), R"(m{a="say \"hi\"",b="back\\slash",c="two\nlines",d=""} 1)"
                      "\n");
}

TEST(PrometheusWriterTest, LabelValuesKeepUtf8AndOtherBytes) {
  PrometheusWriter w;
  w.sampleInt("m", {{"pool", "caf\xC3\xA9\t{x}=,"}}, 0);
  EXPECT_EQ(w.text(), "m{pool=\"caf\xC3\xA9\t{x}=,\"} 0\n");
}

TEST(PrometheusWriterTest, NoLabelsNoBraces) {
  PrometheusWriter w;
  w.sampleInt("m", {}, 7);
  w.sample("n", {}, 0.25);
  EXPECT_EQ(w.text(), "m 7\nn 0.25\n");
}

TEST(PrometheusWriterTest, IntegersAreExactPast2To53) {
  PrometheusWriter w;
  constexpr uint64_t kTwo53 = uint64_t{1} << 53;
  w.sampleInt("a", {}, kTwo53 + 1);  // a double would print 9007199254740992
  w.sampleInt("b", {}, std::numeric_limits<uint64_t>::max());
  w.sampleInt("c", {}, 0);
  EXPECT_EQ(lines(w.text()),
            (std::vector<std::string>{"a 9007199254740993", "b 18446744073709551615", "c 0"}));
}

TEST(PrometheusWriterTest, DoublesRoundTripAndSpecialValues) {
  PrometheusWriter w;
  w.sample("a", {}, 0.1);
  w.sample("b", {}, std::numeric_limits<double>::infinity());
  w.sample("c", {}, -std::numeric_limits<double>::infinity());
  w.sample("d", {}, std::nan(""));
  w.sample("e", {}, 1e-7);
  w.sample("f", {}, 3.0);
  const auto l = lines(w.text());
  ASSERT_EQ(l.size(), 6U);
  EXPECT_EQ(l[0], "a 0.1");
  EXPECT_EQ(l[1], "b +Inf");
  EXPECT_EQ(l[2], "c -Inf");
  EXPECT_EQ(l[3], "d NaN");
  EXPECT_EQ(std::stod(l[4].substr(2)), 1e-7);
  EXPECT_EQ(l[5], "f 3");
}

TEST(PrometheusWriterTest, TakeEmptiesTheWriter) {
  PrometheusWriter w;
  w.sampleInt("m", {}, 1);
  EXPECT_EQ(w.take(), "m 1\n");
  w.sampleInt("n", {}, 2);
  EXPECT_EQ(w.text(), "n 2\n");
}

TEST(PrometheusWriterTest, HistogramBucketsAreCumulative) {
  PrometheusWriter w;
  std::array<uint64_t, kLatencyBucketsUs.size() + 1> buckets{};
  buckets[0] = 2;                         // ≤ 1 ms
  buckets[2] = 3;                         // ≤ 5 ms
  buckets[kLatencyBucketsUs.size()] = 4;  // over the last bound: only in +Inf
  const uint64_t sum_us = 1'500'000;
  writeHistogram(w, "lat_seconds", {{"listener", "web"}}, buckets, sum_us);
  const auto l = lines(w.text());
  ASSERT_EQ(l.size(), kLatencyBucketsUs.size() + 1 + 2);
  EXPECT_EQ(l[0], R"(lat_seconds_bucket{listener="web",le="0.001"} 2)");
  EXPECT_EQ(l[1], R"(lat_seconds_bucket{listener="web",le="0.0025"} 2)");
  EXPECT_EQ(l[2], R"(lat_seconds_bucket{listener="web",le="0.005"} 5)");
  // Every later finite bound holds the same 5; +Inf holds all 9.
  uint64_t previous = 0;
  for (size_t i = 0; i < kLatencyBucketsUs.size(); ++i) {
    const auto& line = l[i];
    const uint64_t value = std::stoull(line.substr(line.rfind(' ') + 1));
    EXPECT_GE(value, previous) << line;
    previous = value;
    const auto le_start = line.find("le=\"") + 4;
    const double le = std::stod(line.substr(le_start, line.find('"', le_start) - le_start));
    EXPECT_DOUBLE_EQ(le, static_cast<double>(kLatencyBucketsUs[i]) / 1e6) << line;
    if (i >= 2) {
      EXPECT_EQ(value, 5U) << line;
    }
  }
  EXPECT_EQ(l[kLatencyBucketsUs.size()], R"(lat_seconds_bucket{listener="web",le="+Inf"} 9)");
  EXPECT_EQ(l[kLatencyBucketsUs.size() + 1], R"(lat_seconds_sum{listener="web"} 1.5)");
  EXPECT_EQ(l[kLatencyBucketsUs.size() + 2], R"(lat_seconds_count{listener="web"} 9)");
}

TEST(PrometheusWriterTest, EmptyHistogramIsAllZero) {
  PrometheusWriter w;
  const std::array<uint64_t, kLatencyBucketsUs.size() + 1> buckets{};
  writeHistogram(w, "h", {}, buckets, 0);
  const auto l = lines(w.text());
  ASSERT_EQ(l.size(), kLatencyBucketsUs.size() + 3);
  EXPECT_EQ(l[0], R"(h_bucket{le="0.001"} 0)");
  EXPECT_EQ(l[kLatencyBucketsUs.size()], R"(h_bucket{le="+Inf"} 0)");
  EXPECT_EQ(l[kLatencyBucketsUs.size() + 1], "h_sum 0");
  EXPECT_EQ(l[kLatencyBucketsUs.size() + 2], "h_count 0");
}

}  // namespace
}  // namespace ballast::metrics
