// src/l7/upstream_pool.cpp — lending, returning and retiring upstream connections, and the TLS
// layer under a connection's transport calls for pools with `tls:`.
#include "l7/upstream_pool.h"

#include <sys/socket.h>

#include <cerrno>

#include "core/log.h"
#include "core/socket.h"
#include "l7/h2_upstream.h"

namespace ballast::l7 {
namespace {

// Decrypted bytes held for a user that stopped reading, before the socket stops too.
constexpr uint32_t kMaxHeldPlaintext = 64 * 1024;

}  // namespace

// --- transport -------------------------------------------------------------------------------

void UpstreamConn::send(const uint8_t* data, uint32_t len) {
  if (!tls_) {
    pool_.loop_.send(stream_, data, len);
    return;
  }
  if (!tls_->stream.send(std::span<const uint8_t>(data, len)) ||
      !tls_->stream.drainWire(pool_.loop_.chunks(), tls_->wire)) {
    tlsFailed("send");
    return;
  }
  tls_->pending_plain += len;
  flushWire();
}

bool UpstreamConn::sending() const { return tls_ ? tls_->pending_plain > 0 : stream_.sending(); }

void UpstreamConn::startRecv() {
  if (!tls_) {
    pool_.loop_.startRecv(stream_);
    return;
  }
  tls_->user_reading = true;
  socketRecv(true);
  if (!tls_->plain.empty() || tls_->ended) {
    // Not from inside the user's own call: on the next turn.
    pool_.loop_.timers().schedule(tls_->deliver, 0);
  }
}

void UpstreamConn::stopRecv() {
  if (!tls_) {
    pool_.loop_.stopRecv(stream_);
    return;
  }
  tls_->user_reading = false;
  if (tls_->handshaken) {
    socketRecv(false);
  }
}

void UpstreamConn::shutdownWrite() {
  if (!tls_) {
    ::shutdown(stream_.fd(), SHUT_WR);
    return;
  }
  tls_->stream.shutdown();
  tls_->stream.drainWire(pool_.loop_.chunks(), tls_->wire);
  tls_->shut_pending = true;
  flushWire();
}

bool UpstreamConn::canSplice() const { return !tls_ && stream_.open() && pool_.loop_.canSplice(); }

void UpstreamConn::spliceInto(int pipe_w) { pool_.loop_.spliceRecv(stream_, pipe_w); }

void UpstreamConn::endSplice() { pool_.loop_.endSpliceRecv(stream_); }

void UpstreamConn::sendFromPipe(int pipe_r, uint32_t len) {
  pool_.loop_.sendFromPipe(stream_, pipe_r, len);
}

void UpstreamConn::onSpliced(core::Stream& /*s*/, uint32_t len) {
  if (user_ != nullptr) {
    user_->onUpstreamSpliced(len);
  }
}

uint64_t UpstreamConn::spliceLimit(core::Stream& /*s*/) {
  return user_ != nullptr ? user_->upstreamSpliceLimit() : 0;
}

void UpstreamConn::socketRecv(bool on) {
  if (tls_->socket_reading == on || !stream_.open()) {
    return;
  }
  tls_->socket_reading = on;
  if (on) {
    pool_.loop_.startRecv(stream_);
  } else {
    pool_.loop_.stopRecv(stream_);
  }
}

// --- TLS ---------------------------------------------------------------------------------------

void UpstreamConn::startTls() {
  const auto& settings = tls_->ctx->settings();
  tls::attachSink(tls_->stream.ssl(), this);
  if (!settings.sni.empty()) {
    tls_->stream.setServerName(settings.sni);
  }
  if (settings.verify) {
    const bool by_ip = settings.sni.empty();
    tls_->stream.expectName(by_ip ? backend_->address.hostString() : settings.sni, by_ip);
  }
  if (settings.session_reuse) {
    if (auto it = pool_.sessions_.find(UpstreamPool::keyOf(this)); it != pool_.sessions_.end()) {
      tls_->stream.resume(it->second);
    }
  }
  if (tls_->stream.start() != tls::TlsStream::Status::kOk) {
    tlsFailed("handshake");
    return;
  }
  tls_->stream.drainWire(pool_.loop_.chunks(), tls_->wire);
  flushWire();
  socketRecv(true);
}

void UpstreamConn::flushWire() {
  if (stream_.sending() || !stream_.open()) {
    return;
  }
  if (tls_->wire.empty()) {
    if (tls_->shut_pending) {
      tls_->shut_pending = false;
      ::shutdown(stream_.fd(), SHUT_WR);
    }
    return;
  }
  auto& chunks = pool_.loop_.chunks();
  const auto& m = chunks.meta(tls_->wire.head());
  pool_.loop_.send(stream_, chunks.data(tls_->wire.head()) + m.offset, m.length);
}

void UpstreamConn::deliverPlain() {
  auto& chunks = pool_.loop_.chunks();
  while (user_ != nullptr && tls_->user_reading && !tls_->plain.empty()) {
    // Hand the chunk itself over: the user releases it. Chunks `append` filled start at 0.
    const core::ChunkId id = tls_->plain.popFront(chunks);
    user_->onUpstreamData(id, chunks.meta(id).length);
  }
  if (tls_->ended && tls_->plain.empty() && user_ != nullptr && tls_->user_reading) {
    tls_->ended = false;
    user_->onUpstreamEnd(tls_->end_err);
    return;
  }
  if (tls_->plain.bytes() >= kMaxHeldPlaintext) {
    socketRecv(false);
  }
}

void UpstreamConn::onDeliver(void* self) {
  auto* c = static_cast<UpstreamConn*>(self);
  if (c->tls_) {
    c->deliverPlain();
  }
}

void UpstreamConn::tlsFailed(const char* stage) {
  core::LogLine(core::LogLevel::kWarn, "l7.upstream_tls_failed", core::LogRepeat::kLimited)
      .str("backend", backend_->name)
      .str("stage", stage)
      .str("reason", tls_->stream.reason());
  const bool handshaken = tls_->handshaken;
  tls_->handshaken = true;  // no second report
  if (user_ == nullptr) {
    pool_.removeIdle(this);
    pool_.loop_.close(stream_);
    return;
  }
  // The user discards the connection in its answer to this.
  if (!handshaken) {
    user_->onUpstreamConnect(EPROTO);
  } else {
    user_->onUpstreamEnd(EPROTO);
  }
}

void UpstreamConn::onSession(SSL_SESSION* session) { pool_.keepSession(this, session); }

// --- socket events -----------------------------------------------------------------------------

void UpstreamConn::onConnect(core::Stream& /*s*/, int err) {
  if (err == 0 && tls_) {
    startTls();
    return;
  }
  if (user_ != nullptr) {
    user_->onUpstreamConnect(err);
  }
}

void UpstreamConn::onRecv(core::Stream& /*s*/, core::ChunkId id, uint32_t len) {
  if (tls_) {
    auto& chunks = pool_.loop_.chunks();
    const auto status =
        tls_->stream.receive(std::span<const uint8_t>(chunks.data(id), len), chunks, tls_->plain);
    pool_.loop_.releaseChunk(id);
    tls_->stream.drainWire(chunks, tls_->wire);
    flushWire();
    if (status == tls::TlsStream::Status::kFailed || status == tls::TlsStream::Status::kNoBuffer) {
      tlsFailed(tls_->handshaken ? "record" : "handshake");
      return;
    }
    if (!tls_->handshaken && tls_->stream.handshakeDone()) {
      tls_->handshaken = true;
      if (user_ != nullptr) {
        user_->onUpstreamConnect(0);
      }
    }
    if (user_ == nullptr) {
      if (!tls_->plain.empty() || status == tls::TlsStream::Status::kClosed) {
        // Application bytes or a close while idle: the connection is out of step, retire it.
        pool_.removeIdle(this);
        pool_.loop_.close(stream_);
      }
      return;  // session tickets and other TLS housekeeping keep an idle connection
    }
    if (status == tls::TlsStream::Status::kClosed) {
      tls_->ended = true;
    }
    deliverPlain();
    return;
  }
  if (user_ != nullptr) {
    user_->onUpstreamData(id, len);
    return;
  }
  // Bytes from a server with no request outstanding: the connection is out of step, retire it.
  pool_.loop_.releaseChunk(id);
  pool_.removeIdle(this);
  pool_.loop_.close(stream_);
}

void UpstreamConn::onRecvEnd(core::Stream& /*s*/, int err) {
  if (user_ != nullptr) {
    if (tls_) {
      if (!tls_->handshaken) {
        tls_->handshaken = true;
        user_->onUpstreamConnect(err != 0 ? err : ECONNRESET);
        return;
      }
      tls_->ended = true;
      tls_->end_err = err;
      deliverPlain();
      return;
    }
    user_->onUpstreamEnd(err);
    return;
  }
  pool_.removeIdle(this);  // the server closed an idle connection
  pool_.loop_.close(stream_);
}

void UpstreamConn::onSent(core::Stream& /*s*/, int64_t result) {
  if (!tls_) {
    if (user_ != nullptr) {
      user_->onUpstreamSent(result);
    }
    return;
  }
  if (result < 0) {
    if (user_ != nullptr && tls_->pending_plain > 0) {
      tls_->pending_plain = 0;
      user_->onUpstreamSent(result);
    }
    return;
  }
  tls_->wire.consume(pool_.loop_.chunks(), static_cast<uint32_t>(result),
                     [this](core::ChunkId id) { pool_.loop_.releaseChunk(id); });
  flushWire();
  if (tls_->wire.empty() && tls_->pending_plain > 0 && user_ != nullptr) {
    const uint32_t n = tls_->pending_plain;
    tls_->pending_plain = 0;
    user_->onUpstreamSent(n);
  }
}

void UpstreamConn::onReleased(core::Stream& /*s*/) { pool_.released(this); }

void UpstreamConn::onIdleTimer(void* self) {
  auto* c = static_cast<UpstreamConn*>(self);
  c->pool_.removeIdle(c);
  c->pool_.loop_.close(c->stream_);
}

// --- the pool --------------------------------------------------------------------------------

UpstreamPool::UpstreamPool(core::EventLoop& loop) : loop_(loop) {}

UpstreamPool::~UpstreamPool() {
  h2_.reset();  // its connections give their sockets back first
  for (auto& [key, session] : sessions_) {
    SSL_SESSION_free(session);
  }
}

H2Connections& UpstreamPool::h2Connections() {
  if (!h2_) {
    h2_ = std::make_unique<H2Connections>(loop_, *this);
  }
  return *h2_;
}

UpstreamConn* UpstreamPool::takeIdle(const upstream::BackendStatePtr& backend,
                                     const tls::ClientContext* tls, UpstreamUser* user) {
  auto it = idle_.find({backend.get(), tls});
  if (it == idle_.end() || it->second.empty()) {
    return nullptr;
  }
  UpstreamConn* c = it->second.back();  // most recently used: least likely to have timed out
  removeIdle(c);
  c->user_ = user;
  if (c->tls_) {
    c->tls_->user_reading = false;  // until the user asks
  }
  return c;
}

UpstreamConn* UpstreamPool::open(const upstream::BackendStatePtr& backend,
                                 const tls::ClientContext* tls, UpstreamUser* user) {
  auto fd = core::openStreamSocket(backend->address);
  if (!fd) {
    errno = fd.error().sys_errno;
    return nullptr;
  }
  UpstreamConn* c = pool_.acquire(*this, backend);
  backend->connections.fetch_add(1, std::memory_order_relaxed);  // until released()
  c->idle_timer_.bind(&UpstreamConn::onIdleTimer, c);
  c->user_ = user;
  if (tls != nullptr) {
    c->tls_ = std::make_unique<UpstreamConn::Tls>(*tls);
    c->tls_->deliver.bind(&UpstreamConn::onDeliver, c);
  }
  loop_.attach(c->stream_, *fd, c);
  loop_.connect(c->stream_, backend->address);
  return c;
}

void UpstreamPool::giveBack(UpstreamConn* c, const config::UpstreamKeepalive& limits) {
  c->user_ = nullptr;
  ++c->requests_;
  auto& list = idle_[keyOf(c)];
  if (c->requests_ >= limits.max_requests || list.size() >= limits.max_idle || !c->stream_.open() ||
      (c->tls_ && (!c->tls_->plain.empty() || c->tls_->ended))) {
    loop_.close(c->stream_);
    return;
  }
  c->idle_ = true;
  c->idle_index_ = static_cast<uint32_t>(list.size());
  list.push_back(c);
  loop_.timers().schedule(c->idle_timer_, static_cast<uint64_t>(limits.idle_timeout.count()));
  // Hear the server's close while idle.
  if (c->tls_) {
    c->socketRecv(true);
  } else {
    loop_.startRecv(c->stream_);
  }
}

void UpstreamPool::discard(UpstreamConn* c, core::ChunkQueue unsent) {
  c->user_ = nullptr;
  c->unsent_ = unsent;
  loop_.close(c->stream_);
}

void UpstreamPool::removeIdle(UpstreamConn* c) {
  if (!c->idle_) {
    return;
  }
  c->idle_ = false;
  core::TimerWheel::cancel(c->idle_timer_);
  auto& list = idle_[keyOf(c)];
  UpstreamConn* last = list.back();
  list[c->idle_index_] = last;
  last->idle_index_ = c->idle_index_;
  list.pop_back();
}

void UpstreamPool::closeIdle() {
  if (h2_) {
    h2_->closeIdle();
  }
  std::vector<UpstreamConn*> all;
  for (auto& [key, list] : idle_) {
    all.insert(all.end(), list.begin(), list.end());
  }
  for (UpstreamConn* c : all) {
    removeIdle(c);
    loop_.close(c->stream_);
  }
}

size_t UpstreamPool::idle() const {
  size_t n = 0;
  for (const auto& [key, list] : idle_) {
    n += list.size();
  }
  return n;
}

void UpstreamPool::keepSession(const UpstreamConn* c, SSL_SESSION* session) {
  SSL_SESSION_up_ref(session);
  auto [it, inserted] = sessions_.try_emplace(keyOf(c), session);
  if (!inserted) {
    SSL_SESSION_free(it->second);
    it->second = session;
  }
}

void UpstreamPool::released(UpstreamConn* c) {
  removeIdle(c);
  c->backend_->connections.fetch_sub(1, std::memory_order_relaxed);
  auto release = [this](core::ChunkId id) { loop_.releaseChunk(id); };
  c->unsent_.clear(loop_.chunks(), release);
  if (c->tls_) {
    core::TimerWheel::cancel(c->tls_->deliver);
    c->tls_->wire.clear(loop_.chunks(), release);
    c->tls_->plain.clear(loop_.chunks(), release);
    c->tls_.reset();
  }
  pool_.release(c);
}

}  // namespace ballast::l7
