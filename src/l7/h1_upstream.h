// src/l7/h1_upstream.h — the HTTP/1.1 upstream connector: carries one exchange at a time to a
// backend over a pooled keep-alive connection. It picks the backend (through the exchange core),
// connects or reuses, retries what is safe to retry, writes the request bytes (reframing a
// chunked body), parses the response strictly and hands head, body and end to its sink: the
// downstream codec session (HTTP/1 today, HTTP/2 streams next). It never sees the client.
//
// A session embeds one connector per exchange slot and reuses it, so a request allocates nothing.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "core/event_loop.h"
#include "l7/exchange_core.h"
#include "l7/upstream_pool.h"
#include "proto/http1/response_parser.h"
#include "upstream/worker_pool.h"

namespace ballast::l7 {

// What a downstream codec implements to receive a response from an upstream connector. Every
// call comes from the owning worker; the connector may be released from inside any of them.
class UpstreamSink {
 public:
  // A socket is being opened to ex.backend: arm the connect timeout.
  virtual void onUpstreamConnecting() = 0;
  // Connected, or a kept-alive connection was lent (ex.connect_ms is set).
  virtual void onUpstreamConnected() = 0;
  // A response head: interim (1xx) or final. false: the sink gave up (it released the
  // connector or closed); parsing stops.
  virtual bool onResponseHead(const proto::http1::ResponseHead& head) = 0;
  // Response body bytes, as decoded from the backend's framing. false: stop, as above.
  virtual bool onResponseBody(std::span<const uint8_t> body) = 0;
  // The response is complete; `trailers` are the backend's (empty unless chunked with
  // trailers). `reusable`: the backend allows keep-alive and sent nothing beyond the response.
  // The sink releases the connector.
  virtual void onResponseEnd(std::span<const proto::http1::Header> trailers, bool reusable) = 0;
  // The backend switched protocols (101, or 2xx to CONNECT): `rest` are its first raw bytes.
  // From here on the connector passes raw chunks to onTunnelData and the end to onTunnelEnd.
  virtual void onTunnel(std::span<const uint8_t> rest) = 0;
  virtual void onTunnelData(core::ChunkId id, uint32_t len) = 0;  // the sink owns the chunk
  virtual void onTunnelEnd(int err) = 0;
  // No backend could take the request, or the response failed past what may be retried. The
  // connector is already released. `status` is what to answer (502/503) if nothing was sent
  // yet; `why` is static text for the log.
  virtual void onUpstreamError(uint16_t status, const char* why) = 0;
  // Request bytes went out: more body may now fit (see H1Upstream::backlog).
  virtual void onRequestWritable() = 0;
  // What one read from the backend carried was handed over: a good moment to flush towards the
  // client. Returns whether the connector may read more now (the sink's backlog is bounded).
  virtual bool onResponseBatchDone() = 0;
  // Bulk bodies. After a final head, a Content-Length body of `length` bytes (at least
  // kBodySpliceMinBytes) is about to stream: the write end of a pipe the sink sends to its
  // client from, to splice the body into without copying it, or -1 to take it as
  // onResponseBody. Bytes read before the switch still come as onResponseBody, and come first.
  virtual int responseBodyPipe(uint64_t /*length*/) { return -1; }
  // `len` more body bytes are in that pipe (counted in ex.bytes_out). onResponseEnd follows
  // the last of them.
  virtual void onResponseSpliced(uint32_t /*len*/) {}

 protected:
  ~UpstreamSink() = default;
};

class H1Upstream final : public UpstreamUser {
 public:
  // Response bodies from this size on are offered to the sink's pipe (responseBodyPipe); below
  // it a pipe's set-up costs more than the copies it saves.
  static constexpr uint64_t kBodySpliceMinBytes = 256 * 1024;

  H1Upstream(core::EventLoop& loop, UpstreamPool& pool, const ExchangeEnv& env,
             const proto::http1::Limits& response_limits, UpstreamSink& sink);
  H1Upstream(const H1Upstream&) = delete;
  H1Upstream& operator=(const H1Upstream&) = delete;
  ~H1Upstream();

  // Starts `ex`: queues its request head `head` (written whole by the caller) for `method`.
  // `chunked`: body bytes given to sendBody are framed as chunks. `replayable`: a bodiless
  // request, resent whole if a reused connection turns out stale. `upgrade`: the request asks
  // for a tunnel, never retried. With the pool's `retries:`, an idempotent request (any, with
  // retry_non_idempotent) is kept, body included up to retry_buffer, to be sent again to
  // another backend. false: out of buffers.
  bool begin(Exchange& ex, std::string_view method, std::string_view head, bool chunked,
             bool replayable, bool upgrade = false);
  // Picks a backend and connects (or reuses). false: none could be tried; onUpstreamError was
  // called.
  bool connect();
  bool sendBody(std::span<const uint8_t> body);  // false: out of buffers
  bool sendEnd();                                // the request is complete
  // Raw bytes in a tunnel (or a preface): queued as they are.
  bool sendRaw(const void* data, size_t len);
  void flush();

  // The attempt failed at `stage` (err is an errno): retried when safe, else onUpstreamError.
  void fail(int err, const char* stage);
  // No response head came within the try's time (the sink's timer): true when the request went
  // to another backend (retries: on timeout); false leaves the answer (504) to the sink.
  bool retryAfterTimeout();
  // The time a try may wait for its response head: the pool's per_try_timeout when set.
  uint64_t responseWaitMs(uint64_t response_header_ms) const;
  // Done with the connection: back to the pool if `reusable`, else closed.
  void release(bool reusable);
  // The response is over and a client may read: the parser stops reading the backend.
  void pauseReading();
  void resumeReading();
  // The sink's pipe has room again: a splice that stopped on a full pipe reads on.
  void pipeHasRoom();
  // Bulk request bodies (uploads). Whether the rest of the body may come through a pipe: a
  // cleartext pool, a Content-Length body (no reframing), and nothing kept to replay.
  bool canTakeBodyPipe() const;
  // From now on the body's bytes are in `pipe_r` (after what sendBody queued): bodyPiped says
  // how many more. They are counted in ex.bytes_in and sent once the queue is out.
  void bodyFromPipe(int pipe_r);
  void bodyPiped(uint32_t len);
  // After the client's end in a tunnel: our FIN to the backend once everything queued is out.
  void shutdownWhenFlushed();

  bool attached() const { return conn_ != nullptr; }
  // TLS towards the exchange's pool, null for cleartext.
  const tls::ClientContext* upstreamTls() const;
  bool connected() const { return conn_ != nullptr && connected_; }
  uint32_t backlog() const { return out_.bytes(); }  // request bytes not yet written
  bool tunnel() const { return tunnel_; }
  // The exchange no longer waits on the pool: out of the retry budget's counts.
  void settle();
  // Client bytes to be written upstream (a TLS session decrypts into it in a tunnel).
  core::ChunkQueue& out() { return out_; }

  // UpstreamUser.
  void onUpstreamConnect(int err) override;
  void onUpstreamData(core::ChunkId id, uint32_t len) override;
  void onUpstreamEnd(int err) override;
  void onUpstreamSent(int64_t result) override;
  void onUpstreamSpliced(uint32_t len) override;
  uint64_t upstreamSpliceLimit() override { return splicing_ ? parser_.bodyLengthLeft() : 0; }

 private:
  void onConnected();
  // After a final head: hands the rest of a large Content-Length body to the sink's pipe.
  void maybeSpliceBody();
  void endSplice();
  bool append(const void* data, size_t len);
  bool keep(const void* data, size_t len);  // also into replay_, while the body fits
  // Whether a failed try (for `reason`) may go to another backend now: the policy allows it and
  // the budget has room (a refusal is counted). Retry counters are not touched.
  bool mayRetry(config::RetryReason reason);
  // Sends the kept request to another backend, after the policy's backoff.
  void retry(config::RetryReason reason);
  static void onBackoff(void* self);

  core::EventLoop& loop_;
  UpstreamPool& pool_;
  const ExchangeEnv& env_;
  UpstreamSink& sink_;
  proto::http1::ResponseParser parser_;
  Exchange* ex_ = nullptr;
  UpstreamConn* conn_ = nullptr;
  core::ChunkQueue out_;  // to write upstream
  // The request as sent so far (head, and body up to retry_buffer), resent if a reused conn was
  // stale or a try is retried. Empty: not kept (too large, or not safe to send twice).
  std::string replay_;
  std::string method_;  // for the parser of a retried try
  size_t head_bytes_ = 0;
  const config::RetryPolicy* policy_ = nullptr;
  upstream::WorkerPool* counted_ = nullptr;  // the pool whose budget counts this exchange
  core::Timer backoff_timer_;
  bool keeping_ = false;    // replay_ still holds everything sent
  bool may_retry_ = false;  // the policy may retry this request (method, no upgrade)
  bool request_ended_ = false;
  bool retry_counted_ = false;
  bool backoff_pending_ = false;
  bool connected_ = false;
  bool reading_ = false;
  bool chunked_ = false;
  bool tunnel_ = false;
  bool shut_after_flush_ = false;
  bool splicing_ = false;             // the response body goes from the socket into the sink's pipe
  bool upload_pipe_sending_ = false;  // the send in flight is from the request body's pipe
  int upload_pipe_r_ = -1;            // the request body's pipe (bodyFromPipe), -1 when none
  uint32_t upload_pipe_bytes_ = 0;    // request body bytes in it, not yet sent
};

}  // namespace ballast::l7
