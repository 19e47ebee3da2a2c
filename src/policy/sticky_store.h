// src/policy/sticky_store.h — sticky sessions shared through Redis (`sticky: {store}`). Workers
// never talk to Redis: they read and pin in this node's StickyTable; a thread of the store's own
// writes the pins (SET with the session's TTL, then PUBLISH), subscribes to the other nodes'
// pins, and after an outage pushes what was pinned meanwhile and re-reads the store (SCAN).
//
// Keys: `ballast:sticky:<pool>:<session id>` → the backend's address. A claim (a session this
// node did not know) is `SET … NX GET`: if another node pinned it first, that pin wins here too.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <thread>

#include "core/fd.h"
#include "policy/sticky_table.h"
#include "redis/redis_conn.h"

namespace ballast::policy {

inline constexpr std::string_view kStickyChannel = "ballast:sticky";
// Keys read back from the store after an outage, at most (the table's capacity).
inline constexpr size_t kStickyResyncLimit = kDefaultStickyCapacity;

class StickyStore {
 public:
  StickyStore(std::string host, uint16_t port);
  ~StickyStore();
  StickyStore(const StickyStore&) = delete;
  StickyStore& operator=(const StickyStore&) = delete;

  // The store key of `session` in `pool`.
  static std::string keyOf(std::string_view pool, std::string_view session);

  // Workers.
  std::optional<std::string> find(std::string_view key, uint64_t now_s) const {
    return table_.find(key, now_s);
  }
  void pin(std::string_view key, std::string_view backend, uint64_t expiry_s, PinKind kind);

  // Any thread.
  bool up() const { return up_.load(std::memory_order_acquire); }
  const std::string& url() const { return url_; }
  size_t sessions() const { return table_.size(); }
  uint64_t evictions() const { return table_.evictions(); }
  uint64_t writes() const { return writes_.load(std::memory_order_relaxed); }
  uint64_t failures() const { return failures_.load(std::memory_order_relaxed); }
  uint64_t received() const { return received_.load(std::memory_order_relaxed); }
  uint64_t fallbacks() const { return fallbacks_.load(std::memory_order_relaxed); }
  uint64_t resyncs() const { return resyncs_.load(std::memory_order_relaxed); }
  uint64_t claimsLost() const { return claims_lost_.load(std::memory_order_relaxed); }

  // The process's store for this endpoint, made (and its thread started) on first use. Takes a
  // mutex: callers keep the pointer. Stores live until exit.
  static StickyStore& forEndpoint(const std::string& host, uint16_t port);
  static void forEach(const std::function<void(const StickyStore&)>& fn);

 private:
  void run();
  bool connect();
  void disconnect(const char* why);
  bool write(const std::vector<StickyTable::Pending>& pins);
  bool writeBatch(std::span<const StickyTable::Pending> pins);
  bool resync();
  // Messages of other nodes' pins: read from the socket first, or only those already buffered.
  void readMessages(bool from_socket);

  std::string host_;
  uint16_t port_;
  std::string url_;
  StickyTable table_;
  core::Fd wake_;
  redis::Connection ctx_;  // commands, store thread only
  redis::Connection sub_;  // subscribed to kStickyChannel, store thread only
  uint64_t backoff_ms_ = 0;
  std::atomic<bool> up_{true};
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> writes_{0};
  std::atomic<uint64_t> failures_{0};
  std::atomic<uint64_t> received_{0};
  std::atomic<uint64_t> fallbacks_{0};
  std::atomic<uint64_t> resyncs_{0};
  std::atomic<uint64_t> claims_lost_{0};
  std::thread thread_;
};

}  // namespace ballast::policy
