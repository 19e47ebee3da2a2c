// src/server/control_cache.cpp — the admin API's view of the HTTP caches: each listener's store
// (cache/store.h, shared by the workers) and purges, which are audited.
#include "cache/store.h"
#include "core/log.h"
#include "server/control_thread.h"

namespace ballast::server {

using nlohmann::json;

json ControlThread::caches() const {
  json stores = json::array();
  for (const auto& [listener, store] : cache::allStores()) {
    const auto& c = store->counters();
    stores.push_back({{"listener", listener},
                      {"bytes", store->bytes()},
                      {"max_bytes", store->maxBytes()},
                      {"entries", store->entries()},
                      {"hits", c.hits.load()},
                      {"misses", c.misses.load()},
                      {"stale", c.stale.load()},
                      {"revalidated", c.revalidated.load()},
                      {"coalesced", c.coalesced.load()},
                      {"evictions", c.evictions.load()},
                      {"purged", c.purged.load()}});
  }
  return stores;
}

control::AdminResponse ControlThread::purgeCache(const control::CachePurge& purge) {
  size_t purged = 0;
  bool found = purge.listener.empty();
  for (const auto& [name, store] : cache::allStores()) {
    if (!purge.listener.empty() && name != purge.listener) {
      continue;
    }
    found = true;
    purged += purge.key.empty() ? store->purgePrefix(purge.prefix) : store->purgeKey(purge.key);
  }
  if (!found) {
    return control::AdminResponse::error(404, "not_found",
                                         "no cache on listener " + purge.listener);
  }
  json what = {{"listener", purge.listener.empty() ? json("*") : json(purge.listener)},
               {"purged", purged}};
  what[purge.key.empty() ? "prefix" : "key"] = purge.key.empty() ? purge.prefix : purge.key;
  core::LogLine(core::LogLevel::kInfo, "cache.purged")
      .str("listener", purge.listener)
      .str(purge.key.empty() ? "prefix" : "key", purge.key.empty() ? purge.prefix : purge.key)
      .unum("purged", purged)
      .str("actor", purge.actor);
  audit_.record("cache.purged", purge.actor, nullptr, what);
  return control::AdminResponse::json(200, {{"purged", purged}});
}

}  // namespace ballast::server
