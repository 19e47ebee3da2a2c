// src/cache/freshness.cpp — storability, freshness, age and conditional matching for the cache.
#include "cache/freshness.h"

#include <algorithm>
#include <vector>

#include "policy/cache_control.h"
#include "policy/http_date.h"
#include "proto/http1/syntax.h"

namespace ballast::cache {
namespace {

namespace h1 = proto::http1;

constexpr uint32_t kHeuristicCapS = 86400;  // a day, as RFC 9111 §4.2.2 suggests
constexpr uint32_t kHeuristicPercent = 10;
constexpr uint64_t kMsPerS = 1000;

// Statuses a cache may store with explicit freshness and, "heuristically cacheable" ones (RFC
// 9110 §15.1), by heuristic. Partial content (206) is never stored: we do not assemble ranges.
bool storableStatus(uint16_t status) {
  switch (status) {
    case 200:
    case 203:
    case 204:
    case 300:
    case 301:
    case 308:
    case 404:
    case 405:
    case 410:
    case 414:
    case 501:
      return true;
    default:
      return false;
  }
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) {
    s.remove_suffix(1);
  }
  return s;
}

std::string_view field(std::span<const h1::Header> fields, std::string_view name) {
  for (const auto& f : fields) {
    if (h1::equalsIgnoreCase(f.name, name)) {
      return trim(f.value);
    }
  }
  return {};
}

uint32_t clampSeconds(int64_t s) {
  return static_cast<uint32_t>(std::clamp<int64_t>(s, 0, INT32_MAX));
}

// An entity tag without its weakness: W/"x" and "x" compare equal weakly.
std::string_view opaqueTag(std::string_view tag) {
  tag = trim(tag);
  if (tag.starts_with("W/")) {
    tag.remove_prefix(2);
  }
  return tag;
}

}  // namespace

ResponseFreshness assessResponse(uint16_t status, std::span<const h1::Header> fields,
                                 bool request_authorized, bool heuristic, int64_t now_s) {
  ResponseFreshness r;
  std::vector<std::string_view> cc_values;
  bool has_set_cookie = false;
  for (const auto& f : fields) {
    if (h1::equalsIgnoreCase(f.name, "cache-control")) {
      cc_values.push_back(f.value);
    } else if (h1::equalsIgnoreCase(f.name, "set-cookie")) {
      has_set_cookie = true;
    } else if (h1::equalsIgnoreCase(f.name, "vary") && trim(f.value) == "*") {
      r.vary_star = true;
    }
  }
  const policy::CacheDirectives cc = policy::parseCacheControl(cc_values);
  r.etag = field(fields, "etag");
  r.last_modified = field(fields, "last-modified");
  r.stale_while_revalidate_s = cc.stale_while_revalidate.value_or(0);
  r.stale_if_error_s = cc.stale_if_error.value_or(0);
  r.must_revalidate = cc.must_revalidate || cc.proxy_revalidate || cc.s_maxage.has_value();
  r.no_cache = cc.no_cache;
  if (!storableStatus(status)) {
    r.why_not = "status";
    return r;
  }
  if (cc.no_store) {
    r.why_not = "no-store";
    return r;
  }
  if (cc.private_) {
    r.why_not = "private";
    return r;
  }
  if (r.vary_star) {
    r.why_not = "Vary: *";
    return r;
  }
  // A shared cache keeps no one's cookie (as NGINX and Varnish by default).
  if (has_set_cookie) {
    r.why_not = "Set-Cookie";
    return r;
  }
  // RFC 9111 §3.5: an authorized request's answer only with a directive that allows sharing.
  if (request_authorized && !cc.public_ && !cc.s_maxage && !cc.must_revalidate) {
    r.why_not = "Authorization";
    return r;
  }
  if (cc.s_maxage) {
    r.lifetime_s = *cc.s_maxage;
  } else if (cc.max_age) {
    r.lifetime_s = *cc.max_age;
  } else if (const std::string_view expires = field(fields, "expires"); !expires.empty()) {
    // An invalid Expires is in the past (RFC 9111 §5.3): stored, but already stale.
    const auto until = policy::parseHttpDate(expires);
    const auto date = policy::parseHttpDate(field(fields, "date"));
    r.lifetime_s = until ? clampSeconds(*until - date.value_or(now_s)) : 0;
  } else if (heuristic && !r.last_modified.empty()) {
    const auto modified = policy::parseHttpDate(r.last_modified);
    const auto date = policy::parseHttpDate(field(fields, "date"));
    if (!modified) {
      r.why_not = "no explicit freshness";
      return r;
    }
    r.lifetime_s = std::min(kHeuristicCapS,
                            clampSeconds(date.value_or(now_s) - *modified) / kHeuristicPercent);
  } else if (!cc.no_cache && !cc.public_) {
    // Nothing says how long it is fresh: storing it would only cost memory (it would be stale
    // at once), unless it can be revalidated.
    r.why_not = "no explicit freshness";
    return r;
  }
  if (r.lifetime_s == 0 && r.etag.empty() && r.last_modified.empty() &&
      r.stale_while_revalidate_s == 0 && r.stale_if_error_s == 0) {
    r.why_not = "stale at once and no validator";
    return r;
  }
  r.storable = true;
  return r;
}

uint32_t initialAge(std::span<const h1::Header> fields, uint64_t request_ms, uint64_t response_ms) {
  int64_t age_value = 0;
  if (const std::string_view age = field(fields, "age"); !age.empty()) {
    for (char c : age) {
      if (c < '0' || c > '9') {
        age_value = 0;
        break;
      }
      age_value = std::min<int64_t>(age_value * 10 + (c - '0'), INT32_MAX);  // NOLINT
    }
  }
  int64_t apparent = 0;
  if (const auto date = policy::parseHttpDate(field(fields, "date"))) {
    apparent = std::max<int64_t>(0, static_cast<int64_t>(response_ms / kMsPerS) - *date);
  }
  const auto delay =
      static_cast<int64_t>((response_ms - std::min(request_ms, response_ms)) / kMsPerS);
  return clampSeconds(std::max(apparent, age_value + delay));
}

bool notModified(const Conditional& c, std::string_view etag, std::string_view last_modified) {
  if (!c.if_none_match.empty()) {
    if (etag.empty()) {
      return false;
    }
    if (trim(c.if_none_match) == "*") {
      return true;
    }
    std::string_view list = c.if_none_match;
    const std::string_view ours = opaqueTag(etag);
    while (!list.empty()) {
      const size_t comma = list.find(',');
      if (opaqueTag(list.substr(0, comma)) == ours) {
        return true;
      }
      list = comma == std::string_view::npos ? std::string_view() : list.substr(comma + 1);
    }
    return false;
  }
  if (!c.if_modified_since.empty() && !last_modified.empty()) {
    const auto since = policy::parseHttpDate(c.if_modified_since);
    const auto modified = policy::parseHttpDate(last_modified);
    return since && modified && *modified <= *since;
  }
  return false;
}

}  // namespace ballast::cache
