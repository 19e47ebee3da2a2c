// src/config/outlier_sections.cpp — a pool's `outlier_detection:` mapping: which failures in a
// row eject a backend, for how long, how much of the pool may be out, and the success-rate test.
#include <array>
#include <charconv>
#include <optional>
#include <string>
#include <string_view>

#include "config/limits.h"
#include "config/sections.h"
#include "config/units.h"

namespace ballast::config {
namespace {

using namespace std::string_view_literals;

constexpr std::array kOutlierKeys = {
    "consecutive_5xx"sv,   "consecutive_gateway_failure"sv, "interval"sv,    "base_ejection_time"sv,
    "max_ejection_time"sv, "max_ejection_percent"sv,        "success_rate"sv};
constexpr std::array kSuccessRateKeys = {"min_hosts"sv, "min_requests"sv, "stdev_factor"sv};
constexpr double kPercent = 100.0;
constexpr double kHalf = 0.5;

// A plain decimal like 1.9 (Envoy writes it ×1000 as 1900; we keep the number people mean).
std::optional<double> readStdevFactor(FileReader& file, const Field& field) {
  constexpr std::string_view kExpected = "a number from 0.1 to 10 like 1.9";
  const auto text = readScalar(file, field, kExpected);
  if (!text) {
    return std::nullopt;
  }
  double value = 0;
  const auto* end = text->data() + text->size();
  const auto [ptr, ec] = std::from_chars(text->data(), end, value);
  if (ec != std::errc() || ptr != end || !(value >= kMinOutlierStdevFactor) ||
      value > kMaxOutlierStdevFactor) {
    reportExpected(file, field, kExpected, quote(*text));
    return std::nullopt;
  }
  return value;
}

void readSuccessRate(FileReader& file, const Field& field, OutlierDetection& out) {
  const MapReader map(file, field, "success_rate", kSuccessRateKeys);
  if (!map.ok()) {
    return;
  }
  out.success_rate = true;
  if (const Field* f = map.find("min_hosts")) {
    assign(out.success_rate_min_hosts, readUnsigned(file, *f, 1, kMaxOutlierHosts));
  }
  if (const Field* f = map.find("min_requests")) {
    assign(out.success_rate_min_requests, readUnsigned(file, *f, 1, kMaxOutlierRequests));
  }
  if (const Field* f = map.find("stdev_factor")) {
    assign(out.success_rate_stdev_factor, readStdevFactor(file, *f));
  }
}

}  // namespace

void readOutlierDetection(FileReader& file, const Field& field, OutlierDetection& out) {
  const MapReader map(file, field, "outlier_detection", kOutlierKeys);
  if (!map.ok()) {
    return;
  }
  out.enabled = true;
  if (const Field* f = map.find("consecutive_5xx")) {
    assign(out.consecutive_5xx, readUnsigned(file, *f, 0, kMaxOutlierConsecutive));
  }
  if (const Field* f = map.find("consecutive_gateway_failure")) {
    assign(out.consecutive_gateway_failures, readUnsigned(file, *f, 0, kMaxOutlierConsecutive));
  }
  if (const Field* f = map.find("interval")) {
    assign(out.interval, readDuration(file, *f, /*positive=*/true));
  }
  if (const Field* f = map.find("base_ejection_time")) {
    assign(out.base_ejection_time, readDuration(file, *f, /*positive=*/true));
  }
  if (const Field* f = map.find("max_ejection_time")) {
    const auto max = readDuration(file, *f, /*positive=*/true);
    if (max && *max < out.base_ejection_time) {
      file.error(f->valueMark(), "max_ejection_time: " + formatDuration(*max) +
                                     " is shorter than base_ejection_time " +
                                     formatDuration(out.base_ejection_time));
    } else {
      assign(out.max_ejection_time, max);
    }
  }
  if (const Field* f = map.find("max_ejection_percent")) {
    if (const auto share = readFraction(file, *f, 1.0)) {
      out.max_ejection_percent = static_cast<uint32_t>(*share * kPercent + kHalf);
    }
  }
  if (const Field* f = map.find("success_rate")) {
    readSuccessRate(file, *f, out);
  }
}

}  // namespace ballast::config
