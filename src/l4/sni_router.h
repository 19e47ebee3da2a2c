// src/l4/sni_router.h — picks a tls_passthrough listener's pool from the server name a
// ClientHello carried: exact names first, then a wildcard for the name's parent, then the
// listener's default pool. No sockets; one or two hash lookups per connection.
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "config/config_types.h"

namespace ballast::upstream {
class WorkerPool;
}  // namespace ballast::upstream

namespace ballast::l4 {

// Built by a worker once per config snapshot from one listener's `sni:` entries, then read-only.
// Names come normalized from the loader (lowercase, "*." only as a whole leftmost label);
// hand-built listeners get them lowercased here too.
class SniRouter {
 public:
  // pool_of maps a pool name to this worker's pool for the snapshot; nullptr when unknown (the
  // loader rejects that, so only hand-built listeners see it: such entries route nowhere).
  SniRouter(const config::Listener& listener,
            const std::function<upstream::WorkerPool*(const std::string&)>& pool_of);

  // The pool for `server_name` (any case; empty when the hello had no SNI), or nullptr when no
  // entry matches and the listener has no default pool. "*.example.test" matches
  // "a.example.test" but neither "example.test" nor "a.b.example.test". Never allocates.
  upstream::WorkerPool* match(std::string_view server_name) const;

 private:
  // Lets find() take a string_view without building a std::string.
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  using Table = std::unordered_map<std::string, upstream::WorkerPool*, Hash, std::equal_to<>>;

  Table exact_;
  Table parent_;  // "*.example.test" is stored as "example.test"
  upstream::WorkerPool* default_pool_ = nullptr;
};

}  // namespace ballast::l4
