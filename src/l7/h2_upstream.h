// src/l7/h2_upstream.h — the HTTP/2 upstream connector, for pools with `upstream_protocol: h2`
// (over the pool's TLS, ALPN h2) or `h2c` (prior knowledge in cleartext). Each exchange becomes
// one stream on a connection the worker shares between its exchanges: up to the pool's
// `max_streams_per_connection` (and the backend's own SETTINGS limit) per connection, more
// connections when those are full. It takes the same request head and body calls as H1Upstream
// (the head arrives as HTTP/1.1 text, already rewritten by the session) and answers the same
// UpstreamSink, so either downstream codec reaches an h2 backend unchanged.
//
// Streams the backend never processed (refused, or above a GOAWAY's last-stream-id) go again on
// another connection, unseen by the client. The pool's `retries:` apply as they do to HTTP/1.1:
// a reset or an unanswered try (per_try_timeout) and the listed statuses go to another backend,
// within the budget, after the backoff. A pool's `max_connections` bounds the connections opened
// (a connection carries many streams, so the limit counts sockets, not requests).
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/event_loop.h"
#include "l7/exchange_core.h"
#include "l7/h1_upstream.h"
#include "l7/upstream_pool.h"

namespace ballast::l7 {

class H2UpstreamConn;

// A worker's HTTP/2 connections to backends, per backend and TLS context. Owned by the worker's
// UpstreamPool (h2Connections()), so it goes before the sockets it borrows from it.
class H2Connections {
 public:
  explicit H2Connections(core::EventLoop& loop, UpstreamPool& pool);
  ~H2Connections();
  H2Connections(const H2Connections&) = delete;
  H2Connections& operator=(const H2Connections&) = delete;

  // A connection to `backend` with room for one more stream (opening one if needed); nullptr
  // (errno set) when no socket could be made.
  // `config` gives max_streams_per_connection and the idle timeout of a new connection.
  // `may_open`: a new connection fits the backend's and the pool's max_connections; when false
  // and no open connection has room, nullptr with *full set.
  H2UpstreamConn* acquire(const upstream::BackendStatePtr& backend, const tls::ClientContext* tls,
                          const config::Pool& config, bool may_open, bool* opened, bool* full);
  // `c` takes no new streams (GOAWAY, lost): later acquires open another.
  void retire(H2UpstreamConn* c);
  // `c` has no stream left and is retired: destroyed on the next loop turn.
  void bury(H2UpstreamConn* c);
  size_t live() const;
  // Shutdown: close the connections no stream uses.
  void closeIdle();

 private:
  static void onReap(void* self);
  using Key = std::pair<const upstream::BackendState*, const tls::ClientContext*>;
  struct KeyHash {
    size_t operator()(const Key& k) const {
      return std::hash<const void*>()(k.first) * 31 + std::hash<const void*>()(k.second);
    }
  };
  core::EventLoop& loop_;
  UpstreamPool& pool_;
  std::unordered_map<Key, std::vector<std::unique_ptr<H2UpstreamConn>>, KeyHash> conns_;
  std::vector<std::unique_ptr<H2UpstreamConn>> retired_;
  std::vector<std::unique_ptr<H2UpstreamConn>> dead_;
  core::Timer reap_;
};

class H2Upstream {
 public:
  H2Upstream(core::EventLoop& loop, UpstreamPool& pool, const ExchangeEnv& env, UpstreamSink& sink);
  H2Upstream(const H2Upstream&) = delete;
  H2Upstream& operator=(const H2Upstream&) = delete;
  ~H2Upstream();

  // As H1Upstream::begin: `head` is the HTTP/1.1 request head the session wrote; its request
  // line, Host and end-to-end fields become the HTTP/2 header block.
  bool begin(Exchange& ex, std::string_view head);
  bool connect();
  bool sendBody(std::span<const uint8_t> body);
  bool sendEnd();
  void fail(int err, const char* stage);
  // As H1Upstream's: no response head within the try's time. Records the backend's failure;
  // true when the request went to another backend (`retries:` on timeout).
  bool retryAfterTimeout();
  uint64_t responseWaitMs(uint64_t response_header_ms) const;
  void release(bool reusable);
  // The exchange no longer waits on the pool: out of the retry budget's counts.
  void settle();
  void pauseReading();
  void resumeReading();
  bool attached() const { return conn_ != nullptr; }
  bool connected() const;
  uint32_t backlog() const { return static_cast<uint32_t>(body_.size() - body_sent_); }

 private:
  friend class H2UpstreamConn;
  // false: no connection (errno), or *full when max_connections left no room for one.
  bool attach(bool* full);
  bool mayRetry(config::RetryReason reason);
  void retry(config::RetryReason reason);
  static void onBackoff(void* self);
  // From the connection.
  void onConnReady();
  void onConnFailed(int err, bool refused);
  int onHeader(std::string_view name, std::string_view value);
  int onHeadersDone(bool end_stream);
  int onData(std::span<const uint8_t> data);
  void onClosed(uint32_t error_code);
  void onBatchDone();
  long readBody(uint8_t* buf, size_t len, uint32_t* flags);

  core::EventLoop& loop_;
  UpstreamPool& pool_;
  const ExchangeEnv& env_;
  UpstreamSink& sink_;
  Exchange* ex_ = nullptr;
  H2UpstreamConn* conn_ = nullptr;
  int32_t stream_id_ = -1;
  // The request: header names and values (lowercase names), and body bytes not yet framed. The
  // body's first bytes are kept (up to kReplayBodyBytes) so a refused stream can go again.
  std::string fields_;
  std::vector<std::array<uint32_t, 4>> field_spans_;
  std::string body_;
  size_t body_sent_ = 0;
  bool body_trimmed_ = false;  // bytes already dropped: no replay possible
  size_t keep_bytes_ = 0;      // body bytes kept for a replay: retry_buffer or kReplayBodyBytes
  bool request_end_ = false;
  bool idempotent_ = false;
  // A lost connection's stream went again to the same backend once in this try: a backend that
  // resets every connection must not hold the exchange in a loop.
  bool replayed_ = false;
  // `retries:` (see H1Upstream).
  const config::RetryPolicy* policy_ = nullptr;
  upstream::WorkerPool* counted_ = nullptr;
  core::Timer backoff_timer_;
  bool may_retry_ = false;
  // A gRPC request on a pool whose `on` names grpc_unavailable: an UNAVAILABLE answer is retried
  // whatever the method (the operator's choice, docs/resilience.md), even when may_retry_ is
  // false.
  bool grpc_retry_ = false;
  bool retry_counted_ = false;
  bool backoff_pending_ = false;
  // The response.
  std::string resp_arena_;
  std::vector<std::array<uint32_t, 4>> resp_spans_;
  std::vector<proto::http1::Header> resp_headers_;
  uint16_t status_ = 0;
  bool head_seen_ = false;
  bool in_trailers_ = false;
  bool ended_ = false;
  bool paused_ = false;
  bool touched_ = false;  // got data in the current read
  uint32_t unconsumed_ = 0;
  bool head_request_ = false;
};

}  // namespace ballast::l7
