// src/l7/h2_upstream.cpp — HTTP/2 towards backends: the shared connections (an nghttp2 client
// session over a pooled socket), the h1 → h2 request head translation, and the h2 → h1 response
// head the sinks know. Flow control is tied to the sink: a stream's window reopens only when its
// sink took the bytes and may take more (window updates are ours, not nghttp2's automatic ones).
#include "l7/h2_upstream.h"

#include <nghttp2/nghttp2.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <optional>
#include <utility>

#include "core/log.h"
#include "core/splitmix.h"
#include "l7/retry_policy.h"
#include "proto/http1/syntax.h"

namespace ballast::l7 {
namespace {

namespace h1 = proto::http1;

constexpr uint16_t kBadGateway = 502;
constexpr uint16_t kUnavailable = 503;
constexpr uint16_t kGatewayTimeout = 504;
constexpr uint16_t kNoContent = 204;
constexpr uint16_t kNotModified = 304;
constexpr uint16_t kFirstFinal = 200;
constexpr uint16_t kSwitchingProtocols = 101;
// What a stream may hold in flight from the backend before its sink takes it (one window).
constexpr int32_t kStreamWindowBytes = 256 * 1024;
constexpr int32_t kConnectionWindowBytes = 16 * 1024 * 1024;
// Request body bytes kept after sending, so a stream the backend refused can go again whole.
constexpr size_t kReplayBodyBytes = 64 * 1024;
// nghttp2's output is copied into chunks up to this much per send.
constexpr size_t kMaxSendBatchBytes = 64 * 1024;

bool connectionSpecific(std::string_view name) {
  return h1::equalsIgnoreCase(name, "connection") || h1::equalsIgnoreCase(name, "keep-alive") ||
         h1::equalsIgnoreCase(name, "proxy-connection") ||
         h1::equalsIgnoreCase(name, "transfer-encoding") || h1::equalsIgnoreCase(name, "upgrade");
}

// HTTP/2 has no reason phrase; some HTTP/1.1 clients refuse an empty one, so the common codes
// get theirs and the rest their class's name (clients must ignore it, RFC 9112 §4).
std::string_view reasonFor(uint16_t status) {
  switch (status) {
    case 200:
      return "OK";
    case 201:
      return "Created";
    case 204:
      return "No Content";
    case 206:
      return "Partial Content";
    case 301:
      return "Moved Permanently";
    case 302:
      return "Found";
    case 304:
      return "Not Modified";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 500:
      return "Internal Server Error";
    case 502:
      return "Bad Gateway";
    case 503:
      return "Service Unavailable";
    case 504:
      return "Gateway Timeout";
    default:
      break;
  }
  constexpr std::array<std::string_view, 6> kClasses = {
      "Status", "Informational", "Success", "Redirection", "Client Error", "Server Error"};
  constexpr uint16_t kClassWidth = 100;
  const size_t c = status / kClassWidth;
  return c < kClasses.size() ? kClasses[c] : kClasses[0];
}

nghttp2_nv makeNv(std::string_view name, std::string_view value) {
  // NOLINTBEGIN(cppcoreguidelines-pro-type-const-cast): nghttp2 takes non-const but copies
  return {const_cast<uint8_t*>(reinterpret_cast<const uint8_t*>(name.data())),
          const_cast<uint8_t*>(reinterpret_cast<const uint8_t*>(value.data())), name.size(),
          value.size(), NGHTTP2_NV_FLAG_NONE};
  // NOLINTEND(cppcoreguidelines-pro-type-const-cast)
}

}  // namespace

// One HTTP/2 connection to a backend, shared by the worker's exchanges.
class H2UpstreamConn final : public UpstreamUser {
 public:
  H2UpstreamConn(core::EventLoop& loop, H2Connections& owner, UpstreamPool& pool,
                 const config::Pool& config)
      : loop_(loop),
        owner_(owner),
        pool_(pool),
        max_streams_(config.max_streams_per_connection),
        idle_ms_(static_cast<uint64_t>(config.keepalive.idle_timeout.count())) {
    idle_timer_.bind(&H2UpstreamConn::onIdle, this);
    nghttp2_session_callbacks* cbs = nullptr;
    nghttp2_session_callbacks_new(&cbs);
    nghttp2_session_callbacks_set_on_header_callback(cbs, &H2UpstreamConn::onHeaderCb);
    nghttp2_session_callbacks_set_on_frame_recv_callback(cbs, &H2UpstreamConn::onFrameCb);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cbs, &H2UpstreamConn::onDataCb);
    nghttp2_session_callbacks_set_on_stream_close_callback(cbs, &H2UpstreamConn::onCloseCb);
    nghttp2_option* opt = nullptr;
    nghttp2_option_new(&opt);
    nghttp2_option_set_no_auto_window_update(opt, 1);
    nghttp2_session_client_new2(&session_, cbs, this, opt);
    nghttp2_option_del(opt);
    nghttp2_session_callbacks_del(cbs);
    const std::array<nghttp2_settings_entry, 2> settings = {{
        {NGHTTP2_SETTINGS_ENABLE_PUSH, 0},
        {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, static_cast<uint32_t>(kStreamWindowBytes)},
    }};
    nghttp2_submit_settings(session_, NGHTTP2_FLAG_NONE, settings.data(), settings.size());
    nghttp2_session_set_local_window_size(session_, NGHTTP2_FLAG_NONE, 0, kConnectionWindowBytes);
  }
  H2UpstreamConn(const H2UpstreamConn&) = delete;
  H2UpstreamConn& operator=(const H2UpstreamConn&) = delete;
  ~H2UpstreamConn() {
    core::TimerWheel::cancel(idle_timer_);
    close();
    nghttp2_session_del(session_);
    out_.clear(loop_.chunks(), [this](core::ChunkId id) { loop_.releaseChunk(id); });
  }

  bool open(const upstream::BackendStatePtr& backend, const tls::ClientContext* tls) {
    backend_ = backend.get();
    tls_ = tls;
    conn_ = pool_.open(backend, tls, this);
    return conn_ != nullptr;
  }
  const upstream::BackendState* backend() const { return backend_; }
  const tls::ClientContext* tlsContext() const { return tls_; }
  bool ready() const { return ready_; }
  bool retired() const { return retired_; }
  bool empty() const { return streams_.empty(); }
  bool hasRoom() const {
    if (retired_) {
      return false;
    }
    uint32_t limit = max_streams_;
    if (ready_) {
      limit = std::min(limit, nghttp2_session_get_remote_settings(
                                  session_, NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS));
    }
    return streams_.size() < limit;
  }

  void add(H2Upstream* s) {
    core::TimerWheel::cancel(idle_timer_);
    streams_.push_back(s);
    if (ready_) {
      submit(s);
      pump();
    }
  }

  // The stream leaves this connection; `reset` cancels it at the backend.
  void remove(H2Upstream* s, bool reset) {
    std::erase(streams_, s);
    std::replace(touched_.begin(), touched_.end(), s, static_cast<H2Upstream*>(nullptr));
    std::replace(writable_.begin(), writable_.end(), s, static_cast<H2Upstream*>(nullptr));
    if (s->stream_id_ > 0) {
      nghttp2_session_set_stream_user_data(session_, s->stream_id_, nullptr);
      if (s->unconsumed_ > 0) {
        nghttp2_session_consume_connection(session_, s->unconsumed_);
      }
      if (reset && !dead_) {
        nghttp2_submit_rst_stream(session_, NGHTTP2_FLAG_NONE, s->stream_id_, NGHTTP2_CANCEL);
      }
    }
    if (!dead_) {
      pump();
    }
    if (retired_ && streams_.empty()) {
      owner_.bury(this);
    } else if (streams_.empty() && !dead_) {
      // As an idle HTTP/1.1 connection: closed after the pool's keepalive.idle_timeout, before
      // the backend's own idle timer would close it under a new stream.
      loop_.timers().schedule(idle_timer_, idle_ms_);
    }
  }

  void consume(H2Upstream* s, uint32_t n) {
    if (!dead_ && s->stream_id_ > 0) {
      nghttp2_session_consume(session_, s->stream_id_, n);
      pump();
    }
  }

  void resume(H2Upstream* s) {
    if (!dead_ && s->stream_id_ > 0) {
      nghttp2_session_resume_data(session_, s->stream_id_);
      pump();
    }
  }

  // nghttp2's pending output, out towards the socket; one send at a time.
  void pump() {
    // Inside nghttp2_session_mem_recv (a stream's callback released or retried it), output
    // waits: onUpstreamData pumps once the read is parsed.
    if (dead_ || conn_ == nullptr || !ready_ || in_recv_) {
      return;
    }
    if (!conn_->sending()) {
      while (out_.bytes() < kMaxSendBatchBytes) {
        const uint8_t* data = nullptr;
        const ssize_t n = nghttp2_session_mem_send(session_, &data);
        if (n < 0) {
          lost(EPROTO);
          return;
        }
        if (n == 0) {
          break;
        }
        if (!out_.append(loop_.chunks(), data, static_cast<size_t>(n))) {
          lost(ENOBUFS);
          return;
        }
      }
      if (!out_.empty()) {
        auto& chunks = loop_.chunks();
        const auto& m = chunks.meta(out_.head());
        conn_->send(chunks.data(out_.head()) + m.offset, m.length);
      }
    }
    notifyWritable();
    if (!nghttp2_session_want_read(session_) && !nghttp2_session_want_write(session_) &&
        out_.empty()) {
      lost(0);
    }
  }

  void onUpstreamConnect(int err) override {
    if (err != 0) {
      lost(err);
      return;
    }
    ready_ = true;
    conn_->startRecv();
    for (H2Upstream* s : std::vector<H2Upstream*>(streams_)) {
      if (s->stream_id_ < 0 && s->conn_ == this) {
        submit(s);
      }
    }
    pump();
    for (H2Upstream* s : std::vector<H2Upstream*>(streams_)) {
      if (std::find(streams_.begin(), streams_.end(), s) != streams_.end()) {
        s->onConnReady();
      }
    }
  }

  void onUpstreamData(core::ChunkId id, uint32_t len) override {
    in_recv_ = true;
    const ssize_t n = nghttp2_session_mem_recv(session_, loop_.chunks().data(id), len);
    in_recv_ = false;
    loop_.releaseChunk(id);
    if (n < 0) {
      core::LogLine(core::LogLevel::kWarn, "l7.h2_upstream_protocol_error",
                    core::LogRepeat::kLimited)
          .str("backend", backend_ != nullptr ? backend_->name : "")
          .str("reason", nghttp2_strerror(static_cast<int>(n)));
      lost(EPROTO);
      return;
    }
    for (size_t i = 0; i < touched_.size(); ++i) {
      if (H2Upstream* s = std::exchange(touched_[i], nullptr)) {
        s->onBatchDone();
      }
    }
    touched_.clear();
    pump();
  }

  void onUpstreamEnd(int err) override { lost(err == 0 ? ECONNRESET : err); }

  void onUpstreamSent(int64_t result) override {
    if (result < 0) {
      lost(static_cast<int>(-result));
      return;
    }
    out_.consume(loop_.chunks(), static_cast<uint32_t>(result),
                 [this](core::ChunkId id) { loop_.releaseChunk(id); });
    if (!out_.empty() && !dead_) {
      auto& chunks = loop_.chunks();
      const auto& m = chunks.meta(out_.head());
      conn_->send(chunks.data(out_.head()) + m.offset, m.length);
      return;
    }
    pump();
  }

  // Shutdown: an unused connection closes (GOAWAY, then the socket).
  void closeIfIdle() {
    if (streams_.empty() && !dead_) {
      nghttp2_session_terminate_session(session_, NGHTTP2_NO_ERROR);
      lost(0);
    }
  }

  void markTouched(H2Upstream* s) {
    if (!s->touched_) {
      s->touched_ = true;
      touched_.push_back(s);
    }
  }
  void markWritable(H2Upstream* s) { writable_.push_back(s); }

 private:
  void submit(H2Upstream* s) {
    std::vector<nghttp2_nv> nva;
    nva.reserve(s->field_spans_.size());
    for (const auto& f : s->field_spans_) {
      nva.push_back(makeNv(std::string_view(s->fields_).substr(f[0], f[1]),
                           std::string_view(s->fields_).substr(f[2], f[3])));
    }
    nghttp2_data_provider provider{};
    provider.source.ptr = s;
    provider.read_callback = &H2UpstreamConn::readCb;
    const bool bodiless = s->request_end_ && s->body_.size() == s->body_sent_;
    const int32_t id = nghttp2_submit_request(session_, nullptr, nva.data(), nva.size(),
                                              bodiless ? nullptr : &provider, s);
    if (id < 0) {
      s->stream_id_ = 0;  // refused locally: no more ids (the connection is spent)
      retired_ = true;
      owner_.retire(this);
      return;
    }
    s->stream_id_ = id;
  }

  void notifyWritable() {
    for (size_t i = 0; i < writable_.size(); ++i) {
      if (H2Upstream* s = std::exchange(writable_[i], nullptr)) {
        s->sink_.onRequestWritable();
      }
    }
    writable_.clear();
  }

  // The socket is gone or unusable: every stream learns it (and may go again elsewhere).
  void lost(int err) {
    if (dead_) {
      return;
    }
    dead_ = true;
    if (!retired_) {
      retired_ = true;
      owner_.retire(this);
    }
    close();
    for (H2Upstream* s : std::vector<H2Upstream*>(streams_)) {
      if (s->conn_ == this) {
        s->onConnFailed(err == 0 ? ECONNRESET : err, false);
      }
    }
    if (streams_.empty()) {
      owner_.bury(this);
    }
  }

  void close() {
    if (conn_ != nullptr) {
      pool_.discard(std::exchange(conn_, nullptr), std::exchange(out_, core::ChunkQueue{}));
    }
  }

  static void onIdle(void* self) {
    auto* c = static_cast<H2UpstreamConn*>(self);
    if (c->streams_.empty() && !c->dead_) {
      c->closeIfIdle();
    }
  }

  static H2Upstream* streamOf(nghttp2_session* session, int32_t id) {
    return static_cast<H2Upstream*>(nghttp2_session_get_stream_user_data(session, id));
  }

  static int onHeaderCb(nghttp2_session* session, const nghttp2_frame* frame, const uint8_t* name,
                        size_t namelen, const uint8_t* value, size_t valuelen, uint8_t /*flags*/,
                        void* /*user*/) {
    H2Upstream* s = streamOf(session, frame->hd.stream_id);
    if (s == nullptr) {
      return 0;
    }
    return s->onHeader(std::string_view(reinterpret_cast<const char*>(name), namelen),
                       std::string_view(reinterpret_cast<const char*>(value), valuelen));
  }

  static int onFrameCb(nghttp2_session* session, const nghttp2_frame* frame, void* user) {
    auto* self = static_cast<H2UpstreamConn*>(user);
    if (frame->hd.type == NGHTTP2_GOAWAY) {
      // Streams above last-stream-id are closed by nghttp2 as refused: they go again elsewhere.
      if (!self->retired_) {
        self->retired_ = true;
        self->owner_.retire(self);
      }
      return 0;
    }
    const bool end = (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) != 0;
    H2Upstream* s = streamOf(session, frame->hd.stream_id);
    if (s == nullptr) {
      return 0;
    }
    if (frame->hd.type == NGHTTP2_HEADERS) {
      return s->onHeadersDone(end);
    }
    if (frame->hd.type == NGHTTP2_DATA && end) {
      return s->onHeadersDone(true);  // the end of the body (no trailers)
    }
    return 0;
  }

  static int onDataCb(nghttp2_session* session, uint8_t /*flags*/, int32_t stream_id,
                      const uint8_t* data, size_t len, void* /*user*/) {
    H2Upstream* s = streamOf(session, stream_id);
    if (s == nullptr) {
      nghttp2_session_consume_connection(session, len);
      return 0;
    }
    return s->onData(std::span<const uint8_t>(data, len));
  }

  static int onCloseCb(nghttp2_session* session, int32_t stream_id, uint32_t error_code,
                       void* /*user*/) {
    if (H2Upstream* s = streamOf(session, stream_id)) {
      s->onClosed(error_code);
    }
    return 0;
  }

  static ssize_t readCb(nghttp2_session* /*session*/, int32_t /*stream_id*/, uint8_t* buf,
                        size_t length, uint32_t* data_flags, nghttp2_data_source* source,
                        void* /*user*/) {
    return static_cast<H2Upstream*>(source->ptr)->readBody(buf, length, data_flags);
  }

  core::EventLoop& loop_;
  H2Connections& owner_;
  UpstreamPool& pool_;
  uint32_t max_streams_;
  uint64_t idle_ms_;
  core::Timer idle_timer_;
  nghttp2_session* session_ = nullptr;
  UpstreamConn* conn_ = nullptr;
  const upstream::BackendState* backend_ = nullptr;
  const tls::ClientContext* tls_ = nullptr;
  std::vector<H2Upstream*> streams_;
  std::vector<H2Upstream*> touched_;   // got data in this read: their sinks hear batch done
  std::vector<H2Upstream*> writable_;  // body bytes taken: their sinks may send more
  core::ChunkQueue out_;
  bool ready_ = false;
  bool retired_ = false;
  bool dead_ = false;
  bool in_recv_ = false;
};

H2Connections::H2Connections(core::EventLoop& loop, UpstreamPool& pool) : loop_(loop), pool_(pool) {
  reap_.bind(&H2Connections::onReap, this);
}

H2Connections::~H2Connections() { core::TimerWheel::cancel(reap_); }

H2UpstreamConn* H2Connections::acquire(const upstream::BackendStatePtr& backend,
                                       const tls::ClientContext* tls, const config::Pool& config,
                                       bool may_open, bool* opened, bool* full) {
  auto& list = conns_[{backend.get(), tls}];
  for (auto& c : list) {
    if (c->hasRoom()) {
      *opened = false;
      return c.get();
    }
  }
  if (!may_open) {
    *full = true;
    return nullptr;
  }
  auto c = std::make_unique<H2UpstreamConn>(loop_, *this, pool_, config);
  if (!c->open(backend, tls)) {
    return nullptr;
  }
  *opened = true;
  list.push_back(std::move(c));
  return list.back().get();
}

void H2Connections::retire(H2UpstreamConn* c) {
  auto it = conns_.find({c->backend(), c->tlsContext()});
  if (it == conns_.end()) {
    return;
  }
  auto& list = it->second;
  for (auto& p : list) {
    if (p.get() == c) {
      retired_.push_back(std::move(p));
      std::erase(list, nullptr);
      return;
    }
  }
}

void H2Connections::bury(H2UpstreamConn* c) {
  for (auto& p : retired_) {
    if (p.get() == c) {
      dead_.push_back(std::move(p));
      std::erase(retired_, nullptr);
      loop_.timers().schedule(reap_, 0);
      return;
    }
  }
}

void H2Connections::onReap(void* self) { static_cast<H2Connections*>(self)->dead_.clear(); }

void H2Connections::closeIdle() {
  std::vector<H2UpstreamConn*> idle;
  for (const auto& [key, list] : conns_) {
    for (const auto& c : list) {
      idle.push_back(c.get());
    }
  }
  for (H2UpstreamConn* c : idle) {
    c->closeIfIdle();
  }
}

size_t H2Connections::live() const {
  size_t n = retired_.size();
  for (const auto& [key, list] : conns_) {
    n += list.size();
  }
  return n;
}

H2Upstream::H2Upstream(core::EventLoop& loop, UpstreamPool& pool, const ExchangeEnv& env,
                       UpstreamSink& sink)
    : loop_(loop), pool_(pool), env_(env), sink_(sink) {
  backoff_timer_.bind(&H2Upstream::onBackoff, this);
}

H2Upstream::~H2Upstream() {
  settle();
  release(false);
}

void H2Upstream::settle() {
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

bool H2Upstream::begin(Exchange& ex, std::string_view head) {
  settle();
  core::TimerWheel::cancel(backoff_timer_);
  backoff_pending_ = false;
  ex_ = &ex;
  stream_id_ = -1;
  replayed_ = false;
  fields_.clear();
  field_spans_.clear();
  body_.clear();
  body_sent_ = 0;
  body_trimmed_ = false;
  request_end_ = false;
  head_seen_ = in_trailers_ = ended_ = paused_ = touched_ = false;
  unconsumed_ = 0;
  status_ = 0;
  resp_arena_.clear();
  resp_spans_.clear();
  const auto add = [this](std::string_view name, std::string_view value) {
    const auto at = static_cast<uint32_t>(fields_.size());
    fields_.append(name);
    for (size_t i = at; i < fields_.size(); ++i) {
      if (fields_[i] >= 'A' && fields_[i] <= 'Z') {
        fields_[i] = static_cast<char>(fields_[i] - 'A' + 'a');
      }
    }
    const auto value_at = static_cast<uint32_t>(fields_.size());
    fields_.append(value);
    field_spans_.push_back(
        {at, static_cast<uint32_t>(name.size()), value_at, static_cast<uint32_t>(value.size())});
  };
  // The request line: METHOD SP target SP HTTP/1.1 (written by us, so well formed).
  const size_t line_end = head.find("\r\n");
  const std::string_view line = head.substr(0, line_end);
  const size_t sp1 = line.find(' ');
  const size_t sp2 = line.rfind(' ');
  if (line_end == std::string_view::npos || sp1 == std::string_view::npos || sp2 <= sp1) {
    return false;
  }
  const std::string_view method = line.substr(0, sp1);
  std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  if (method == "CONNECT") {
    return false;  // tunnels are not carried over h2 backends
  }
  if (!target.starts_with('/') && target != "*") {
    const size_t scheme = target.find("://");
    const size_t path =
        scheme == std::string_view::npos ? std::string_view::npos : target.find('/', scheme + 3);
    target = path == std::string_view::npos ? std::string_view("/") : target.substr(path);
  }
  idempotent_ = idempotentMethod(method);
  head_request_ = method == "HEAD";
  auto& pool = *(*env_.pools)[static_cast<size_t>(ex.pool_index)];
  policy_ = &pool.runtime().config->retries;
  may_retry_ = policy_->enabled && (policy_->non_idempotent || idempotent_);
  grpc_retry_ = ex.grpc && policy_->retriesOn(config::RetryReason::kGrpcUnavailable);
  keep_bytes_ = may_retry_ || grpc_retry_
                    ? std::max<size_t>(kReplayBodyBytes, policy_->buffer_bytes)
                    : kReplayBodyBytes;
  counted_ = &pool;
  ++pool.retryBudget().requests;
  std::string_view authority;
  std::string_view rest = head.substr(line_end + 2);
  // Pseudo-headers first; the authority is filled once Host is seen (below, before regular ones).
  add(":method", method);
  const bool over_tls = env_.upstream_tls != nullptr &&
                        (*env_.upstream_tls)[static_cast<size_t>(ex.pool_index)] != nullptr;
  add(":scheme", over_tls ? "https" : "http");
  add(":path", target);
  const size_t authority_slot = field_spans_.size();
  add(":authority", "");
  add("te", "trailers");  // we carry trailers back (gRPC servers insist on being told)
  while (!rest.empty() && !rest.starts_with("\r\n")) {
    const size_t end = rest.find("\r\n");
    const std::string_view field = rest.substr(0, end);
    rest = end == std::string_view::npos ? std::string_view() : rest.substr(end + 2);
    const size_t colon = field.find(':');
    if (colon == std::string_view::npos) {
      continue;
    }
    const std::string_view name = field.substr(0, colon);
    std::string_view value = field.substr(colon + 1);
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) {
      value.remove_prefix(1);
    }
    if (h1::equalsIgnoreCase(name, "host")) {
      authority = value;
      continue;
    }
    if (connectionSpecific(name) ||
        (h1::equalsIgnoreCase(name, "te") && !h1::equalsIgnoreCase(value, "trailers"))) {
      continue;
    }
    add(name, value);
  }
  // The authority goes at its reserved slot: appended, and the slot points at it.
  const auto at = static_cast<uint32_t>(fields_.size());
  fields_.append(authority);
  field_spans_[authority_slot][2] = at;
  field_spans_[authority_slot][3] = static_cast<uint32_t>(authority.size());
  return true;
}

bool H2Upstream::connect() {
  bool full = false;  // a backend was skipped for max_connections
  while (pickBackend(env_, *ex_)) {
    replayed_ = false;
    if (attach(&full)) {
      return true;
    }
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

// Onto a connection to ex_->backend with room (a new one if none, and max_connections allow).
bool H2Upstream::attach(bool* full) {
  auto& pool = *(*env_.pools)[static_cast<size_t>(ex_->pool_index)];
  const tls::ClientContext* tls =
      env_.upstream_tls == nullptr
          ? nullptr
          : (*env_.upstream_tls)[static_cast<size_t>(ex_->pool_index)].get();
  bool opened = false;
  const bool may_open = pool.connectionRoom(ex_->tried[ex_->tries - 1]);
  conn_ = pool_.h2Connections().acquire(ex_->backend, tls, *pool.runtime().config, may_open,
                                        &opened, full);
  if (conn_ == nullptr) {
    return false;
  }
  if (opened) {
    ex_->backend_counters->connections_total.add();
  }
  ex_->backend->active.fetch_add(1, std::memory_order_relaxed);
  stream_id_ = -1;
  const bool ready = conn_->ready();
  conn_->add(this);
  if (ready) {
    onConnReady();
  } else {
    sink_.onUpstreamConnecting();
  }
  return true;
}

void H2Upstream::onConnReady() {
  ex_->connect_ms = loop_.nowMs();
  sink_.onUpstreamConnected();
}

bool H2Upstream::connected() const { return conn_ != nullptr && conn_->ready(); }

bool H2Upstream::sendBody(std::span<const uint8_t> body) {
  ex_->bytes_in += body.size();
  body_.append(reinterpret_cast<const char*>(body.data()), body.size());
  if (conn_ != nullptr) {
    conn_->resume(this);
  }
  return true;
}

bool H2Upstream::sendEnd() {
  request_end_ = true;
  if (conn_ != nullptr) {
    conn_->resume(this);
  }
  return true;
}

long H2Upstream::readBody(uint8_t* buf, size_t len, uint32_t* flags) {
  const size_t n = std::min(len, body_.size() - body_sent_);
  std::memcpy(buf, body_.data() + body_sent_, n);
  body_sent_ += n;
  if (body_sent_ > keep_bytes_) {
    body_.erase(0, body_sent_);
    body_sent_ = 0;
    body_trimmed_ = true;
  }
  if (request_end_ && body_sent_ == body_.size()) {
    *flags |= NGHTTP2_DATA_FLAG_EOF;
  } else if (n == 0) {
    return NGHTTP2_ERR_DEFERRED;
  }
  if (n > 0 && conn_ != nullptr) {
    conn_->markWritable(this);
  }
  return static_cast<long>(n);
}

int H2Upstream::onHeader(std::string_view name, std::string_view value) {
  if (name == ":status") {
    uint16_t status = 0;
    std::from_chars(value.data(), value.data() + value.size(), status);
    status_ = status;
    return 0;
  }
  if (name.starts_with(':') || connectionSpecific(name)) {
    return 0;
  }
  const auto at = static_cast<uint32_t>(resp_arena_.size());
  resp_arena_.append(name);
  resp_arena_.append(value);
  resp_spans_.push_back({at, static_cast<uint32_t>(name.size()),
                         at + static_cast<uint32_t>(name.size()),
                         static_cast<uint32_t>(value.size())});
  return 0;
}

int H2Upstream::onHeadersDone(bool end_stream) {
  resp_headers_.clear();
  for (const auto& s : resp_spans_) {
    resp_headers_.push_back({std::string_view(resp_arena_).substr(s[0], s[1]),
                             std::string_view(resp_arena_).substr(s[2], s[3])});
  }
  if (!head_seen_ && status_ != 0) {
    if (ex_->response_ms == 0) {
      ex_->response_ms = loop_.nowMs();
    }
    if (status_ >= kFirstFinal) {
      recordBackendOutcome(env_, *ex_, upstream::outcomeForStatus(status_), loop_.nowMs());
      // gRPC's UNAVAILABLE (trailers-only, in this head) before the HTTP status: a gateway status
      // with it is retried as grpc_unavailable when that is on.
      std::optional<config::RetryReason> reason =
          grpc_retry_ ? retryReasonForGrpcHead(resp_headers_) : std::nullopt;
      if (!reason) {
        reason = retryReasonForStatus(status_);
      }
      ex_->status = status_;  // for mayRetry; the sink sets it again when it forwards the head
      if (reason && mayRetry(*reason)) {
        // The answer is dropped with its stream (reset by release).
        if (ex_->backend_counters != nullptr) {
          ex_->backend_counters->countStatus(status_);
        }
        status_ = 0;
        release(false);
        retry(*reason);
        return 0;
      }
      settle();
    }
    h1::ResponseHead head;
    head.status = status_;
    head.reason = reasonFor(status_);
    head.headers = resp_headers_;
    const bool interim = status_ < kFirstFinal && status_ != kSwitchingProtocols;
    head.body = h1::BodyKind::kChunked;
    for (const auto& h : resp_headers_) {
      if (h.name == "content-length") {
        uint64_t n = 0;
        std::from_chars(h.value.data(), h.value.data() + h.value.size(), n);
        head.content_length = n;
        head.has_content_length = true;
        head.body = h1::BodyKind::kLength;
      }
    }
    if (interim || head_request_ || status_ == kNoContent || status_ == kNotModified) {
      head.body = h1::BodyKind::kNone;
    } else if (end_stream && !head.has_content_length) {
      head.body = h1::BodyKind::kLength;  // no body: an empty one, said as length 0
      head.has_content_length = true;
    }
    if (!interim) {
      head_seen_ = true;
    }
    status_ = 0;
    const bool go_on = sink_.onResponseHead(head);
    resp_arena_.clear();  // the head's views point here until the sink has it
    resp_spans_.clear();
    if (!go_on) {
      return 0;
    }
    if (!interim && !end_stream) {
      return 0;
    }
    if (interim) {
      return 0;
    }
    resp_headers_.clear();
  } else if (head_seen_) {
    in_trailers_ = true;
  }
  if (end_stream && conn_ != nullptr && !ended_) {
    ended_ = true;
    // The backend's answer is complete; our side may still be sending (an early answer): the
    // release resets it then.
    const bool whole = request_end_ && body_sent_ == body_.size();
    sink_.onResponseEnd(
        in_trailers_ ? std::span<const h1::Header>(resp_headers_) : std::span<const h1::Header>(),
        whole);
  }
  return 0;
}

int H2Upstream::onData(std::span<const uint8_t> data) {
  ex_->bytes_out += data.size();
  unconsumed_ += static_cast<uint32_t>(data.size());
  conn_->markTouched(this);
  sink_.onResponseBody(data);
  return 0;
}

void H2Upstream::onBatchDone() {
  touched_ = false;
  if (sink_.onResponseBatchDone()) {
    if (conn_ != nullptr && unconsumed_ > 0) {
      conn_->consume(this, std::exchange(unconsumed_, 0));
    }
  } else {
    paused_ = true;
  }
}

void H2Upstream::pauseReading() { paused_ = true; }

void H2Upstream::resumeReading() {
  paused_ = false;
  if (conn_ != nullptr && unconsumed_ > 0) {
    conn_->consume(this, std::exchange(unconsumed_, 0));
  }
}

void H2Upstream::onClosed(uint32_t error_code) {
  if (ended_ || conn_ == nullptr) {
    return;
  }
  const bool refused = error_code == NGHTTP2_REFUSED_STREAM;
  core::LogLine(core::LogLevel::kWarn, "l7.h2_upstream_stream_reset", core::LogRepeat::kLimited)
      .str("listener", env_.listener->name)
      .str("backend", ex_->backend ? ex_->backend->name : "")
      .str("code", nghttp2_http2_strerror(error_code));
  onConnFailed(ECONNRESET, refused);
}

// The stream's connection failed or the backend reset or refused it. A refused stream (never
// processed) goes again to the same backend; an unanswered one goes to another backend when the
// pool's `retries:` allow, else once more to the same backend when it is idempotent (the
// connection may have been lost under it, as a stale HTTP/1.1 one is); anything else is a 502.
void H2Upstream::onConnFailed(int err, bool refused) {
  const bool was_ready = conn_ != nullptr && conn_->ready();
  const bool resendable = !head_seen_ && !body_trimmed_;
  if (!refused && was_ready && !head_seen_) {
    // Reset before any answer (a connect failure counts in fail). A refused stream is the
    // backend shedding load as the protocol allows, not a fault.
    recordBackendOutcome(env_, *ex_, upstream::Outcome::kLocalFailure, loop_.nowMs());
  }
  if (conn_ != nullptr) {
    ex_->backend->active.fetch_sub(1, std::memory_order_relaxed);
    H2UpstreamConn* c = std::exchange(conn_, nullptr);
    body_sent_ = 0;  // what went out goes again
    c->remove(this, false);
  }
  if (!was_ready) {
    fail(err, "connect");
    return;
  }
  if (resendable) {
    // A first refusal stays with its backend; a reset, or a second refusal, may move on.
    const bool refused_first = refused && !replayed_;
    if (!refused_first && mayRetry(config::RetryReason::kReset)) {
      retry(config::RetryReason::kReset);
      return;
    }
    if ((refused || idempotent_) && !replayed_) {
      replayed_ = true;
      ex_->backend_counters->retries_total.add();
      bool full = false;
      if (attach(&full)) {  // the same backend, on another connection
        return;
      }
    }
  }
  core::LogLine(core::LogLevel::kWarn, "l7.upstream_failed", core::LogRepeat::kLimited)
      .str("listener", env_.listener->name)
      .str("backend", ex_->backend ? ex_->backend->name : "")
      .str("stage", head_seen_ ? "body" : "response")
      .str("reason", strerror(err));
  settle();
  sink_.onUpstreamError(kBadGateway, head_seen_ ? "body" : "response");
}

void H2Upstream::fail(int err, const char* stage) {
  if (backoff_pending_) {
    // The sink's timer ran out while a retry waited for its backoff: go now.
    core::TimerWheel::cancel(backoff_timer_);
    backoff_pending_ = false;
    connect();
    return;
  }
  const bool unsent = conn_ == nullptr || !conn_->ready();
  if (ex_ != nullptr && !head_seen_) {
    recordBackendOutcome(env_, *ex_, upstream::Outcome::kLocalFailure, loop_.nowMs());
  }
  if (ex_ != nullptr && ex_->backend_counters != nullptr && unsent) {
    ex_->backend_counters->connect_errors_total.add();
    if (err == ETIMEDOUT) {
      ex_->backend_counters->timeouts_total.add();
    }
    if (policy_ != nullptr && policy_->retriesOn(config::RetryReason::kConnectFailure)) {
      ex_->backend_counters
          ->http_retries_total[static_cast<size_t>(config::RetryReason::kConnectFailure)]
          .add();
    }
  }
  core::LogLine(core::LogLevel::kWarn, "l7.upstream_failed", core::LogRepeat::kLimited)
      .str("listener", env_.listener->name)
      .str("backend", ex_ != nullptr && ex_->backend ? ex_->backend->name : "")
      .str("stage", stage)
      .str("reason", strerror(err));
  release(false);
  if (unsent && ex_ != nullptr) {
    body_sent_ = 0;
    connect();
    return;
  }
  settle();
  sink_.onUpstreamError(err == ETIMEDOUT && !head_seen_ ? kGatewayTimeout : kBadGateway, stage);
}

bool H2Upstream::mayRetry(config::RetryReason reason) {
  const bool grpc = reason == config::RetryReason::kGrpcUnavailable;
  if (ex_ == nullptr || !(may_retry_ || (grpc && grpc_retry_)) || !policy_->retriesOn(reason) ||
      body_trimmed_ || ex_->tries >= policy_->attempts || counted_ == nullptr) {
    return false;
  }
  // A retry on an answer waits for the whole request: the backend may answer early, mid-body.
  if ((grpc || retryReasonForStatus(ex_->status)) && !request_end_) {
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

// The stream is already released: the request (head and kept body) goes to another backend
// after the policy's backoff.
void H2Upstream::retry(config::RetryReason reason) {
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
  status_ = 0;
  head_seen_ = in_trailers_ = ended_ = false;
  resp_arena_.clear();
  resp_spans_.clear();
  body_sent_ = 0;
  stream_id_ = -1;
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

void H2Upstream::onBackoff(void* self) {
  auto* u = static_cast<H2Upstream*>(self);
  u->backoff_pending_ = false;
  u->connect();
}

bool H2Upstream::retryAfterTimeout() {
  if (conn_ == nullptr || !conn_->ready() || ex_ == nullptr || ex_->response_ms != 0) {
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

uint64_t H2Upstream::responseWaitMs(uint64_t response_header_ms) const {
  if (policy_ == nullptr || !policy_->enabled || policy_->per_try_timeout.count() == 0) {
    return response_header_ms;
  }
  return std::min(response_header_ms, static_cast<uint64_t>(policy_->per_try_timeout.count()));
}

void H2Upstream::release(bool /*reusable*/) {
  // A sink that lets go during a retry's backoff gives the exchange up (retry() arms the backoff
  // only after its own release).
  core::TimerWheel::cancel(backoff_timer_);
  backoff_pending_ = false;
  if (conn_ == nullptr) {
    return;
  }
  if (ex_ != nullptr && ex_->backend) {
    ex_->backend->active.fetch_sub(1, std::memory_order_relaxed);
  }
  H2UpstreamConn* c = std::exchange(conn_, nullptr);
  // A stream still open either way is cancelled at the backend; the connection stays shared.
  c->remove(this, !ended_ || !request_end_ || body_sent_ != body_.size());
}

}  // namespace ballast::l7
