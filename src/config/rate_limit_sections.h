// src/config/rate_limit_sections.h — the `rate_limit:` key of an http listener or a route: one
// rule `{key, rate, burst, mode}` or a list of them, run in the order written.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "config/config_types.h"
#include "config/yaml_reader.h"

namespace ballast::config {

// A rate such as "100/s", "6000/m" or "10/h".
struct Rate {
  uint64_t count = 0;
  uint64_t period_s = 1;
};
std::optional<Rate> readRateValue(FileReader& file, const Field& field);

// "redis://HOST:PORT" (HOST a name, an IPv4 address or a bracketed IPv6 address; PORT
// 1-65535; nothing else: no user, password, database or path); nullopt otherwise.
std::optional<StoreEndpoint> parseRedisUrl(std::string_view url);

// Reads one rule or a list of rules into `rules`; errors point at the offending value.
void readRateLimits(FileReader& file, const Field& field, std::vector<RateLimitRule>& rules);

// Names the listener's and its routes' rules that have no `name:` and gives every rule its id
// (the seed of its keys in the shared table). After the listener and its routes are read.
void finishRateLimits(Listener& listener);

}  // namespace ballast::config
