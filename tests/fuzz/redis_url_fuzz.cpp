// tests/fuzz/redis_url_fuzz.cpp — libFuzzer target for the `store: redis://HOST:PORT` reader of
// rate_limit rules. Beyond "no crash": whatever it accepts prints (StoreEndpoint::url) to a URL
// that reads back to the same host and port.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "config/rate_limit_sections.h"

// libFuzzer fixes the name.
extern "C" int LLVMFuzzerTestOneInput(  // NOLINT(readability-identifier-naming)
    const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const auto endpoint = ballast::config::parseRedisUrl(text);
  if (endpoint) {
    if (endpoint->host.empty() || endpoint->port == 0) {
      std::abort();
    }
    const auto again = ballast::config::parseRedisUrl(endpoint->url());
    if (!again || again->host != endpoint->host || again->port != endpoint->port) {
      std::abort();
    }
  }
  return 0;
}
