// src/policy/sticky_store.cpp — the sticky store's thread: one hiredis connection for commands,
// one subscribed to the other nodes' pins, both with connect and command timeouts; reconnection
// with doubling backoff; after each (re)connection our unwritten pins go out and the store is
// read back.
#include "policy/sticky_store.h"

#include <hiredis/hiredis.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <ctime>
#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <utility>

#include "core/clock.h"
#include "core/log.h"

namespace ballast::policy {
namespace {

// A session another node pinned first keeps its pin: the claim returns it instead.
// KEYS[1]: the session; ARGV: backend, TTL (ms), the message the other nodes receive.
constexpr const char* kClaimScript = R"lua(
local old = redis.call('GET', KEYS[1])
if old then return old end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
redis.call('PUBLISH', 'ballast:sticky', ARGV[3])
return false
)lua";
// A re-pin (the old backend went down) wins.
constexpr const char* kMoveScript = R"lua(
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
redis.call('PUBLISH', 'ballast:sticky', ARGV[3])
return false
)lua";

constexpr uint64_t kTimeoutMs = 200;
constexpr uint64_t kBackoffMinMs = 100;
constexpr uint64_t kBackoffMaxMs = 2000;
constexpr uint64_t kUsPerMs = 1000;
constexpr uint64_t kMsPerS = 1000;
constexpr int kIdlePollMs = 1000;
constexpr const char* kScanCount = "1000";
constexpr size_t kScanReplyFields = 2;
constexpr size_t kMessageFields = 3;
// Commands pipelined before their replies are read: bounds the memory a re-sync takes.
constexpr size_t kWriteBatch = 1024;

uint64_t nowS() { return static_cast<uint64_t>(std::time(nullptr)); }

struct Registry {
  std::mutex mu;
  std::map<std::pair<std::string, uint16_t>, std::unique_ptr<StickyStore>> stores;
};
Registry& registry() {
  static Registry r;
  return r;
}

}  // namespace

StickyStore::StickyStore(std::string host, uint16_t port)
    : host_(std::move(host)),
      port_(port),
      url_(redis::endpointUrl(host_, port_)),
      wake_(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)),
      backoff_ms_(kBackoffMinMs) {
  // The thread may start before the process blocks its signals (the first snapshot is built
  // early): it must never be the one a SIGTERM or SIGHUP is delivered to.
  sigset_t all;
  sigset_t before;
  sigfillset(&all);
  pthread_sigmask(SIG_BLOCK, &all, &before);
  thread_ = std::thread([this] { run(); });
  pthread_sigmask(SIG_SETMASK, &before, nullptr);
}

StickyStore::~StickyStore() {
  stop_.store(true, std::memory_order_release);
  const uint64_t one = 1;
  [[maybe_unused]] const ssize_t n = ::write(wake_.get(), &one, sizeof(one));
  thread_.join();
}

std::string StickyStore::keyOf(std::string_view pool, std::string_view session) {
  std::string key(kStickyKeyPrefix);
  key.append(pool);
  key.push_back(':');
  key.append(session);
  return key;
}

StickyStore& StickyStore::forEndpoint(const std::string& host, uint16_t port) {
  Registry& r = registry();
  const std::lock_guard lock(r.mu);
  auto& slot = r.stores[{host, port}];
  if (!slot) {
    slot = std::make_unique<StickyStore>(host, port);
  }
  return *slot;
}

void StickyStore::forEach(const std::function<void(const StickyStore&)>& fn) {
  Registry& r = registry();
  const std::lock_guard lock(r.mu);
  for (const auto& [endpoint, store] : r.stores) {
    fn(*store);
  }
}

void StickyStore::pin(std::string_view key, std::string_view backend, uint64_t expiry_s,
                      PinKind kind) {
  table_.pin(key, backend, expiry_s, kind);
  if (!up()) {
    // Kept on this node; written when the store returns (the outage was logged once).
    fallbacks_.fetch_add(1, std::memory_order_relaxed);
  }
  const uint64_t one = 1;
  [[maybe_unused]] const ssize_t n = ::write(wake_.get(), &one, sizeof(one));
}

bool StickyStore::connect() {
  std::string error;
  bool ok =
      ctx_.open(host_, port_, kTimeoutMs, &error) && sub_.open(host_, port_, kTimeoutMs, &error);
  if (ok) {
    const redis::ReplyPtr reply = sub_.command({"SUBSCRIBE", kStickyChannel}, &error);
    if (!reply || reply->type != REDIS_REPLY_ARRAY) {
      if (reply) {
        error =
            redis::isError(reply.get()) ? std::string(reply->str, reply->len) : "SUBSCRIBE failed";
      }
      ok = false;
    }
  }
  if (!ok) {
    ctx_.close();
    sub_.close();
    if (up_.exchange(false, std::memory_order_acq_rel)) {
      core::LogLine(core::LogLevel::kWarn, "sticky.store_down")
          .str("store", url_)
          .str("error", error)
          .str("fallback", "pins are kept on this node and written when the store returns");
    }
    return false;
  }
  backoff_ms_ = kBackoffMinMs;
  return true;
}

void StickyStore::disconnect(const char* why) {
  failures_.fetch_add(1, std::memory_order_relaxed);
  if (up_.exchange(false, std::memory_order_acq_rel)) {
    core::LogLine(core::LogLevel::kWarn, "sticky.store_down")
        .str("store", url_)
        .str("error", why)
        .str("fallback", "pins are kept on this node and written when the store returns");
  }
  ctx_.close();
  sub_.close();
}

bool StickyStore::write(const std::vector<StickyTable::Pending>& pins) {
  for (size_t at = 0; at < pins.size(); at += kWriteBatch) {
    const size_t n = std::min(kWriteBatch, pins.size() - at);
    if (!writeBatch(std::span<const StickyTable::Pending>(pins.data() + at, n))) {
      return false;
    }
  }
  return true;
}

bool StickyStore::writeBatch(std::span<const StickyTable::Pending> pins) {
  redisContext* c = ctx_.raw();
  const uint64_t now = nowS();
  std::vector<const StickyTable::Pending*> sent;
  for (const auto& p : pins) {
    if (p.expiry_s <= now) {
      continue;  // expired before it could be written: nothing to share
    }
    const std::string ttl_ms = std::to_string((p.expiry_s - now) * kMsPerS);
    const std::string note = formatPinMessage(p.key, p.backend, p.expiry_s);
    redisAppendCommand(c, "EVAL %s 1 %b %b %b %b",
                       p.kind == PinKind::kClaim ? kClaimScript : kMoveScript, p.key.data(),
                       p.key.size(), p.backend.data(), p.backend.size(), ttl_ms.data(),
                       ttl_ms.size(), note.data(), note.size());
    sent.push_back(&p);
  }
  for (const auto* p : sent) {
    void* raw = nullptr;
    if (redisGetReply(c, &raw) != REDIS_OK) {
      disconnect(c->errstr[0] != '\0' ? c->errstr : "connection lost");
      return false;
    }
    const redis::ReplyPtr reply(static_cast<redisReply*>(raw));
    if (reply->type == REDIS_REPLY_ERROR) {
      disconnect(reply->str);
      return false;
    }
    writes_.fetch_add(1, std::memory_order_relaxed);
    table_.written(*p);
    if (reply->type == REDIS_REPLY_STRING) {
      // Another node pinned this session first: follow it.
      claims_lost_.fetch_add(1, std::memory_order_relaxed);
      table_.install(p->key, std::string_view(reply->str, reply->len), p->expiry_s, true);
    }
  }
  return true;
}

bool StickyStore::resync() {
  if (!write(table_.live(kStickyResyncLimit, nowS()))) {
    return false;
  }
  redisContext* c = ctx_.raw();
  const std::string pattern = std::string(kStickyKeyPrefix) + "*";
  std::string cursor = "0";
  size_t read = 0;
  do {
    const redis::ReplyPtr scan(static_cast<redisReply*>(
        redisCommand(c, "SCAN %s MATCH %s COUNT %s", cursor.c_str(), pattern.c_str(), kScanCount)));
    if (!scan || scan->type != REDIS_REPLY_ARRAY || scan->elements != kScanReplyFields) {
      disconnect(scan ? "unexpected SCAN reply" : c->errstr);
      return false;
    }
    cursor.assign(scan->element[0]->str, scan->element[0]->len);
    const redisReply* keys = scan->element[1];
    for (size_t i = 0; i < keys->elements; ++i) {
      const redisReply* k = keys->element[i];
      redisAppendCommand(c, "GET %b", k->str, k->len);
      redisAppendCommand(c, "PTTL %b", k->str, k->len);
    }
    const uint64_t now = nowS();
    for (size_t i = 0; i < keys->elements; ++i) {
      void* value = nullptr;
      void* ttl = nullptr;
      if (redisGetReply(c, &value) != REDIS_OK || redisGetReply(c, &ttl) != REDIS_OK) {
        freeReplyObject(value);
        disconnect(c->errstr[0] != '\0' ? c->errstr : "connection lost");
        return false;
      }
      const redis::ReplyPtr v(static_cast<redisReply*>(value));
      const redis::ReplyPtr t(static_cast<redisReply*>(ttl));
      if (v->type == REDIS_REPLY_STRING && t->type == REDIS_REPLY_INTEGER && t->integer > 0) {
        const redisReply* k = keys->element[i];
        table_.install(std::string_view(k->str, k->len), std::string_view(v->str, v->len),
                       now + static_cast<uint64_t>(t->integer) / kMsPerS, false);
        ++read;
      }
    }
  } while (cursor != "0" && read < kStickyResyncLimit);
  resyncs_.fetch_add(1, std::memory_order_relaxed);
  if (!up_.exchange(true, std::memory_order_acq_rel)) {
    core::LogLine(core::LogLevel::kInfo, "sticky.store_up").str("store", url_).unum("read", read);
  }
  return true;
}

void StickyStore::readMessages(bool from_socket) {
  redisContext* s = sub_.raw();
  if (from_socket && redisBufferRead(s) != REDIS_OK) {
    disconnect(s->errstr[0] != '\0' ? s->errstr : "subscription lost");
    return;
  }
  for (;;) {
    void* raw = nullptr;
    if (redisGetReplyFromReader(s, &raw) != REDIS_OK) {
      disconnect("unreadable message");
      return;
    }
    if (raw == nullptr) {
      return;
    }
    const redis::ReplyPtr m(static_cast<redisReply*>(raw));
    if (m->type != REDIS_REPLY_ARRAY || m->elements != kMessageFields ||
        m->element[2]->type != REDIS_REPLY_STRING) {
      continue;
    }
    const auto pin = parsePinMessage(std::string_view(m->element[2]->str, m->element[2]->len));
    if (!pin) {
      continue;  // not ours
    }
    received_.fetch_add(1, std::memory_order_relaxed);
    table_.install(pin->key, pin->backend, pin->expiry_s, false);
  }
}

void StickyStore::run() {
  uint64_t next_connect_us = 0;
  while (!stop_.load(std::memory_order_acquire)) {
    if (!ctx_.isOpen() && core::monotonicUs() >= next_connect_us) {
      if (connect() && resync()) {
        readMessages(false);  // any that came with SUBSCRIBE's reply are in hiredis's buffer
      } else {
        next_connect_us = core::monotonicUs() + backoff_ms_ * kUsPerMs;
        backoff_ms_ = std::min(backoff_ms_ * 2, kBackoffMaxMs);
      }
    }
    std::array<pollfd, 2> fds{{{wake_.get(), POLLIN, 0}, {-1, POLLIN, 0}}};
    if (sub_.isOpen()) {
      fds[1].fd = sub_.raw()->fd;
    }
    poll(fds.data(), fds.size(), ctx_.isOpen() ? kIdlePollMs : static_cast<int>(backoff_ms_));
    uint64_t count = 0;
    [[maybe_unused]] const ssize_t got = read(wake_.get(), &count, sizeof(count));
    if (sub_.isOpen() && (fds[1].revents & (POLLIN | POLLHUP | POLLERR)) != 0) {
      readMessages(true);
    }
    // Taken even while down, so the queue stays bounded: the pins stay marked in the table and
    // the walk after reconnecting writes them.
    auto pins = table_.drainQueued();
    if (table_.takeOverflow()) {
      pins = table_.pending(kStickyResyncLimit);
    }
    if (ctx_.isOpen() && !pins.empty()) {
      write(pins);
    }
  }
}

}  // namespace ballast::policy
