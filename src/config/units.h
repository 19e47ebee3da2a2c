// src/config/units.h — the textual units of the config file: durations, sizes, fractions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "config/config_types.h"

namespace ballast::config {

// "500ms", "2s", "1m", "1h", "1m30s" (units at most once each, largest first); "0" alone.
std::optional<Duration> parseDuration(std::string_view text);
// The inverse, shortest form: 90000ms → "1m30s", 0 → "0s"; parseDuration reads it back.
std::string formatDuration(Duration d);
// "512", "512B", "64KiB", "1MiB", "1GiB", "1TiB"; "KB", "MB", "GB", "TB" are powers of 1000.
std::optional<uint64_t> parseSize(std::string_view text);
// "10%" or "0.1"; decimal digits only, no sign or exponent.
std::optional<double> parseFraction(std::string_view text);
// Decimal digits only: no sign, no hex, no spaces.
std::optional<uint64_t> parseUnsigned(std::string_view text);

}  // namespace ballast::config
