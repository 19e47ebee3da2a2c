// src/l7/h1_upstream.cpp — the HTTP/1.1 upstream connector: picking and connecting, safe retries,
// writing the request and parsing the response for its sink.
#include "l7/h1_upstream.h"

#include <sys/socket.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <utility>

#include "core/log.h"
#include "core/splitmix.h"
#include "l7/retry_policy.h"
#include "proto/http1/writer.h"

namespace ballast::l7 {
namespace {

namespace h1 = proto::http1;

constexpr uint16_t kBadGateway = 502;
constexpr uint16_t kUnavailable = 503;
constexpr uint16_t kGatewayTimeout = 504;
constexpr uint16_t kFirstFinal = 200;

static_assert(config::kRetryReasons == metrics::kRetryReasonKinds);
static_assert(config::kMaxRetryAttempts <= kMaxTries);

}  // namespace

H1Upstream::H1Upstream(core::EventLoop& loop, UpstreamPool& pool, const ExchangeEnv& env,
                       const h1::Limits& response_limits, UpstreamSink& sink)
    : loop_(loop), pool_(pool), env_(env), sink_(sink), parser_(response_limits) {
  backoff_timer_.bind(&H1Upstream::onBackoff, this);
}

H1Upstream::~H1Upstream() {
  settle();
  release(false);
  out_.clear(loop_.chunks(), [this](core::ChunkId id) { loop_.releaseChunk(id); });
}

bool H1Upstream::begin(Exchange& ex, std::string_view method, std::string_view head, bool chunked,
                       bool replayable, bool upgrade) {
  settle();
  core::TimerWheel::cancel(backoff_timer_);
  backoff_pending_ = false;
  // Whatever is still queued was never handed to a send (see release): free it.
  out_.clear(loop_.chunks(), [this](core::ChunkId id) { loop_.releaseChunk(id); });
  ex_ = &ex;
  chunked_ = chunked;
  tunnel_ = false;
  upload_pipe_r_ = -1;
  upload_pipe_bytes_ = 0;
  upload_pipe_sending_ = false;
  shut_after_flush_ = false;
  request_ended_ = false;
  parser_.reset();
  parser_.setRequestMethod(method);
  method_.assign(method);
  auto& pool = *(*env_.pools)[static_cast<size_t>(ex.pool_index)];
  policy_ = &pool.runtime().config->retries;
  may_retry_ = policy_->enabled && !upgrade && method != "CONNECT" &&
               (policy_->non_idempotent || idempotentMethod(method));
  counted_ = &pool;
  ++pool.retryBudget().requests;
  keeping_ = (replayable && !upgrade) || may_retry_;
  head_bytes_ = head.size();
  if (keeping_) {
    replay_.assign(head);  // keeps its capacity from earlier requests: no allocation
  } else {
    replay_.clear();
  }
  return append(head.data(), head.size());
}

bool H1Upstream::keep(const void* data, size_t len) {
  if (keeping_) {
    if (may_retry_ && replay_.size() + len - head_bytes_ <= policy_->buffer_bytes) {
      replay_.append(static_cast<const char*>(data), len);
    } else {
      // Too large to keep (or bodiless-only replay): once sent, this request cannot be resent.
      keeping_ = false;
      replay_.clear();
    }
  }
  return append(data, len);
}

void H1Upstream::settle() {
  if (counted_ == nullptr) {
    return;
  }
  auto& budget = counted_->retryBudget();
  --budget.requests;
  if (retry_counted_) {
    --budget.retries;
    upstream::PoolCircuit::release(counted_->circuit().retries);
    retry_counted_ = false;
  }
  counted_ = nullptr;
}

bool H1Upstream::append(const void* data, size_t len) {
  if (out_.append(loop_.chunks(), data, len)) {
    return true;
  }
  core::LogLine(core::LogLevel::kError, "l7.out_of_buffers", core::LogRepeat::kLimited)
      .str("listener", env_.listener->name);
  return false;
}

const tls::ClientContext* H1Upstream::upstreamTls() const {
  return env_.upstream_tls == nullptr
             ? nullptr
             : (*env_.upstream_tls)[static_cast<size_t>(ex_->pool_index)].get();
}

bool H1Upstream::connect() {
  bool full = false;  // a backend was skipped for max_connections
  while (pickBackend(env_, *ex_)) {
    conn_ = pool_.takeIdle(ex_->backend, upstreamTls(), this);
    if (conn_ != nullptr) {
      ex_->backend->active.fetch_add(1, std::memory_order_relaxed);
      onConnected();
      return true;
    }
    if (!(*env_.pools)[static_cast<size_t>(ex_->pool_index)]->connectionRoom(
            ex_->tried[ex_->tries - 1])) {
      full = true;
      continue;
    }
    conn_ = pool_.open(ex_->backend, upstreamTls(), this);
    if (conn_ == nullptr) {
      continue;
    }
    ex_->backend_counters->connections_total.add();
    connected_ = false;
    ex_->backend->active.fetch_add(1, std::memory_order_relaxed);
    sink_.onUpstreamConnecting();
    return true;
  }
  settle();
  if (full || refusedByBreaker(env_, *ex_)) {
    if (full) {
      refuseExchange(env_, *ex_, upstream::CircuitRefusal::kMaxConnections);
    }
    sink_.onUpstreamError(kUnavailable, "refused by the pool's circuit breaker");
    return false;
  }
  env_.counters->no_backend_total.add();
  core::LogLine(core::LogLevel::kWarn, "l7.no_backend", core::LogRepeat::kLimited)
      .str("listener", env_.listener->name)
      .str("pool", ex_->pool)
      .unum("tries", ex_->tries);
  sink_.onUpstreamError(ex_->tries == 0 ? kUnavailable : kBadGateway, "no backend available");
  return false;
}

void H1Upstream::onConnected() {
  connected_ = true;
  ex_->connect_ms = loop_.nowMs();
  reading_ = true;
  conn_->startRecv();
  flush();
  sink_.onUpstreamConnected();
}

bool H1Upstream::sendBody(std::span<const uint8_t> body) {
  ex_->bytes_in += body.size();
  if (chunked_) {
    std::array<uint8_t, h1::kMaxChunkHeaderBytes> size_line{};
    const size_t n = h1::writeChunkHeader(body.size(), size_line);
    if (!keep(size_line.data(), n) || !keep(body.data(), body.size()) ||
        !keep(h1::kChunkEnd.data(), h1::kChunkEnd.size())) {
      return false;
    }
  } else if (!keep(body.data(), body.size())) {
    return false;
  }
  flush();
  return true;
}

bool H1Upstream::sendEnd() {
  request_ended_ = true;
  if (chunked_ && !keep(h1::kLastChunk.data(), h1::kLastChunk.size())) {
    return false;
  }
  flush();
  return true;
}

bool H1Upstream::sendRaw(const void* data, size_t len) { return append(data, len); }

bool H1Upstream::canTakeBodyPipe() const {
  return ex_ != nullptr && !chunked_ && !keeping_ && !tunnel_ && upload_pipe_r_ < 0 &&
         upstreamTls() == nullptr && loop_.canSplice();
}

void H1Upstream::bodyFromPipe(int pipe_r) {
  upload_pipe_r_ = pipe_r;
  upload_pipe_bytes_ = 0;
}

void H1Upstream::bodyPiped(uint32_t len) {
  ex_->bytes_in += len;
  upload_pipe_bytes_ += len;
  flush();
}

void H1Upstream::flush() {
  if (conn_ == nullptr || !connected_ || conn_->sending() || !conn_->open()) {
    return;
  }
  if (out_.empty()) {
    if (upload_pipe_bytes_ > 0) {
      // What was queued (the head, body bytes read with it) went first.
      upload_pipe_sending_ = true;
      conn_->sendFromPipe(upload_pipe_r_, upload_pipe_bytes_);
    }
    return;
  }
  auto& chunks = loop_.chunks();
  const auto& m = chunks.meta(out_.head());
  conn_->send(chunks.data(out_.head()) + m.offset, m.length);
}

void H1Upstream::onUpstreamConnect(int err) {
  if (err != 0) {
    fail(err, "connect");
    return;
  }
  onConnected();
}

void H1Upstream::fail(int err, const char* stage) {
  if (backoff_pending_) {
    // The sink's timer ran out while a retry waited for its backoff: go now.
    core::TimerWheel::cancel(backoff_timer_);
    backoff_pending_ = false;
    connect();
    return;
  }
  if (ex_ != nullptr && ex_->backend_counters != nullptr && !connected_) {
    ex_->backend_counters->connect_errors_total.add();
    if (err == ETIMEDOUT) {
      ex_->backend_counters->timeouts_total.add();
    }
  }
  core::LogLine(core::LogLevel::kWarn, "l7.upstream_failed", core::LogRepeat::kLimited)
      .str("listener", env_.listener->name)
      .str("backend", ex_ != nullptr && ex_->backend ? ex_->backend->name : "")
      .str("stage", stage)
      .str("reason", strerror(err))
      .unum("response_bytes", ex_ != nullptr ? ex_->bytes_out : 0);
  // Safe to try again: nothing was sent (connect failed), or a kept-alive connection turned out
  // to be closed before any answer and the request, having no body, can be sent again whole.
  const bool unsent = ex_ != nullptr && !connected_;
  const bool stale = ex_ != nullptr && ex_->response_ms == 0 && conn_ != nullptr &&
                     conn_->reused() && !replay_.empty();
  if (ex_ != nullptr && !stale && ex_->response_ms == 0) {
    recordBackendOutcome(env_, *ex_, upstream::Outcome::kLocalFailure, loop_.nowMs());
  }
  const config::RetryReason reason =
      err == ETIMEDOUT ? config::RetryReason::kTimeout : config::RetryReason::kReset;
  const bool retry_now =
      ex_ != nullptr && !unsent && !stale && ex_->response_ms == 0 && mayRetry(reason);
  if (unsent && ex_ != nullptr && ex_->backend_counters != nullptr &&
      policy_->retriesOn(config::RetryReason::kConnectFailure)) {
    ex_->backend_counters
        ->http_retries_total[static_cast<size_t>(config::RetryReason::kConnectFailure)]
        .add();
  }
  release(false);
  if (retry_now) {
    retry(reason);
    return;
  }
  if (stale) {
    out_.clear(loop_.chunks(), [this](core::ChunkId id) { loop_.releaseChunk(id); });
    if (append(replay_.data(), replay_.size())) {
      --ex_->tries;  // a stale pooled connection is not the backend's failure
      connect();
      return;
    }
  } else if (unsent) {
    connect();  // the request bytes are still queued (release keeps them when unconnected)
    return;
  }
  settle();
  sink_.onUpstreamError(
      err == ETIMEDOUT && ex_ != nullptr && ex_->response_ms == 0 ? kGatewayTimeout : kBadGateway,
      stage);
}

bool H1Upstream::mayRetry(config::RetryReason reason) {
  if (ex_ == nullptr || !may_retry_ || !policy_->retriesOn(reason) || replay_.empty() ||
      ex_->tries >= policy_->attempts || counted_ == nullptr) {
    return false;
  }
  // A status retry waits for the whole request: the backend may answer early, mid-body.
  if (retryReasonForStatus(ex_->status) && !request_ended_) {
    return false;
  }
  if (!counted_->hasUntried(std::span<const uint32_t>(ex_->tried, ex_->tries))) {
    return false;  // never a backend this request already tried
  }
  if (!retry_counted_ &&
      !counted_->retryBudget().admits(policy_->budget_percent, policy_->min_concurrency)) {
    if (ex_->backend_counters != nullptr) {
      ex_->backend_counters->retry_budget_refused_total.add();
    }
    core::LogLine(core::LogLevel::kWarn, "l7.retry_budget_spent", core::LogRepeat::kLimited)
        .str("listener", env_.listener->name)
        .str("pool", ex_->pool)
        .str("reason", retryReasonName(reason));
    return false;
  }
  const uint32_t max_retries = counted_->circuitConfig().max_retries;
  if (!retry_counted_ && counted_->circuitConfig().enabled && max_retries != 0 &&
      counted_->circuit().retries.load(std::memory_order_relaxed) >= max_retries) {
    counted_->refuse(upstream::CircuitRefusal::kMaxRetries);
    return false;
  }
  return true;
}

void H1Upstream::retry(config::RetryReason reason) {
  if (ex_->backend_counters != nullptr) {
    ex_->backend_counters->http_retries_total[static_cast<size_t>(reason)].add();
  }
  core::LogLine(core::LogLevel::kInfo, "l7.retry", core::LogRepeat::kLimited)
      .str("listener", env_.listener->name)
      .str("backend", ex_->backend ? ex_->backend->name : "")
      .str("reason", retryReasonName(reason))
      .unum("attempt", ex_->tries + 1U)
      .str("request_id", ex_->request_id);
  if (!retry_counted_) {
    retry_counted_ = true;
    ++counted_->retryBudget().retries;
    counted_->circuit().retries.fetch_add(1, std::memory_order_relaxed);
  }
  ex_->status = 0;
  ex_->response_ms = 0;
  ex_->bytes_out = 0;
  parser_.reset();
  parser_.setRequestMethod(method_);
  out_.clear(loop_.chunks(), [this](core::ChunkId id) { loop_.releaseChunk(id); });
  if (!append(replay_.data(), replay_.size())) {
    settle();
    sink_.onUpstreamError(kBadGateway, "out of buffers");
    return;
  }
  const uint64_t wait = retryBackoffMs(*policy_, ex_->tries,
                                       core::splitMixFinalize(loop_.nowMs() * core::kSplitMixGamma ^
                                                              reinterpret_cast<uintptr_t>(this)));
  if (wait == 0) {
    connect();
    return;
  }
  backoff_pending_ = true;
  loop_.timers().schedule(backoff_timer_, wait);
}

void H1Upstream::onBackoff(void* self) {
  auto* u = static_cast<H1Upstream*>(self);
  u->backoff_pending_ = false;
  u->connect();
}

bool H1Upstream::retryAfterTimeout() {
  if (conn_ == nullptr || !connected_ || ex_ == nullptr || ex_->response_ms != 0) {
    return false;
  }
  // No response head in time: retried or answered 504, the backend's failure either way.
  recordBackendOutcome(env_, *ex_, upstream::Outcome::kLocalFailure, loop_.nowMs());
  if (!mayRetry(config::RetryReason::kTimeout)) {
    return false;
  }
  if (ex_->backend_counters != nullptr) {
    ex_->backend_counters->timeouts_total.add();
  }
  release(false);
  retry(config::RetryReason::kTimeout);
  return true;
}

uint64_t H1Upstream::responseWaitMs(uint64_t response_header_ms) const {
  if (policy_ == nullptr || !policy_->enabled || policy_->per_try_timeout.count() == 0) {
    return response_header_ms;
  }
  return std::min(response_header_ms, static_cast<uint64_t>(policy_->per_try_timeout.count()));
}

void H1Upstream::onUpstreamSent(int64_t result) {
  const bool from_pipe = std::exchange(upload_pipe_sending_, false);
  if (result < 0 || (from_pipe && result == 0)) {
    fail(result < 0 ? static_cast<int>(-result) : EPIPE, "send");
    return;
  }
  if (from_pipe) {
    upload_pipe_bytes_ -= static_cast<uint32_t>(result);
  } else {
    out_.consume(loop_.chunks(), static_cast<uint32_t>(result),
                 [this](core::ChunkId id) { loop_.releaseChunk(id); });
  }
  flush();
  if (shut_after_flush_ && out_.empty() && conn_ != nullptr && conn_->open() && !conn_->sending()) {
    conn_->shutdownWrite();
  }
  sink_.onRequestWritable();
}

void H1Upstream::shutdownWhenFlushed() {
  shut_after_flush_ = true;
  if (out_.empty() && conn_ != nullptr && conn_->open()) {
    conn_->shutdownWrite();
  }
}

void H1Upstream::onUpstreamData(core::ChunkId id, uint32_t len) {
  if (tunnel_) {
    sink_.onTunnelData(id, len);
    return;
  }
  auto& chunks = loop_.chunks();
  std::span<const uint8_t> in(chunks.data(id), len);
  // Until kNeedMore, even with nothing left: the last body bytes are followed by kMessageEnd on
  // the next call. The sink may release this connector from any callback: stop then.
  while (conn_ != nullptr) {
    const h1::Progress p = parser_.next(in);
    in = in.subspan(p.consumed);
    if (p.event == h1::Event::kNeedMore) {
      break;
    }
    if (p.event == h1::Event::kHead) {
      if (ex_->response_ms == 0) {
        ex_->response_ms = loop_.nowMs();
      }
      const uint16_t status = parser_.head().status;
      if (status >= kFirstFinal) {
        recordBackendOutcome(env_, *ex_, upstream::outcomeForStatus(status), loop_.nowMs());
        const auto reason = retryReasonForStatus(status);
        ex_->status = status;  // for mayRetry; the sink sets it again when it forwards the head
        if (reason && mayRetry(*reason)) {
          // The answer is dropped with its connection (its body is not worth reading).
          if (ex_->backend_counters != nullptr) {
            ex_->backend_counters->countStatus(status);
          }
          release(false);
          retry(*reason);
          break;
        }
        settle();
      }
      if (!sink_.onResponseHead(parser_.head())) {
        break;
      }
      if (status >= kFirstFinal) {
        maybeSpliceBody();
      }
    } else if (p.event == h1::Event::kBody) {
      ex_->bytes_out += p.body.size();
      if (!sink_.onResponseBody(p.body)) {
        break;
      }
    } else if (p.event == h1::Event::kMessageEnd) {
      endSplice();  // the rest of the body came in chunks already read
      sink_.onResponseEnd(parser_.trailers(), parser_.head().keep_alive && in.empty());
      break;  // the sink released us; a next exchange may already be using this connector
    } else if (p.event == h1::Event::kTunnel) {
      tunnel_ = true;
      sink_.onTunnel(in);
      in = {};
      break;
    } else if (p.event == h1::Event::kError) {
      core::LogLine(core::LogLevel::kWarn, "l7.bad_response", core::LogRepeat::kLimited)
          .str("listener", env_.listener->name)
          .str("backend", ex_->backend ? ex_->backend->name : "")
          .str("reason", parser_.errorReason());
      const bool no_head = ex_->status == 0;  // nothing of this answer reached the client
      if (no_head) {
        recordBackendOutcome(env_, *ex_, upstream::Outcome::kLocalFailure, loop_.nowMs());
      }
      // A head that does not parse is retried as a reset before the head would be: the backend
      // said nothing usable, and the client has seen nothing.
      if (no_head && mayRetry(config::RetryReason::kReset)) {
        release(false);
        retry(config::RetryReason::kReset);
        break;
      }
      release(false);
      settle();
      sink_.onUpstreamError(kBadGateway, "malformed response");
      break;
    }
  }
  loop_.releaseChunk(id);
  if (!sink_.onResponseBatchDone() && conn_ != nullptr && conn_->open()) {
    pauseReading();
  }
}

// Only where nothing between the two sockets needs the bytes: a cleartext backend, and a sink
// that takes them as they are (its own checks: no TLS, compression or cache store on its side).
// The switch happens at once; bytes already read into chunks still go through the parser first
// (io_uring delivers them before the first splice), and upstreamSpliceLimit keeps the splice
// from taking a byte past the body.
void H1Upstream::maybeSpliceBody() {
  if (conn_ == nullptr || splicing_ || tunnel_ || !conn_->canSplice() ||
      parser_.bodyLengthLeft() < kBodySpliceMinBytes) {
    return;
  }
  const int pipe_w = sink_.responseBodyPipe(parser_.bodyLengthLeft());
  if (pipe_w < 0 || conn_ == nullptr) {
    return;
  }
  splicing_ = true;
  conn_->spliceInto(pipe_w);
}

void H1Upstream::endSplice() {
  if (splicing_) {
    splicing_ = false;
    if (conn_ != nullptr) {
      conn_->endSplice();
    }
  }
}

void H1Upstream::onUpstreamSpliced(uint32_t len) {
  if (!splicing_ || ex_ == nullptr) {
    return;
  }
  ex_->bytes_out += len;
  parser_.skipBody(len);
  const bool ended = parser_.bodyLengthLeft() == 0;
  if (ended) {
    endSplice();  // before the sink hears: the connection may go back to the pool from there
  }
  sink_.onResponseSpliced(len);
  if (!ended || conn_ == nullptr) {
    return;  // more to come, or the sink let go (the client failed)
  }
  const h1::Progress p = parser_.next({});
  if (p.event == h1::Event::kMessageEnd) {
    // Nothing past the body was read (the limit), so the connection is as clean as it gets.
    sink_.onResponseEnd(parser_.trailers(), parser_.head().keep_alive);
  }
}

void H1Upstream::pipeHasRoom() {
  if (splicing_ && conn_ != nullptr && conn_->open()) {
    reading_ = true;
    conn_->startRecv();
  }
}

void H1Upstream::onUpstreamEnd(int err) {
  reading_ = false;
  if (tunnel_) {
    sink_.onTunnelEnd(err);
    return;
  }
  if (ex_ == nullptr) {
    release(false);
    return;
  }
  if (err == 0) {
    // A close-delimited body ends here; anything else is a truncated response.
    if (parser_.finish() == h1::Event::kMessageEnd) {
      sink_.onResponseEnd(parser_.trailers(), false);
      sink_.onResponseBatchDone();
      return;
    }
  }
  fail(err == 0 ? ECONNRESET : err, ex_->response_ms == 0 ? "response" : "body");
  sink_.onResponseBatchDone();
}

void H1Upstream::pauseReading() {
  if (conn_ != nullptr && reading_) {
    reading_ = false;
    conn_->stopRecv();
  }
}

void H1Upstream::resumeReading() {
  if (conn_ != nullptr && !reading_ && conn_->open()) {
    reading_ = true;
    conn_->startRecv();
  }
}

void H1Upstream::release(bool reusable) {
  // A sink that lets go during a retry's backoff gives the exchange up: no try follows. (retry()
  // arms the backoff only after its own release.)
  core::TimerWheel::cancel(backoff_timer_);
  backoff_pending_ = false;
  if (conn_ == nullptr) {
    return;
  }
  if (ex_ != nullptr && ex_->backend) {
    ex_->backend->active.fetch_sub(1, std::memory_order_relaxed);
  }
  endSplice();  // the sink's pipe may go once this returns: the socket must not point at it
  if (upload_pipe_sending_ || upload_pipe_bytes_ > 0 || !out_.empty()) {
    // Part of the request never reached the backend (it answered early): the next request on
    // this connection would be read as the rest of this one's body. (out_ also holds what a
    // send in flight still reads, which must not be freed under it.)
    reusable = false;
  }
  UpstreamConn* c = std::exchange(conn_, nullptr);
  const bool was_connected = std::exchange(connected_, false);
  if (was_connected) {
    // Sent or not, the request body's pipe is the sink's to close now; a connection that never
    // connected keeps its piped bytes for the next backend (nothing of them went out).
    upload_pipe_r_ = -1;
    upload_pipe_bytes_ = 0;
    upload_pipe_sending_ = false;
  }
  reading_ = false;
  if (reusable) {
    out_.clear(loop_.chunks(), [this](core::ChunkId id) { loop_.releaseChunk(id); });
    pool_.giveBack(
        c, (*env_.pools)[static_cast<size_t>(ex_->pool_index)]->runtime().config->keepalive);
  } else if (was_connected) {
    // A send may still be reading these chunks (io_uring): the connection frees them once its
    // socket is released, never before.
    pool_.discard(c, std::exchange(out_, core::ChunkQueue{}));
  } else {
    // Never connected, so never sent from: the request stays queued for the next backend.
    pool_.discard(c);
  }
}

}  // namespace ballast::l7
