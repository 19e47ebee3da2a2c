// src/l4/sni_router.cpp — exact and one-label wildcard server names, case-insensitively.
#include "l4/sni_router.h"

#include <algorithm>
#include <array>

#include "proto/tls/client_hello.h"

namespace ballast::l4 {
namespace {

constexpr std::string_view kWildcardPrefix = "*.";

char lowerAscii(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

}  // namespace

SniRouter::SniRouter(const config::Listener& listener,
                     const std::function<upstream::WorkerPool*(const std::string&)>& pool_of) {
  if (!listener.pool.empty()) {
    default_pool_ = pool_of(listener.pool);
  }
  for (const auto& route : listener.sni) {
    upstream::WorkerPool* pool = pool_of(route.pool);
    for (std::string name : route.names) {
      std::transform(name.begin(), name.end(), name.begin(), lowerAscii);
      if (name.starts_with(kWildcardPrefix)) {
        parent_.emplace(name.substr(kWildcardPrefix.size()), pool);
      } else {
        exact_.emplace(std::move(name), pool);
      }
    }
  }
}

upstream::WorkerPool* SniRouter::match(std::string_view server_name) const {
  if (server_name.empty() || server_name.size() > proto::tls::kMaxServerNameBytes) {
    return default_pool_;
  }
  std::array<char, proto::tls::kMaxServerNameBytes> buffer{};
  std::transform(server_name.begin(), server_name.end(), buffer.begin(), lowerAscii);
  const std::string_view name(buffer.data(), server_name.size());
  if (const auto it = exact_.find(name); it != exact_.end()) {
    return it->second;
  }
  // One label only: the wildcard's part is everything before the first dot, and it is not empty.
  if (const size_t dot = name.find('.'); dot != std::string_view::npos && dot > 0) {
    if (const auto it = parent_.find(name.substr(dot + 1)); it != parent_.end()) {
      return it->second;
    }
  }
  return default_pool_;
}

}  // namespace ballast::l4
