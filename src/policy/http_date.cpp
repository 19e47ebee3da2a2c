// src/policy/http_date.cpp — the three HTTP-date forms, read strictly field by field.
#include "policy/http_date.h"

#include <array>
#include <cstdio>
#include <ctime>

namespace ballast::policy {
namespace {

constexpr std::array<std::string_view, 12> kMonths = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                      "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
constexpr std::array<std::string_view, 7> kDays = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
constexpr int kRfc850Pivot = 70;  // two-digit years: 70–99 are 19xx, the rest 20xx
constexpr int kTmYearBase = 1900;

// A cursor over the text: each read consumes exactly what it accepts.
struct Reader {
  std::string_view s;
  bool literal(std::string_view want) {
    if (!s.starts_with(want)) {
      return false;
    }
    s.remove_prefix(want.size());
    return true;
  }
  std::optional<int> digits(size_t min, size_t max) {
    int v = 0;
    size_t n = 0;
    while (n < max && n < s.size() && s[n] >= '0' && s[n] <= '9') {
      v = v * 10 + (s[n] - '0');  // NOLINT(readability-magic-numbers): decimal
      ++n;
    }
    if (n < min) {
      return std::nullopt;
    }
    s.remove_prefix(n);
    return v;
  }
  std::optional<int> month() {
    for (size_t i = 0; i < kMonths.size(); ++i) {
      if (literal(kMonths[i])) {
        return static_cast<int>(i);
      }
    }
    return std::nullopt;
  }
  bool weekday() {
    for (const auto d : kDays) {
      if (literal(d)) {
        return true;
      }
    }
    return false;
  }
  bool longWeekday() {
    for (const std::string_view d :
         {"Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"}) {
      if (literal(d)) {
        return true;
      }
    }
    return false;
  }
  // "HH:MM:SS"
  bool time(std::tm& tm) {
    const auto h = digits(2, 2);
    if (!h || !literal(":")) {
      return false;
    }
    const auto m = digits(2, 2);
    if (!m || !literal(":")) {
      return false;
    }
    const auto sec = digits(2, 2);
    if (!sec) {
      return false;
    }
    tm.tm_hour = *h;
    tm.tm_min = *m;
    tm.tm_sec = *sec;
    return true;
  }
};

std::optional<int64_t> toUnix(std::tm& tm) {
  constexpr int kMaxHour = 23;
  constexpr int kMaxMinute = 59;
  constexpr int kMaxSecond = 60;  // a leap second
  constexpr int kMaxDay = 31;
  if (tm.tm_hour > kMaxHour || tm.tm_min > kMaxMinute || tm.tm_sec > kMaxSecond || tm.tm_mday < 1 ||
      tm.tm_mday > kMaxDay) {
    return std::nullopt;
  }
  return static_cast<int64_t>(timegm(&tm));
}

}  // namespace

std::optional<int64_t> parseHttpDate(std::string_view text) {
  std::tm tm{};
  Reader r{text};
  // IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT"
  if (Reader f = r; f.weekday() && f.literal(", ")) {
    const auto day = f.digits(2, 2);
    if (!day || !f.literal(" ")) {
      return std::nullopt;
    }
    const auto mon = f.month();
    if (!mon || !f.literal(" ")) {
      return std::nullopt;
    }
    const auto year = f.digits(4, 4);
    if (!year || !f.literal(" ") || !f.time(tm) || !f.literal(" GMT") || !f.s.empty()) {
      return std::nullopt;
    }
    tm.tm_mday = *day;
    tm.tm_mon = *mon;
    tm.tm_year = *year - kTmYearBase;
    return toUnix(tm);
  }
  // RFC 850: "Sunday, 06-Nov-94 08:49:37 GMT"
  if (Reader f = r; f.longWeekday() && f.literal(", ")) {
    const auto day = f.digits(2, 2);
    if (!day || !f.literal("-")) {
      return std::nullopt;
    }
    const auto mon = f.month();
    if (!mon || !f.literal("-")) {
      return std::nullopt;
    }
    const auto year = f.digits(2, 2);
    if (!year || !f.literal(" ") || !f.time(tm) || !f.literal(" GMT") || !f.s.empty()) {
      return std::nullopt;
    }
    tm.tm_mday = *day;
    tm.tm_mon = *mon;
    tm.tm_year = *year >= kRfc850Pivot ? *year : *year + 100;  // NOLINT(readability-magic-numbers)
    return toUnix(tm);
  }
  // asctime: "Sun Nov  6 08:49:37 1994"
  if (Reader f = r; f.weekday() && f.literal(" ")) {
    const auto mon = f.month();
    if (!mon || !f.literal(" ")) {
      return std::nullopt;
    }
    f.literal(" ");  // a one-digit day is padded with a space
    const auto day = f.digits(1, 2);
    if (!day || !f.literal(" ") || !f.time(tm) || !f.literal(" ")) {
      return std::nullopt;
    }
    const auto year = f.digits(4, 4);
    if (!year || !f.s.empty()) {
      return std::nullopt;
    }
    tm.tm_mday = *day;
    tm.tm_mon = *mon;
    tm.tm_year = *year - kTmYearBase;
    return toUnix(tm);
  }
  return std::nullopt;
}

void formatHttpDate(int64_t unix_s, std::string& out) {
  const auto t = static_cast<time_t>(unix_s);
  std::tm tm{};
  gmtime_r(&t, &tm);
  std::array<char, 32> buf{};
  const int n = snprintf(buf.data(), buf.size(), "%s, %02d %s %04d %02d:%02d:%02d GMT",
                         kDays[static_cast<size_t>(tm.tm_wday)].data(), tm.tm_mday,
                         kMonths[static_cast<size_t>(tm.tm_mon)].data(), tm.tm_year + kTmYearBase,
                         tm.tm_hour, tm.tm_min, tm.tm_sec);
  out.append(buf.data(), static_cast<size_t>(n));
}

}  // namespace ballast::policy
