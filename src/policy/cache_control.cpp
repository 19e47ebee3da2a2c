// src/policy/cache_control.cpp — a Cache-Control reader that never fails: a bad directive is
// skipped (and noted), the others still count.
#include "policy/cache_control.h"

#include <algorithm>
#include <cctype>

namespace ballast::policy {
namespace {

constexpr uint32_t kMaxDelta = 2147483648U;  // RFC 9111 §1.2.2: cap, do not reject

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) {
    s.remove_suffix(1);
  }
  return s;
}

bool named(std::string_view text, std::string_view lower) {
  if (text.size() != lower.size()) {
    return false;
  }
  for (size_t i = 0; i < text.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(text[i])) != lower[i]) {
      return false;
    }
  }
  return true;
}

std::optional<uint32_t> deltaSeconds(std::string_view v) {
  if (v.size() >= 2 && v.front() == '"' && v.back() == '"') {
    v = v.substr(1, v.size() - 2);  // tolerated, as caches do (RFC 9111 §5.2)
  }
  if (v.empty()) {
    return std::nullopt;
  }
  uint64_t n = 0;
  for (const char c : v) {
    if (c < '0' || c > '9') {
      return std::nullopt;
    }
    n = n * 10 + static_cast<uint64_t>(c - '0');
    if (n > kMaxDelta) {
      n = kMaxDelta;  // keeps counting digits without overflow
    }
  }
  return static_cast<uint32_t>(n);
}

// The next directive of `rest` (commas inside quoted strings do not split).
std::string_view nextDirective(std::string_view& rest) {
  bool quoted = false;
  size_t i = 0;
  for (; i < rest.size(); ++i) {
    const char c = rest[i];
    if (quoted && c == '\\') {
      ++i;  // quoted-pair
    } else if (c == '"') {
      quoted = !quoted;
    } else if (c == ',' && !quoted) {
      break;
    }
  }
  const std::string_view directive = rest.substr(0, i);
  rest = i < rest.size() ? rest.substr(i + 1) : std::string_view();
  return directive;
}

void apply(std::string_view name, std::string_view value, bool has_value, CacheDirectives& d) {
  const auto seconds = [&](std::optional<uint32_t>& out) {
    const auto v = has_value ? deltaSeconds(value) : std::nullopt;
    if (v) {
      // Two conflicting values: the lowest is the safe reading.
      out = out ? std::min(*out, *v) : *v;
    } else {
      d.malformed = true;
    }
  };
  if (named(name, "no-store")) {
    d.no_store = true;
  } else if (named(name, "no-cache")) {
    d.no_cache = true;
  } else if (named(name, "private")) {
    d.private_ = true;
  } else if (named(name, "public")) {
    d.public_ = true;
  } else if (named(name, "no-transform")) {
    d.no_transform = true;
  } else if (named(name, "must-revalidate")) {
    d.must_revalidate = true;
  } else if (named(name, "proxy-revalidate")) {
    d.proxy_revalidate = true;
  } else if (named(name, "max-age")) {
    seconds(d.max_age);
  } else if (named(name, "s-maxage")) {
    seconds(d.s_maxage);
  } else if (named(name, "stale-while-revalidate")) {
    seconds(d.stale_while_revalidate);
  } else if (named(name, "stale-if-error")) {
    seconds(d.stale_if_error);
  }
}

}  // namespace

CacheDirectives parseCacheControl(std::span<const std::string_view> fields) {
  CacheDirectives d;
  for (std::string_view rest : fields) {
    while (!rest.empty()) {
      const std::string_view directive = trim(nextDirective(rest));
      if (directive.empty()) {
        continue;
      }
      const size_t eq = directive.find('=');
      const std::string_view name = trim(directive.substr(0, eq));
      const std::string_view value =
          eq == std::string_view::npos ? std::string_view() : trim(directive.substr(eq + 1));
      apply(name, value, eq != std::string_view::npos, d);
    }
  }
  return d;
}

}  // namespace ballast::policy
