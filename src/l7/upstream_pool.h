// src/l7/upstream_pool.h — a worker's keep-alive connections to backends. A connection is lent to
// one HTTP session per request and comes back only after its response was read completely; idle
// ones are watched so a server's close or stray bytes retire them, and expire after a while.
#pragma once

#include <cstdint>
#include <unordered_map>
#include <vector>

#include "config/config_types.h"
#include "core/event_loop.h"
#include "core/object_pool.h"
#include "core/timer_wheel.h"
#include "upstream/pool_runtime.h"

namespace ballast::l7 {

class UpstreamPool;

// What a session implements to use an upstream connection.
class UpstreamUser {
 public:
  virtual void onUpstreamConnect(int err) = 0;
  virtual void onUpstreamData(core::ChunkId id, uint32_t len) = 0;
  virtual void onUpstreamEnd(int err) = 0;
  virtual void onUpstreamSent(int64_t result) = 0;

 protected:
  ~UpstreamUser() = default;
};

class UpstreamConn final : public core::StreamHandler {
 public:
  UpstreamConn(UpstreamPool& pool, upstream::BackendStatePtr backend)
      : pool_(pool), backend_(std::move(backend)) {}

  core::Stream& stream() { return stream_; }
  upstream::BackendState& backend() const { return *backend_; }
  uint32_t requests() const { return requests_; }
  bool reused() const { return requests_ > 0; }

  void onConnect(core::Stream& s, int err) override;
  void onRecv(core::Stream& s, core::ChunkId id, uint32_t len) override;
  void onRecvEnd(core::Stream& s, int err) override;
  void onSent(core::Stream& s, int64_t result) override;
  void onReleased(core::Stream& s) override;

 private:
  friend class UpstreamPool;
  static void onIdleTimer(void* self);

  UpstreamPool& pool_;
  upstream::BackendStatePtr backend_;
  core::Stream stream_;
  core::Timer idle_timer_;
  UpstreamUser* user_ = nullptr;  // null while idle
  uint32_t requests_ = 0;         // responses completed on this connection
  uint32_t idle_index_ = 0;
  bool idle_ = false;
  core::ChunkQueue unsent_;
};

class UpstreamPool {
 public:
  explicit UpstreamPool(core::EventLoop& loop) : loop_(loop) {}
  UpstreamPool(const UpstreamPool&) = delete;
  UpstreamPool& operator=(const UpstreamPool&) = delete;

  // An idle connection to `backend`, now lent to `user`; nullptr when none is idle.
  UpstreamConn* takeIdle(const upstream::BackendStatePtr& backend, UpstreamUser* user);
  // A new connection, connecting; nullptr (and errno set) when no socket could be made.
  UpstreamConn* open(const upstream::BackendStatePtr& backend, UpstreamUser* user);
  // The user is done and the connection may carry another request, within the pool's limits.
  void giveBack(UpstreamConn* c, const config::UpstreamKeepalive& limits);
  // The user is done and the connection must not be reused; `unsent` (bytes a send may still be
  // reading) is freed once the socket is released.
  void discard(UpstreamConn* c, core::ChunkQueue unsent = {});
  // Shutdown: close every idle connection.
  void closeIdle();
  size_t live() const { return pool_.live(); }
  size_t idle() const;

 private:
  friend class UpstreamConn;
  void removeIdle(UpstreamConn* c);
  void released(UpstreamConn* c);

  core::EventLoop& loop_;
  core::ObjectPool<UpstreamConn> pool_;
  std::unordered_map<const upstream::BackendState*, std::vector<UpstreamConn*>> idle_;
};

}  // namespace ballast::l7
