// src/l7/request_key.cpp — request hash keys and cookie/query lookups.
#include "l7/request_key.h"

#include <xxhash.h>

#include "l4/hash_key.h"
#include "proto/http1/syntax.h"

namespace ballast::l7 {
namespace {
namespace h1 = proto::http1;

uint64_t hashText(std::string_view s) { return XXH64(s.data(), s.size(), 0); }

}  // namespace

std::string_view findCookie(std::span<const h1::Header> headers, std::string_view name) {
  for (const auto& h : headers) {
    if (!h1::equalsIgnoreCase(h.name, "cookie")) {
      continue;
    }
    std::string_view rest = h.value;
    while (!rest.empty()) {
      const size_t semi = rest.find(';');
      const std::string_view pair = proto::http1::trimOws(rest.substr(0, semi));
      rest = semi == std::string_view::npos ? std::string_view() : rest.substr(semi + 1);
      const size_t eq = pair.find('=');
      if (eq != std::string_view::npos && pair.substr(0, eq) == name) {
        std::string_view value = pair.substr(eq + 1);
        if (value.size() >= 2 && value.front() == '"' && value.back() == '"') {
          value = value.substr(1, value.size() - 2);
        }
        return value;
      }
    }
  }
  return {};
}

std::string_view findQueryParam(std::string_view target, std::string_view name) {
  const size_t q = target.find('?');
  if (q == std::string_view::npos) {
    return {};
  }
  std::string_view rest = target.substr(q + 1);
  while (!rest.empty()) {
    const size_t amp = rest.find('&');
    const std::string_view pair = rest.substr(0, amp);
    rest = amp == std::string_view::npos ? std::string_view() : rest.substr(amp + 1);
    const size_t eq = pair.find('=');
    if (pair.substr(0, eq) == name) {
      return eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1);
    }
  }
  return {};
}

uint64_t requestHashKey(const config::Pool& pool, const RequestView& head,
                        const net::SocketAddress& client) {
  switch (pool.hash_key) {
    case config::HashKey::kHeader:
      for (const auto& h : head.headers) {
        if (h1::equalsIgnoreCase(h.name, pool.hash_key_name)) {
          return hashText(h.value);
        }
      }
      return hashText({});
    case config::HashKey::kCookie:
      return hashText(findCookie(head.headers, pool.hash_key_name));
    case config::HashKey::kPath: {
      const std::string_view target = head.target;
      return hashText(target.substr(0, target.find('?')));
    }
    case config::HashKey::kQuery:
      return hashText(findQueryParam(head.target, pool.hash_key_name));
    default:
      return l4::hashKey(pool.hash_key, client);
  }
}

}  // namespace ballast::l7
