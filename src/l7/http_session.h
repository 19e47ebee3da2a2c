// src/l7/http_session.h — one HTTP/1.1 client connection through the reverse proxy: requests are
// parsed strictly, routed, rewritten (hop-by-hop fields out, X-Forwarded-* in) and sent over a
// pooled keep-alive upstream connection; responses come back reframed for the client. Requests
// are handled one at a time; pipelined ones wait in the kernel until the previous response is out.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "config/config_types.h"
#include "core/chunk_pool.h"
#include "core/event_loop.h"
#include "core/line_writer.h"
#include "core/local_ref.h"
#include "core/log.h"
#include "core/timer_wheel.h"
#include "l7/exchange_core.h"
#include "l7/forwarding_headers.h"
#include "l7/router.h"
#include "l7/upstream_pool.h"
#include "proto/http1/request_parser.h"
#include "proto/http1/response_parser.h"
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
  // Per pool (ExchangeEnv::pools order): TLS towards its backends, null for cleartext.
  const std::vector<std::shared_ptr<tls::ClientContext>>* upstream_tls = nullptr;
};

class HttpSession final : public core::StreamHandler, public UpstreamUser {
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

  // Upstream connection.
  void onUpstreamConnect(int err) override;
  void onUpstreamData(core::ChunkId id, uint32_t len) override;
  void onUpstreamEnd(int err) override;
  void onUpstreamSent(int64_t result) override;

 private:
  enum class State : uint8_t {
    kIdle,      // between requests (keep-alive timer)
    kHead,      // a request head is arriving (header timer)
    kExchange,  // a request is being forwarded and/or its response returned
    kTunnel,    // after 101: raw bytes both ways
    kClosing,   // flushing a last response, then closing
    kDone,
  };
  // The exchange core's record plus what HTTP/1 framing needs on both sides.
  struct H1Exchange : Exchange {
    std::string replay;  // the head of a bodiless request, resent if a reused connection was stale
    bool request_chunked = false;
    bool request_done = false;
    bool response_started = false;  // a head went to the client
    bool response_chunked = false;  // we reframe the body as chunked for the client
    bool client_keep_alive = true;
    bool upgrade_requested = false;  // Upgrade or CONNECT: the parser waits for 101 or resume()
    uint8_t client_minor = 1;
    void reset();
  };

  core::EventLoop& loop() const { return *env_.loop; }
  void processClientInput();
  bool readClientProxyHeader();  // false: wait for more bytes, or the connection was closed
  bool onRequestHead();
  void onRequestBody(std::span<const uint8_t> body);
  void onRequestEnd();
  bool connectUpstream();
  void onUpstreamFailed(int err, const char* what);
  bool onResponseHead(const proto::http1::ResponseHead& head);
  void onResponseEnd(bool reusable);
  void finishExchange();
  // A response of our own, then close. `location`: a redirect's target.
  void respondError(uint16_t status, std::string_view why, std::string_view location = {});
  // An answer of our own with a text body (ACME http-01), then close.
  void respondLocal(uint16_t status, std::string_view body);
  void flushClient();
  void flushUpstream();
  void releaseUpstream(bool reusable);
  void closeClient(bool reset);
  void enterTunnel(std::span<const uint8_t> rest);
  void armTimer(uint64_t ms);
  void armExchangeTimer();  // once upstream is connected: body idle while uploading, else response
  void accessLog();
  static void onTimer(void* self);
  bool appendClient(const void* data, size_t len);
  // TLS (https listeners): ciphertext in, plaintext to `into`; false when the session ended.
  // `bytes` lie in chunk `id`, which this releases.
  bool decryptClient(core::ChunkId id, std::span<const uint8_t> bytes, core::ChunkQueue& into);
  // Bytes queued towards the client, before and after encryption (backpressure).
  uint32_t clientBacklog() const { return client_out_.bytes() + client_wire_.bytes(); }
  bool appendUpstream(const void* data, size_t len);
  const tls::ClientContext* upstreamTls() const {
    return env_.upstream_tls == nullptr
               ? nullptr
               : (*env_.upstream_tls)[static_cast<size_t>(ex_->pool_index)].get();
  }
  void beginExchange();

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
  core::ChunkQueue up_out_;  // to write upstream
  UpstreamConn* upstream_ = nullptr;
  bool upstream_connected_ = false;
  bool client_reading_ = false;
  bool upstream_reading_ = false;
  bool client_eof_ = false;
  bool close_after_flush_ = false;
  bool client_released_ = true;
  bool draining_ = false;  // graceful stop: answer what comes with Connection: close
  bool shut_wr_ = false;   // lingering close: our FIN is out, draining the client's bytes
  State state_ = State::kIdle;
  core::Timer timer_;
  uint64_t last_activity_ms_ = 0;
  proto::http1::RequestParser request_parser_;
  proto::http1::ResponseParser response_parser_;
  std::unique_ptr<H1Exchange> ex_;     // the request in flight; none while idle
  std::unique_ptr<H1Exchange> spare_;  // the last one, reused so a request allocates nothing
  net::SocketAddress peer_;            // the client (as a trusted PROXY header names it)
  bool peer_trusted_ = false;          // the TCP peer is in trusted_proxies
  bool awaiting_proxy_header_ = false;
};

}  // namespace ballast::l7
