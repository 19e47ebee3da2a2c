// src/l7/upstream_pool.h — a worker's keep-alive connections to backends. A connection is lent to
// one HTTP session per request and comes back only after its response was read completely; idle
// ones are watched so a server's close or stray bytes retire them, and expire after a while.
// A connection to a pool with `tls:` speaks TLS underneath its transport calls (send, recv,
// shutdown), so the session above sees plaintext either way.
#pragma once

#include <cstdint>
#include <memory>
#include <unordered_map>
#include <utility>
#include <vector>

#include "config/config_types.h"
#include "core/event_loop.h"
#include "core/object_pool.h"
#include "core/timer_wheel.h"
#include "tls/client_context.h"
#include "tls/tls_stream.h"
#include "upstream/pool_runtime.h"

namespace ballast::l7 {

class UpstreamPool;
class H2Connections;

// What a session implements to use an upstream connection.
class UpstreamUser {
 public:
  virtual void onUpstreamConnect(int err) = 0;
  virtual void onUpstreamData(core::ChunkId id, uint32_t len) = 0;
  virtual void onUpstreamEnd(int err) = 0;
  virtual void onUpstreamSent(int64_t result) = 0;
  // Splice mode (UpstreamConn::spliceInto): `len` bytes went from the socket into the pipe.
  virtual void onUpstreamSpliced(uint32_t /*len*/) {}
  // Splice mode: how many more bytes the pipe may take (what is left of the body).
  virtual uint64_t upstreamSpliceLimit() { return 0; }

 protected:
  ~UpstreamUser() = default;
};

class UpstreamConn final : public core::StreamHandler, public tls::SessionSink {
 public:
  UpstreamConn(UpstreamPool& pool, upstream::BackendStatePtr backend)
      : pool_(pool), backend_(std::move(backend)) {}

  upstream::BackendState& backend() const { return *backend_; }
  uint32_t requests() const { return requests_; }
  bool reused() const { return requests_ > 0; }

  // The transport, in plaintext. One send at a time: its completion is onUpstreamSent.
  void send(const uint8_t* data, uint32_t len);
  bool sending() const;
  bool open() const { return stream_.open(); }
  void startRecv();
  void stopRecv();
  // Our FIN once what is queued is out (after close_notify with TLS).
  void shutdownWrite();
  // Cleartext connections: further reads go into the pipe `pipe_w` (onUpstreamSpliced, bounded
  // by upstreamSpliceLimit) instead of chunks, until endSplice. Bytes read into chunks before
  // still arrive first, as onUpstreamData.
  bool canSplice() const;
  void spliceInto(int pipe_w);
  void endSplice();
  // Cleartext connections: like send(), `len` bytes waiting in the pipe `pipe_r`.
  void sendFromPipe(int pipe_r, uint32_t len);

  void onConnect(core::Stream& s, int err) override;
  void onRecv(core::Stream& s, core::ChunkId id, uint32_t len) override;
  void onRecvEnd(core::Stream& s, int err) override;
  void onSent(core::Stream& s, int64_t result) override;
  void onReleased(core::Stream& s) override;
  void onSpliced(core::Stream& s, uint32_t len) override;
  uint64_t spliceLimit(core::Stream& s) override;
  void onSession(SSL_SESSION* session) override;

 private:
  friend class UpstreamPool;
  static void onIdleTimer(void* self);

  // TLS state, only for pools with `tls:` (cleartext connections stay small).
  struct Tls {
    Tls(const tls::ClientContext& c) : ctx(&c), stream(c.ctx(), tls::TlsStream::Role::kClient) {}
    const tls::ClientContext* ctx;
    tls::TlsStream stream;
    core::ChunkQueue wire;       // ciphertext on its way to the socket
    core::ChunkQueue plain;      // decrypted, not yet handed to the user (it stopped reading)
    core::Timer deliver;         // hands `plain` over on the next turn after startRecv
    uint32_t pending_plain = 0;  // bytes of the user's send not yet reported sent
    int end_err = 0;
    bool handshaken = false;
    bool user_reading = false;
    bool socket_reading = false;
    bool ended = false;  // the server's end came while `plain` still had bytes
    bool shut_pending = false;
  };
  void startTls();
  void flushWire();
  void deliverPlain();
  void tlsFailed(const char* stage);
  void socketRecv(bool on);
  static void onDeliver(void* self);

  UpstreamPool& pool_;
  upstream::BackendStatePtr backend_;
  core::Stream stream_;
  core::Timer idle_timer_;
  UpstreamUser* user_ = nullptr;  // null while idle
  uint32_t requests_ = 0;         // responses completed on this connection
  uint32_t idle_index_ = 0;
  bool idle_ = false;
  core::ChunkQueue unsent_;
  std::unique_ptr<Tls> tls_;
};

class UpstreamPool {
 public:
  explicit UpstreamPool(core::EventLoop& loop);
  ~UpstreamPool();
  UpstreamPool(const UpstreamPool&) = delete;
  UpstreamPool& operator=(const UpstreamPool&) = delete;

  // An idle connection to `backend` (made with `tls`, null for cleartext), now lent to `user`;
  // nullptr when none is idle.
  UpstreamConn* takeIdle(const upstream::BackendStatePtr& backend, const tls::ClientContext* tls,
                         UpstreamUser* user);
  // A new connection, connecting (then handshaking with `tls`); nullptr (and errno set) when no
  // socket could be made.
  UpstreamConn* open(const upstream::BackendStatePtr& backend, const tls::ClientContext* tls,
                     UpstreamUser* user);
  // The user is done and the connection may carry another request, within the pool's limits.
  void giveBack(UpstreamConn* c, const config::UpstreamKeepalive& limits);
  // The user is done and the connection must not be reused; `unsent` (bytes a send may still be
  // reading) is freed once the socket is released.
  void discard(UpstreamConn* c, core::ChunkQueue unsent = {});
  // Shutdown: close every idle connection.
  void closeIdle();
  size_t live() const { return pool_.live(); }
  size_t idle() const;
  // The worker's shared HTTP/2 connections (made on first use; they borrow sockets from here).
  H2Connections& h2Connections();

 private:
  friend class UpstreamConn;
  // Idle connections and resumable sessions are kept per backend and TLS context: a connection
  // made under one pool's TLS settings never serves another's.
  using Key = std::pair<const upstream::BackendState*, const tls::ClientContext*>;
  struct KeyHash {
    size_t operator()(const Key& k) const {
      return std::hash<const void*>()(k.first) * 31 + std::hash<const void*>()(k.second);
    }
  };
  static Key keyOf(const UpstreamConn* c) {
    return {c->backend_.get(), c->tls_ ? c->tls_->ctx : nullptr};
  }
  void removeIdle(UpstreamConn* c);
  void released(UpstreamConn* c);
  void keepSession(const UpstreamConn* c, SSL_SESSION* session);

  core::EventLoop& loop_;
  core::ObjectPool<UpstreamConn> pool_;
  std::unordered_map<Key, std::vector<UpstreamConn*>, KeyHash> idle_;
  std::unordered_map<Key, SSL_SESSION*, KeyHash> sessions_;  // one reference each
  std::unique_ptr<H2Connections> h2_;
};

}  // namespace ballast::l7
