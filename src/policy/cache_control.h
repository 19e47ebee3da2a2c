// src/policy/cache_control.h — the Cache-Control field (RFC 9111 §5.2) as the proxy reads it:
// the directives that decide whether a response may be transformed (compression) or stored
// (the cache), from any number of field values.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

namespace ballast::policy {

struct CacheDirectives {
  bool no_store = false;
  bool no_cache = false;  // also `no-cache="field"`: we treat it as the whole response's
  bool private_ = false;  // also `private="field"`
  bool no_transform = false;
  bool must_revalidate = false;
  bool proxy_revalidate = false;
  bool public_ = false;
  std::optional<uint32_t> max_age;   // seconds, capped at 2^31 (RFC 9111 §1.2.2)
  std::optional<uint32_t> s_maxage;  // seconds
  std::optional<uint32_t> stale_while_revalidate;
  std::optional<uint32_t> stale_if_error;
  bool malformed = false;  // a delta-seconds that was not one: the directive is ignored
};

// Every directive of the fields (several fields are one list); names are case-insensitive,
// unknown directives are skipped, quoted values are honoured.
CacheDirectives parseCacheControl(std::span<const std::string_view> fields);

}  // namespace ballast::policy
