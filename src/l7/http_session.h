// src/l7/http_session.h — one HTTP/1.1 client connection through the reverse proxy: requests are
// parsed strictly, routed, rewritten (hop-by-hop fields out, X-Forwarded-* in) and sent through
// the HTTP/1 upstream connector (h1_upstream.h); responses come back reframed for the client.
// Requests are handled one at a time; pipelined ones wait in the kernel until the previous response
// is out.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "config/config_types.h"
#include "core/chunk_pool.h"
#include "core/event_loop.h"
#include "core/line_writer.h"
#include "core/local_ref.h"
#include "core/log.h"
#include "core/timer_wheel.h"
#include "l4/splice_pipe.h"
#include "l7/exchange_core.h"
#include "l7/forwarding_headers.h"
#include "l7/h2_session.h"
#include "l7/http_upstream.h"
#include "l7/router.h"
#include "l7/upstream_pool.h"
#include "proto/http1/request_parser.h"
#include "tls/server_context.h"
#include "tls/tls_stream.h"
#include "upstream/worker_pool.h"

namespace ballast::l4 {
template <typename Session>
class StreamListener;
}

namespace ballast::l7 {

class HttpSession;

// What an HTTP/1 client session needs beyond the exchange core's view of its listener.
struct HttpEnv : ExchangeEnv {
  core::EventLoop* loop = nullptr;
  core::LocalRefCounted* epoch = nullptr;  // keeps listener, router and pools alive
  l4::StreamListener<HttpSession>* owner = nullptr;
  UpstreamPool* upstreams = nullptr;
  const tls::ServerContext* tls = nullptr;  // protocol: https; null for cleartext
};

class HttpSession final : public core::StreamHandler, public UpstreamSink, public H2Transport {
 public:
  using Env = HttpEnv;
  HttpSession(const HttpEnv& env, int client_fd);
  ~HttpSession();
  HttpSession(const HttpSession&) = delete;
  HttpSession& operator=(const HttpSession&) = delete;

  void start();
  void abort();
  // Graceful stop: close now if idle between requests, else after the response in flight.
  void drain();
  uint32_t live_index = 0;

  // Client stream.
  void onConnect(core::Stream& s, int err) override;
  void onRecv(core::Stream& s, core::ChunkId id, uint32_t len) override;
  void onRecvEnd(core::Stream& s, int err) override;
  void onSent(core::Stream& s, int64_t result) override;
  void onReleased(core::Stream& s) override;
  void onSpliced(core::Stream& s, uint32_t len) override;  // a request body into upload_pipe_
  uint64_t spliceLimit(core::Stream& s) override;

  // The H1 upstream connector's sink (http_session_upstream.cpp).
  void onUpstreamConnecting() override;
  void onUpstreamConnected() override;
  bool onResponseHead(const proto::http1::ResponseHead& head) override;
  bool onResponseBody(std::span<const uint8_t> body) override;
  void onResponseEnd(std::span<const proto::http1::Header> trailers, bool reusable) override;
  void onTunnel(std::span<const uint8_t> rest) override;
  void onTunnelData(core::ChunkId id, uint32_t len) override;
  void onTunnelEnd(int err) override;
  void onUpstreamError(uint16_t status, const char* why) override;
  void onRequestWritable() override;
  bool onResponseBatchDone() override;
  int responseBodyPipe(uint64_t length) override;
  void onResponseSpliced(uint32_t len) override;

  // The HTTP/2 codec's transport, once the connection speaks h2.
  bool h2Write(const uint8_t* data, size_t len) override { return appendClient(data, len); }
  void h2Flush() override { flushClient(); }
  uint32_t h2Backlog() const override { return clientBacklog(); }
  void h2Close() override;

 private:
  enum class State : uint8_t {
    kIdle,      // between requests (keep-alive timer)
    kHead,      // a request head is arriving (header timer)
    kExchange,  // a request is being forwarded and/or its response returned
    kTunnel,    // after 101: raw bytes both ways
    kH2,        // the connection speaks HTTP/2: h2_ has the streams
    kClosing,   // flushing a last response, then closing
    kDone,
  };
  // The exchange core's record plus what HTTP/1 framing needs on both sides.
  struct H1Exchange : Exchange {
    bool request_chunked = false;
    bool request_done = false;
    bool response_started = false;  // a head went to the client
    bool response_chunked = false;  // we reframe the body as chunked for the client
    bool client_keep_alive = true;
    bool upgrade_requested = false;  // Upgrade or CONNECT: the parser waits for 101 or resume()
    bool bodiless = false;           // the request has no body (and is no upgrade)
    bool upload_pipe_tried = false;  // maybeSpliceUpload asked for a pipe: once per exchange
    uint8_t client_minor = 1;
    void reset();
  };

  core::EventLoop& loop() const { return *env_.loop; }
  void processClientInput();
  bool readClientProxyHeader();  // false: wait for more bytes, or the connection was closed
  bool onRequestHead();
  void onRequestBody(std::span<const uint8_t> body);
  void onRequestEnd();
  void finishExchange();
  // A response of our own, then close. `location`: a redirect's target.
  void respondError(uint16_t status, std::string_view why, std::string_view location = {});
  // An answer of our own with a text body (ACME http-01), then close.
  void respondLocal(uint16_t status, std::string_view body);
  void flushClient();
  // A send from response_pipe_ finished: `sent` bytes reached the client's socket.
  void onPipeSent(uint64_t sent);
  // With the request's buffered bytes parsed: the rest of a large body goes through
  // upload_pipe_ to the backend, where the connector allows it.
  void maybeSpliceUpload();
  // The client's socket reads into chunks again (the body is in, or the exchange is over).
  void endUploadSplice();
  // A pipe could not be made (fd budget, pipe pages): counted and logged; the copy path serves.
  std::unique_ptr<l4::SplicePipe> makePipe();
  void closeClient(bool reset);
  void armTimer(uint64_t ms);
  void armExchangeTimer();  // once upstream is connected: body idle while uploading, else response
  void accessLog();
  // The client left while the exchange was in flight: counted and logged, not lost.
  void abandonExchange();
  static void onTimer(void* self);
  bool appendClient(const void* data, size_t len);
  bool appendLastChunk(std::span<const proto::http1::Header> trailers);
  bool appendBody(std::span<const uint8_t> body);
  // TLS (https listeners): ciphertext in, plaintext to `into`; false when the session ended.
  // `bytes` lie in chunk `id`, which this releases.
  bool decryptClient(core::ChunkId id, std::span<const uint8_t> bytes, core::ChunkQueue& into);
  // Bytes queued towards the client, before and after encryption (backpressure).
  uint32_t clientBacklog() const { return client_out_.bytes() + client_wire_.bytes(); }
  void beginExchange();
  // ALPN chose h2, or a cleartext `http2: true` listener sees the HTTP/2 preface.
  bool wantsH2() const;
  void enterH2();
  void feedH2();

  HttpEnv env_;
  core::Stream client_;
  core::ChunkQueue client_in_;    // received, not yet parsed (pipelined requests wait here)
  core::ChunkQueue client_out_;   // to write to the client (plaintext)
  core::ChunkQueue client_wire_;  // TLS only: client_out_ encrypted, on its way to the socket
  std::unique_ptr<tls::TlsStream> tls_;  // https listeners only
  struct ClientIdentity {                // mTLS: the verified client certificate, if any
    std::string subject;
    std::string fingerprint;
  };
  std::unique_ptr<ClientIdentity> client_identity_;
  // mTLS listeners: the client's verified identity (empty fields when it sent no certificate),
  // read once per connection; null on listeners without client_auth.
  const ClientIdentity* clientIdentity();
  // A large Content-Length response body on its way from the backend's socket to the client's
  // (responseBodyPipe); made per such response and closed at its end. Declared before up_ so
  // that it outlives the upstream socket's splice mode.
  std::unique_ptr<l4::SplicePipe> response_pipe_;
  // The same for a large Content-Length request body, client socket to backend socket
  // (maybeSpliceUpload); the connector sends from it.
  std::unique_ptr<l4::SplicePipe> upload_pipe_;
  HttpUpstream up_;  // the backend side of the exchange in flight
  bool client_reading_ = false;
  bool client_eof_ = false;
  bool close_after_flush_ = false;
  bool client_released_ = true;
  bool draining_ = false;  // graceful stop: answer what comes with Connection: close
  bool shut_wr_ = false;   // lingering close: our FIN is out, draining the client's bytes
  bool response_pipe_sending_ = false;  // the client send in flight is from response_pipe_
  bool finish_after_pipe_ = false;      // the backend's part is done; the pipe still drains
  bool upload_splicing_ = false;        // the client's socket splices into upload_pipe_
  State state_ = State::kIdle;
  core::Timer timer_;
  uint64_t last_activity_ms_ = 0;
  proto::http1::RequestParser request_parser_;
  std::unique_ptr<H1Exchange> ex_;     // the request in flight; none while idle
  std::unique_ptr<H1Exchange> spare_;  // the last one, reused so a request allocates nothing
  net::SocketAddress peer_;            // the client (as a trusted PROXY header names it)
  bool peer_trusted_ = false;          // the TCP peer is in trusted_proxies
  bool awaiting_proxy_header_ = false;
  bool h2_checked_ = false;  // the first bytes were looked at for HTTP/2
  // An answer of ours went out at a bodiless request's head and the connection stays open: the
  // parser's end-of-message event for that request is still to come, and is dropped.
  bool skip_message_end_ = false;
  std::unique_ptr<H2Connection> h2_;  // HTTP/2 connections only
};

}  // namespace ballast::l7
