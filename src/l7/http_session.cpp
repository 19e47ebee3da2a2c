// src/l7/http_session.cpp — the HTTP/1.1 reverse-proxy state machine.
//
//   kIdle ─bytes─▶ kHead ─head─▶ kExchange ─response end─▶ kIdle (keep-alive) or close
//                    │ 400/408/413/414/431     │ 502/503/504 before a response started
//                    └────────▶ kClosing ◀─────┘ (an error after it started resets the client)
//   kExchange ─101─▶ kTunnel (raw bytes both ways until either side ends)
#include "l7/http_session.h"

#include <sys/socket.h>

#include <array>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <utility>

#include "acme/challenge_table.h"
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
#include "tls/handshake_failure.h"

namespace ballast::l7 {

using namespace session_internal;  // NOLINT(google-build-using-namespace): this class's own files
namespace {

constexpr size_t kMaxLoggedPathBytes = 1024;
constexpr uint16_t kOk = 200;

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
      up_(*env.loop, *env.upstreams, env_, responseLimits(env.listener->http.limits), *this),
      request_parser_(codecLimits(env.listener->http.limits)) {
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

void HttpSession::H1Exchange::reset() {
  resetCore();
  request_chunked = request_done = response_started = response_chunked = false;
  client_keep_alive = true;
  upgrade_requested = bodiless = upload_pipe_tried = false;
  client_minor = 1;
}

void HttpSession::beginExchange() {
  if (spare_) {
    ex_ = std::move(spare_);
    ex_->reset();
  } else {
    ex_ = std::make_unique<H1Exchange>();
  }
  ex_->start_ms = loop().nowMs();
}

void HttpSession::start() {
  peer_ = core::peerAddress(client_.fd());
  for (const auto& cidr : env_.listener->http.trusted_proxies) {
    peer_trusted_ = peer_trusted_ || cidr.contains(peer_);
  }
  awaiting_proxy_header_ = env_.listener->proxy_protocol.accept;
  if (env_.tls != nullptr) {
    tls_ = std::make_unique<tls::TlsStream>(env_.tls->initial());
  }
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

// ---- client side ---------------------------------------------------------------------------

void HttpSession::onConnect(core::Stream& /*s*/, int /*err*/) {}

void HttpSession::onRecv(core::Stream& /*s*/, core::ChunkId id, uint32_t len) {
  last_activity_ms_ = loop().nowMs();
  if (state_ == State::kClosing || state_ == State::kDone) {
    loop().releaseChunk(id);
    return;
  }
  if (state_ == State::kTunnel) {
    if (tls_) {
      if (!decryptClient(id, std::span<const uint8_t>(loop().chunks().data(id), len), up_.out())) {
        return;
      }
    } else {
      up_.out().push(loop().chunks(), id, 0, len);
    }
    up_.flush();
    if (up_.backlog() >= env_.listener->limits.buffer_bytes && client_reading_) {
      client_reading_ = false;
      loop().stopRecv(client_);
    }
    return;
  }
  if (tls_ && !awaiting_proxy_header_) {
    if (!decryptClient(id, std::span<const uint8_t>(loop().chunks().data(id), len), client_in_)) {
      return;
    }
  } else {
    // With PROXY protocol in front of TLS, the header comes first, in clear (HAProxy's
    // accept-proxy on an ssl bind): read it, then decrypt what follows it.
    client_in_.push(loop().chunks(), id, 0, len);
  }
  if (awaiting_proxy_header_ && !readClientProxyHeader()) {
    return;
  }
  processClientInput();
}

bool HttpSession::decryptClient(core::ChunkId id, std::span<const uint8_t> bytes,
                                core::ChunkQueue& into) {
  auto& chunks = loop().chunks();
  const auto status = tls_->receive(bytes, chunks, into);
  loop().releaseChunk(id);
  if (status == tls::TlsStream::Status::kFailed || status == tls::TlsStream::Status::kNoBuffer) {
    const tls::Failure kind = status == tls::TlsStream::Status::kNoBuffer
                                  ? tls::Failure::kOutOfBuffers
                                  : tls::classifyFailure(tls_->reasonCode(), tls_->handshakeDone());
    env_.counters->tls_errors_total.add();
    env_.counters->tls_failures_total[static_cast<size_t>(kind)].add();
    // Limited: a flood of bad handshakes costs a few lines and a suppressed-count summary.
    core::LogLine(core::LogLevel::kInfo, "l7.tls_failed", core::LogRepeat::kLimited)
        .str("listener", env_.listener->name)
        .str("client", peer_.toString())
        .str("stage", tls_->handshakeDone() ? "record" : "handshake")
        .str("kind", tls::failureName(kind))
        .str("reason",
             status == tls::TlsStream::Status::kNoBuffer ? "out of buffers" : tls_->reason());
    // Send the alert TLS queued, then our FIN (the lingering close ends it).
    tls_->drainWire(chunks, client_wire_);
    close_after_flush_ = true;
    state_ = State::kClosing;
    core::TimerWheel::cancel(timer_);
    flushClient();
    return false;
  }
  flushClient();  // handshake messages, session tickets
  if (status == tls::TlsStream::Status::kClosed) {
    onRecvEnd(client_, 0);  // close_notify: the client's end of stream
    return false;
  }
  return true;
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
  if (tls_ && !client_in_.empty()) {
    // What followed the header in the same reads is the start of the TLS handshake.
    core::ChunkQueue rest = std::exchange(client_in_, core::ChunkQueue{});
    auto& chunks = loop().chunks();
    while (!rest.empty()) {
      const core::ChunkId head = rest.head();
      const auto& m = chunks.meta(head);
      const std::span<const uint8_t> bytes(chunks.data(head) + m.offset, m.length);
      rest.consume(chunks, m.length, [](core::ChunkId) {});  // decryptClient releases it
      if (!decryptClient(head, bytes, client_in_)) {
        rest.clear(chunks, [this](core::ChunkId id) { loop().releaseChunk(id); });
        return false;
      }
    }
  }
  // The header is believed from trusted_proxies only (from anyone when that list is empty: the
  // operator asked every client for a header); otherwise it is read and ignored.
  const bool believe = peer_trusted_ || env_.listener->http.trusted_proxies.empty();
  if (!parsed->local && believe) {
    peer_ = parsed->source;
  }
  return true;
}

bool HttpSession::wantsH2() const {
  if (tls_) {
    return tls_->alpn() == "h2";
  }
  if (!env_.listener->http.http2) {
    return false;
  }
  // Prior knowledge (RFC 9113 §3.3): the client opens with the preface. No HTTP/1 method is
  // "PRI", so its first bytes are enough to tell.
  constexpr std::string_view kPreface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
  const auto& m = loop().chunks().meta(client_in_.head());
  const std::string_view first(
      reinterpret_cast<const char*>(loop().chunks().data(client_in_.head()) + m.offset),
      std::min<size_t>(m.length, kPreface.size()));
  return kPreface.starts_with(first);
}

const HttpSession::ClientIdentity* HttpSession::clientIdentity() {
  if (!tls_ || env_.listener->tls.client_auth.mode == config::ClientAuthMode::kNone) {
    return nullptr;
  }
  if (!client_identity_) {
    // Once per connection: the certificate cannot change after the handshake.
    client_identity_ = std::make_unique<ClientIdentity>();
    tls_->peerIdentity(&client_identity_->subject, &client_identity_->fingerprint);
  }
  return client_identity_.get();
}

void HttpSession::enterH2() {
  state_ = State::kH2;
  core::TimerWheel::cancel(timer_);
  H2Env env;
  env.exchange = &env_;
  env.loop = env_.loop;
  env.upstreams = env_.upstreams;
  env.peer = peer_;
  env.peer_trusted = peer_trusted_;
  env.tls = tls_ != nullptr;
  if (const ClientIdentity* id = clientIdentity()) {
    env.client_auth = &env_.listener->tls.client_auth;
    env.client_subject = id->subject;
    env.client_fingerprint = id->fingerprint;
  }
  h2_ = std::make_unique<H2Connection>(env, *this);
  if (!h2_->start()) {
    closeClient(true);
    return;
  }
  if (draining_) {
    h2_->drain();
  }
  armTimer(static_cast<uint64_t>(env_.listener->http.timeouts.keep_alive.count()));
  feedH2();
}

void HttpSession::feedH2() {
  auto& chunks = loop().chunks();
  while (state_ == State::kH2 && !client_in_.empty()) {
    const core::ChunkId head = client_in_.head();
    const auto& m = chunks.meta(head);
    const std::span<const uint8_t> bytes(chunks.data(head) + m.offset, m.length);
    core::ChunkId spent = core::kNoChunk;
    client_in_.consume(chunks, m.length, [&spent](core::ChunkId id) { spent = id; });
    const ChunkReleaser release_spent(loop(), spent);
    if (!h2_->receive(bytes)) {
      break;
    }
  }
  if (state_ == State::kH2 && !client_reading_ && !client_eof_) {
    client_reading_ = true;
    loop().startRecv(client_);
  }
}

void HttpSession::h2Close() {
  if (state_ != State::kH2) {
    return;
  }
  state_ = State::kClosing;
  close_after_flush_ = true;
  core::TimerWheel::cancel(timer_);
  flushClient();
}

void HttpSession::processClientInput() {
  auto& chunks = loop().chunks();
  if (state_ == State::kH2) {
    feedH2();
    return;
  }
  if (!h2_checked_ && state_ == State::kIdle && !client_in_.empty()) {
    h2_checked_ = true;
    if (wantsH2()) {
      enterH2();
      return;
    }
  }
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
        if (std::exchange(skip_message_end_, false)) {
          break;  // the request was answered at its head (respondError)
        }
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
  maybeSpliceUpload();
  // Hold pipelined bytes (and the kernel's) until this exchange's response is out.
  const bool want = state_ == State::kIdle || state_ == State::kHead ||
                    (state_ == State::kExchange && ex_ && !ex_->request_done &&
                     up_.backlog() < env_.listener->limits.buffer_bytes);
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
  ex_->bodiless = head.body == h1::BodyKind::kNone && !ex_->upgrade_requested;
  state_ = State::kExchange;
  core::TimerWheel::cancel(timer_);

  // ACME http-01: a pending challenge's answer comes before routing, on every HTTP listener.
  if (path.starts_with(acme::kHttp01Prefix) && head.method == "GET") {
    if (auto answer = acme::http01Answer(path)) {
      respondLocal(kOk, *answer);
      return false;
    }
  }
  const Verdict verdict = beginRequest(env_, *ex_, head, peer_);
  if (!verdict.proceed()) {
    respondError(verdict.status, verdict.reason, verdict.location);
    return false;
  }
  const net::SocketAddress& peer = peer_;

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
  ctx.tls = tls_ != nullptr;
  if (const ClientIdentity* id = clientIdentity()) {
    ctx.client_auth = &env_.listener->tls.client_auth;
    ctx.client_subject = id->subject;
    ctx.client_fingerprint = id->fingerprint;
  }
  ctx.drop_fields = ex_->drop_fields;
  ctx.add_fields = ex_->add_fields;
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
  if (head.host.empty() && ex_->upstream_host.empty()) {
    fallback_host = core::localAddress(client_.fd()).toString();
    add[n_add++] = {"Host", fallback_host};
  }
  h1::RequestHead out = head;
  out.headers = scratch.headers;
  if (!ex_->upstream_target.empty()) {
    out.target = ex_->upstream_target;  // rewrite:
  }
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
  if (!up_.begin(*ex_, head.method, scratch.head, ex_->request_chunked,
                 head.body == h1::BodyKind::kNone && !head.upgrade, head.upgrade)) {
    closeClient(true);
    return false;
  }
  return up_.connect();
}

// The body's bytes still in the client's socket go socket → pipe → backend socket, never
// through a chunk: only for a cleartext client and a Content-Length body (of at least
// kBodySpliceMinBytes, as for responses) that the connector forwards as it is
// (H1Upstream::canTakeBodyPipe), once everything already read was parsed (it goes first,
// through the connector's queue). On io_uring chunks the multishot recv took before
// the switch still come (onRecv) before any spliced byte, and are parsed as usual; the splice
// limit is what the parser has left, so a pipelined request behind the body stays in the socket.
void HttpSession::maybeSpliceUpload() {
  // Not for an Upgrade or CONNECT: after a 101 the client's bytes are the tunnel's, and they
  // must not wait behind a pipe the tunnel knows nothing of.
  if (upload_splicing_ || state_ != State::kExchange || !ex_ || ex_->request_done ||
      ex_->upgrade_requested || ex_->upload_pipe_tried || tls_ || client_eof_ ||
      !client_in_.empty() || request_parser_.bodyLengthLeft() == 0 ||
      request_parser_.head().content_length < H1Upstream::kBodySpliceMinBytes ||
      !loop().canSplice() || !l4::SplicePipe::enabled() || !up_.canTakeBodyPipe()) {
    return;
  }
  // One try per exchange: when pipes are short, asking again for each chunk of the body would
  // cost a pipe2, two fcntl and two close every time.
  ex_->upload_pipe_tried = true;
  if (!upload_pipe_) {
    upload_pipe_ = makePipe();
    if (!upload_pipe_) {
      return;
    }
  }
  upload_splicing_ = true;
  up_.bodyFromPipe(upload_pipe_->readEnd());
  loop().spliceRecv(client_, upload_pipe_->writeEnd());
}

void HttpSession::endUploadSplice() {
  if (!upload_splicing_) {
    return;
  }
  upload_splicing_ = false;
  loop().endSpliceRecv(client_);
  if (client_reading_) {
    loop().startRecv(client_);  // a read paused on a full pipe would wait for ever
  }
}

uint64_t HttpSession::spliceLimit(core::Stream& /*s*/) {
  return upload_splicing_ ? request_parser_.bodyLengthLeft() : 0;
}

void HttpSession::onSpliced(core::Stream& /*s*/, uint32_t len) {
  last_activity_ms_ = loop().nowMs();
  if (!upload_splicing_ || state_ != State::kExchange || !ex_) {
    return;  // the exchange is over: what is in the pipe goes with it
  }
  env_.counters->splice_bytes_total.add(len);
  request_parser_.skipBody(len);
  up_.bodyPiped(len);
  if (request_parser_.bodyLengthLeft() == 0) {
    endUploadSplice();
    processClientInput();  // the parser ends the message: onRequestEnd
  }
}

void HttpSession::onRequestBody(std::span<const uint8_t> body) {
  if (!up_.sendBody(body)) {
    closeClient(true);
  }
}

void HttpSession::onRequestEnd() {
  ex_->request_done = true;
  if (up_.connected() && !ex_->response_started) {
    // The response-header clock starts once the whole request is on its way.
    armTimer(up_.responseWaitMs(
        static_cast<uint64_t>(env_.listener->http.timeouts.response_header.count())));
  }
  if (!up_.sendEnd()) {
    closeClient(true);
  }
}

void HttpSession::onRecvEnd(core::Stream& /*s*/, int err) {
  client_reading_ = false;
  client_eof_ = true;
  if (state_ == State::kH2) {
    h2_->clientLeft();
    closeClient(err != 0);  // streams in flight cannot be answered on a half-closed h2 connection
    return;
  }
  if (err != 0 || state_ == State::kIdle || state_ == State::kHead ||
      (state_ == State::kClosing && shut_wr_)) {
    // Between requests (or a reset): nothing is lost by closing now.
    if (err != 0) {
      abandonExchange();
    }
    closeClient(err != 0);
    return;
  }
  if (state_ == State::kTunnel) {
    up_.shutdownWhenFlushed();
    return;
  }
  if (state_ == State::kExchange && ex_ && !ex_->request_done) {
    // The client vanished mid-request: the upstream would wait for the rest forever. What the
    // backend saw of it depends on how far the request got (nothing while the connect is still
    // on its way: a spliced body can sit whole in the pipe with the FIN behind it).
    abandonExchange();
    up_.release(false);
    closeClient(true);
    return;
  }
  close_after_flush_ = true;  // answer the request in flight, then close
}

void HttpSession::flushClient() {
  if (!client_.open()) {
    return;
  }
  auto& chunks = loop().chunks();
  // TLS: encrypt what is queued only when the socket can take it. While a send is in flight the
  // plaintext of many small writes (an HTTP/2 connection's frames for many streams, answered
  // one by one) gathers, and goes out as one TLS record instead of one record, one cipher call
  // and one OpenSSL allocation round each.
  if (tls_ && !client_.sending()) {
    // Encrypt everything queued: TLS takes plaintext whole, and what goes to the socket is
    // client_wire_ from here on.
    while (!client_out_.empty()) {
      const core::ChunkId head = client_out_.head();
      const auto& m = chunks.meta(head);
      tls_->send(std::span<const uint8_t>(chunks.data(head) + m.offset, m.length));
      client_out_.consume(chunks, m.length, [this](core::ChunkId id) { loop().releaseChunk(id); });
    }
    if (state_ == State::kClosing && !shut_wr_ && client_.open()) {
      tls_->shutdown();  // close_notify before our FIN (lingering close below)
    }
    if (!tls_->drainWire(chunks, client_wire_)) {
      core::LogLine(core::LogLevel::kError, "l7.out_of_buffers")
          .str("listener", env_.listener->name);
      closeClient(true);
      return;
    }
  }
  core::ChunkQueue& out = tls_ ? client_wire_ : client_out_;
  if (client_.sending()) {
    return;
  }
  if (out.empty()) {
    if (response_pipe_ && response_pipe_->bytes > 0) {
      // What was queued went first (the head, body bytes read before the switch).
      response_pipe_sending_ = true;
      loop().sendFromPipe(client_, response_pipe_->readEnd(), response_pipe_->bytes);
      return;
    }
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
  const auto& m = chunks.meta(out.head());
  loop().send(client_, chunks.data(out.head()) + m.offset, m.length);
}

void HttpSession::onSent(core::Stream& /*s*/, int64_t result) {
  if (result < 0) {
    if (result == -EPIPE || result == -ECONNRESET || result == -ETIMEDOUT) {
      abandonExchange();  // the client is gone (a local failure is only logged, by closeClient)
      if (state_ == State::kH2) {
        h2_->clientLeft();
      }
    }
    up_.release(false);
    closeClient(true);
    return;
  }
  last_activity_ms_ = loop().nowMs();
  if (response_pipe_sending_) {
    onPipeSent(static_cast<uint64_t>(result));
    return;
  }
  (tls_ ? client_wire_ : client_out_)
      .consume(loop().chunks(), static_cast<uint32_t>(result),
               [this](core::ChunkId id) { loop().releaseChunk(id); });
  if (clientBacklog() < env_.listener->limits.buffer_bytes) {
    up_.resumeReading();
  }
  if (state_ == State::kH2) {
    h2_->onTransportSent();
  }
  flushClient();
}

void HttpSession::onPipeSent(uint64_t sent) {
  response_pipe_sending_ = false;
  if (sent == 0) {
    // The pipe held bytes, so the socket took none without saying why: do not spin on it.
    up_.release(false);
    closeClient(true);
    return;
  }
  response_pipe_->bytes -= static_cast<uint32_t>(sent);
  up_.pipeHasRoom();
  if (finish_after_pipe_ && response_pipe_->bytes == 0) {
    finish_after_pipe_ = false;
    response_pipe_.reset();
    finishExchange();
    return;
  }
  flushClient();
}

void HttpSession::onReleased(core::Stream& /*s*/) {
  client_released_ = true;
  client_out_.clear(loop().chunks(), [this](core::ChunkId id) { loop().releaseChunk(id); });
  client_wire_.clear(loop().chunks(), [this](core::ChunkId id) { loop().releaseChunk(id); });
  up_.release(false);              // closeClient released it already; this is the safety net
  env_.owner->sessionEnded(this);  // destroys this
}

}  // namespace ballast::l7
