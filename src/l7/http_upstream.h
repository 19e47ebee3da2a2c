// src/l7/http_upstream.h — the upstream side of one exchange slot, whatever the pool speaks: its
// HTTP/1.1 connector, or its HTTP/2 one for pools with `upstream_protocol: h2|h2c` (made on first
// use, so sessions towards HTTP/1.1 pools carry nothing more). The sessions call this as they
// would H1Upstream; each exchange picks its connector in begin(). Before its first connect an
// exchange passes its pool's admission (`circuit_breaker:` max_requests and the queue), which
// may answer 503 through the sink with a `Ballast-Refused` field.
//
// With forward_auth (forward_auth_filter.h) an exchange first asks the auth service: its head and
// body wait here (the body counts as backlog, so the session stops reading at its buffer's
// size) until the answer lets it go on, with the auth service's fields added to its head, or
// answers the client instead.
//
// Both connectors hand their responses to a cache tap (cache_tap.h), which passes them on to the
// session and, on routes with `cache:`, stores them, or answers from the store instead of any
// connector (a hit takes no admission slot and no backend).
#pragma once

#include <memory>

#include "l7/admission.h"
#include "l7/cache_tap.h"
#include "l7/forward_auth_call.h"
#include "l7/forward_auth_filter.h"
#include "l7/h1_upstream.h"
#include "l7/h2_upstream.h"

namespace ballast::l7 {

class HttpUpstream final : public AdmissionUser, public CacheTapOwner, public ForwardAuthUser {
 public:
  HttpUpstream(core::EventLoop& loop, UpstreamPool& pool, const ExchangeEnv& env,
               const proto::http1::Limits& response_limits, UpstreamSink& sink)
      : loop_(loop),
        pool_(pool),
        env_(env),
        response_limits_(response_limits),
        sink_(sink),
        tap_(loop, env, sink, *this),
        h1_(loop, pool, env, response_limits, tap_),
        admission_(loop, *this) {}
  HttpUpstream(const HttpUpstream&) = delete;
  HttpUpstream& operator=(const HttpUpstream&) = delete;
  ~HttpUpstream() = default;

  bool begin(Exchange& ex, std::string_view method, std::string_view head, bool chunked,
             bool replayable, bool upgrade = false) {
    admission_.release();
    ex_ = &ex;
    tap_.begin(ex);
    stored_ = false;
    cancelAuth();
    if (ex.forward_auth != nullptr) {
      auth_pending_ = true;  // begun for real once the auth service lets it through
      waited_ = {std::string(method), std::string(head), chunked, replayable, upgrade, false};
      return true;
    }
    return beginChecked(ex, method, head, chunked, replayable, upgrade);
  }

 private:
  // begin() once forward_auth (if any) let the exchange through: the cache, then a connector.
  bool beginChecked(Exchange& ex, std::string_view method, std::string_view head, bool chunked,
                    bool replayable, bool upgrade) {
    using Mode = CacheState::Mode;
    CacheState& c = ex.cache;
    if (!replayable && c.mode != Mode::kOff && c.mode != Mode::kBypass) {
      if (c.filler) {
        c.filler = false;
        c.store->releaseFill(c.key);
      }
      c.mode = Mode::kBypass;  // a request with a body is never answered from the store
      c.entry.reset();
    }
    if (c.mode == Mode::kHit || c.mode == Mode::kStale) {
      stored_ = true;
      return true;
    }
    if (c.mode == Mode::kWait) {
      waited_ = {std::string(method), std::string(head), chunked, replayable, upgrade, false};
      return true;
    }
    return beginConnector(ex, method, head, chunked, replayable, upgrade);
  }

 public:
  // The first call of an exchange passes admission; false: refused, onUpstreamError answered.
  bool connect() {
    if (auth_pending_) {
      startAuth();
      return true;
    }
    if (stored_) {
      tap_.serveStored();
      return true;
    }
    if (tap_.waiting() || (ex_ != nullptr && ex_->cache.mode == CacheState::Mode::kWait)) {
      if (!tap_.waiting()) {
        tap_.wait();
      }
      return true;
    }
    return admitAndConnect();
  }
  bool sendBody(std::span<const uint8_t> body) {
    if (auth_pending_) {
      held_body_.append(reinterpret_cast<const char*>(body.data()), body.size());
      return true;
    }
    if (stored_ || tap_.waiting()) {
      return true;  // bodiless requests only
    }
    return h2_now_ ? h2_->sendBody(body) : h1_.sendBody(body);
  }
  bool sendEnd() {
    if (auth_pending_) {
      waited_.ended = true;
      return true;
    }
    if (stored_) {
      return true;
    }
    if (tap_.waiting()) {
      waited_.ended = true;
      return true;
    }
    return h2_now_ ? h2_->sendEnd() : h1_.sendEnd();
  }

 private:
  bool beginConnector(Exchange& ex, std::string_view method, std::string_view head, bool chunked,
                      bool replayable, bool upgrade) {
    h2_now_ =
        (*env_.pools)[static_cast<size_t>(ex.pool_index)]->runtime().config->upstream_protocol !=
        config::UpstreamProtocol::kHttp1;
    if (!h2_now_) {
      return h1_.begin(ex, method, head, chunked, replayable, upgrade);
    }
    if (!h2_) {
      h2_ = std::make_unique<H2Upstream>(loop_, pool_, env_, tap_);
    }
    return h2_->begin(ex, head);
  }
  bool admitAndConnect() {
    if (!admission_.decided() && !admission_.waiting()) {
      upstream::CircuitRefusal why{};
      auto& pool = *(*env_.pools)[static_cast<size_t>(ex_->pool_index)];
      switch (admission_.admit(pool, &why)) {
        case Admission::Outcome::kWaiting:
          return true;  // onAdmitted connects
        case Admission::Outcome::kRefused:
          refuse(why);
          return false;
        case Admission::Outcome::kAdmitted:
          break;
      }
    }
    return connectNow();
  }

 public:
  // Tunnels (Upgrade, CONNECT) only go to HTTP/1.1 pools (begin refuses them for h2 ones).
  bool sendRaw(const void* data, size_t len) { return h1_.sendRaw(data, len); }
  void flush() {
    if (!h2_now_) {
      h1_.flush();
    }
  }
  void fail(int err, const char* stage) {
    if (auth_pending_) {
      // The session's clock ran out while the auth service had not answered.
      cancelAuth();
      sink_.onUpstreamError(kGatewayTimeout, "forward_auth did not answer in time");
      return;
    }
    if (stored_) {
      tap_.abandon();
      stored_ = false;
      sink_.onUpstreamError(kGatewayTimeout, "cache answer stalled");
      return;
    }
    if (admission_.waiting()) {
      // The session's clock ran out while the request waited for a slot.
      admission_.release();
      refuse(upstream::CircuitRefusal::kQueueTimeout);
      return;
    }
    if (h2_now_) {
      h2_->fail(err, stage);
    } else {
      h1_.fail(err, stage);
    }
  }
  // The pool's `retries:` (per-try timeout, retry on timeout) drive either connector.
  bool retryAfterTimeout() {
    if (stored_ || auth_pending_) {
      return false;
    }
    return h2_now_ ? h2_->retryAfterTimeout() : h1_.retryAfterTimeout();
  }
  uint64_t responseWaitMs(uint64_t response_header_ms) const {
    return h2_now_ ? h2_->responseWaitMs(response_header_ms)
                   : h1_.responseWaitMs(response_header_ms);
  }
  void release(bool reusable) {
    cancelAuth();
    tap_.abandon();
    stored_ = false;
    admission_.release();
    h1_.release(reusable);
    if (h2_) {
      h2_->release(reusable);
    }
  }
  void pauseReading() {
    if (!stored_ && !auth_pending_) {
      h2_now_ ? h2_->pauseReading() : h1_.pauseReading();
    }
  }
  void resumeReading() {
    if (tap_.replaying()) {
      tap_.resume();
    } else if (!stored_ && !auth_pending_) {
      h2_now_ ? h2_->resumeReading() : h1_.resumeReading();
    }
  }
  // The sink's body pipe (UpstreamSink::responseBodyPipe) has room again.
  void pipeHasRoom() { h1_.pipeHasRoom(); }
  // Request bodies through a pipe (H1Upstream::canTakeBodyPipe): only once the exchange went to
  // an HTTP/1.1 connector, not while forward_auth, the cache or admission hold it.
  bool canTakeBodyPipe() const {
    return ex_ != nullptr && !auth_pending_ && !stored_ && !tap_.waiting() && !h2_now_ &&
           !admission_.waiting() && h1_.canTakeBodyPipe();
  }
  void bodyFromPipe(int pipe_r) { h1_.bodyFromPipe(pipe_r); }
  void bodyPiped(uint32_t len) { h1_.bodyPiped(len); }
  void shutdownWhenFlushed() { h1_.shutdownWhenFlushed(); }
  bool attached() const {
    return !stored_ && !auth_pending_ && (h2_now_ ? h2_->attached() : h1_.attached());
  }
  const tls::ClientContext* upstreamTls() const { return h1_.upstreamTls(); }
  // An answer from the store counts as connected: the session's body timer watches it.
  bool connected() const {
    return stored_ || (!auth_pending_ && (h2_now_ ? h2_->connected() : h1_.connected()));
  }
  uint32_t backlog() const {
    if (stored_) {
      return 0;
    }
    if (auth_pending_) {
      return static_cast<uint32_t>(held_body_.size());
    }
    return h2_now_ ? h2_->backlog() : h1_.backlog();
  }
  bool tunnel() const { return !auth_pending_ && !h2_now_ && h1_.tunnel(); }
  core::ChunkQueue& out() { return h1_.out(); }

  // AdmissionUser: a wait for a request slot ended.
  void onAdmitted() override { connectNow(); }
  void onAdmissionRefused(upstream::CircuitRefusal why) override { refuse(why); }

  // CacheTapOwner: the tap answers instead of the backend, or a coalesced wait ended.
  void releaseConnector(bool reusable) override {
    admission_.release();
    h1_.release(reusable);
    if (h2_) {
      h2_->release(reusable);
    }
  }
  // ForwardAuthUser: the auth service answered (or could not).
  void onForwardAuthDone(const ForwardAuthAnswer* answer, const char* why) override;

  void goUpstream() override {
    const Waited w = std::move(waited_);
    if (!beginConnector(*ex_, w.method, w.head, w.chunked, w.replayable, w.upgrade)) {
      sink_.onUpstreamError(kBadGateway, "out of buffers");
      return;
    }
    if (admitAndConnect() && w.ended) {
      sendEnd();
    }
  }

 private:
  void startAuth();
  void cancelAuth() {
    if (auth_) {
      auth_->cancel();
    }
    auth_pending_ = false;
    held_body_.clear();
  }
  bool connectNow() { return h2_now_ ? h2_->connect() : h1_.connect(); }
  // Answers 503 with `Ballast-Refused: <why>`, counted.
  void refuse(upstream::CircuitRefusal why) {
    refuseExchange(env_, *ex_, why);
    h1_.settle();
    if (h2_) {
      h2_->settle();
    }
    sink_.onUpstreamError(kServiceUnavailable, "refused by the pool's circuit breaker");
  }

  static constexpr uint16_t kServiceUnavailable = 503;
  static constexpr uint16_t kBadGateway = 502;
  static constexpr uint16_t kGatewayTimeout = 504;
  // A request waiting for another's fill (coalescing), as begin() had it.
  struct Waited {
    std::string method;
    std::string head;
    bool chunked = false;
    bool replayable = false;
    bool upgrade = false;
    bool ended = false;  // sendEnd came while waiting
  };

  core::EventLoop& loop_;
  UpstreamPool& pool_;
  const ExchangeEnv& env_;
  const proto::http1::Limits response_limits_;  // a copy: the caller passes a temporary
  UpstreamSink& sink_;
  CacheTap tap_;
  H1Upstream h1_;
  std::unique_ptr<H2Upstream> h2_;
  Admission admission_;
  Exchange* ex_ = nullptr;
  bool h2_now_ = false;
  bool stored_ = false;  // ex is answered from the cache: no connector is involved
  Waited waited_;
  // forward_auth: the subrequest (made on first use), and whether the exchange waits for it;
  // meanwhile its head is in waited_ and its body here.
  std::unique_ptr<ForwardAuthCall> auth_;
  bool auth_pending_ = false;
  std::string held_body_;
};

}  // namespace ballast::l7
