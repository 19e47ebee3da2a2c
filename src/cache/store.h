// src/cache/store.h — the HTTP cache's memory: one store per listener, shared by every worker of
// the process so that the hit ratio does not fall as workers are added. Keys hash to one of a
// fixed number of shards, each with its own lock and LRU list, so workers rarely wait on each
// other; a lookup holds its shard's lock only to find and pin an entry (a shared_ptr), and the
// body is then read without any lock. Stored responses never change: a revalidation stores a new
// one that shares the old body.
//
// The store also records which keys are being filled (a miss went upstream for them), so that
// concurrent misses for one key wait for that response instead of all asking the backend
// (request coalescing; see l7/cache_tap.h).
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "compress/compressor.h"
#include "proto/http1/message.h"

namespace ballast::cache {

// Our compressed copies of a stored body (`compress:`), at most one per coding, made at the first
// hit that asks for that coding (l7/cache_tap.cpp) and then served as they are, so a hit costs no
// compression. The one part of a stored response that changes after it is stored: it has its own
// lock, and copies are added only through Store::attachEncoded, which counts their bytes.
class EncodedBodies {
 public:
  using Body = std::shared_ptr<const std::string>;
  EncodedBodies() = default;
  // A revalidated copy of a response keeps them: a 304 means the body is the same.
  EncodedBodies(const EncodedBodies& other);
  EncodedBodies& operator=(const EncodedBodies&) = delete;
  ~EncodedBodies() = default;

  Body get(compress::Encoding coding) const;
  size_t bytes() const;

 private:
  friend class Store;
  static constexpr size_t kCodings = static_cast<size_t>(compress::Encoding::kBrotli) + 1;
  mutable std::mutex mu_;
  mutable std::array<Body, kCodings> bodies_;
};

// One stored response: status, fields (as the backend sent them, hop-by-hop ones gone), body, and
// what decides its freshness. Immutable once stored.
struct StoredResponse {
  uint16_t status = 0;
  std::string field_text;                    // the fields' bytes
  std::vector<proto::http1::Header> fields;  // views into field_text
  std::shared_ptr<const std::string> body;
  // Request fields the response varies on (Vary), lower-case names with the request's values.
  std::vector<std::pair<std::string, std::string>> vary;
  uint64_t response_ms = 0;  // when it was received (or last revalidated), Unix ms
  uint32_t initial_age_s = 0;
  uint32_t lifetime_s = 0;
  uint32_t stale_while_revalidate_s = 0;
  uint32_t stale_if_error_s = 0;
  bool must_revalidate = false;
  bool no_cache = false;
  std::string etag;
  std::string last_modified;
  EncodedBodies encoded;

  // Copies `fields` into field_text and points `fields` at the copy.
  void setFields(std::span<const proto::http1::Header> from);
  uint32_t ageS(uint64_t now_ms) const;
  bool fresh(uint64_t now_ms) const { return !no_cache && ageS(now_ms) < lifetime_s; }
  // Seconds past its freshness (0 while fresh).
  uint32_t staleS(uint64_t now_ms) const;
  size_t charge() const;  // bytes it costs the store, its encoded copies included
};
using StoredPtr = std::shared_ptr<const StoredResponse>;

// The request fields a Vary list names, as a lookup compares them.
using RequestFields = std::span<const proto::http1::Header>;

struct StoreCounters {
  std::atomic<uint64_t> hits{0};
  std::atomic<uint64_t> misses{0};
  std::atomic<uint64_t> stale{0};        // served stale (stale-while-revalidate, stale-if-error)
  std::atomic<uint64_t> revalidated{0};  // a 304 from the backend refreshed an entry
  std::atomic<uint64_t> bypass{0};
  std::atomic<uint64_t> coalesced{0};  // a miss that waited for another's response and used it
  std::atomic<uint64_t> stores{0};
  std::atomic<uint64_t> evictions{0};
  std::atomic<uint64_t> purged{0};
  std::atomic<uint64_t> hit_bytes{0};
};

class Store {
 public:
  explicit Store(uint64_t max_bytes);
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  // A reload may change max_size: entries beyond the new size go at their shard's next store.
  void resize(uint64_t max_bytes);

  struct Lookup {
    StoredPtr entry;       // the variant matching the request, fresh or not; null: none
    bool filling = false;  // another exchange is fetching this key now
  };
  Lookup find(std::string_view key, RequestFields request, uint64_t now_ms);

  // Claims the right to fetch `key` from the backend for everyone (request coalescing). false:
  // another exchange holds it and has not given up for `hold_ms`.
  bool claimFill(std::string_view key, uint64_t now_ms, uint64_t hold_ms);
  // The fetch is over without storing anything: the next miss fetches.
  void releaseFill(std::string_view key);
  // Stores `r` under `key` (replacing the variant with the same Vary values), evicting the least
  // recently used entries of the shard beyond its share of max_size; also ends a fill.
  void insert(std::string_view key, StoredPtr r);

  // Keeps `body`, r's body compressed with `coding`, with r, counted in the store's bytes while r
  // is stored under `key` (an entry already replaced or evicted keeps it uncounted until it is
  // freed). Returns the copy to serve: an earlier one when another worker attached it first.
  EncodedBodies::Body attachEncoded(std::string_view key, const StoredResponse& r,
                                    compress::Encoding coding, EncodedBodies::Body body);

  size_t purgeKey(std::string_view key);
  size_t purgePrefix(std::string_view prefix);

  uint64_t bytes() const;
  uint64_t entries() const;
  uint64_t maxBytes() const { return max_bytes_.load(std::memory_order_relaxed); }
  StoreCounters& counters() { return counters_; }
  const StoreCounters& counters() const { return counters_; }

 private:
  static constexpr size_t kShards = 16;
  static constexpr size_t kMaxVariants = 8;
  struct Slot {
    std::string key;
    std::vector<StoredPtr> variants;
    uint64_t fill_until_ms = 0;  // a fill is in progress until then (0: none)
    size_t bytes = 0;
  };
  struct Shard {
    mutable std::mutex mu;
    std::list<Slot> lru;  // front: most recently used
    std::unordered_map<std::string_view, std::list<Slot>::iterator> index;
    size_t bytes = 0;
  };
  Shard& shardFor(std::string_view key);
  // Removes the slot; the shard's lock is held.
  void erase(Shard& s, std::list<Slot>::iterator it);
  void evict(Shard& s, const Slot* keep);

  std::array<Shard, kShards> shards_;
  std::atomic<uint64_t> max_bytes_;
  StoreCounters counters_;
};

// Whether `r` was stored for a request with these fields (its Vary values match).
bool varyMatches(const StoredResponse& r, RequestFields request);
// The values of the fields `vary_list` names ("Accept-Encoding, Accept-Language"), from the
// request, as StoredResponse::vary keeps them. false: the list names a field more than 16 times.
bool varyValues(std::span<const std::string_view> vary_fields, RequestFields request,
                std::vector<std::pair<std::string, std::string>>& out);

// The process's stores, one per listener name, made on first use and kept across reloads (a
// reload does not empty the cache; a smaller max_size shrinks it).
std::shared_ptr<Store> storeFor(const std::string& listener, uint64_t max_bytes);
// Every store, for metrics and the admin API.
std::vector<std::pair<std::string, std::shared_ptr<Store>>> allStores();

}  // namespace ballast::cache
