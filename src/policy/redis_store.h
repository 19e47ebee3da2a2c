// src/policy/redis_store.h — one shared rate-limit store (a Redis server): its local share
// table, and the thread that refills shares from Redis with an atomic Lua script. Workers never
// talk to Redis: they queue refill requests (a bounded lock-free queue, an eventfd to wake the
// thread) and keep deciding from their local share meanwhile.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <thread>

#include "core/fd.h"
#include "policy/share_table.h"
#include "redis/redis_conn.h"

namespace ballast::policy {

// Refills waiting for the store thread; a full queue drops the refill (the slot asks again).
inline constexpr size_t kRefillQueueSize = 4096;
// Connect and command timeout of the store connection; reconnect backoff bounds.
inline constexpr uint64_t kStoreTimeoutMs = 200;
inline constexpr uint64_t kStoreBackoffMinMs = 100;
inline constexpr uint64_t kStoreBackoffMaxMs = 2000;

struct RefillRequest {
  uint64_t key = 0;      // hash of the rule and the request's key
  uint64_t rule_id = 0;  // the rule's id (config): same config on every node, same Redis key
  uint64_t interval_us = 0;
  uint64_t tolerance_us = 0;  // interval × burst
  uint32_t slot = 0;
  uint32_t lease = 0;
};

// Producers and the consumer write their indexes on cache lines of their own.
inline constexpr size_t kCacheLineBytes = 64;

// Vyukov's bounded multi-producer queue: one CAS per push, no lock; the store thread pops.
class RefillQueue {
 public:
  RefillQueue();
  bool push(const RefillRequest& r);  // any thread; false when full
  bool pop(RefillRequest& r);         // one consumer

 private:
  struct Cell {
    std::atomic<size_t> seq{0};
    RefillRequest value;
  };
  std::array<Cell, kRefillQueueSize> cells_;
  alignas(kCacheLineBytes) std::atomic<size_t> head_{0};
  alignas(kCacheLineBytes) std::atomic<size_t> tail_{0};
};

class RedisStore {
 public:
  RedisStore(std::string host, uint16_t port);
  ~RedisStore();
  RedisStore(const RedisStore&) = delete;
  RedisStore& operator=(const RedisStore&) = delete;

  ShareTable& shares() { return shares_; }
  const ShareTable& shares() const { return shares_; }
  // Any thread: whether the last exchange with Redis worked (true before the first one).
  bool up() const { return up_.load(std::memory_order_acquire); }
  // Any thread, lock-free; a write to the eventfd wakes the store thread. False (and the slot
  // released) when the queue is full.
  bool requestRefill(const RefillRequest& r);

  const std::string& url() const { return url_; }
  uint64_t roundTrips() const { return round_trips_.load(std::memory_order_relaxed); }
  uint64_t failures() const { return failures_.load(std::memory_order_relaxed); }
  // Transitions to down so far: a rule logs its fallback once per outage by remembering it.
  uint64_t outages() const { return outages_.load(std::memory_order_acquire); }

  // The process's store for this endpoint, made (and its thread started) on first use. Config
  // load only: takes a mutex. Stores live until exit (one per distinct endpoint ever configured).
  static RedisStore& forEndpoint(const std::string& host, uint16_t port);
  static void forEach(const std::function<void(const RedisStore&)>& fn);

 private:
  void run();
  bool connect();
  void disconnect(const char* why);
  void serve(RefillRequest* batch, size_t n);

  std::string host_;
  uint16_t port_;
  std::string url_;
  ShareTable shares_;
  RefillQueue queue_;
  core::Fd wake_;
  redis::Connection ctx_;  // store thread only
  std::string sha_;        // the script's SHA1 once loaded on this connection
  uint64_t backoff_ms_ = kStoreBackoffMinMs;
  std::atomic<bool> up_{true};
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> round_trips_{0};
  std::atomic<uint64_t> failures_{0};
  std::atomic<uint64_t> outages_{0};
  std::thread thread_;
};

}  // namespace ballast::policy
