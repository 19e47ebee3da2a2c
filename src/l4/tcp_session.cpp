// src/l4/tcp_session.cpp — the L4 TCP proxy state machine.
//
// Life of a session: [read PROXY header] → [read the TLS ClientHello and pick the pool by its
// server name] → connect (retry on another backend on failure) →
// stream both ways → each FIN is forwarded once the bytes before it are written → when both
// directions are shut, or either side resets, close both → both streams released → the
// listener frees the session.
#include "l4/tcp_session.h"

#include <sys/socket.h>

#include <algorithm>
#include <cstring>
#include <string>

#include "core/log.h"
#include "core/socket.h"
#include "l4/hash_key.h"
#include "l4/proxy_header_reader.h"
#include "l4/sni_router.h"
#include "l4/stream_listener.h"
#include "proto/proxy_protocol/proxy_protocol.h"
#include "proto/tls/client_hello.h"

namespace ballast::l4 {

TcpSession::TcpSession(const SessionEnv& env, int client_fd)
    : env_(env), client_(*this), backend_(*this) {
  env_.epoch->ref();
  env_.counters->connections_total.add();
  env_.counters->connections_active.inc();
  timer_.bind(&TcpSession::onTimer, this);
  client_.released = false;
  loop().attach(client_.stream, client_fd, &client_);
}

TcpSession::~TcpSession() {
  core::TimerWheel::cancel(timer_);
  env_.counters->connections_active.dec();
  env_.epoch->unref();
}

void TcpSession::start() {
  last_activity_ms_ = loop().nowMs();
  client_.reading = true;
  loop().startRecv(client_.stream);
  if (env_.listener->proxy_protocol.accept) {
    state_ = State::kProxyHeader;
    armIdle();
    return;
  }
  if (env_.sni != nullptr) {
    beginClientHello();
    return;
  }
  connectBackend();
}

void TcpSession::beginClientHello() {
  state_ = State::kClientHello;
  hello_ = std::make_unique<std::vector<uint8_t>>();
  // The whole hello, however it trickles in: one deadline, not re-armed per byte (slowloris).
  loop().timers().schedule(timer_,
                           static_cast<uint64_t>(env_.listener->timeouts.client_hello.count()));
}

// Preconditions: state kClientHello, hello_ holds every byte the client sent so far.
void TcpSession::readClientHello() {
  auto parsed = proto::tls::parseClientHello(*hello_);
  if (!parsed) {
    if (parsed.error().code == core::Errc::kNeedMore) {
      return;
    }
    // Info, not warn: scanners send anything to port 443, and each one is counted anyway.
    env_.counters->tls_malformed_total.add();
    core::LogLine(core::LogLevel::kInfo, "l4.tls_hello_invalid")
        .str("listener", env_.listener->name)
        .str("client", core::peerAddress(client_.stream.fd()).toString())
        .str("reason", parsed.error().what);
    closeBoth(true);
    return;
  }
  core::TimerWheel::cancel(timer_);
  upstream::WorkerPool* pool = env_.sni->match(parsed->server_name);
  if (pool == nullptr) {
    env_.counters->tls_no_route_total.add();
    core::LogLine(core::LogLevel::kInfo, "l4.tls_no_route")
        .str("listener", env_.listener->name)
        .str("client", core::peerAddress(client_.stream.fd()).toString())
        .str("server_name", parsed->server_name);
    closeBoth(true);
    return;
  }
  if (!backend_.out.append(loop().chunks(), hello_->data(), hello_->size())) {
    core::LogLine(core::LogLevel::kWarn, "l4.no_buffer").str("listener", env_.listener->name);
    closeBoth(true);
    return;
  }
  hello_.reset();
  env_.pool = pool;
  connectBackend();
}

void TcpSession::connectBackend() {
  state_ = State::kConnecting;
  const auto& pool_cfg = *env_.pool->runtime().config;
  uint64_t key = 0;
  const auto algo = pool_cfg.algorithm;
  if (algo == balance::Algorithm::kSourceHash || algo == balance::Algorithm::kConsistentHash) {
    key = hashKey(pool_cfg.hash_key,
                  announced_ ? announced_->source : core::peerAddress(client_.stream.fd()));
  }
  bool full = false;  // a backend was skipped for max_connections
  while (tries_ < kMaxTries && tries_ <= pool_cfg.connect_retries) {
    const auto choice = env_.pool->pick(key, std::span<const uint32_t>(tried_.data(), tries_));
    if (!choice) {
      break;
    }
    if (tries_ > 0) {
      backend_counters_->retries_total.add();  // the previous backend's failure was retried
    }
    tried_[tries_++] = *choice;
    backend_state_ = env_.pool->runtime().backends[*choice].get();
    backend_counters_ = &env_.pool->counters(*choice);
    if (!env_.pool->connectionRoom(*choice)) {
      full = true;
      continue;
    }
    backend_counters_->connections_total.add();
    auto fd = core::openStreamSocket(backend_state_->address);
    if (!fd) {
      core::LogLine(core::LogLevel::kError, "l4.socket_failed", core::LogRepeat::kLimited)
          .str("listener", env_.listener->name)
          .str("reason", strerror(fd.error().sys_errno));
      continue;
    }
    backend_state_->active.fetch_add(1, std::memory_order_relaxed);
    backend_state_->connections.fetch_add(1, std::memory_order_relaxed);
    backend_.released = false;
    backend_.eof_in = backend_.shut_out = false;
    loop().attach(backend_.stream, *fd, &backend_);
    loop().connect(backend_.stream, backend_state_->address);
    loop().timers().schedule(timer_,
                             static_cast<uint64_t>(env_.listener->timeouts.connect.count()));
    return;
  }
  backend_state_ = nullptr;
  if (full || (tries_ == 0 && env_.pool->anyBreakerOpen())) {
    // The pool's circuit breaker refuses: a close, counted per reason (and logged, limited).
    env_.pool->refuse(full ? upstream::CircuitRefusal::kMaxConnections
                           : upstream::CircuitRefusal::kBreakerOpen);
    closeBoth(true);
    return;
  }
  env_.counters->no_backend_total.add();
  core::LogLine(core::LogLevel::kWarn, "l4.no_backend", core::LogRepeat::kLimited)
      .str("listener", env_.listener->name)
      .str("pool", pool_cfg.name)
      .unum("tries", tries_);
  closeBoth(true);
}

void TcpSession::onConnectFailed(int err) {
  core::LogLine(core::LogLevel::kWarn, "l4.connect_failed", core::LogRepeat::kLimited)
      .str("listener", env_.listener->name)
      .str("backend", backend_state_->name)
      .str("reason", strerror(err))
      .unum("attempt", tries_);
  backend_counters_->connect_errors_total.add();
  if (err == ETIMEDOUT) {
    backend_counters_->timeouts_total.add();
  }
  backend_state_->active.fetch_sub(1, std::memory_order_relaxed);
  backend_state_->connections.fetch_sub(1, std::memory_order_relaxed);
  backend_state_ = nullptr;
  // Outlier detection and the breaker.
  env_.pool->recordOutcome(tried_[tries_ - 1], upstream::Outcome::kLocalFailure, loop().nowMs());
  state_ = State::kRetrying;  // the next attempt starts once this socket is released
  loop().close(backend_.stream);
}

void TcpSession::onBackendConnected() {
  state_ = State::kStreaming;
  env_.pool->recordOutcome(tried_[tries_ - 1], upstream::Outcome::kSuccess, loop().nowMs());
  const auto send_version = env_.listener->proxy_protocol.send;
  if (send_version != config::ProxyProtocolVersion::kNone) {
    net::SocketAddress src;
    net::SocketAddress dst;
    if (announced_) {
      src = announced_->source;
      dst = announced_->destination;
    } else {
      src = core::peerAddress(client_.stream.fd());
      dst = core::localAddress(client_.stream.fd());
    }
    proxy_header_ = std::make_unique<uint8_t[]>(proto::proxy_protocol::kMaxWriteBytes);
    const std::span<uint8_t> out(proxy_header_.get(), proto::proxy_protocol::kMaxWriteBytes);
    proxy_header_len_ = static_cast<uint16_t>(send_version == config::ProxyProtocolVersion::kV1
                                                  ? proto::proxy_protocol::writeV1(src, dst, out)
                                                  : proto::proxy_protocol::writeV2(src, dst, out));
  }
  announced_.reset();
  backend_.reading = true;
  loop().startRecv(backend_.stream);
  armIdle();
  flush(backend_);
  if (client_.eof_in) {
    onEof(client_);  // the client finished before the backend answered
  }
}

void TcpSession::Side::onConnect(core::Stream& /*s*/, int err) {
  core::TimerWheel::cancel(session_.timer_);
  if (err != 0) {
    session_.onConnectFailed(err);
  } else {
    session_.onBackendConnected();
  }
}

void TcpSession::Side::onRecv(core::Stream& /*s*/, core::ChunkId id, uint32_t len) {
  session_.onData(*this, id, len);
}

void TcpSession::Side::onRecvEnd(core::Stream& /*s*/, int err) {
  reading = false;
  if (err == 0) {
    session_.onEof(*this);
  } else {
    session_.onReset(*this, err);
  }
}

void TcpSession::Side::onSent(core::Stream& /*s*/, int64_t result) {
  if (result < 0) {
    session_.onReset(*this, static_cast<int>(-result));
    return;
  }
  session_.last_activity_ms_ = session_.loop().nowMs();
  if (this == &session_.backend_ && session_.proxy_header_) {
    session_.proxy_header_sent_ += static_cast<uint32_t>(result);
    if (session_.proxy_header_sent_ == session_.proxy_header_len_) {
      session_.proxy_header_.reset();
    }
  } else if (pipe_send) {
    pipe_send = false;
    pipe->bytes -= static_cast<uint32_t>(result);
  } else {
    out.consume(session_.loop().chunks(), static_cast<uint32_t>(result),
                [this](core::ChunkId id) { session_.loop().releaseChunk(id); });
  }
  session_.afterSent(*this);
}

void TcpSession::Side::onReleased(core::Stream& /*s*/) { session_.onSideReleased(*this); }

void TcpSession::Side::onSpliced(core::Stream& /*s*/, uint32_t len) {
  session_.onSpliced(*this, len);
}

void TcpSession::onData(Side& from, core::ChunkId id, uint32_t len) {
  last_activity_ms_ = loop().nowMs();
  Side& to = peerOf(from);
  if (state_ == State::kClosing) {
    loop().releaseChunk(id);
    return;
  }
  if (state_ == State::kClientHello) {
    env_.counters->bytes_in_total.add(len);
    const uint8_t* data = loop().chunks().data(id);
    hello_->insert(hello_->end(), data, data + len);
    loop().releaseChunk(id);
    readClientHello();
    return;
  }
  to.out.push(loop().chunks(), id, 0, len);
  countBytes(from, len);
  if (state_ == State::kProxyHeader) {
    if (!parseProxyHeader()) {
      return;
    }
  } else if (&to == &client_ || state_ == State::kStreaming) {
    flush(to);
  }
  if (to.out.bytes() >= env_.listener->limits.buffer_bytes && from.reading) {
    // Backpressure: stop reading until the other side has taken some of what we hold.
    from.reading = false;
    loop().stopRecv(from.stream);
  }
  maybeSplice(from, len);
}

void TcpSession::countBytes(const Side& from, uint32_t len) {
  if (&from == &client_) {
    env_.counters->bytes_in_total.add(len);
    if (backend_counters_ != nullptr) {
      backend_counters_->bytes_out_total.add(len);
    }
  } else {
    env_.counters->bytes_out_total.add(len);
    backend_counters_->bytes_in_total.add(len);
  }
}

// A direction that has moved SplicePipe::threshold() bytes is bulk: its further reads go into a
// pipe and out of it to the peer inside the kernel. Not before streaming (a PROXY header or a
// ClientHello is still being read), nor while our own PROXY header waits to be sent. Chunks
// already queued go out first (flush sends the queue before the pipe), so order is kept.
void TcpSession::maybeSplice(Side& from, uint32_t len) {
  Side& to = peerOf(from);
  if (state_ != State::kStreaming || to.pipe || proxy_header_ || !loop().canSplice() ||
      !SplicePipe::enabled()) {
    return;
  }
  from.moved = len > UINT32_MAX - from.moved ? UINT32_MAX : from.moved + len;
  if (from.moved < SplicePipe::thresholdAfter(to.splice_failures)) {
    return;
  }
  int err = 0;
  to.pipe = SplicePipe::make(&err);
  if (!to.pipe) {
    // Often temporary (another session frees its pipe, fds come back): try again after more
    // bytes, twice as many each time, so a lasting shortage costs few syscalls.
    from.moved = 0;
    if (to.splice_failures < UINT8_MAX) {
      ++to.splice_failures;
    }
    env_.counters->splice_fallbacks_total.add();
    core::LogLine(core::LogLevel::kWarn, "l4.splice_unavailable", core::LogRepeat::kLimited)
        .str("listener", env_.listener->name)
        .str("reason", strerror(err));
    return;
  }
  to.splice_failures = 0;
  to.pipe_used_ms = loop().nowMs();
  env_.counters->splice_pipes_total.add();
  loop().spliceRecv(from.stream, to.pipe->writeEnd());
  armPipeCheck();
}

// The session's one timer also watches its pipes while streaming: it must fire by the time a
// pipe could be idle, never later than the idle timeout it already waits for.
void TcpSession::armPipeCheck() {
  if (SplicePipe::idleMs() == 0) {
    return;
  }
  const uint64_t at = loop().nowMs() + SplicePipe::idleMs();
  if (!timer_.armed() || timer_.deadlineMs() > at) {
    loop().timers().scheduleAt(timer_, at);
  }
}

// Closes each pipe that is empty (nothing in it, no send from it under way) and has taken no
// byte for SplicePipe::idleMs(): its reader goes back to chunks and may turn bulk again after
// another threshold's worth. Returns when the next pipe could turn idle (0: no pipe left).
uint64_t TcpSession::freeIdlePipes(uint64_t now) {
  const uint64_t idle = SplicePipe::idleMs();
  uint64_t next = 0;
  for (Side* to : {&client_, &backend_}) {
    if (!to->pipe || idle == 0) {
      continue;
    }
    if (to->drained() && now - to->pipe_used_ms >= idle) {
      Side& from = peerOf(*to);
      loop().endSpliceRecv(from.stream);  // before the close: the loop must not keep its fd
      to->pipe.reset();
      from.moved = 0;
      env_.counters->splice_pipes_idle_freed_total.add();
      continue;
    }
    // Used lately (look again when it could be idle), or holding bytes a slow reader has yet
    // to take (look again in a while, not at every tick).
    const uint64_t at = to->drained() ? to->pipe_used_ms + idle : now + idle;
    next = next == 0 ? at : std::min(next, at);
  }
  return next;
}

void TcpSession::onSpliced(Side& from, uint32_t len) {
  last_activity_ms_ = loop().nowMs();
  if (state_ == State::kClosing) {
    return;  // the pipe and what it holds go with the session
  }
  Side& to = peerOf(from);
  countBytes(from, len);
  env_.counters->splice_bytes_total.add(len);
  // No buffer_bytes check: the pipe's capacity bounds it, and a full pipe pauses the reads.
  to.pipe->bytes += len;
  to.pipe_used_ms = last_activity_ms_;
  flush(to);
}

bool TcpSession::parseProxyHeader() {
  auto parsed = readProxyHeader(loop(), backend_.out);
  if (!parsed) {
    if (parsed.error().code == core::Errc::kNeedMore) {
      return false;
    }
    core::LogLine(core::LogLevel::kWarn, "l4.proxy_header_invalid", core::LogRepeat::kLimited)
        .str("listener", env_.listener->name)
        .str("client", core::peerAddress(client_.stream.fd()).toString())
        .str("reason", parsed.error().what);
    closeBoth(true);
    return false;
  }
  if (!parsed->local) {
    announced_ =
        std::make_unique<ClientAddresses>(ClientAddresses{parsed->source, parsed->destination});
  }
  if (env_.sni == nullptr) {
    connectBackend();
    return true;
  }
  // What followed the PROXY header is the start of the ClientHello.
  beginClientHello();
  auto& chunks = loop().chunks();
  for (core::ChunkId id = backend_.out.head(); id != core::kNoChunk; id = chunks.meta(id).next) {
    const auto& m = chunks.meta(id);
    hello_->insert(hello_->end(), chunks.data(id) + m.offset,
                   chunks.data(id) + m.offset + m.length);
  }
  backend_.out.consume(chunks, backend_.out.bytes(),
                       [this](core::ChunkId id) { loop().releaseChunk(id); });
  if (!hello_->empty()) {
    readClientHello();
  }
  return state_ != State::kClosing;
}

void TcpSession::flush(Side& to) {
  if (to.stream.sending() || !to.stream.open()) {
    return;
  }
  if (&to == &backend_ && proxy_header_) {
    loop().send(to.stream, proxy_header_.get() + proxy_header_sent_,
                proxy_header_len_ - proxy_header_sent_);
    return;
  }
  if (to.out.empty()) {
    if (to.pipe && to.pipe->bytes > 0) {
      to.pipe_send = true;
      loop().sendFromPipe(to.stream, to.pipe->readEnd(), to.pipe->bytes);
    }
    return;
  }
  auto& chunks = loop().chunks();
  const auto& m = chunks.meta(to.out.head());
  loop().send(to.stream, chunks.data(to.out.head()) + m.offset, m.length);
}

void TcpSession::afterSent(Side& to) {
  flush(to);
  Side& reader = peerOf(to);
  maybeResume(reader);
  if (to.pipe && reader.reading && state_ != State::kClosing) {
    loop().startRecv(reader.stream);  // the pipe has room again: retry a read it paused
  }
  if (to.drained() && reader.eof_in && !to.shut_out) {
    to.shut_out = true;
    ::shutdown(to.stream.fd(), SHUT_WR);
    maybeFinish();
  }
}

void TcpSession::maybeResume(Side& reader) {
  const Side& to = peerOf(reader);
  if (!reader.reading && !reader.eof_in && reader.stream.open() &&
      to.out.bytes() < env_.listener->limits.buffer_bytes && state_ != State::kClosing) {
    reader.reading = true;
    loop().startRecv(reader.stream);
  }
}

void TcpSession::onEof(Side& from) {
  from.eof_in = true;
  Side& to = peerOf(from);
  if (state_ != State::kStreaming) {
    if (state_ == State::kProxyHeader) {
      closeBoth(false);  // the client left before saying who it was
    } else if (state_ == State::kClientHello) {
      if (!hello_->empty()) {  // a connect-and-close is a probe, not a malformed hello
        env_.counters->tls_malformed_total.add();
        core::LogLine(core::LogLevel::kInfo, "l4.tls_hello_invalid")
            .str("listener", env_.listener->name)
            .str("client", core::peerAddress(client_.stream.fd()).toString())
            .str("reason", "client closed before the ClientHello was complete");
      }
      closeBoth(false);
    }
    return;  // connecting: forwarded once the backend is up
  }
  if (to.drained() && !to.shut_out) {
    to.shut_out = true;
    ::shutdown(to.stream.fd(), SHUT_WR);
  }
  maybeFinish();
}

void TcpSession::maybeFinish() {
  if (client_.eof_in && backend_.eof_in && client_.shut_out && backend_.shut_out) {
    closeBoth(false);
  }
}

void TcpSession::onReset(Side& from, int err) {
  core::LogLine(core::LogLevel::kDebug, "l4.reset")
      .str("listener", env_.listener->name)
      .str("side", &from == &client_ ? "client" : "backend")
      .str("reason", strerror(err));
  // Carry the reset across: the other peer sees an RST too, not a clean end of stream.
  Side& to = peerOf(from);
  if (to.stream.open()) {
    core::setLingerZero(to.stream.fd());
  }
  closeBoth(false);
}

void TcpSession::closeBoth(bool reset_client) {
  if (state_ == State::kClosing) {
    return;
  }
  state_ = State::kClosing;
  core::TimerWheel::cancel(timer_);
  if (reset_client && client_.stream.open()) {
    core::setLingerZero(client_.stream.fd());
  }
  // The out queues wait for their socket's release: with io_uring a send may still be reading
  // the head chunk, and a chunk freed now could be refilled with another connection's bytes.
  if (backend_state_ != nullptr) {
    backend_state_->active.fetch_sub(1, std::memory_order_relaxed);
    backend_state_->connections.fetch_sub(1, std::memory_order_relaxed);
    backend_state_ = nullptr;
  }
  if (!client_.released) {
    loop().close(client_.stream);
  }
  if (!backend_.released) {
    loop().close(backend_.stream);
  }
}

void TcpSession::abort() {
  if (client_.stream.open()) {
    core::setLingerZero(client_.stream.fd());
  }
  if (backend_.stream.open()) {
    core::setLingerZero(backend_.stream.fd());
  }
  closeBoth(false);
}

void TcpSession::onSideReleased(Side& s) {
  s.released = true;
  if (state_ == State::kClosing) {
    s.out.clear(loop().chunks(), [this](core::ChunkId id) { loop().releaseChunk(id); });
    if (&s == &backend_) {
      proxy_header_.reset();  // same reason: a send may have been reading it
    }
  }
  if (&s == &backend_ && state_ == State::kRetrying) {
    connectBackend();
    return;
  }
  if (client_.released && backend_.released) {
    env_.owner->sessionEnded(this);  // destroys this
  }
}

void TcpSession::armIdle() {
  loop().timers().schedule(timer_, static_cast<uint64_t>(env_.listener->timeouts.idle.count()));
}

void TcpSession::onTimer(void* self) {
  auto* s = static_cast<TcpSession*>(self);
  if (s->state_ == State::kConnecting) {
    s->onConnectFailed(ETIMEDOUT);
    return;
  }
  if (s->state_ == State::kClientHello) {
    core::LogLine(core::LogLevel::kInfo, "l4.tls_hello_timeout")
        .str("listener", s->env_.listener->name)
        .unum("bytes", s->hello_->size());
    s->env_.counters->timeouts_total.add();
    s->closeBoth(false);
    return;
  }
  const auto idle = static_cast<uint64_t>(s->env_.listener->timeouts.idle.count());
  const uint64_t now = s->loop().nowMs();
  const uint64_t pipe_check = s->freeIdlePipes(now);
  if (now - s->last_activity_ms_ < idle) {
    // Activity since the timer was armed: sleep for the rest instead of re-arming per byte.
    uint64_t at = s->last_activity_ms_ + idle;
    if (pipe_check != 0 && pipe_check < at) {
      at = pipe_check;
    }
    s->loop().timers().scheduleAt(s->timer_, at);
    return;
  }
  core::LogLine(core::LogLevel::kDebug, "l4.idle_timeout").str("listener", s->env_.listener->name);
  s->env_.counters->timeouts_total.add();
  s->closeBoth(false);
}

}  // namespace ballast::l4
