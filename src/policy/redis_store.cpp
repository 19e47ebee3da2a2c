// src/policy/redis_store.cpp — the store thread: a synchronous hiredis connection with connect
// and command timeouts, refills pipelined in batches, reconnection with doubling backoff.
#include "policy/redis_store.h"

#include <hiredis/hiredis.h>
#include <poll.h>
#include <sys/eventfd.h>

#include <array>
#include <cinttypes>
#include <cstdio>
#include <map>
#include <memory>
#include <mutex>
#include <utility>

#include "core/clock.h"
#include "core/log.h"

namespace ballast::policy {
namespace {

// Takes `lease` tokens of a shared GCRA bucket, all or none, stamped with the Redis server's
// own clock (every node agrees on it). KEYS[1]: the bucket; ARGV: emission interval (µs),
// tolerance (interval × burst, µs), lease. Returns {granted, µs until a lease would pass}.
// The key expires once the bucket is full again, so idle keys cost Redis nothing. TIME before a
// write needs effects replication: the default from Redis 5, asked for explicitly before.
constexpr const char* kTakeScript = R"lua(
redis.replicate_commands()
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local tolerance = tonumber(ARGV[2])
local n = tonumber(ARGV[3])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
local nxt = tat + interval * n
if nxt - now > tolerance then
  return {0, nxt - tolerance - now}
end
redis.call('SET', KEYS[1], string.format('%d', nxt), 'PX', math.floor((nxt - now) / 1000) + 1000)
return {n, 0}
)lua";

constexpr size_t kBatch = 256;
// "ballast:rl:" and two 16-digit hex numbers, with room to spare.
constexpr size_t kRedisKeyBytes = 64;
constexpr uint64_t kUsPerMs = 1000;
constexpr size_t kReplyFields = 2;

struct Registry {
  std::mutex mu;
  std::map<std::pair<std::string, uint16_t>, std::unique_ptr<RedisStore>> stores;
};
Registry& registry() {
  static Registry r;
  return r;
}

}  // namespace

RefillQueue::RefillQueue() {
  for (size_t i = 0; i < cells_.size(); ++i) {
    cells_[i].seq.store(i, std::memory_order_relaxed);
  }
}

bool RefillQueue::push(const RefillRequest& r) {
  size_t pos = tail_.load(std::memory_order_relaxed);
  for (;;) {
    Cell& c = cells_[pos % cells_.size()];
    const size_t seq = c.seq.load(std::memory_order_acquire);
    const auto diff = static_cast<intptr_t>(seq) - static_cast<intptr_t>(pos);
    if (diff == 0) {
      if (tail_.compare_exchange_weak(pos, pos + 1, std::memory_order_relaxed)) {
        c.value = r;
        c.seq.store(pos + 1, std::memory_order_release);
        return true;
      }
    } else if (diff < 0) {
      return false;  // full
    } else {
      pos = tail_.load(std::memory_order_relaxed);
    }
  }
}

bool RefillQueue::pop(RefillRequest& r) {
  const size_t pos = head_.load(std::memory_order_relaxed);
  Cell& c = cells_[pos % cells_.size()];
  const size_t seq = c.seq.load(std::memory_order_acquire);
  if (static_cast<intptr_t>(seq) - static_cast<intptr_t>(pos + 1) < 0) {
    return false;  // empty
  }
  r = c.value;
  head_.store(pos + 1, std::memory_order_relaxed);
  c.seq.store(pos + cells_.size(), std::memory_order_release);
  return true;
}

RedisStore::RedisStore(std::string host, uint16_t port)
    : host_(std::move(host)),
      port_(port),
      url_(redis::endpointUrl(host_, port_)),
      wake_(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {
  thread_ = std::thread([this] { run(); });
}

RedisStore::~RedisStore() {
  stop_.store(true, std::memory_order_release);
  const uint64_t one = 1;
  [[maybe_unused]] const ssize_t n = write(wake_.get(), &one, sizeof(one));
  thread_.join();
}

RedisStore& RedisStore::forEndpoint(const std::string& host, uint16_t port) {
  Registry& r = registry();
  const std::lock_guard lock(r.mu);
  auto& slot = r.stores[{host, port}];
  if (!slot) {
    slot = std::make_unique<RedisStore>(host, port);
  }
  return *slot;
}

void RedisStore::forEach(const std::function<void(const RedisStore&)>& fn) {
  Registry& r = registry();
  const std::lock_guard lock(r.mu);
  for (const auto& [endpoint, store] : r.stores) {
    fn(*store);
  }
}

bool RedisStore::requestRefill(const RefillRequest& r) {
  if (!queue_.push(r)) {
    shares_.failed(r.slot);
    return false;
  }
  const uint64_t one = 1;
  [[maybe_unused]] const ssize_t n = write(wake_.get(), &one, sizeof(one));
  return true;
}

bool RedisStore::connect() {
  const auto fail = [&](std::string_view why) {
    if (up_.exchange(false, std::memory_order_acq_rel)) {
      outages_.fetch_add(1, std::memory_order_release);
      core::LogLine(core::LogLevel::kWarn, "policy.rate_store_down")
          .str("store", url_)
          .str("error", why);
    }
    ctx_.close();
    return false;
  };
  std::string error;
  if (!ctx_.open(host_, port_, kStoreTimeoutMs, &error)) {
    return fail(error);
  }
  const redis::ReplyPtr reply = ctx_.command({"SCRIPT", "LOAD", kTakeScript}, &error);
  if (!reply || reply->type != REDIS_REPLY_STRING) {
    return fail(!reply                        ? std::string_view(error)
                : redis::isError(reply.get()) ? std::string_view(reply->str, reply->len)
                                              : std::string_view("SCRIPT LOAD failed"));
  }
  sha_.assign(reply->str, reply->len);
  backoff_ms_ = kStoreBackoffMinMs;
  if (!up_.exchange(true, std::memory_order_acq_rel)) {
    core::LogLine(core::LogLevel::kInfo, "policy.rate_store_up").str("store", url_);
  }
  return true;
}

void RedisStore::disconnect(const char* why) {
  if (up_.exchange(false, std::memory_order_acq_rel)) {
    outages_.fetch_add(1, std::memory_order_release);
    core::LogLine(core::LogLevel::kWarn, "policy.rate_store_down")
        .str("store", url_)
        .str("error", why);
  }
  ctx_.close();
}

void RedisStore::serve(RefillRequest* batch, size_t n) {
  redisContext* c = ctx_.raw();
  std::array<char, kRedisKeyBytes> key{};
  for (size_t i = 0; i < n; ++i) {
    const RefillRequest& r = batch[i];
    snprintf(key.data(), key.size(), "ballast:rl:%016" PRIx64 ":%016" PRIx64, r.rule_id, r.key);
    redisAppendCommand(c, "EVALSHA %s 1 %s %" PRIu64 " %" PRIu64 " %u", sha_.c_str(), key.data(),
                       r.interval_us, r.tolerance_us, r.lease);
  }
  round_trips_.fetch_add(n, std::memory_order_relaxed);
  size_t done = 0;
  const char* error = nullptr;
  for (; done < n; ++done) {
    void* raw = nullptr;
    if (redisGetReply(c, &raw) != REDIS_OK) {
      error = c->errstr[0] != '\0' ? c->errstr : "connection lost";
      break;
    }
    const redis::ReplyPtr reply(static_cast<redisReply*>(raw));
    const RefillRequest& r = batch[done];
    if (reply->type != REDIS_REPLY_ARRAY || reply->elements != kReplyFields ||
        reply->element[0]->type != REDIS_REPLY_INTEGER ||
        reply->element[1]->type != REDIS_REPLY_INTEGER) {
      // NOSCRIPT after a restart under our feet, OOM, a replica: reconnect and load again.
      error = reply->type == REDIS_REPLY_ERROR ? "script error" : "unexpected reply";
      shares_.failed(r.slot);
      failures_.fetch_add(1, std::memory_order_relaxed);
      continue;
    }
    shares_.apply(r.slot, r.key, static_cast<uint32_t>(reply->element[0]->integer),
                  static_cast<uint64_t>(reply->element[1]->integer), core::monotonicUs());
  }
  for (size_t i = done; i < n; ++i) {
    shares_.failed(batch[i].slot);
    failures_.fetch_add(1, std::memory_order_relaxed);
  }
  if (error != nullptr) {
    disconnect(error);
  }
}

void RedisStore::run() {
  std::array<RefillRequest, kBatch> batch{};
  uint64_t next_connect_us = 0;
  while (!stop_.load(std::memory_order_acquire)) {
    if (!ctx_.isOpen() && core::monotonicUs() >= next_connect_us && !connect()) {
      next_connect_us = core::monotonicUs() + backoff_ms_ * kUsPerMs;
      backoff_ms_ = std::min(backoff_ms_ * 2, kStoreBackoffMaxMs);
    }
    pollfd p{wake_.get(), POLLIN, 0};
    const int timeout =
        ctx_.isOpen() ? -1 : static_cast<int>(backoff_ms_);  // -1: until a refill is queued
    poll(&p, 1, timeout);
    uint64_t count = 0;
    [[maybe_unused]] const ssize_t got = read(wake_.get(), &count, sizeof(count));
    size_t n = 0;
    for (;;) {
      while (n < batch.size() && queue_.pop(batch[n])) {
        ++n;
      }
      if (n == 0) {
        break;
      }
      if (!ctx_.isOpen()) {
        for (size_t i = 0; i < n; ++i) {
          shares_.failed(batch[i].slot);
        }
        failures_.fetch_add(n, std::memory_order_relaxed);
      } else {
        serve(batch.data(), n);
      }
      n = 0;
    }
  }
}

}  // namespace ballast::policy
