// src/l7/h2_session.cpp — HTTP/2 streams as exchanges: nghttp2 callbacks, the h2 → h1 request
// translation, response bodies through nghttp2's data provider, and flow control tied to what
// the backend has taken (a stream's window reopens only when its bytes left for the backend).
#include "l7/h2_session.h"

#include <nghttp2/nghttp2.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <climits>
#include <cstring>
#include <span>
#include <string>

#include "core/clock.h"
#include "core/log.h"
#include "l7/compression.h"
#include "l7/content_rules.h"
#include "l7/forwarding_headers.h"
#include "l7/h2_limits.h"
#include "l7/http_upstream.h"
#include "l7/sticky.h"
#include "proto/grpc/grpc_fields.h"
#include "proto/http1/syntax.h"
#include "proto/http1/writer.h"

namespace ballast::l7 {
namespace {

namespace h1 = proto::http1;

constexpr size_t kMaxLoggedPathBytes = 1024;
// Fields a filter or a content rule may add to an answer of ours (a 429's Retry-After and
// RateLimit, a CORS preflight's Access-Control-*, respond:'s headers, at most 8).
constexpr size_t kMaxAnswerFields = 16;
constexpr uint16_t kBadRequest = 400;
constexpr uint16_t kNotImplemented = 501;
constexpr uint16_t kGatewayTimeout = 504;
constexpr uint16_t kFirstFinal = 200;
// Closed streams a connection with no stream open keeps for its next requests (see spare_).
constexpr size_t kIdleSpareStreams = 4;

// As for HTTP/1 responses: no body limit (it protects backends from clients).
h1::Limits responseLimits(const config::HttpLimits& l) {
  h1::Limits out;
  out.max_header_bytes = l.max_header_bytes;
  out.max_headers = l.max_headers;
  return out;
}

// What our HTTP/1 codec takes as a request target (RFC 9112 §3.2: VCHAR, and no fragment): an
// h2 :path becomes one upstream, and nghttp2 lets '#' through.
bool forwardableTarget(std::string_view path) {
  return std::all_of(path.begin(), path.end(),
                     [](char c) { return c != '#' && h1::isVchar(static_cast<uint8_t>(c)); });
}

// HTTP/1 fields that must not appear in HTTP/2 (RFC 9113 §8.2.2); nghttp2 refuses them in
// requests, and a backend's are dropped from responses.
bool connectionSpecific(std::string_view name) {
  return h1::equalsIgnoreCase(name, "connection") || h1::equalsIgnoreCase(name, "keep-alive") ||
         h1::equalsIgnoreCase(name, "proxy-connection") ||
         h1::equalsIgnoreCase(name, "transfer-encoding") || h1::equalsIgnoreCase(name, "upgrade");
}

}  // namespace

// One request and its response on one HTTP/2 stream.
struct H2Stream final : UpstreamSink {
  H2Stream(H2Connection& c, int32_t stream_id)
      : conn(c),
        id(stream_id),
        up(*c.env().loop, *c.env().upstreams, *c.env().exchange,
           responseLimits(c.env().exchange->listener->http.limits), *this) {
    timer.bind(&H2Stream::onTimer, this);
  }
  ~H2Stream() { core::TimerWheel::cancel(timer); }

  // A closed stream (closeStream released its upstream, timer and body) serves stream `id`:
  // back to a new stream's state, buffers and strings keeping their capacity.
  void reuse(int32_t stream_id) {
    id = stream_id;
    ex.resetCore();
    arena.clear();
    spans.clear();
    headers.clear();
    method = path = scheme = authority = host = {};
    has_content_length = false;
    content_length = 0;
    header_bytes = 0;
    started = request_done = answered = body_end = upstream_failed = client_left = reset_by_us =
        false;
    unconsumed = 0;
    progress_ms = 0;
    trailer_arena.clear();
    trailer_spans.clear();
  }

  H2Connection& conn;
  int32_t id;
  Exchange ex;
  HttpUpstream up;
  core::Timer timer;
  // The request head as received: names and values copied into `arena`, views built once the
  // block is complete (the arena does not move after that).
  std::string arena;
  std::vector<std::array<uint32_t, 4>> spans;  // name offset, name length, value offset, length
  std::vector<h1::Header> headers;
  std::string_view method, path, scheme, authority, host;
  bool has_content_length = false;
  uint64_t content_length = 0;
  uint32_t header_bytes = 0;
  bool started = false;       // the exchange began (routed, upstream asked)
  bool request_done = false;  // END_STREAM seen from the client
  bool answered = false;      // a response head was submitted
  bool body_end = false;      // the response body is complete
  bool upstream_failed = false;
  bool client_left = false;   // the client reset the stream or its connection before our end
  bool reset_by_us = false;   // we sent RST_STREAM: whatever the client does next, ours ended it
  uint32_t unconsumed = 0;    // DATA bytes received, not yet handed back as window
  uint64_t progress_ms = 0;   // the response body last moved (body_idle counts from here)
  core::ChunkQueue body;      // response bytes waiting for the client's window
  std::string trailer_arena;  // the backend's trailers, sent after the body
  std::vector<std::array<uint32_t, 4>> trailer_spans;

  core::EventLoop& loop() const { return *conn.env().loop; }
  void resetStream(uint32_t code) {
    reset_by_us = true;
    nghttp2_submit_rst_stream(conn.session(), NGHTTP2_FLAG_NONE, id, code);
  }
  // The client let go while our response was unfinished (our END_STREAM not yet sent): once the
  // response ended, a client's RST_STREAM (grpc-go's NO_ERROR after a full answer) or its close is
  // no abort.
  void clientLeft() {
    if (nghttp2_session_get_stream_local_close(conn.session(), id) == 0) {
      client_left = true;
    }
  }
  const config::Listener& listener() const { return *conn.env().exchange->listener; }
  uint32_t bufferBytes() const { return listener().http.http2_limits.stream_buffer_bytes; }

  void fieldReceived(std::string_view name, std::string_view value) {
    const auto name_at = static_cast<uint32_t>(arena.size());
    arena.append(name);
    const auto value_at = static_cast<uint32_t>(arena.size());
    arena.append(value);
    spans.push_back({name_at, static_cast<uint32_t>(name.size()), value_at,
                     static_cast<uint32_t>(value.size())});
  }

  // The header block is complete: the pseudo-headers, and views of the regular fields.
  void collectFields() {
    headers.clear();
    for (const auto& s : spans) {
      const std::string_view name(arena.data() + s[0], s[1]);
      const std::string_view value(arena.data() + s[2], s[3]);
      if (name == ":method") {
        method = value;
      } else if (name == ":path") {
        path = value;
      } else if (name == ":scheme") {
        scheme = value;
      } else if (name == ":authority") {
        authority = value;
      } else if (!name.empty() && name.front() != ':') {
        if (name == "host") {
          host = value;
        } else if (name == "content-length") {
          has_content_length = true;
          content_length = 0;
          for (char c : value) {
            content_length = content_length * 10 + static_cast<uint64_t>(c - '0');  // NOLINT
          }
        }
        headers.push_back({name, value});
      }
    }
  }

  // The request head is complete: route it and send it upstream as HTTP/1.1.
  void begin(bool end_stream) {
    request_done = end_stream;
    collectFields();
    const ExchangeEnv& env = *conn.env().exchange;
    ex.start_ms = loop().nowMs();
    ex.method.assign(method);
    ex.host.assign(authority.empty() ? host : authority);
    ex.path.assign(path.substr(0, kMaxLoggedPathBytes));
    started = true;
    noteGrpc();
    // RFC 9113 §8.3.1: Host and :authority must agree when both are sent, or an HTTP/1 backend
    // and we would route by different names.
    if (!authority.empty() && !host.empty() && authority != host) {
      reject(kBadRequest, ":authority and host disagree");
      return;
    }
    // The name becomes the HTTP/1.1 Host upstream: it must be one our HTTP/1 codec would take
    // from a client (RFC 9112 §3.2), as nghttp2 lets through bytes such as '%' that no
    // authority may hold. Found by tests/fuzz/h2_frames_fuzz.
    const std::string_view name = authority.empty() ? host : authority;
    if (!name.empty() && !h1::isValidAuthority(name, false)) {
      reject(kBadRequest, "invalid :authority or host");
      return;
    }
    if (!forwardableTarget(path)) {
      reject(kBadRequest, "invalid :path");
      return;
    }
    if (method == "CONNECT") {
      reject(kNotImplemented, "CONNECT over HTTP/2");
      return;
    }
    RequestView view;
    view.method = method;
    view.target = path;
    view.host = authority.empty() ? host : authority;
    view.headers = headers;
    const Verdict verdict = beginRequest(env, ex, view, conn.env().peer);
    if (!verdict.proceed()) {
      respond(verdict.status, verdict.reason, verdict.location);
      return;
    }
    if (ex.grpc && ex.pool_index >= 0 &&
        (*env.pools)[static_cast<size_t>(ex.pool_index)]->runtime().config->upstream_protocol ==
            config::UpstreamProtocol::kHttp1) {
      // An HTTP/1.1 backend is not asked for trailers, so the client would get no grpc-status:
      // a clear INTERNAL now rather than an unknown failure after the backend ran the call.
      core::LogLine(core::LogLevel::kWarn, "l7.grpc_to_http1", core::LogRepeat::kLimited)
          .str("listener", listener().name)
          .str("pool", (*env.pools)[static_cast<size_t>(ex.pool_index)]->runtime().config->name);
      answerGrpc(proto::grpc::kInternal, "gRPC needs an h2 or h2c pool (upstream_protocol)");
      return;
    }
    auto& scratch = *env.scratch;
    ForwardingContext ctx;
    const std::string client_ip = conn.env().peer.hostString();
    ctx.client_ip = client_ip;
    ctx.client_v6 = conn.env().peer.isV6();
    ctx.trusted_peer = conn.env().peer_trusted;
    ctx.host = view.host;
    ctx.request_id = ex.request_id;
    ctx.rfc7239 = listener().http.forwarded_rfc7239;
    ctx.tls = conn.env().tls;
    ctx.client_auth = conn.env().client_auth;
    ctx.client_subject = conn.env().client_subject;
    ctx.client_fingerprint = conn.env().client_fingerprint;
    ctx.drop_fields = ex.drop_fields;
    ctx.add_fields = ex.add_fields;
    buildRequestFields(headers, ctx,
                       ex.route_config != nullptr ? &ex.route_config->request_headers : nullptr,
                       scratch.forwarding, scratch.headers);
    h1::RequestHead out;
    out.method = method;
    out.target = ex.upstream_target.empty() ? path : std::string_view(ex.upstream_target);
    out.host = view.host;
    out.headers = scratch.headers;
    const bool chunked = !end_stream && !has_content_length;
    if (has_content_length) {
      out.body = h1::BodyKind::kLength;
      out.content_length = content_length;
    } else {
      out.body = chunked ? h1::BodyKind::kChunked : h1::BodyKind::kNone;
    }
    std::array<h1::Header, 1> add{};
    size_t n_add = 0;
    if (host.empty() && ex.upstream_host.empty()) {
      add[n_add++] = {"Host", authority};
    }
    scratch.head.clear();
    if (!h1::writeRequestHead(out, std::span<const h1::Header>(add.data(), n_add), scratch.head)) {
      reject(kBadRequest, "request head cannot be forwarded");
      return;
    }
    if (!up.begin(ex, method, scratch.head, chunked, out.body == h1::BodyKind::kNone)) {
      respond(kBadRequest, "out of buffers");
      return;
    }
    if (!up.connect()) {
      return;  // onUpstreamError answered
    }
    if (end_stream) {
      up.sendEnd();
    }
  }

  // A gRPC request (content-type application/grpc): its grpc-timeout becomes the exchange's
  // deadline; a malformed one is ignored and counted.
  void noteGrpc() {
    std::string_view timeout;
    for (const auto& h : headers) {
      if (h.name == "content-type") {
        ex.grpc = proto::grpc::isGrpcContentType(h.value);
      } else if (h.name == "grpc-timeout") {
        timeout = h.value;
      }
    }
    if (!ex.grpc || timeout.empty()) {
      return;
    }
    if (const auto ms = proto::grpc::parseTimeoutMs(timeout)) {
      ex.grpc_deadline_ms = ex.start_ms + *ms;
    } else {
      conn.env().exchange->counters->grpc_timeout_invalid_total.add();
      core::LogLine(core::LogLevel::kInfo, "l7.grpc_timeout_invalid", core::LogRepeat::kLimited)
          .str("listener", listener().name);
    }
  }

  // The grpc-status of a gRPC response, from a trailers-only head or the trailers.
  void noteGrpcStatus(std::span<const h1::Header> fields) {
    if (!ex.grpc) {
      return;
    }
    for (const auto& f : fields) {
      if (h1::equalsIgnoreCase(f.name, "grpc-status")) {
        if (const auto code = proto::grpc::parseStatus(f.value)) {
          ex.grpc_status = static_cast<int32_t>(*code);
        }
        return;
      }
    }
  }

  // Arms the stream's timer for `ms`, but never past a gRPC request's deadline while the
  // backend still owes part of the response (once it is all here, the client may take it).
  void schedule(uint64_t ms) {
    if (ex.grpc_deadline_ms != 0 && !body_end) {
      const uint64_t now = loop().nowMs();
      ms = std::min(ms, ex.grpc_deadline_ms > now ? ex.grpc_deadline_ms - now : 0);
    }
    loop().timers().schedule(timer, ms);
  }

  // The gRPC deadline passed: the backend's stream is cancelled, and the client gets a
  // trailers-only DEADLINE_EXCEEDED (HTTP 200), or, when the response had started, a reset
  // (CANCEL) since the trailers cannot follow a cut message.
  void deadlineExceeded() {
    up.release(false);
    core::TimerWheel::cancel(timer);
    ex.grpc_status = static_cast<int32_t>(proto::grpc::kDeadlineExceeded);
    core::LogLine(core::LogLevel::kInfo, "l7.grpc_deadline_exceeded", core::LogRepeat::kLimited)
        .str("listener", listener().name)
        .str("backend", ex.backend ? ex.backend->name : "");
    if (answered) {
      resetStream(NGHTTP2_CANCEL);
      return;
    }
    answerGrpc(proto::grpc::kDeadlineExceeded, "Deadline Exceeded");
  }

  // A gRPC answer of ours: trailers-only (HTTP 200, the status in the one HEADERS frame).
  void answerGrpc(uint32_t code, std::string_view message) {
    ex.status = kFirstFinal;
    ex.grpc_status = static_cast<int32_t>(code);
    answered = true;
    body_end = true;
    std::array<char, 8> text{};  // a code is 1 or 2 digits
    const int n = snprintf(text.data(), text.size(), "%u", code);
    const std::array<nghttp2_nv, 4> nva = {
        literalField(":status", "200"), literalField("content-type", "application/grpc"),
        literalField("grpc-status", std::string_view(text.data(), static_cast<size_t>(n))),
        literalField("grpc-message", message)};
    nghttp2_submit_response(conn.session(), id, nva.data(), nva.size(), nullptr);
  }

  // A request that must not reach a backend: RST_STREAM(PROTOCOL_ERROR), as RFC 9113 §8.1.1
  // asks for a malformed request; counted and logged.
  void reject(uint16_t status, const char* why) {
    ex.status = status;
    conn.env().exchange->counters->h2_errors_total.add();
    core::LogLine(core::LogLevel::kInfo, "h2.bad_request", core::LogRepeat::kLimited)
        .str("listener", listener().name)
        .str("reason", why);
    resetStream(NGHTTP2_PROTOCOL_ERROR);
  }

  // An answer of ours (404, 502, 503, 504…): the configured body (respond:, an error page), else
  // a small text body; a redirect's Location and a filter's fields with it.
  void respond(uint16_t status, std::string_view why, std::string_view location = {}) {
    up.release(false);
    core::TimerWheel::cancel(timer);
    if (answered) {
      resetStream(NGHTTP2_INTERNAL_ERROR);
      return;
    }
    ex.status = status;
    answered = true;
    core::LogLine(core::LogLevel::kDebug, "l7.error_response")
        .str("listener", listener().name)
        .unum("status", status)
        .str("reason", why);
    std::array<char, 64> text{};
    std::string_view payload;
    std::string_view type = "text/plain";
    if (useErrorPage(listener(), ex, status)) {
      payload = ex.answer_body;
      if (!ex.answer_type.empty()) {
        type = ex.answer_type;
      }
    } else {
      const int n = snprintf(text.data(), text.size(), "%u\n", status);
      payload = std::string_view(text.data(), static_cast<size_t>(n));
    }
    const bool no_content = status == 204 || status == 304;  // RFC 9110 §6.4.1
    body.clear(loop().chunks(), [this](core::ChunkId c) { loop().releaseChunk(c); });
    if (!no_content && ex.method != "HEAD" && !payload.empty() &&
        !body.append(loop().chunks(), payload.data(), payload.size())) {
      resetStream(NGHTTP2_INTERNAL_ERROR);
      return;
    }
    body_end = true;
    std::array<char, 8> code{};  // a status is 3 digits (100..599)
    snprintf(code.data(), code.size(), "%u", status);
    std::array<char, 24> length{};
    const int length_len = snprintf(length.data(), length.size(), "%zu", payload.size());
    std::array<nghttp2_nv, 5 + kMaxAnswerFields> nva{};
    size_t n = 0;
    nva[n++] = literalField(":status", std::string_view(code.data(), 3));
    if (!no_content) {
      nva[n++] = literalField("content-type", type);
      nva[n++] = literalField("content-length",
                              std::string_view(length.data(), static_cast<size_t>(length_len)));
    }
    if (!location.empty()) {
      nva[n++] = literalField("location", location);
    }
    n += answerFields(std::span(nva).subspan(n));
    submitWithBody(nva.data(), n);
  }

  static nghttp2_nv literalField(std::string_view name, std::string_view value) {
    return {const_cast<uint8_t*>(reinterpret_cast<const uint8_t*>(name.data())),
            const_cast<uint8_t*>(reinterpret_cast<const uint8_t*>(value.data())), name.size(),
            value.size(), NGHTTP2_NV_FLAG_NONE};
  }

  // A filter's answer fields ("Name: value\r\n" lines in ex.answer_fields) as HTTP/2 fields,
  // names lower-cased in place (RFC 9113 §8.2.1). Points into ex.answer_fields.
  size_t answerFields(std::span<nghttp2_nv> out) {
    std::string& f = ex.answer_fields;
    size_t n = 0;
    size_t pos = 0;
    while (n < out.size() && pos < f.size()) {
      const size_t eol = f.find("\r\n", pos);
      const size_t colon = f.find(':', pos);
      if (eol == std::string::npos || colon == std::string::npos || colon > eol) {
        break;
      }
      for (size_t i = pos; i < colon; ++i) {
        f[i] = static_cast<char>(std::tolower(static_cast<unsigned char>(f[i])));
      }
      const size_t value = std::min(colon + 2, eol);  // ": "
      out[n++] = {reinterpret_cast<uint8_t*>(&f[pos]), reinterpret_cast<uint8_t*>(&f[value]),
                  colon - pos, eol - value, NGHTTP2_NV_FLAG_NONE};
      pos = eol + 2;
    }
    return n;
  }

  void submitWithBody(const nghttp2_nv* nva, size_t n) {
    nghttp2_data_provider provider{};
    provider.source.ptr = this;
    provider.read_callback = &H2Stream::readBody;
    nghttp2_submit_response(conn.session(), id, nva, n, &provider);
  }

  // nghttp2 asks for up to `length` bytes of this stream's response body.
  static ssize_t readBody(nghttp2_session* /*session*/, int32_t /*stream_id*/, uint8_t* buf,
                          size_t length, uint32_t* flags, nghttp2_data_source* source,
                          void* /*user*/) {
    auto* s = static_cast<H2Stream*>(source->ptr);
    auto& chunks = s->loop().chunks();
    size_t copied = 0;
    while (copied < length && !s->body.empty()) {
      const auto& m = chunks.meta(s->body.head());
      const size_t take = std::min<size_t>(length - copied, m.length);
      memcpy(buf + copied, chunks.data(s->body.head()) + m.offset, take);
      copied += take;
      s->body.consume(chunks, static_cast<uint32_t>(take),
                      [s](core::ChunkId c) { s->loop().releaseChunk(c); });
    }
    if (copied > 0) {
      s->progress_ms = s->loop().nowMs();
    }
    if (s->body.empty() && s->body_end) {
      *flags |= NGHTTP2_DATA_FLAG_EOF;
      if (!s->trailer_spans.empty()) {
        // The backend's trailers (gRPC's grpc-status) end the stream instead of the DATA.
        *flags |= NGHTTP2_DATA_FLAG_NO_END_STREAM;
        s->submitTrailers();
      }
    } else if (copied == 0) {
      return NGHTTP2_ERR_DEFERRED;
    }
    if (s->body.bytes() < s->bufferBytes()) {
      s->up.resumeReading();
    }
    return static_cast<ssize_t>(copied);
  }

  // ---- UpstreamSink -----------------------------------------------------------------------
  void onUpstreamConnecting() override {
    schedule(static_cast<uint64_t>(listener().timeouts.connect.count()));
  }
  void onUpstreamConnected() override {
    // The pool's per_try_timeout, when shorter, bounds each try's wait (retries: on timeout).
    schedule(
        up.responseWaitMs(static_cast<uint64_t>(listener().http.timeouts.response_header.count())));
  }

  bool onResponseHead(const h1::ResponseHead& head) override {
    if (head.status < kFirstFinal) {
      return true;  // interim responses are not relayed
    }
    core::TimerWheel::cancel(timer);
    if (replacesBackendError(listener(), ex, head.status)) {
      respond(head.status, "backend error replaced by an error page");
      return false;
    }
    ex.status = head.status;
    noteGrpcStatus(head.headers);  // a trailers-only response
    auto& fields = conn.env().exchange->scratch->headers;
    buildResponseFields(head.headers,
                        ex.route_config != nullptr ? &ex.route_config->response_headers
                                                   : &listener().http.response_headers,
                        fields);
    applyResponseEdits(ex, fields);
    startCompression(listener(), ex, head.status, head, fields);
    // Names go lowercased to HTTP/2 (RFC 9113 §8.2.1); nghttp2 copies what it is given.
    std::string& names = conn.env().exchange->scratch->head;
    names.clear();
    size_t name_bytes = 0;
    for (const auto& f : fields) {
      name_bytes += f.name.size();
    }
    names.reserve(name_bytes);
    std::array<char, 8> code{};  // a status is 3 digits (100..599)
    std::to_chars(code.data(), code.data() + code.size(), head.status);
    // One per worker thread, reused: nghttp2 copies the fields at submit.
    thread_local std::vector<nghttp2_nv> nva;
    nva.clear();
    nva.reserve(fields.size() + 2);
    nva.push_back({const_cast<uint8_t*>(reinterpret_cast<const uint8_t*>(":status")),
                   reinterpret_cast<uint8_t*>(code.data()), 7, 3, NGHTTP2_NV_FLAG_NONE});
    for (const auto& f : fields) {
      if (connectionSpecific(f.name) || h1::equalsIgnoreCase(f.name, "te")) {
        continue;
      }
      const size_t at = names.size();
      for (char c : f.name) {
        names.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
      }
      nva.push_back({reinterpret_cast<uint8_t*>(names.data() + at),
                     const_cast<uint8_t*>(reinterpret_cast<const uint8_t*>(f.value.data())),
                     f.name.size(), f.value.size(), NGHTTP2_NV_FLAG_NONE});
    }
    // Sticky sessions as on HTTP/1: first visit, or the old backend went down, pins the client
    // to the backend that answered.
    const ExchangeEnv& env = *conn.env().exchange;
    const config::Pool& pool_config =
        *(*env.pools)[static_cast<size_t>(ex.pool_index)]->runtime().config;
    const uint32_t chosen = ex.tries > 0 ? ex.tried[ex.tries - 1] : 0;
    if (!pool_config.sticky_cookie.empty() && ex.backend && ex.sticky != static_cast<int>(chosen)) {
      auto& cookie = env.scratch->set_cookie;
      cookie = stickySetCookie(pool_config, *ex.backend, core::unixMs() / core::kMsPerSecond,
                               ex.sticky_session, ex.sticky_known);
      constexpr std::string_view kSetCookie = "set-cookie";
      if (!cookie.empty()) {
        nva.push_back({const_cast<uint8_t*>(reinterpret_cast<const uint8_t*>(kSetCookie.data())),
                       reinterpret_cast<uint8_t*>(cookie.data()), kSetCookie.size(), cookie.size(),
                       NGHTTP2_NV_FLAG_NONE});
      }
    }
    answered = true;
    // An empty body ends the stream with the HEADERS frame: gRPC's trailers-only answer (an
    // error status, no message) must come so, or clients miss its grpc-status.
    const bool empty = head.body == h1::BodyKind::kNone ||
                       (head.body == h1::BodyKind::kLength && head.content_length == 0);
    if (empty && !ex.compressor) {
      body_end = true;
      nghttp2_submit_response(conn.session(), id, nva.data(), nva.size(), nullptr);
    } else {
      submitWithBody(nva.data(), nva.size());
    }
    progress_ms = loop().nowMs();
    schedule(static_cast<uint64_t>(listener().http.timeouts.body_idle.count()));
    return true;
  }

  bool onResponseBody(std::span<const uint8_t> bytes) override {
    progress_ms = loop().nowMs();
    if (ex.compressor) {
      if (!compressBody(ex, bytes, false, [this](std::span<const uint8_t> out) {
            return body.append(loop().chunks(), out.data(), out.size());
          })) {
        cutStream("compression failed or out of buffers");
        return false;
      }
    } else if (!body.append(loop().chunks(), bytes.data(), bytes.size())) {
      respond(kGatewayTimeout, "out of buffers");
      return false;
    }
    nghttp2_session_resume_data(conn.session(), id);
    return true;
  }

  // The head is out, so no answer of ours can follow: the stream is reset, and the client sees
  // a cut response rather than a corrupt one.
  void cutStream(const char* why) {
    up.release(false);
    core::LogLine(core::LogLevel::kWarn, "l7.response_cut", core::LogRepeat::kLimited)
        .str("listener", listener().name)
        .str("reason", why);
    resetStream(NGHTTP2_INTERNAL_ERROR);
    conn.pump();
  }

  // Trailers are copied (lowercased, connection-level ones dropped) and sent after the body.
  void keepTrailers(std::span<const h1::Header> trailers) {
    trailer_arena.clear();
    trailer_spans.clear();
    for (const auto& t : trailers) {
      if (connectionSpecific(t.name) || h1::equalsIgnoreCase(t.name, "te")) {
        continue;
      }
      const auto at = static_cast<uint32_t>(trailer_arena.size());
      for (char c : t.name) {
        trailer_arena.push_back(c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c);
      }
      trailer_arena.append(t.value);
      trailer_spans.push_back({at, static_cast<uint32_t>(t.name.size()),
                               at + static_cast<uint32_t>(t.name.size()),
                               static_cast<uint32_t>(t.value.size())});
    }
  }

  void submitTrailers() {
    std::vector<nghttp2_nv> nva;
    nva.reserve(trailer_spans.size());
    for (const auto& t : trailer_spans) {
      // NOLINTNEXTLINE(cppcoreguidelines-pro-type-const-cast): nghttp2 copies them
      auto* base = const_cast<uint8_t*>(reinterpret_cast<const uint8_t*>(trailer_arena.data()));
      nva.push_back({base + t[0], base + t[2], t[1], t[3], NGHTTP2_NV_FLAG_NONE});
    }
    nghttp2_submit_trailer(conn.session(), id, nva.data(), nva.size());
  }

  void onResponseEnd(std::span<const h1::Header> trailers, bool reusable) override {
    if (ex.compressor && !compressBody(ex, {}, true, [this](std::span<const uint8_t> out) {
          return body.append(loop().chunks(), out.data(), out.size());
        })) {
      cutStream("compression failed or out of buffers");
      return;
    }
    keepTrailers(trailers);
    noteGrpcStatus(trailers);
    // The body_idle timer keeps running: a client that never opens its window must not keep
    // the stream (and its buffered body) forever.
    up.release(reusable && request_done);
    body_end = true;
    nghttp2_session_resume_data(conn.session(), id);
    conn.pump();
  }

  void onTunnel(std::span<const uint8_t> /*rest*/) override {
    up.release(false);
    resetStream(NGHTTP2_INTERNAL_ERROR);
    conn.pump();
  }
  void onTunnelData(core::ChunkId c, uint32_t /*len*/) override { loop().releaseChunk(c); }
  void onTunnelEnd(int /*err*/) override { up.release(false); }

  void onUpstreamError(uint16_t status, const char* why) override {
    upstream_failed = true;
    respond(status, why);
    conn.pump();
  }

  void onRequestWritable() override {
    // The backend took what we queued: reopen the window for as much (bounded memory: at most
    // one window per stream waits in our queue).
    if (unconsumed > 0 && up.backlog() < bufferBytes()) {
      nghttp2_session_consume(conn.session(), id, unconsumed);
      unconsumed = 0;
      conn.pump();
    }
  }

  bool onResponseBatchDone() override {
    conn.pump();
    return body.bytes() < bufferBytes();
  }

  static void onTimer(void* self) {
    auto* s = static_cast<H2Stream*>(self);
    if (s->ex.grpc_deadline_ms != 0 && !s->body_end &&
        s->loop().nowMs() >= s->ex.grpc_deadline_ms) {
      s->deadlineExceeded();
    } else if (s->up.attached() && !s->up.connected()) {
      s->up.fail(ETIMEDOUT, "connect");
    } else if (!s->answered) {
      if (s->up.retryAfterTimeout()) {
        s->conn.pump();
        return;  // another backend has the request; its connect re-arms this timer
      }
      core::LogLine(core::LogLevel::kWarn, "l7.response_timeout")
          .str("listener", s->listener().name)
          .str("backend", s->ex.backend ? s->ex.backend->name : "");
      if (s->ex.backend_counters != nullptr) {
        s->ex.backend_counters->timeouts_total.add();
      }
      s->respond(kGatewayTimeout, "response header timeout");
    } else {
      // Only a stall counts, not a long transfer: a client that keeps a zero window, or a backend
      // that stops sending, is cut after body_idle without progress.
      const auto idle = static_cast<uint64_t>(s->listener().http.timeouts.body_idle.count());
      if (s->loop().nowMs() - s->progress_ms < idle) {
        s->schedule(s->progress_ms + idle - s->loop().nowMs());
        return;
      }
      core::LogLine(core::LogLevel::kWarn, "l7.body_timeout")
          .str("listener", s->listener().name)
          .str("backend", s->ex.backend ? s->ex.backend->name : "");
      s->up.release(false);
      s->resetStream(NGHTTP2_INTERNAL_ERROR);
    }
    s->conn.pump();
  }
};

namespace {

H2Connection* connOf(void* user) { return static_cast<H2Connection*>(user); }

H2Stream* streamOf(nghttp2_session* session, int32_t id) {
  return static_cast<H2Stream*>(nghttp2_session_get_stream_user_data(session, id));
}

int onBeginHeaders(nghttp2_session* /*session*/, const nghttp2_frame* frame, void* user) {
  if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST) {
    return 0;
  }
  connOf(user)->openStream(frame->hd.stream_id);
  return 0;
}

int onHeader(nghttp2_session* session, const nghttp2_frame* frame, const uint8_t* name,
             size_t namelen, const uint8_t* value, size_t valuelen, uint8_t /*flags*/,
             void* /*user*/) {
  H2Stream* s = streamOf(session, frame->hd.stream_id);
  if (s == nullptr || s->started) {
    return 0;  // trailers from the client are not forwarded
  }
  s->header_bytes += static_cast<uint32_t>(namelen + valuelen);
  if (s->header_bytes > s->listener().http.limits.max_header_bytes ||
      s->spans.size() >= s->listener().http.limits.max_headers) {
    core::LogLine(core::LogLevel::kInfo, "h2.header_too_large", core::LogRepeat::kLimited)
        .str("listener", s->listener().name);
    return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;  // RST_STREAM for this stream
  }
  s->fieldReceived(std::string_view(reinterpret_cast<const char*>(name), namelen),
                   std::string_view(reinterpret_cast<const char*>(value), valuelen));
  return 0;
}

// SETTINGS, PING, PRIORITY and WINDOW_UPDATE cost us work and carry no request: a client that
// sends them faster than http2_limits.control_frames_per_second is flooding.
int onBeginFrame(nghttp2_session* /*session*/, const nghttp2_frame_hd* hd, void* user) {
  switch (hd->type) {
    case NGHTTP2_SETTINGS:
    case NGHTTP2_PING:
    case NGHTTP2_PRIORITY:
    case NGHTTP2_WINDOW_UPDATE:
      return connOf(user)->spendControlToken() ? 0 : NGHTTP2_ERR_CALLBACK_FAILURE;
    default:
      return 0;
  }
}

int onFrameRecv(nghttp2_session* session, const nghttp2_frame* frame, void* /*user*/) {
  H2Stream* s = streamOf(session, frame->hd.stream_id);
  if (s == nullptr) {
    return 0;
  }
  const bool end_stream = (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) != 0;
  if (frame->hd.type == NGHTTP2_RST_STREAM) {
    s->clientLeft();  // onStreamClose follows
    return 0;
  }
  if (frame->hd.type == NGHTTP2_HEADERS) {
    if (!s->started) {
      s->begin(end_stream);
    } else if (end_stream && !s->request_done) {
      s->request_done = true;  // after trailers
      if (s->up.attached() || s->up.backlog() > 0) {
        s->up.sendEnd();
      }
    }
  } else if (frame->hd.type == NGHTTP2_DATA && end_stream && !s->request_done) {
    s->request_done = true;
    if (!s->answered || s->up.attached()) {
      s->up.sendEnd();
    }
  }
  return 0;
}

int onDataChunk(nghttp2_session* session, uint8_t /*flags*/, int32_t id, const uint8_t* data,
                size_t len, void* /*user*/) {
  H2Stream* s = streamOf(session, id);
  // After an answer of ours the body has nowhere to go; after the backend's head it still does
  // (gRPC's bidirectional streams: the client keeps sending while the responses flow).
  if (s == nullptr || (s->answered && !s->up.attached()) || s->upstream_failed) {
    nghttp2_session_consume(session, id, len);  // dropped: give the window back now
    return 0;
  }
  if (!s->up.sendBody(std::span<const uint8_t>(data, len))) {
    return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
  }
  s->unconsumed += static_cast<uint32_t>(len);
  if (s->up.backlog() < s->bufferBytes() && s->up.connected()) {
    nghttp2_session_consume(session, id, s->unconsumed);
    s->unconsumed = 0;
  }
  return 0;
}

int onStreamClose(nghttp2_session* session, int32_t id, uint32_t /*error*/, void* user) {
  H2Stream* s = streamOf(session, id);
  if (s != nullptr) {
    connOf(user)->closeStream(*s);
  }
  return 0;
}

}  // namespace

H2Connection::H2Connection(const H2Env& env, H2Transport& transport)
    : env_(env), transport_(transport) {}

H2Connection::~H2Connection() {
  abort();
  if (session_ != nullptr) {
    nghttp2_session_del(session_);
  }
}

bool H2Connection::start() {
  nghttp2_session_callbacks* cbs = nullptr;
  if (nghttp2_session_callbacks_new(&cbs) != 0) {
    return false;
  }
  nghttp2_session_callbacks_set_on_begin_headers_callback(cbs, onBeginHeaders);
  nghttp2_session_callbacks_set_on_header_callback(cbs, onHeader);
  nghttp2_session_callbacks_set_on_frame_recv_callback(cbs, onFrameRecv);
  nghttp2_session_callbacks_set_on_begin_frame_callback(cbs, onBeginFrame);
  nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cbs, onDataChunk);
  nghttp2_session_callbacks_set_on_stream_close_callback(cbs, onStreamClose);
  nghttp2_option* opt = nullptr;
  nghttp2_option_new(&opt);
  nghttp2_option_set_no_auto_window_update(opt, 1);  // windows reopen as the backend takes bytes
  const config::Http2Limits& limits = env_.exchange->listener->http.http2_limits;
  nghttp2_option_set_stream_reset_rate_limit(opt, limits.reset_burst, limits.resets_per_second);
  nghttp2_option_set_max_continuations(opt, limits.max_continuations);
  nghttp2_option_set_max_settings(opt, h2_limits::kMaxSettingsEntries);
  nghttp2_option_set_max_outbound_ack(opt, h2_limits::kMaxQueuedAcks);
  const int rv = nghttp2_session_server_new2(&session_, cbs, this, opt);
  nghttp2_option_del(opt);
  nghttp2_session_callbacks_del(cbs);
  if (rv != 0) {
    return false;
  }
  control_tokens_ = 2.0 * limits.control_frames_per_second;
  control_refill_ms_ = env_.loop->nowMs();
  const std::array<nghttp2_settings_entry, 4> settings = {{
      {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, limits.max_concurrent_streams},
      {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE,
       env_.exchange->listener->http.limits.max_header_bytes},
      {NGHTTP2_SETTINGS_MAX_FRAME_SIZE, limits.max_frame_size},
      {NGHTTP2_SETTINGS_HEADER_TABLE_SIZE, limits.header_table_size},
  }};
  nghttp2_submit_settings(session_, NGHTTP2_FLAG_NONE, settings.data(), settings.size());
  pump();
  return true;
}

bool H2Connection::spendControlToken() {
  const double rate = env_.exchange->listener->http.http2_limits.control_frames_per_second;
  const uint64_t now = env_.loop->nowMs();
  constexpr double kMsPerSecond = 1000.0;
  control_tokens_ =
      std::min(2.0 * rate, control_tokens_ +
                               rate * static_cast<double>(now - control_refill_ms_) / kMsPerSecond);
  control_refill_ms_ = now;
  if (control_tokens_ < 1.0) {
    control_flood_ = true;
    return false;
  }
  control_tokens_ -= 1.0;
  return true;
}

bool H2Connection::receive(std::span<const uint8_t> in) {
  if (closing_) {
    return false;
  }
  const ssize_t n = nghttp2_session_mem_recv(session_, in.data(), in.size());
  if (n < 0) {
    env_.exchange->counters->h2_errors_total.add();
    core::LogLine(core::LogLevel::kInfo, "h2.protocol_error", core::LogRepeat::kLimited)
        .str("listener", env_.exchange->listener->name)
        .str("client", env_.peer.toString())
        .str("reason", nghttp2_strerror(static_cast<int>(n)));
    pump();  // what nghttp2 still had queued
    // A fatal error leaves nghttp2 unable to frame anything more: our own GOAWAY tells the client
    // why. Floods get ENHANCE_YOUR_CALM (RFC 9113 §5.4.1), everything else PROTOCOL_ERROR.
    const bool flood = n == NGHTTP2_ERR_FLOODED || n == NGHTTP2_ERR_TOO_MANY_CONTINUATIONS ||
                       n == NGHTTP2_ERR_TOO_MANY_SETTINGS || control_flood_;
    constexpr size_t kFrameHeaderBytes = 9;
    constexpr size_t kGoawayPayload = 8;
    constexpr size_t kWordBytes = 4;
    constexpr unsigned kByteBits = 8;
    std::array<uint8_t, kFrameHeaderBytes + kGoawayPayload> goaway{};
    goaway[2] = kGoawayPayload;
    goaway[3] = NGHTTP2_GOAWAY;
    const auto last = static_cast<uint32_t>(nghttp2_session_get_last_proc_stream_id(session_));
    const uint32_t code = flood ? NGHTTP2_ENHANCE_YOUR_CALM : NGHTTP2_PROTOCOL_ERROR;
    for (size_t i = 0; i < kWordBytes; ++i) {
      const auto shift = static_cast<unsigned>((kWordBytes - 1 - i) * kByteBits);
      goaway[kFrameHeaderBytes + i] = static_cast<uint8_t>(last >> shift);
      goaway[kFrameHeaderBytes + kWordBytes + i] = static_cast<uint8_t>(code >> shift);
    }
    if (!closing_) {
      transport_.h2Write(goaway.data(), goaway.size());
    }
    closing_ = true;
    transport_.h2Close();
    return false;
  }
  pump();
  freeClosed();
  return !closing_;
}

void H2Connection::onTransportSent() {
  pump();
  freeClosed();
}

void H2Connection::pump() {
  if (pumping_ || closing_ || session_ == nullptr) {
    return;  // nghttp2 asked for data while sending: the outer loop continues
  }
  if (close_when_idle_ && !terminated_ && streams_.empty()) {
    terminated_ = true;
    nghttp2_session_terminate_session(session_, NGHTTP2_NO_ERROR);
  }
  pumping_ = true;
  const uint32_t limit = env_.exchange->listener->limits.buffer_bytes;
  while (transport_.h2Backlog() < limit) {
    const uint8_t* data = nullptr;
    const ssize_t n = nghttp2_session_mem_send(session_, &data);
    if (n <= 0) {
      break;
    }
    if (!transport_.h2Write(data, static_cast<size_t>(n))) {
      pumping_ = false;
      closing_ = true;
      return;
    }
  }
  pumping_ = false;
  transport_.h2Flush();
  if (nghttp2_session_want_read(session_) == 0 && nghttp2_session_want_write(session_) == 0) {
    closing_ = true;
    transport_.h2Close();
  }
}

void H2Connection::drain() {
  if (session_ == nullptr || closing_) {
    return;
  }
  if (!close_when_idle_) {
    close_when_idle_ = true;
    nghttp2_submit_goaway(session_, NGHTTP2_FLAG_NONE,
                          nghttp2_session_get_last_proc_stream_id(session_), NGHTTP2_NO_ERROR,
                          nullptr, 0);
  }
  pump();
}

void H2Connection::abort() {
  closing_ = true;
  for (auto& s : streams_) {
    s->up.release(false);
    core::TimerWheel::cancel(s->timer);
    endStreamExchange(*s);
    s->body.clear(env_.loop->chunks(), [this](core::ChunkId c) { env_.loop->releaseChunk(c); });
    closed_.push_back(std::move(s));
  }
  streams_.clear();
}

H2Stream* H2Connection::openStream(int32_t id) {
  std::unique_ptr<H2Stream> s;
  if (spare_.empty()) {
    s = std::make_unique<H2Stream>(*this, id);
  } else {
    s = std::move(spare_.back());
    spare_.pop_back();
    s->reuse(id);
  }
  H2Stream* raw = s.get();
  streams_.push_back(std::move(s));
  if (id == INT32_MAX && !close_when_idle_) {
    // The client used the last stream id: nothing can follow, so say so and end the
    // connection once this stream is done (stream-id exhaustion).
    close_when_idle_ = true;
    nghttp2_submit_goaway(session_, NGHTTP2_FLAG_NONE, id, NGHTTP2_NO_ERROR, nullptr, 0);
  }
  nghttp2_session_set_stream_user_data(session_, id, raw);
  return raw;
}

void H2Connection::clientLeft() {
  for (auto& s : streams_) {
    s->clientLeft();
  }
}

// As for HTTP/1.1 (HttpSession::abandonExchange): a stream its client abandoned is counted and
// logged, with 499 when no response head had been sent.
void H2Connection::endStreamExchange(H2Stream& s) {
  if (!s.started) {
    return;
  }
  if (s.client_left && !s.reset_by_us) {
    markClientLeft(*env_.exchange, s.ex, s.answered);
  }
  endExchange(*env_.exchange, s.ex, env_.peer, env_.loop->nowMs());
}

void H2Connection::closeStream(H2Stream& s) {
  s.up.release(false);
  core::TimerWheel::cancel(s.timer);
  nghttp2_session_set_stream_user_data(session_, s.id, nullptr);
  endStreamExchange(s);
  s.body.clear(env_.loop->chunks(), [this](core::ChunkId c) { env_.loop->releaseChunk(c); });
  for (auto& open : streams_) {
    if (open.get() == &s) {
      closed_.push_back(std::move(open));
      open = std::move(streams_.back());
      streams_.pop_back();
      break;
    }
  }
}

void H2Connection::freeClosed() {
  const size_t keep = streams_.empty()
                          ? kIdleSpareStreams
                          : env_.exchange->listener->http.http2_limits.max_concurrent_streams;
  for (auto& s : closed_) {
    if (spare_.size() < keep) {
      spare_.push_back(std::move(s));
    }
  }
  closed_.clear();
  if (spare_.size() > keep) {
    spare_.resize(keep);
  }
}

}  // namespace ballast::l7
