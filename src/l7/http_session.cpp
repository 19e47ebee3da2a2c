// src/l7/http_session.cpp — the HTTP/1.1 reverse-proxy state machine.
//
//   kIdle ─bytes─▶ kHead ─head─▶ kExchange ─response end─▶ kIdle (keep-alive) or close
//                    │ 400/408/413/414/431     │ 502/503/504 before a response started
//                    └────────▶ kClosing ◀─────┘ (an error after it started resets the client)
//   kExchange ─101─▶ kTunnel (raw bytes both ways until either side ends)
#include "l7/http_session.h"

#include <sys/socket.h>

#include <array>
#include <cstdio>
#include <cstring>
#include <utility>

#include "core/log.h"
#include "core/socket.h"
#include "core/splitmix.h"
#include "l4/proxy_header_reader.h"
#include "l4/stream_listener.h"
#include "l7/http_session_internal.h"
#include "l7/request_key.h"
#include "l7/sticky.h"
#include "proto/http1/syntax.h"
#include "proto/http1/writer.h"

namespace ballast::l7 {

using namespace session_internal;  // NOLINT(google-build-using-namespace): this class's own files
namespace {

constexpr size_t kMaxRequestIdBytes = 128;
constexpr size_t kMaxLoggedPathBytes = 1024;
constexpr int kHexBase = 16;

// Gives a chunk back when the scope ends (after the parser event that points into it).
struct ChunkReleaser {
  ChunkReleaser(core::EventLoop& l, core::ChunkId c) : loop(l), id(c) {}
  core::EventLoop& loop;
  core::ChunkId id;
  ChunkReleaser(const ChunkReleaser&) = delete;
  ChunkReleaser& operator=(const ChunkReleaser&) = delete;
  ~ChunkReleaser() {
    if (id != core::kNoChunk) {
      loop.releaseChunk(id);
    }
  }
};

// Responses are not bounded by max_body: it protects backends from clients, not the reverse.
h1::Limits responseLimits(const config::HttpLimits& l) {
  h1::Limits out;
  out.max_header_bytes = l.max_header_bytes;
  out.max_headers = l.max_headers;
  return out;
}

h1::Limits codecLimits(const config::HttpLimits& l) {
  h1::Limits out;
  out.max_request_line = l.max_request_line;
  out.max_header_bytes = l.max_header_bytes;
  out.max_headers = l.max_headers;
  out.max_body = l.max_body;
  return out;
}

bool wellFormedRequestId(std::string_view id) {
  if (id.empty() || id.size() > kMaxRequestIdBytes) {
    return false;
  }
  for (char c : id) {
    const auto u = static_cast<uint8_t>(c);
    if (!h1::isTchar(u)) {
      return false;
    }
  }
  return true;
}

std::string_view pathOf(std::string_view target) {
  if (!target.empty() && target.front() != '/') {
    // absolute-form: skip "scheme://authority"
    const size_t scheme = target.find("://");
    if (scheme != std::string_view::npos) {
      const size_t slash = target.find('/', scheme + 3);
      target = slash == std::string_view::npos ? std::string_view("/") : target.substr(slash);
    }
  }
  return target;
}

}  // namespace

HttpSession::HttpSession(const HttpEnv& env, int client_fd)
    : env_(env),
      request_parser_(codecLimits(env.listener->http.limits)),
      response_parser_(responseLimits(env.listener->http.limits)) {
  env_.epoch->ref();
  env_.counters->connections_total.add();
  env_.counters->connections_active.inc();
  timer_.bind(&HttpSession::onTimer, this);
  client_released_ = false;
  loop().attach(client_, client_fd, this);
}

HttpSession::~HttpSession() {
  core::TimerWheel::cancel(timer_);
  env_.counters->connections_active.dec();
  env_.epoch->unref();
}

void HttpSession::Exchange::reset() {
  method.clear();
  host.clear();
  path.clear();
  request_id.clear();
  route.clear();
  pool.clear();
  replay.clear();
  backend.reset();
  backend_counters = nullptr;
  route_config = nullptr;
  pool_index = -1;
  hash_key = 0;
  sticky = -1;
  start_ms = connect_ms = response_ms = 0;
  bytes_in = bytes_out = 0;
  status = 0;
  tries = 0;
  request_chunked = request_done = response_started = response_chunked = false;
  client_keep_alive = true;
  upgrade_requested = false;
  client_minor = 1;
}

void HttpSession::beginExchange() {
  if (spare_) {
    ex_ = std::move(spare_);
    ex_->reset();
  } else {
    ex_ = std::make_unique<Exchange>();
  }
  ex_->start_ms = loop().nowMs();
}

void HttpSession::start() {
  peer_ = core::peerAddress(client_.fd());
  for (const auto& cidr : env_.listener->http.trusted_proxies) {
    peer_trusted_ = peer_trusted_ || cidr.contains(peer_);
  }
  awaiting_proxy_header_ = env_.listener->proxy_protocol.accept;
  last_activity_ms_ = loop().nowMs();
  state_ = State::kIdle;
  client_reading_ = true;
  loop().startRecv(client_);
  armTimer(static_cast<uint64_t>(env_.listener->http.timeouts.header.count()));
}

void HttpSession::armTimer(uint64_t ms) { loop().timers().schedule(timer_, ms); }

bool HttpSession::appendClient(const void* data, size_t len) {
  if (client_out_.append(loop().chunks(), data, len)) {
    return true;
  }
  core::LogLine(core::LogLevel::kError, "l7.out_of_buffers", core::LogRepeat::kLimited)
      .str("listener", env_.listener->name);
  closeClient(true);
  return false;
}

bool HttpSession::appendUpstream(const void* data, size_t len) {
  if (up_out_.append(loop().chunks(), data, len)) {
    return true;
  }
  core::LogLine(core::LogLevel::kError, "l7.out_of_buffers", core::LogRepeat::kLimited)
      .str("listener", env_.listener->name);
  closeClient(true);
  return false;
}

// ---- client side ---------------------------------------------------------------------------

void HttpSession::onConnect(core::Stream& /*s*/, int /*err*/) {}

void HttpSession::onRecv(core::Stream& /*s*/, core::ChunkId id, uint32_t len) {
  last_activity_ms_ = loop().nowMs();
  if (state_ == State::kClosing || state_ == State::kDone) {
    loop().releaseChunk(id);
    return;
  }
  if (state_ == State::kTunnel) {
    up_out_.push(loop().chunks(), id, 0, len);
    flushUpstream();
    if (up_out_.bytes() >= env_.listener->limits.buffer_bytes && client_reading_) {
      client_reading_ = false;
      loop().stopRecv(client_);
    }
    return;
  }
  client_in_.push(loop().chunks(), id, 0, len);
  if (awaiting_proxy_header_ && !readClientProxyHeader()) {
    return;
  }
  processClientInput();
}

bool HttpSession::readClientProxyHeader() {
  auto parsed = l4::readProxyHeader(loop(), client_in_);
  if (!parsed) {
    if (parsed.error().code != core::Errc::kNeedMore) {
      core::LogLine(core::LogLevel::kWarn, "l4.proxy_header_invalid", core::LogRepeat::kLimited)
          .str("listener", env_.listener->name)
          .str("client", peer_.toString())
          .str("reason", parsed.error().what);
      closeClient(true);
    }
    return false;
  }
  awaiting_proxy_header_ = false;
  // The header is believed from trusted_proxies only (from anyone when that list is empty: the
  // operator asked every client for a header); otherwise it is read and ignored.
  const bool believe = peer_trusted_ || env_.listener->http.trusted_proxies.empty();
  if (!parsed->local && believe) {
    peer_ = parsed->source;
  }
  return true;
}

void HttpSession::processClientInput() {
  auto& chunks = loop().chunks();
  // Parse until the parser asks for more: it may have events left for an empty input (the end
  // of a body that filled the last chunk exactly).
  bool need_more = false;
  while (!need_more && (state_ == State::kIdle || state_ == State::kHead ||
                        (state_ == State::kExchange && ex_ && !ex_->request_done))) {
    if (client_in_.empty() && (state_ == State::kIdle || state_ == State::kHead)) {
      break;
    }
    if (state_ == State::kIdle) {
      state_ = State::kHead;
      armTimer(static_cast<uint64_t>(env_.listener->http.timeouts.header.count()));
    }
    std::span<const uint8_t> in;
    if (!client_in_.empty()) {
      const core::ChunkId head = client_in_.head();
      const auto& m = chunks.meta(head);
      in = std::span<const uint8_t>(chunks.data(head) + m.offset, m.length);
    }
    const h1::Progress p = request_parser_.next(in);
    // p.body points into the chunk being consumed: release it only once the event is handled.
    core::ChunkId spent = core::kNoChunk;
    client_in_.consume(chunks, static_cast<uint32_t>(p.consumed),
                       [&spent](core::ChunkId id) { spent = id; });
    const ChunkReleaser release_spent(loop(), spent);
    switch (p.event) {
      case h1::Event::kNeedMore:
        need_more = client_in_.empty();
        break;
      case h1::Event::kHead:
        if (!onRequestHead()) {
          return;
        }
        break;
      case h1::Event::kBody:
        onRequestBody(p.body);
        break;
      case h1::Event::kMessageEnd:
        onRequestEnd();
        break;
      case h1::Event::kTunnel:
        // CONNECT or Upgrade: what follows waits until the upstream says 101 (or refuses).
        return;
      case h1::Event::kClosed:
        return;
      case h1::Event::kError: {
        const auto status = static_cast<uint16_t>(request_parser_.errorStatus());
        core::LogLine(core::LogLevel::kInfo, "l7.bad_request", core::LogRepeat::kLimited)
            .str("listener", env_.listener->name)
            .unum("status", status)
            .str("reason", request_parser_.errorReason());
        respondError(status, request_parser_.errorReason());
        return;
      }
    }
    if (state_ == State::kClosing || state_ == State::kDone) {
      return;
    }
  }
  // Hold pipelined bytes (and the kernel's) until this exchange's response is out.
  const bool want = state_ == State::kIdle || state_ == State::kHead ||
                    (state_ == State::kExchange && ex_ && !ex_->request_done &&
                     up_out_.bytes() < env_.listener->limits.buffer_bytes);
  if (want && !client_reading_ && !client_eof_) {
    client_reading_ = true;
    loop().startRecv(client_);
  } else if (!want && client_reading_) {
    client_reading_ = false;
    loop().stopRecv(client_);
  }
}

bool HttpSession::onRequestHead() {
  const h1::RequestHead& head = request_parser_.head();
  auto& scratch = *env_.scratch;
  beginExchange();
  ex_->method.assign(head.method);
  ex_->host.assign(head.host);
  const std::string_view path = pathOf(head.target);
  ex_->path.assign(path.substr(0, kMaxLoggedPathBytes));
  ex_->client_keep_alive = head.keep_alive;
  ex_->client_minor = head.version_minor;
  ex_->request_chunked = head.body == h1::BodyKind::kChunked;
  ex_->upgrade_requested = head.upgrade || head.form == h1::TargetForm::kAuthority;
  state_ = State::kExchange;
  core::TimerWheel::cancel(timer_);

  const Router::Match match = env_.router->match(head.host, head.target, head.method, head.headers);
  if (match.route >= 0) {
    ex_->route = env_.router->routeName(match.route);
    ex_->route_config = &env_.listener->http.routes[static_cast<size_t>(match.route)];
  }
  if (match.pool < 0) {
    respondError(kNotFound, "no route");
    return false;
  }
  ex_->pool_index = match.pool;
  auto& pool = *(*env_.pools)[static_cast<size_t>(match.pool)];
  const config::Pool& pool_config = *pool.runtime().config;
  ex_->pool = pool_config.name;
  const net::SocketAddress& peer = peer_;
  if (pool_config.algorithm == balance::Algorithm::kSourceHash ||
      pool_config.algorithm == balance::Algorithm::kConsistentHash) {
    ex_->hash_key = requestHashKey(pool_config, head, peer);
  }
  if (!pool_config.sticky_cookie.empty()) {
    const auto stuck = stickyBackend(pool, findCookie(head.headers, pool_config.sticky_cookie));
    ex_->sticky = stuck ? static_cast<int>(*stuck) : -1;
  }

  // Request id: the client's if well formed, else ours (worker, counter, and a mix so ids from
  // restarts do not repeat in sequence).
  std::string_view incoming_id;
  for (const auto& h : head.headers) {
    if (h1::equalsIgnoreCase(h.name, "x-request-id")) {
      incoming_id = h.value;
    }
  }
  if (wellFormedRequestId(incoming_id)) {
    ex_->request_id.assign(incoming_id);
  } else {
    std::array<char, 40> id{};
    const uint64_t n = ++scratch.request_counter;
    const int len =
        snprintf(id.data(), id.size(), "%016llx%08x",
                 static_cast<unsigned long long>(
                     core::splitMixFinalize(n * core::kSplitMixGamma ^ ex_->start_ms)),
                 static_cast<unsigned>(env_.worker << kHexBase) ^ static_cast<unsigned>(n));
    ex_->request_id.assign(id.data(), static_cast<size_t>(len));
  }

  // What the upstream sees: the client's fields (the writer drops hop-by-hop ones), minus those
  // only a proxy may state unless our peer is a trusted proxy, with the route's edits, and ours.
  const std::string client_ip = peer.hostString();
  const bool trusted = peer_trusted_;
  ForwardingContext ctx;
  ctx.client_ip = client_ip;
  ctx.client_v6 = peer.isV6();
  ctx.trusted_peer = trusted;
  ctx.host = head.host;
  ctx.request_id = ex_->request_id;
  ctx.version_minor = head.version_minor;
  ctx.rfc7239 = env_.listener->http.forwarded_rfc7239;
  buildRequestFields(head.headers, ctx,
                     ex_->route_config != nullptr ? &ex_->route_config->request_headers : nullptr,
                     scratch.forwarding, scratch.headers);
  std::array<h1::Header, 2> add{};
  size_t n_add = 0;
  if (head.upgrade) {
    add[n_add++] = {"Connection", "upgrade"};
  }
  // We speak HTTP/1.1 upstream, where Host is required: an HTTP/1.0 request without one gets
  // the address the client connected to, as NGINX does with $host.
  std::string fallback_host;
  if (head.host.empty()) {
    fallback_host = core::localAddress(client_.fd()).toString();
    add[n_add++] = {"Host", fallback_host};
  }
  h1::RequestHead out = head;
  out.headers = scratch.headers;
  scratch.head.clear();
  if (!h1::writeRequestHead(out, std::span<const h1::Header>(add.data(), n_add), scratch.head)) {
    respondError(h1::equalsIgnoreCase(head.method, "CONNECT") ? kBadGateway : 400,
                 "request head cannot be forwarded");
    return false;
  }
  if (head.upgrade) {
    // The writer drops Upgrade as hop-by-hop; a proxy passing an upgrade on restates it.
    for (const auto& h : head.headers) {
      if (h1::equalsIgnoreCase(h.name, "upgrade")) {
        scratch.head.insert(scratch.head.size() - 2,
                            std::string(h.name) + ": " + std::string(h.value) + "\r\n");
      }
    }
  }
  response_parser_.reset();
  response_parser_.setRequestMethod(head.method);
  if (!appendUpstream(scratch.head.data(), scratch.head.size())) {
    return false;
  }
  if (head.body == h1::BodyKind::kNone && !head.upgrade) {
    ex_->replay = scratch.head;
  }
  return connectUpstream();
}

bool HttpSession::connectUpstream() {
  auto& pool = *(*env_.pools)[static_cast<size_t>(ex_->pool_index)];
  const uint32_t retries =
      std::min<uint32_t>(pool.runtime().config->connect_retries, kMaxTries - 1);
  while (ex_->tries <= retries) {
    std::optional<uint32_t> choice;
    if (ex_->sticky >= 0 && ex_->tries == 0) {
      choice = static_cast<uint32_t>(ex_->sticky);  // the client's sticky backend, known up
    } else {
      choice = pool.pick(ex_->hash_key, std::span<const uint32_t>(
                                            static_cast<const uint32_t*>(ex_->tried), ex_->tries));
    }
    if (!choice) {
      break;
    }
    if (ex_->tries > 0 && ex_->backend_counters != nullptr) {
      ex_->backend_counters->retries_total.add();
    }
    ex_->tried[ex_->tries++] = *choice;
    ex_->backend = pool.runtime().backends[*choice];
    ex_->backend_counters = &pool.counters(*choice);
    upstream_ = env_.upstreams->takeIdle(ex_->backend, this);
    if (upstream_ != nullptr) {
      upstream_connected_ = true;
      ex_->connect_ms = loop().nowMs();
      ex_->backend->active.fetch_add(1, std::memory_order_relaxed);
      upstream_reading_ = true;
      loop().startRecv(upstream_->stream());
      flushUpstream();
      armExchangeTimer();
      return true;
    }
    upstream_ = env_.upstreams->open(ex_->backend, this);
    if (upstream_ == nullptr) {
      continue;
    }
    ex_->backend_counters->connections_total.add();
    upstream_connected_ = false;
    ex_->backend->active.fetch_add(1, std::memory_order_relaxed);
    armTimer(static_cast<uint64_t>(env_.listener->timeouts.connect.count()));
    return true;
  }
  env_.counters->no_backend_total.add();
  core::LogLine(core::LogLevel::kWarn, "l7.no_backend", core::LogRepeat::kLimited)
      .str("listener", env_.listener->name)
      .str("pool", ex_->pool)
      .unum("tries", ex_->tries);
  respondError(ex_->tries == 0 ? kUnavailable : kBadGateway, "no backend available");
  return false;
}

void HttpSession::onRequestBody(std::span<const uint8_t> body) {
  ex_->bytes_in += body.size();
  if (ex_->request_chunked) {
    std::array<uint8_t, h1::kMaxChunkHeaderBytes> size_line{};
    const size_t n = h1::writeChunkHeader(body.size(), size_line);
    if (!appendUpstream(size_line.data(), n) || !appendUpstream(body.data(), body.size()) ||
        !appendUpstream(h1::kChunkEnd.data(), h1::kChunkEnd.size())) {
      return;
    }
  } else if (!appendUpstream(body.data(), body.size())) {
    return;
  }
  flushUpstream();
}

void HttpSession::onRequestEnd() {
  ex_->request_done = true;
  if (upstream_connected_ && !ex_->response_started) {
    // The response-header clock starts once the whole request is on its way.
    armTimer(static_cast<uint64_t>(env_.listener->http.timeouts.response_header.count()));
  }
  if (ex_->request_chunked && !appendUpstream(h1::kLastChunk.data(), h1::kLastChunk.size())) {
    return;
  }
  flushUpstream();
}

void HttpSession::onRecvEnd(core::Stream& /*s*/, int err) {
  client_reading_ = false;
  client_eof_ = true;
  if (err != 0 || state_ == State::kIdle || state_ == State::kHead ||
      (state_ == State::kClosing && shut_wr_)) {
    // Between requests (or a reset): nothing is lost by closing now.
    closeClient(err != 0);
    return;
  }
  if (state_ == State::kTunnel) {
    if (up_out_.empty() && upstream_ != nullptr && upstream_->stream().open()) {
      ::shutdown(upstream_->stream().fd(), SHUT_WR);
    }
    return;
  }
  if (state_ == State::kExchange && ex_ && !ex_->request_done) {
    // The client vanished mid-request: the upstream would wait for the rest forever.
    releaseUpstream(false);
    closeClient(true);
    return;
  }
  close_after_flush_ = true;  // answer the request in flight, then close
}

void HttpSession::flushClient() {
  if (client_.sending() || !client_.open()) {
    return;
  }
  if (client_out_.empty()) {
    if (state_ == State::kClosing && !shut_wr_) {
      // Lingering close, as NGINX: send our FIN, then read and drop what the client still
      // sends for a moment. Closing with unread bytes would send an RST that can destroy the
      // response before the client reads it.
      shut_wr_ = true;
      ::shutdown(client_.fd(), SHUT_WR);
      if (client_eof_) {
        closeClient(false);
        return;
      }
      if (!client_reading_) {
        client_reading_ = true;
        loop().startRecv(client_);
      }
      armTimer(kLingerMs);
    }
    return;
  }
  auto& chunks = loop().chunks();
  const auto& m = chunks.meta(client_out_.head());
  loop().send(client_, chunks.data(client_out_.head()) + m.offset, m.length);
}

void HttpSession::onSent(core::Stream& /*s*/, int64_t result) {
  if (result < 0) {
    releaseUpstream(false);
    closeClient(true);
    return;
  }
  last_activity_ms_ = loop().nowMs();
  client_out_.consume(loop().chunks(), static_cast<uint32_t>(result),
                      [this](core::ChunkId id) { loop().releaseChunk(id); });
  if (upstream_ != nullptr && !upstream_reading_ && upstream_->stream().open() &&
      client_out_.bytes() < env_.listener->limits.buffer_bytes) {
    upstream_reading_ = true;
    loop().startRecv(upstream_->stream());
  }
  flushClient();
}

void HttpSession::onReleased(core::Stream& /*s*/) {
  client_released_ = true;
  client_out_.clear(loop().chunks(), [this](core::ChunkId id) { loop().releaseChunk(id); });
  releaseUpstream(false);          // closeClient released it already; this is the safety net
  env_.owner->sessionEnded(this);  // destroys this
}

// ---- upstream side -------------------------------------------------------------------------

}  // namespace ballast::l7
