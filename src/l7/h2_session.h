// src/l7/h2_session.h — the HTTP/2 downstream codec: one client connection speaking h2 (ALPN on
// https listeners) or h2c (prior knowledge on `http2: true` listeners). libnghttp2 does framing,
// HPACK and the RFC 9113 message checks; this class owns the streams, their memory and flow
// control. Each stream is one exchange through the exchange core, forwarded to its backend by
// the HTTP/1 upstream connector (h1_upstream.h), of which the stream is the sink.
//
// The connection that carries it (HttpSession, which owns the socket and TLS) is its transport.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "core/event_loop.h"
#include "l7/exchange_core.h"
#include "l7/upstream_pool.h"
#include "net/address.h"

struct nghttp2_session;

namespace ballast::l7 {

// What the HTTP/2 codec needs of the connection under it.
class H2Transport {
 public:
  // Queues bytes for the client; false: out of buffers (the transport closed the connection).
  virtual bool h2Write(const uint8_t* data, size_t len) = 0;
  virtual void h2Flush() = 0;
  virtual uint32_t h2Backlog() const = 0;  // bytes queued towards the client, not yet sent
  // The HTTP/2 connection is over: flush what is queued, then close.
  virtual void h2Close() = 0;

 protected:
  ~H2Transport() = default;
};

struct H2Stream;

// Where the codec's connection and streams find their listener, loop and pools.
struct H2Env {
  const ExchangeEnv* exchange = nullptr;
  core::EventLoop* loop = nullptr;
  UpstreamPool* upstreams = nullptr;
  net::SocketAddress peer;    // the client (as a trusted PROXY header names it)
  bool peer_trusted = false;  // the TCP peer is in trusted_proxies
  bool tls = false;           // the client spoke TLS to us
  // mTLS listeners: the identity fields to strip from every stream's request and, when the
  // client's certificate was verified, to state (owned by the HTTP session, which outlives us).
  const config::TlsClientAuth* client_auth = nullptr;
  std::string_view client_subject;
  std::string_view client_fingerprint;
};

class H2Connection {
 public:
  H2Connection(const H2Env& env, H2Transport& transport);
  ~H2Connection();
  H2Connection(const H2Connection&) = delete;
  H2Connection& operator=(const H2Connection&) = delete;

  // Sends our SETTINGS. false: the session could not be made.
  bool start();
  // Plaintext from the client. false: the connection is broken (a GOAWAY is queued; the
  // transport was told to close).
  bool receive(std::span<const uint8_t> in);
  // The transport sent bytes: write more frames.
  void onTransportSent();
  // Graceful stop: GOAWAY now, close once the streams in flight are done.
  void drain();
  // The connection ends now: every stream's upstream is released.
  void abort();
  // The client reset its connection or half-closed it: the streams still open were abandoned.
  void clientLeft();
  size_t streams() const { return streams_.size(); }

  // For the streams (h2_session.cpp) only.
  void pump();
  nghttp2_session* session() const { return session_; }
  const H2Env& env() const { return env_; }
  void closeStream(H2Stream& s);  // on_stream_close: ends the exchange, frees the stream later
  // One SETTINGS, PING, PRIORITY or WINDOW_UPDATE frame arrived: false once the client sends
  // them faster than http2_limits.control_frames_per_second (the connection then ends).
  bool spendControlToken();
  H2Stream* openStream(int32_t id);
  void freeClosed();
  void endStreamExchange(H2Stream& s);  // counts and logs a started stream's exchange

 private:
  H2Env env_;
  H2Transport& transport_;
  nghttp2_session* session_ = nullptr;
  // Open streams, in no order (at most max_concurrent_streams: a scan is cheaper than a map's
  // node per stream). nghttp2's stream user data finds a stream by id.
  std::vector<std::unique_ptr<H2Stream>> streams_;
  // Closed streams, recycled once no callback of theirs can be on the stack (see freeClosed).
  std::vector<std::unique_ptr<H2Stream>> closed_;
  // Closed streams kept for the next ones, their buffers and strings already grown: a busy
  // connection opens a stream per request, and a fresh one costs a dozen allocations. At most
  // as many as the connection may have open; a connection with none open keeps a few.
  std::vector<std::unique_ptr<H2Stream>> spare_;
  bool pumping_ = false;
  bool closing_ = false;
  // A GOAWAY went out (drain, or the client used the last stream id): end the session once the
  // streams in flight are done.
  bool close_when_idle_ = false;
  bool terminated_ = false;
  double control_tokens_ = 0;
  uint64_t control_refill_ms_ = 0;
  bool control_flood_ = false;
};

}  // namespace ballast::l7
