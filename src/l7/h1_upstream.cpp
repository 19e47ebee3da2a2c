// src/l7/h1_upstream.cpp — the HTTP/1.1 upstream connector: picking and connecting, safe retries,
// writing the request and parsing the response for its sink.
#include "l7/h1_upstream.h"

#include <sys/socket.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <utility>

#include "core/log.h"
#include "proto/http1/writer.h"

namespace ballast::l7 {
namespace {

namespace h1 = proto::http1;

constexpr uint16_t kBadGateway = 502;
constexpr uint16_t kUnavailable = 503;

}  // namespace

H1Upstream::H1Upstream(core::EventLoop& loop, UpstreamPool& pool, const ExchangeEnv& env,
                       const h1::Limits& response_limits, UpstreamSink& sink)
    : loop_(loop), pool_(pool), env_(env), sink_(sink), parser_(response_limits) {}

H1Upstream::~H1Upstream() {
  release(false);
  out_.clear(loop_.chunks(), [this](core::ChunkId id) { loop_.releaseChunk(id); });
}

bool H1Upstream::begin(Exchange& ex, std::string_view method, std::string_view head, bool chunked,
                       bool replayable) {
  // Whatever is still queued was never handed to a send (see release): free it.
  out_.clear(loop_.chunks(), [this](core::ChunkId id) { loop_.releaseChunk(id); });
  ex_ = &ex;
  chunked_ = chunked;
  tunnel_ = false;
  shut_after_flush_ = false;
  parser_.reset();
  parser_.setRequestMethod(method);
  if (replayable) {
    replay_.assign(head);  // keeps its capacity from earlier requests: no allocation
  } else {
    replay_.clear();
  }
  return append(head.data(), head.size());
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
  while (pickBackend(env_, *ex_)) {
    conn_ = pool_.takeIdle(ex_->backend, upstreamTls(), this);
    if (conn_ != nullptr) {
      ex_->backend->active.fetch_add(1, std::memory_order_relaxed);
      onConnected();
      return true;
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
    if (!append(size_line.data(), n) || !append(body.data(), body.size()) ||
        !append(h1::kChunkEnd.data(), h1::kChunkEnd.size())) {
      return false;
    }
  } else if (!append(body.data(), body.size())) {
    return false;
  }
  flush();
  return true;
}

bool H1Upstream::sendEnd() {
  if (chunked_ && !append(h1::kLastChunk.data(), h1::kLastChunk.size())) {
    return false;
  }
  flush();
  return true;
}

bool H1Upstream::sendRaw(const void* data, size_t len) { return append(data, len); }

void H1Upstream::flush() {
  if (conn_ == nullptr || !connected_ || conn_->sending() || !conn_->open() || out_.empty()) {
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
  release(false);
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
  sink_.onUpstreamError(kBadGateway, stage);
}

void H1Upstream::onUpstreamSent(int64_t result) {
  if (result < 0) {
    fail(static_cast<int>(-result), "send");
    return;
  }
  out_.consume(loop_.chunks(), static_cast<uint32_t>(result),
               [this](core::ChunkId id) { loop_.releaseChunk(id); });
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
      if (!sink_.onResponseHead(parser_.head())) {
        break;
      }
    } else if (p.event == h1::Event::kBody) {
      ex_->bytes_out += p.body.size();
      if (!sink_.onResponseBody(p.body)) {
        break;
      }
    } else if (p.event == h1::Event::kMessageEnd) {
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
      release(false);
      sink_.onUpstreamError(kBadGateway, "malformed response");
      break;
    }
  }
  loop_.releaseChunk(id);
  if (!sink_.onResponseBatchDone() && conn_ != nullptr && conn_->open()) {
    pauseReading();
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
  if (conn_ == nullptr) {
    return;
  }
  if (ex_ != nullptr && ex_->backend) {
    ex_->backend->active.fetch_sub(1, std::memory_order_relaxed);
  }
  UpstreamConn* c = std::exchange(conn_, nullptr);
  const bool was_connected = std::exchange(connected_, false);
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
