// src/l7/cache_state.h — what the cache lookup at a request's head decided (l7/cache_lookup.h),
// carried by the exchange to its upstream side, where the cache tap (l7/cache_tap.h) answers from
// the store or stores the backend's response.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "cache/store.h"
#include "config/content_types.h"
#include "proto/http1/message.h"

namespace ballast::l7 {

struct CacheState {
  enum class Mode : uint8_t {
    kOff,         // no cache on this route
    kBypass,      // not a request the cache answers (method, Range, a body): X-Cache: BYPASS
    kHit,         // fresh in the store: answered from it
    kStale,       // stale within stale-while-revalidate while another request revalidates
    kMiss,        // not stored: forwarded, and the response stored if it may be
    kRevalidate,  // stored but stale: a conditional request upstream (304 refreshes it)
    kWait,        // another request is fetching this key: wait for its response (coalescing)
  };
  Mode mode = Mode::kOff;
  cache::Store* store = nullptr;
  const config::CachePolicy* policy = nullptr;
  std::string key;
  cache::StoredPtr entry;  // the stored variant found (fresh or stale); null on a miss
  bool filler = false;     // this exchange claimed the key's fill (coalescing)
  bool head_only = false;  // a HEAD request: answered from a stored GET without its body
  bool may_store = false;  // the response may be stored (a plain GET)
  bool authorized = false;
  uint64_t request_ms = 0;
  // The client's conditional fields and the request fields, copied at the head (Vary and the
  // conditionals are checked against them after the request buffer is gone).
  std::string if_none_match;
  std::string if_modified_since;
  std::string field_text;
  std::vector<proto::http1::Header> fields;
  std::string validator_etag;  // what a revalidation sends (If-None-Match / If-Modified-Since)
  std::string validator_date;

  void reset() {
    if (filler && store != nullptr) {
      store->releaseFill(key);  // an exchange that ended without its response
    }
    mode = Mode::kOff;
    store = nullptr;
    policy = nullptr;
    key.clear();
    entry.reset();
    filler = head_only = may_store = authorized = false;
    request_ms = 0;
    if_none_match.clear();
    if_modified_since.clear();
    field_text.clear();
    fields.clear();
    validator_etag.clear();
    validator_date.clear();
  }
};

}  // namespace ballast::l7
