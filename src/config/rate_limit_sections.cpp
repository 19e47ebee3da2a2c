// src/config/rate_limit_sections.cpp — reading `rate_limit:` rules.
#include "config/rate_limit_sections.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <xxhash.h>

#include <array>
#include <cctype>
#include <charconv>
#include <string>

namespace ballast::config {
namespace {

using namespace std::string_view_literals;

constexpr std::array kRuleKeys = {"name"sv,        "key"sv,   "rate"sv,
                                  "burst"sv,       "mode"sv,  "ipv4_prefix"sv,
                                  "ipv6_prefix"sv, "store"sv, "on_store_error"sv};
// Above a million per second the emission interval drops under the table's 1 µs resolution.
constexpr uint64_t kMaxRatePerSecond = 1'000'000;
constexpr uint64_t kMaxBurst = 1'000'000;
constexpr uint64_t kSecondsPerMinute = 60;
constexpr uint64_t kSecondsPerHour = 3600;
constexpr uint64_t kIpv4Bits = 32;
constexpr uint64_t kIpv6Bits = 128;
constexpr uint64_t kMaxRefillSeconds = 7 * 24 * 3600;

constexpr std::array<Choice<bool>, 2> kModeChoices = {{{"enforce", false}, {"dry_run", true}}};
constexpr std::array<Choice<StoreFallback>, 3> kFallbackChoices = {
    {{"allow", StoreFallback::kAllow},
     {"deny", StoreFallback::kDeny},
     {"local", StoreFallback::kLocal}}};
constexpr std::string_view kRedisScheme = "redis://";
constexpr size_t kMaxHostLength = 253;  // a DNS name
constexpr uint32_t kMaxPort = 65535;

void readStore(FileReader& file, const Field& field, RateLimitRule& rule) {
  const auto text = readScalar(file, field, "redis://HOST:PORT");
  if (!text) {
    return;
  }
  if (auto endpoint = parseRedisUrl(*text)) {
    rule.store = std::move(*endpoint);
    return;
  }
  reportExpected(file, field, "redis://HOST:PORT", quote(*text));
}

// "source_ip", "path", "header:NAME", "cookie:NAME" or "jwt_claim:NAME".
std::optional<RateKeyPart> readKeyPart(FileReader& file, const Field& field) {
  constexpr std::string_view kExpected =
      "source_ip, path, header:NAME, cookie:NAME or jwt_claim:NAME";
  const auto text = readScalar(file, field, kExpected);
  if (!text) {
    return std::nullopt;
  }
  const std::string_view t = *text;
  if (t == "source_ip") {
    return RateKeyPart{RateKeyKind::kSourceIp, {}};
  }
  if (t == "path") {
    return RateKeyPart{RateKeyKind::kPath, {}};
  }
  const auto colon = t.find(':');
  const std::string_view kind = t.substr(0, colon);
  const std::string_view name = colon == std::string_view::npos ? ""sv : t.substr(colon + 1);
  if (kind == "jwt_claim" && !name.empty() &&
      name.find_first_of(" \t\r\n") == std::string_view::npos) {
    return RateKeyPart{RateKeyKind::kJwtClaim, std::string(name)};  // claim names are case-exact
  }
  if ((kind == "header" || kind == "cookie") && !name.empty() &&
      name.find_first_of(" \t\r\n:;=,") == std::string_view::npos) {
    RateKeyPart part{kind == "header" ? RateKeyKind::kHeader : RateKeyKind::kCookie,
                     std::string(name)};
    if (part.kind == RateKeyKind::kHeader) {
      for (char& c : part.name) {
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      }
    }
    return part;
  }
  reportExpected(file, field, kExpected, quote(t));
  return std::nullopt;
}

void readKey(FileReader& file, const Field& field, RateLimitRule& rule) {
  if (field.value.IsSequence()) {
    for (const Field& item : listItems(file, field, "key part")) {
      if (auto part = readKeyPart(file, item)) {
        rule.key.push_back(std::move(*part));
      }
    }
    if (rule.key.empty()) {
      file.error(field.valueMark(), "key: expected at least one part");
    }
    return;
  }
  if (auto part = readKeyPart(file, field)) {
    rule.key.push_back(std::move(*part));
  }
}

void readRate(FileReader& file, const Field& field, RateLimitRule& rule) {
  if (const auto rate = readRateValue(file, field)) {
    rule.rate = rate->count;
    rule.period_s = rate->period_s;
  }
}

void readRule(FileReader& file, const Field& field, RateLimitRule& rule) {
  const MapReader map(file, field, "rate_limit", kRuleKeys);
  if (!map.ok()) {
    return;
  }
  if (const Field* f = map.find("name")) {
    assign(rule.name, readName(file, *f));
  }
  if (const Field* f = map.require(file, "key")) {
    readKey(file, *f, rule);
  }
  if (const Field* f = map.require(file, "rate")) {
    readRate(file, *f, rule);
  }
  if (const Field* f = map.find("burst")) {
    assign(rule.burst, readUnsigned(file, *f, 1, kMaxBurst));
  }
  if (const Field* f = map.find("mode")) {
    assign(rule.dry_run, readChoice<bool>(file, *f, kModeChoices));
  }
  if (const Field* f = map.find("ipv4_prefix")) {
    assign(rule.ipv4_prefix, readUnsigned(file, *f, 1, kIpv4Bits));
  }
  if (const Field* f = map.find("ipv6_prefix")) {
    assign(rule.ipv6_prefix, readUnsigned(file, *f, 1, kIpv6Bits));
  }
  if (const Field* f = map.find("store")) {
    readStore(file, *f, rule);
  }
  if (const Field* f = map.find("on_store_error")) {
    if (map.find("store") != nullptr) {
      assign(rule.on_store_error, readChoice<StoreFallback>(file, *f, kFallbackChoices));
    } else {
      file.error(f->key_mark, "on_store_error: only with store:");
    }
  }
  if (rule.burst == 0) {
    rule.burst = std::min(rule.rate, kMaxBurst);
  }
  // A bucket refills in burst × period / rate; the shared table keeps times in 48 bits of µs,
  // so a bucket must refill within days, not years.
  if (rule.rate > 0 && rule.burst * rule.period_s / rule.rate > kMaxRefillSeconds) {
    file.error(map.mark(), "rate_limit: burst " + std::to_string(rule.burst) + " at " +
                               std::to_string(rule.rate) + " per " + std::to_string(rule.period_s) +
                               " s takes more than 7 days to refill");
  }
}

void finishRules(std::vector<RateLimitRule>& rules, const std::string& scope) {
  for (size_t i = 0; i < rules.size(); ++i) {
    RateLimitRule& r = rules[i];
    if (r.name.empty()) {
      r.name = scope + "#" + std::to_string(i + 1);
    }
    // The scope and the limit are in the seed: a rule whose limit changes on reload starts
    // from full buckets rather than inheriting times computed for another interval.
    std::string seed = scope + "\n" + r.name + "\n" + std::to_string(r.rate) + "/" +
                       std::to_string(r.period_s) + "/" + std::to_string(r.burst);
    for (const auto& part : r.key) {
      seed += "\n" + std::to_string(static_cast<int>(part.kind)) + part.name;
    }
    r.id = XXH3_64bits(seed.data(), seed.size());
  }
}

}  // namespace

std::optional<StoreEndpoint> parseRedisUrl(std::string_view url) {
  if (!url.starts_with(kRedisScheme)) {
    return std::nullopt;
  }
  url.remove_prefix(kRedisScheme.size());
  std::string_view host;
  std::string_view port;
  if (url.starts_with('[')) {
    const auto close = url.find(']');
    if (close == std::string_view::npos || close + 1 >= url.size() || url[close + 1] != ':') {
      return std::nullopt;
    }
    host = url.substr(1, close - 1);
    port = url.substr(close + 2);
    in6_addr scratch{};
    if (host.empty() || host.size() >= INET6_ADDRSTRLEN ||
        inet_pton(AF_INET6, std::string(host).c_str(), &scratch) != 1) {
      return std::nullopt;
    }
  } else {
    const auto colon = url.rfind(':');
    if (colon == std::string_view::npos) {
      return std::nullopt;
    }
    host = url.substr(0, colon);
    port = url.substr(colon + 1);
    if (host.empty() || host.size() > kMaxHostLength ||
        host.find_first_not_of(
            "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-") != host.npos) {
      return std::nullopt;
    }
  }
  uint32_t number = 0;
  const auto [ptr, ec] = std::from_chars(port.data(), port.data() + port.size(), number);
  if (port.empty() || ec != std::errc() || ptr != port.data() + port.size() || number == 0 ||
      number > kMaxPort) {
    return std::nullopt;
  }
  return StoreEndpoint{std::string(host), static_cast<uint16_t>(number)};
}

// "100/s", "6000/m" or "10/h".
std::optional<Rate> readRateValue(FileReader& file, const Field& field) {
  constexpr std::string_view kExpected = "a rate such as 100/s, 6000/m or 10/h";
  const auto text = readScalar(file, field, kExpected);
  if (!text) {
    return std::nullopt;
  }
  const std::string_view t = *text;
  const auto slash = t.find('/');
  uint64_t count = 0;
  const char* end = t.data() + (slash == std::string_view::npos ? t.size() : slash);
  const auto [ptr, ec] = std::from_chars(t.data(), end, count);
  const std::string_view unit = slash == std::string_view::npos ? ""sv : t.substr(slash + 1);
  uint64_t period = 0;
  if (unit == "s") {
    period = 1;
  } else if (unit == "m") {
    period = kSecondsPerMinute;
  } else if (unit == "h") {
    period = kSecondsPerHour;
  }
  if (ec != std::errc() || ptr != end || count == 0 || period == 0) {
    reportExpected(file, field, kExpected, quote(t));
    return std::nullopt;
  }
  if (count > kMaxRatePerSecond * period) {
    file.error(field.valueMark(), "rate: at most 1000000/s");
    return std::nullopt;
  }
  return Rate{count, period};
}

void readRateLimits(FileReader& file, const Field& field, std::vector<RateLimitRule>& rules) {
  if (field.value.IsSequence()) {
    for (const Field& item : listItems(file, field, "rate_limit")) {
      RateLimitRule rule;
      readRule(file, item, rule);
      rules.push_back(std::move(rule));
    }
    return;
  }
  RateLimitRule rule;
  readRule(file, field, rule);
  rules.push_back(std::move(rule));
}

void finishRateLimits(Listener& listener) {
  finishRules(listener.http.rate_limits, listener.name);
  for (auto& route : listener.http.routes) {
    finishRules(route.rate_limits, listener.name + "/" + route.name);
  }
}

}  // namespace ballast::config
