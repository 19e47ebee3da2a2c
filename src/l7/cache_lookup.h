// src/l7/cache_lookup.h — the cache's step in the exchange core, after the filters (a cached
// answer is still rate limited and authenticated): the key, the store lookup, and what the
// upstream side is to do (ex.cache.mode). A stale entry with validators makes the request
// conditional upstream.
#pragma once

#include <cstdint>

#include "cache/store.h"
#include "config/config_types.h"
#include "l7/exchange.h"

namespace ballast::l7 {

// The route's cache rules (its own, else the listener's); null when it caches nothing.
const config::CachePolicy* cachePolicyFor(const config::Listener& listener, const Exchange& ex);

void lookupCache(const config::Listener& listener, cache::Store* store, Exchange& ex,
                 const RequestView& request, bool tls, uint64_t now_ms);

// The X-Cache value for a mode.
std::string_view cacheLabel(CacheState::Mode mode);

}  // namespace ballast::l7
