// src/l7/http_session_upstream.cpp — HttpSession's upstream side: sending the request, reading
// and reframing the response, returning the connection to the pool, and the 101 tunnel.
#include <sys/socket.h>

#include <array>
#include <cstdio>
#include <cstring>
#include <string>

#include "core/log.h"
#include "core/socket.h"
#include "l4/stream_listener.h"
#include "l7/http_session.h"
#include "l7/http_session_internal.h"
#include "l7/sticky.h"
#include "proto/http1/syntax.h"
#include "proto/http1/writer.h"

namespace ballast::l7 {

using namespace session_internal;  // NOLINT(google-build-using-namespace): this class's own files

void HttpSession::flushUpstream() {
  if (upstream_ == nullptr || !upstream_connected_ || upstream_->sending() || !upstream_->open() ||
      up_out_.empty()) {
    return;
  }
  auto& chunks = loop().chunks();
  const auto& m = chunks.meta(up_out_.head());
  upstream_->send(chunks.data(up_out_.head()) + m.offset, m.length);
}

void HttpSession::onUpstreamConnect(int err) {
  if (err != 0) {
    onUpstreamFailed(err, "connect");
    return;
  }
  upstream_connected_ = true;
  ex_->connect_ms = loop().nowMs();
  upstream_reading_ = true;
  upstream_->startRecv();
  flushUpstream();
  armExchangeTimer();
}

void HttpSession::armExchangeTimer() {
  const auto& t = env_.listener->http.timeouts;
  armTimer(
      static_cast<uint64_t>(ex_->request_done ? t.response_header.count() : t.body_idle.count()));
}

void HttpSession::onUpstreamFailed(int err, const char* what) {
  if (ex_ && ex_->backend_counters != nullptr && !upstream_connected_) {
    ex_->backend_counters->connect_errors_total.add();
    if (err == ETIMEDOUT) {
      ex_->backend_counters->timeouts_total.add();
    }
  }
  core::LogLine(core::LogLevel::kWarn, "l7.upstream_failed", core::LogRepeat::kLimited)
      .str("listener", env_.listener->name)
      .str("backend", ex_ && ex_->backend ? ex_->backend->name : "")
      .str("stage", what)
      .str("reason", strerror(err))
      .unum("response_bytes", ex_ ? ex_->bytes_out : 0);
  const bool response_started = ex_ && ex_->response_started;
  // Safe to try again: nothing was sent (connect failed), or a kept-alive connection turned out
  // to be closed before any answer and the request, having no body, can be sent again whole.
  const bool unsent = ex_ && !response_started && !upstream_connected_;
  const bool stale = ex_ && !response_started && ex_->response_ms == 0 && upstream_ != nullptr &&
                     upstream_->reused() && !ex_->replay.empty();
  releaseUpstream(false);
  if (stale && appendUpstream(ex_->replay.data(), ex_->replay.size())) {
    --ex_->tries;  // a stale pooled connection is not the backend's failure
    connectUpstream();
    return;
  }
  if (unsent) {
    connectUpstream();  // the request bytes are still queued
    return;
  }
  if (response_started) {
    closeClient(true);
  } else {
    respondError(kBadGateway, what);
  }
}

void HttpSession::onUpstreamSent(int64_t result) {
  if (result < 0) {
    onUpstreamFailed(static_cast<int>(-result), "send");
    return;
  }
  up_out_.consume(loop().chunks(), static_cast<uint32_t>(result),
                  [this](core::ChunkId id) { loop().releaseChunk(id); });
  flushUpstream();
  if (state_ == State::kTunnel) {
    if (!client_reading_ && !client_eof_ && up_out_.bytes() < env_.listener->limits.buffer_bytes) {
      client_reading_ = true;
      loop().startRecv(client_);
    }
    if (client_eof_ && up_out_.empty() && !upstream_->sending()) {
      upstream_->shutdownWrite();
    }
    return;
  }
  processClientInput();  // more of the request body may now fit
}

void HttpSession::onUpstreamData(core::ChunkId id, uint32_t len) {
  last_activity_ms_ = loop().nowMs();
  if (state_ == State::kTunnel) {
    client_out_.push(loop().chunks(), id, 0, len);
    flushClient();
    if (clientBacklog() >= env_.listener->limits.buffer_bytes && upstream_reading_) {
      upstream_reading_ = false;
      upstream_->stopRecv();
    }
    return;
  }
  auto& chunks = loop().chunks();
  std::span<const uint8_t> in(chunks.data(id), len);
  // Until kNeedMore, even with nothing left: the last body bytes are followed by kMessageEnd on
  // the next call.
  while (ex_ != nullptr && state_ == State::kExchange) {
    const h1::Progress p = response_parser_.next(in);
    in = in.subspan(p.consumed);
    if (p.event == h1::Event::kNeedMore) {
      break;
    }
    if (p.event == h1::Event::kHead) {
      if (!onResponseHead(response_parser_.head())) {
        break;
      }
    } else if (p.event == h1::Event::kBody) {
      ex_->bytes_out += p.body.size();
      if (ex_->response_chunked) {
        std::array<uint8_t, h1::kMaxChunkHeaderBytes> size_line{};
        const size_t n = h1::writeChunkHeader(p.body.size(), size_line);
        if (!appendClient(size_line.data(), n) || !appendClient(p.body.data(), p.body.size()) ||
            !appendClient(h1::kChunkEnd.data(), h1::kChunkEnd.size())) {
          break;
        }
      } else if (!appendClient(p.body.data(), p.body.size())) {
        break;
      }
    } else if (p.event == h1::Event::kMessageEnd) {
      onResponseEnd(response_parser_.head().keep_alive && in.empty());
      break;
    } else if (p.event == h1::Event::kTunnel) {
      enterTunnel(in);
      in = {};
      break;
    } else if (p.event == h1::Event::kError) {
      core::LogLine(core::LogLevel::kWarn, "l7.bad_response", core::LogRepeat::kLimited)
          .str("listener", env_.listener->name)
          .str("backend", ex_->backend ? ex_->backend->name : "")
          .str("reason", response_parser_.errorReason());
      releaseUpstream(false);
      if (ex_->response_started) {
        closeClient(true);
      } else {
        respondError(kBadGateway, "malformed response");
      }
      break;
    }
  }
  loop().releaseChunk(id);
  flushClient();
  if (upstream_ != nullptr && upstream_reading_ && upstream_->open() &&
      clientBacklog() >= env_.listener->limits.buffer_bytes) {
    upstream_reading_ = false;
    upstream_->stopRecv();
  }
}

bool HttpSession::onResponseHead(const h1::ResponseHead& head) {
  if (ex_->response_ms == 0) {
    ex_->response_ms = loop().nowMs();
  }
  core::TimerWheel::cancel(timer_);
  const bool interim = head.status < kFirstFinal && head.status != kSwitching;
  if (interim && ex_->client_minor == 0) {
    return true;  // HTTP/1.0 clients do not understand 1xx
  }
  auto& scratch_fields = env_.scratch->headers;
  buildResponseFields(head.headers,
                      ex_->route_config != nullptr ? &ex_->route_config->response_headers
                                                   : &env_.listener->http.response_headers,
                      scratch_fields);
  h1::ResponseHead out = head;
  out.headers = scratch_fields;
  bool close = !ex_->client_keep_alive || close_after_flush_ || client_eof_;
  if (!interim) {
    ex_->status = head.status;
    if (head.body == h1::BodyKind::kChunked || head.body == h1::BodyKind::kUntilClose) {
      if (ex_->client_minor >= 1) {
        out.body = h1::BodyKind::kChunked;
        ex_->response_chunked = true;
      } else {
        out.body = h1::BodyKind::kUntilClose;  // HTTP/1.0: the end of the body is our close
        close = true;
      }
    }
    if (close) {
      close_after_flush_ = true;
    }
  }
  std::array<h1::Header, 3> add{};
  size_t n_add = 0;
  const config::Pool& pool_config =
      *(*env_.pools)[static_cast<size_t>(ex_->pool_index)]->runtime().config;
  const uint32_t chosen = ex_->tries > 0 ? ex_->tried[ex_->tries - 1] : 0;
  if (!interim && !pool_config.sticky_cookie.empty() && ex_->backend &&
      ex_->sticky != static_cast<int>(chosen)) {
    // First visit, or the old backend went down: pin the client to the one that answered.
    auto& cookie = env_.scratch->set_cookie;
    cookie = pool_config.sticky_cookie + "=" + stickyValue(pool_config.name, *ex_->backend) +
             "; Path=/; Max-Age=" +
             std::to_string(
                 std::chrono::duration_cast<std::chrono::seconds>(pool_config.sticky_ttl).count()) +
             "; HttpOnly";
    add[n_add++] = {"Set-Cookie", cookie};
  }
  if (head.status == kSwitching) {
    add[n_add++] = {"Connection", "upgrade"};
  } else if (!interim && close) {
    add[n_add++] = {"Connection", "close"};
  } else if (!interim && ex_->client_minor == 0) {
    add[n_add++] = {"Connection", "keep-alive"};
  }
  auto& scratch = env_.scratch->head;
  scratch.clear();
  if (!h1::writeResponseHead(out, std::span<const h1::Header>(add.data(), n_add), scratch)) {
    releaseUpstream(false);
    respondError(kBadGateway, "response head cannot be forwarded");
    return false;
  }
  if (head.status == kSwitching) {
    for (const auto& h : head.headers) {
      if (h1::equalsIgnoreCase(h.name, "upgrade")) {
        scratch.insert(scratch.size() - 2,
                       std::string(h.name) + ": " + std::string(h.value) + "\r\n");
      }
    }
  }
  ex_->response_started = !interim;
  if (!interim) {
    armTimer(static_cast<uint64_t>(env_.listener->http.timeouts.body_idle.count()));
  }
  return appendClient(scratch.data(), scratch.size());
}

void HttpSession::onResponseEnd(bool reusable) {
  if (ex_->response_chunked && !appendClient(h1::kLastChunk.data(), h1::kLastChunk.size())) {
    return;
  }
  releaseUpstream(reusable && ex_->request_done);
  finishExchange();
}

void HttpSession::finishExchange() {
  accessLog();
  const bool request_done = ex_->request_done;
  const bool upgrade_requested = ex_->upgrade_requested;
  spare_ = std::move(ex_);
  if (close_after_flush_ || !request_done) {
    state_ = State::kClosing;
    flushClient();
    return;
  }
  state_ = State::kIdle;
  if (request_done && upgrade_requested) {
    request_parser_.resume();  // the upstream refused the upgrade: keep speaking HTTP
  }
  if (draining_) {
    // The response promised keep-alive before the stop began: honour it briefly, answering
    // the next request with Connection: close.
    close_after_flush_ = true;
    armTimer(kDrainIdleGraceMs);
  } else {
    armTimer(static_cast<uint64_t>(env_.listener->http.timeouts.keep_alive.count()));
  }
  flushClient();
  processClientInput();
}

void HttpSession::enterTunnel(std::span<const uint8_t> rest) {
  accessLog();
  state_ = State::kTunnel;
  core::TimerWheel::cancel(timer_);
  if (!rest.empty() && !appendClient(rest.data(), rest.size())) {
    return;
  }
  // Bytes the client sent after its upgrade request are the tunnel's first bytes.
  auto& chunks = loop().chunks();
  while (!client_in_.empty()) {
    const auto& m = chunks.meta(client_in_.head());
    if (!appendUpstream(chunks.data(client_in_.head()) + m.offset, m.length)) {
      return;
    }
    client_in_.consume(chunks, m.length, [this](core::ChunkId id) { loop().releaseChunk(id); });
  }
  flushUpstream();
  flushClient();
  if (!client_reading_ && !client_eof_) {
    client_reading_ = true;
    loop().startRecv(client_);
  }
  armTimer(static_cast<uint64_t>(env_.listener->timeouts.idle.count()));
}

void HttpSession::onUpstreamEnd(int err) {
  upstream_reading_ = false;
  if (state_ == State::kTunnel) {
    if (err != 0) {
      releaseUpstream(false);
      closeClient(true);
      return;
    }
    close_after_flush_ = true;
    releaseUpstream(false);
    state_ = State::kClosing;
    flushClient();
    return;
  }
  if (ex_ == nullptr || state_ != State::kExchange) {
    releaseUpstream(false);
    return;
  }
  if (err == 0) {
    // A close-delimited body ends here; anything else is a truncated response.
    if (response_parser_.finish() == h1::Event::kMessageEnd) {
      onResponseEnd(false);
      flushClient();
      return;
    }
  }
  onUpstreamFailed(err == 0 ? ECONNRESET : err, ex_->response_ms == 0 ? "response" : "body");
  flushClient();
}

void HttpSession::releaseUpstream(bool reusable) {
  if (upstream_ == nullptr) {
    return;
  }
  if (ex_ && ex_->backend) {
    ex_->backend->active.fetch_sub(1, std::memory_order_relaxed);
  }
  UpstreamConn* c = upstream_;
  upstream_ = nullptr;
  upstream_connected_ = false;
  upstream_reading_ = false;
  if (reusable) {
    up_out_.clear(loop().chunks(), [this](core::ChunkId id) { loop().releaseChunk(id); });
    env_.upstreams->giveBack(
        c, (*env_.pools)[static_cast<size_t>(ex_->pool_index)]->runtime().config->keepalive);
  } else {
    // A send may still be reading these chunks (io_uring): the connection frees them once its
    // socket is released, never before.
    env_.upstreams->discard(c, std::exchange(up_out_, core::ChunkQueue{}));
  }
}

}  // namespace ballast::l7
