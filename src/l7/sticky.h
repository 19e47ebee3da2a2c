// src/l7/sticky.h — sticky sessions: a cookie whose value names a backend without revealing its
// address (a keyed hash of pool and address), honoured while that backend is up.
//
// Unsigned (no `key_file`), the value is that hash alone: every node with the same pool honours
// it, but a client that knows the addresses can make one and it never expires on our side. Signed
// (`key_file`), the value is `<hash>.<expiry, unix seconds>.<HMAC-SHA256 over pool, hash and
// expiry, first 16 bytes in hex>`: any node holding the key trusts it until it expires, and a
// forged, altered or expired one is refused (counted) and the algorithm picks.
//
// Stored (`store: redis://…`), the value is a random session id (32 hex digits) and the pin lives
// in the store (policy/sticky_store.h): every node sharing it follows each other's pins, and a
// re-pin after a backend went down moves the session on every node, not only on the one that
// answered.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "config/config_types.h"
#include "upstream/worker_pool.h"

namespace ballast::l7 {

// The cookie value for `backend` of `pool`, issued at `now_unix_s` (signed pools expire it after
// sticky_ttl).
std::string stickyValue(const config::Pool& pool, const upstream::BackendState& backend,
                        uint64_t now_unix_s);

// The Set-Cookie field value that pins a client to `backend`. Stored pools: `session` is the
// id the request carried (empty: a new one is made and left there) and `known` whether the
// store knew it; the pin is written to the store.
std::string stickySetCookie(const config::Pool& pool, const upstream::BackendState& backend,
                            uint64_t now_unix_s, std::string& session, bool known);

struct StickyLookup {
  std::optional<uint32_t> backend;  // the backend the cookie names, if in the pool and up
  bool rejected = false;            // signed pool: bad or expired signature, or malformed
  std::string_view session;         // stored pool: a well-formed session id (into `value`)
  bool known = false;               // stored pool: the store has a live pin for it
};

// What a cookie value (empty: none sent) names, checked at `now_unix_s`.
StickyLookup stickyBackend(upstream::WorkerPool& pool, std::string_view value, uint64_t now_unix_s);

}  // namespace ballast::l7
