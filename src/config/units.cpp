// src/config/units.cpp — strict parsers for durations, sizes and fractions; anything they do
// not fully consume is rejected, so "5 s" or "1e3" never half-parses.
#include "config/units.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <limits>

namespace ballast::config {
namespace {

constexpr uint64_t kMsPerSecond = 1000;
constexpr uint64_t kSecondsPerMinute = 60;
constexpr uint64_t kMinutesPerHour = 60;
constexpr uint64_t kMsPerMinute = kMsPerSecond * kSecondsPerMinute;
constexpr uint64_t kMsPerHour = kMsPerMinute * kMinutesPerHour;
constexpr uint64_t kMaxDurationMs = static_cast<uint64_t>(std::numeric_limits<int64_t>::max());

constexpr uint64_t kKibi = 1024;
constexpr uint64_t kKilo = 1000;
constexpr double kPercent = 100.0;

struct Unit {
  std::string_view name;
  uint64_t factor;
};

// Largest first: a duration must list its parts in this order.
constexpr std::array<Unit, 5> kDurationUnits = {{
    {"d", 24 * kMsPerHour},  // HSTS ages and certificate lifetimes read best in days
    {"h", kMsPerHour},
    {"m", kMsPerMinute},
    {"s", kMsPerSecond},
    {"ms", 1},
}};

constexpr std::array<Unit, 9> kSizeUnits = {{
    {"B", 1},
    {"KiB", kKibi},
    {"MiB", kKibi* kKibi},
    {"GiB", kKibi* kKibi* kKibi},
    {"TiB", kKibi* kKibi* kKibi* kKibi},
    {"KB", kKilo},
    {"MB", kKilo* kKilo},
    {"GB", kKilo* kKilo* kKilo},
    {"TB", kKilo* kKilo* kKilo* kKilo},
}};

bool isDigit(char c) { return c >= '0' && c <= '9'; }
bool isLetter(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

// Splits off the leading run of characters satisfying pred.
template <typename Pred>
std::string_view takeWhile(std::string_view& text, Pred pred) {
  const auto end = std::find_if_not(text.begin(), text.end(), pred);
  const auto n = static_cast<size_t>(end - text.begin());
  const std::string_view head = text.substr(0, n);
  text.remove_prefix(n);
  return head;
}

std::optional<uint64_t> multiply(uint64_t a, uint64_t b, uint64_t limit) {
  if (b != 0 && a > limit / b) {
    return std::nullopt;
  }
  return a * b;
}

}  // namespace

std::optional<uint64_t> parseUnsigned(std::string_view text) {
  if (text.empty() || !std::all_of(text.begin(), text.end(), isDigit)) {
    return std::nullopt;
  }
  uint64_t value = 0;
  const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || ptr != text.data() + text.size()) {
    return std::nullopt;
  }
  return value;
}

std::optional<Duration> parseDuration(std::string_view text) {
  if (text == "0") {
    return Duration::zero();
  }
  if (text.empty()) {
    return std::nullopt;
  }
  uint64_t total = 0;
  size_t next_unit = 0;  // units must appear largest first, each once
  while (!text.empty()) {
    const auto number = parseUnsigned(takeWhile(text, isDigit));
    const std::string_view unit_name = takeWhile(text, isLetter);
    if (!number) {
      return std::nullopt;
    }
    const auto* unit =
        std::find_if(kDurationUnits.begin() + static_cast<ptrdiff_t>(next_unit),
                     kDurationUnits.end(), [&](const Unit& u) { return u.name == unit_name; });
    if (unit == kDurationUnits.end()) {
      return std::nullopt;
    }
    next_unit = static_cast<size_t>(unit - kDurationUnits.begin()) + 1;
    const auto part = multiply(*number, unit->factor, kMaxDurationMs);
    if (!part || *part > kMaxDurationMs - total) {
      return std::nullopt;
    }
    total += *part;
  }
  return Duration(static_cast<Duration::rep>(total));
}

std::string formatDuration(Duration d) {
  if (d.count() <= 0) {
    return "0s";
  }
  auto rest = static_cast<uint64_t>(d.count());
  std::string out;
  for (const auto& unit : kDurationUnits) {
    if (rest >= unit.factor) {
      out += std::to_string(rest / unit.factor) + std::string(unit.name);
      rest %= unit.factor;
    }
  }
  return out;
}

std::optional<uint64_t> parseSize(std::string_view text) {
  const auto number = parseUnsigned(takeWhile(text, isDigit));
  if (!number) {
    return std::nullopt;
  }
  if (text.empty()) {
    return number;
  }
  for (const auto& unit : kSizeUnits) {
    if (unit.name == text) {
      return multiply(*number, unit.factor, std::numeric_limits<uint64_t>::max());
    }
  }
  return std::nullopt;
}

std::optional<double> parseFraction(std::string_view text) {
  double scale = 1.0;
  if (!text.empty() && text.back() == '%') {
    text.remove_suffix(1);
    scale = kPercent;
  }
  // from_chars alone would take "inf", "nan", "-1" and "1e3".
  const std::string_view whole = takeWhile(text, isDigit);
  if (whole.empty()) {
    return std::nullopt;
  }
  std::string_view rest = text;
  if (!rest.empty() && rest.front() == '.') {
    rest.remove_prefix(1);
    if (takeWhile(rest, isDigit).empty()) {
      return std::nullopt;
    }
  }
  if (!rest.empty()) {
    return std::nullopt;
  }
  const char* begin = whole.data();
  const char* end = text.data() + text.size();
  double value = 0;
  const auto [ptr, ec] = std::from_chars(begin, end, value);
  if (ec != std::errc() || ptr != end || !std::isfinite(value)) {
    return std::nullopt;
  }
  return value / scale;
}

}  // namespace ballast::config
