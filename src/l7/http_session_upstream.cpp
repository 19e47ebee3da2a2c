// src/l7/http_session_upstream.cpp — HttpSession as the sink of its H1 upstream connector:
// reframing the response for the client, ending the exchange, and the 101 tunnel.
#include <sys/socket.h>

#include <array>
#include <cstdio>
#include <cstring>
#include <string>

#include "core/clock.h"
#include "core/log.h"
#include "core/socket.h"
#include "l4/stream_listener.h"
#include "l7/compression.h"
#include "l7/content_rules.h"
#include "l7/http_session.h"
#include "l7/http_session_internal.h"
#include "l7/sticky.h"
#include "proto/http1/syntax.h"
#include "proto/http1/writer.h"

namespace ballast::l7 {

using namespace session_internal;  // NOLINT(google-build-using-namespace): this class's own files

namespace {

// Fields a trailer section must not carry (RFC 9110 §6.5.1): framing, routing, connection.
bool forbiddenInTrailers(std::string_view name) {
  for (const std::string_view f : {"content-length", "transfer-encoding", "host", "connection",
                                   "keep-alive", "proxy-connection", "te", "trailer", "upgrade",
                                   "content-encoding", "content-type", "content-range"}) {
    if (h1::equalsIgnoreCase(name, f)) {
      return true;
    }
  }
  return false;
}

}  // namespace

void HttpSession::onUpstreamConnecting() {
  armTimer(static_cast<uint64_t>(env_.listener->timeouts.connect.count()));
}

void HttpSession::onUpstreamConnected() { armExchangeTimer(); }

void HttpSession::armExchangeTimer() {
  const auto& t = env_.listener->http.timeouts;
  armTimer(ex_->request_done ? up_.responseWaitMs(static_cast<uint64_t>(t.response_header.count()))
                             : static_cast<uint64_t>(t.body_idle.count()));
}

void HttpSession::onUpstreamError(uint16_t status, const char* why) {
  if (ex_ && ex_->response_started) {
    closeClient(true);
  } else {
    respondError(status, why);
  }
}

void HttpSession::onRequestWritable() {
  if (state_ == State::kTunnel) {
    if (!client_reading_ && !client_eof_ && up_.backlog() < env_.listener->limits.buffer_bytes) {
      client_reading_ = true;
      loop().startRecv(client_);
    }
    return;
  }
  if (upload_splicing_ && client_reading_) {
    loop().startRecv(client_);  // the pipe has room: a splice that stopped on a full one reads on
  }
  processClientInput();  // more of the request body may now fit
}

void HttpSession::onTunnelData(core::ChunkId id, uint32_t len) {
  last_activity_ms_ = loop().nowMs();
  client_out_.push(loop().chunks(), id, 0, len);
  flushClient();
  if (clientBacklog() >= env_.listener->limits.buffer_bytes) {
    up_.pauseReading();
  }
}

bool HttpSession::onResponseBody(std::span<const uint8_t> body) {
  last_activity_ms_ = loop().nowMs();
  if (ex_->compressor) {
    bool sink_refused = false;
    if (compressBody(*ex_, body, false, [this, &sink_refused](std::span<const uint8_t> out) {
          sink_refused = !appendBody(out);
          return !sink_refused;
        })) {
      return true;
    }
    if (!sink_refused) {
      closeClient(true);  // the library failed: a cut stream, never a corrupt one
    }
    return false;
  }
  return appendBody(body);
}

// Body bytes to the client, in a chunk of their own when the response is chunked.
bool HttpSession::appendBody(std::span<const uint8_t> body) {
  if (ex_->response_chunked) {
    std::array<uint8_t, h1::kMaxChunkHeaderBytes> size_line{};
    const size_t n = h1::writeChunkHeader(body.size(), size_line);
    return appendClient(size_line.data(), n) && appendClient(body.data(), body.size()) &&
           appendClient(h1::kChunkEnd.data(), h1::kChunkEnd.size());
  }
  return appendClient(body.data(), body.size());
}

// A bulk body goes from the backend's socket into a pipe and on to the client's without passing
// through a chunk: only when this session forwards it byte for byte (a cleartext client, no
// compression, no reframing as chunked).
int HttpSession::responseBodyPipe(uint64_t /*length*/) {
  if (state_ != State::kExchange || !ex_ || tls_ || ex_->compressor || ex_->response_chunked ||
      !client_.open() || !loop().canSplice() || !l4::SplicePipe::enabled()) {
    return -1;
  }
  if (!response_pipe_) {
    response_pipe_ = makePipe();
    if (!response_pipe_) {
      return -1;
    }
  }
  return response_pipe_->writeEnd();
}

std::unique_ptr<l4::SplicePipe> HttpSession::makePipe() {
  int err = 0;
  auto pipe = l4::SplicePipe::make(&err);
  if (!pipe) {
    // The fd budget or the user's pipe pages are spent: the body takes the copy path.
    env_.counters->splice_fallbacks_total.add();
    core::LogLine(core::LogLevel::kWarn, "l7.splice_unavailable", core::LogRepeat::kLimited)
        .str("listener", env_.listener->name)
        .str("reason", strerror(err));
    return nullptr;
  }
  env_.counters->splice_pipes_total.add();
  return pipe;
}

void HttpSession::onResponseSpliced(uint32_t len) {
  last_activity_ms_ = loop().nowMs();
  env_.counters->splice_bytes_total.add(len);
  response_pipe_->bytes += len;
  flushClient();
}

bool HttpSession::onResponseBatchDone() {
  last_activity_ms_ = loop().nowMs();
  flushClient();
  return clientBacklog() < env_.listener->limits.buffer_bytes;
}

bool HttpSession::onResponseHead(const h1::ResponseHead& head) {
  last_activity_ms_ = loop().nowMs();
  if (state_ != State::kExchange || ex_ == nullptr) {
    return false;
  }
  core::TimerWheel::cancel(timer_);
  const bool interim = head.status < kFirstFinal && head.status != kSwitching;
  if (interim && ex_->client_minor == 0) {
    return true;  // HTTP/1.0 clients do not understand 1xx
  }
  if (!interim && replacesBackendError(*env_.listener, *ex_, head.status)) {
    // error_pages with backend_errors: the backend's own page never reaches the client.
    respondError(head.status, "backend error replaced by an error page");
    return false;
  }
  auto& scratch_fields = env_.scratch->headers;
  buildResponseFields(head.headers,
                      ex_->route_config != nullptr ? &ex_->route_config->response_headers
                                                   : &env_.listener->http.response_headers,
                      scratch_fields);
  applyResponseEdits(*ex_, scratch_fields);
  const bool compressing =
      !interim && startCompression(*env_.listener, *ex_, head.status, head, scratch_fields);
  h1::ResponseHead out = head;
  out.headers = scratch_fields;
  bool close = !ex_->client_keep_alive || close_after_flush_ || client_eof_;
  if (compressing) {
    out.has_content_length = false;  // a HEAD answer's advisory length was the original's
  }
  if (!interim) {
    ex_->status = head.status;
    if (head.body == h1::BodyKind::kChunked || head.body == h1::BodyKind::kUntilClose ||
        (compressing && head.body == h1::BodyKind::kLength)) {
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
    cookie = stickySetCookie(pool_config, *ex_->backend, core::unixMs() / core::kMsPerSecond,
                             ex_->sticky_session, ex_->sticky_known);
    if (!cookie.empty()) {
      add[n_add++] = {"Set-Cookie", cookie};
    }
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
    up_.release(false);
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

void HttpSession::onResponseEnd(std::span<const h1::Header> trailers, bool reusable) {
  if (ex_->compressor) {
    bool sink_refused = false;
    if (!compressBody(*ex_, {}, true, [this, &sink_refused](std::span<const uint8_t> out) {
          sink_refused = !appendBody(out);
          return !sink_refused;
        })) {
      if (!sink_refused) {
        closeClient(true);  // the stream cannot be ended: the client must not take it as whole
      }
      return;
    }
  }
  if (ex_->response_chunked && !appendLastChunk(trailers)) {
    return;
  }
  up_.release(reusable && ex_->request_done);
  if (response_pipe_ && (response_pipe_->bytes > 0 || response_pipe_sending_)) {
    finish_after_pipe_ = true;  // the exchange ends when the client has the body's last byte
    return;
  }
  response_pipe_.reset();
  finishExchange();
}

// The backend's trailers (an HTTP/1.1 chunked body's, or an HTTP/2 backend's: gRPC's grpc-status)
// go on in the last chunk, as HAProxy and NGINX pass them; fields that would change framing or
// routing if a recipient merged them into the head (RFC 9110 §6.5.1) are dropped.
bool HttpSession::appendLastChunk(std::span<const h1::Header> trailers) {
  auto& kept = env_.scratch->headers;
  kept.clear();
  for (const auto& t : trailers) {
    if (!forbiddenInTrailers(t.name)) {
      kept.push_back(t);
    }
  }
  auto& out = env_.scratch->head;
  out.clear();
  if (kept.empty() || !h1::writeLastChunk(kept, out)) {
    if (!kept.empty()) {
      core::LogLine(core::LogLevel::kWarn, "l7.bad_trailers", core::LogRepeat::kLimited)
          .str("listener", env_.listener->name)
          .str("backend", ex_->backend ? ex_->backend->name : "");
    }
    return appendClient(h1::kLastChunk.data(), h1::kLastChunk.size());
  }
  return appendClient(out.data(), out.size());
}

void HttpSession::finishExchange() {
  // An answer before the whole upload (an early 413, an error of ours): the client's socket
  // reads into chunks again for the lingering close; the connector let go of the pipe already.
  endUploadSplice();
  upload_pipe_.reset();
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

void HttpSession::onTunnel(std::span<const uint8_t> rest) {
  endUploadSplice();  // never begun for an upgrade (maybeSpliceUpload); kept as the invariant
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
    if (!up_.sendRaw(chunks.data(client_in_.head()) + m.offset, m.length)) {
      closeClient(true);
      return;
    }
    client_in_.consume(chunks, m.length, [this](core::ChunkId id) { loop().releaseChunk(id); });
  }
  up_.flush();
  flushClient();
  if (!client_reading_ && !client_eof_) {
    client_reading_ = true;
    loop().startRecv(client_);
  }
  armTimer(static_cast<uint64_t>(env_.listener->timeouts.idle.count()));
}

void HttpSession::onTunnelEnd(int err) {
  up_.release(false);
  if (err != 0) {
    closeClient(true);
    return;
  }
  close_after_flush_ = true;
  state_ = State::kClosing;
  flushClient();
}

}  // namespace ballast::l7
