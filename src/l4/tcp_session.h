// src/l4/tcp_session.h — one proxied TCP connection: client ⇄ backend. Bytes flow through
// chunk queues bounded by the listener's buffer_bytes (a slow reader pauses the other side's
// reads), FIN and RST are carried across, failed connects retry on another backend. On a
// tls_passthrough listener the client's ClientHello is read (not terminated) first, to pick the
// pool by server name.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <vector>

#include "config/config_types.h"
#include "core/chunk_pool.h"
#include "core/event_loop.h"
#include "core/local_ref.h"
#include "core/timer_wheel.h"
#include "l4/splice_pipe.h"
#include "upstream/worker_pool.h"

namespace ballast::l4 {

template <typename Session>
class StreamListener;
class TcpSession;
class SniRouter;

// What a session needs from the listener generation it was accepted under.
struct SessionEnv {
  core::EventLoop* loop = nullptr;
  const config::Listener* listener = nullptr;
  upstream::WorkerPool* pool = nullptr;
  core::LocalRefCounted* epoch = nullptr;  // keeps listener and pool alive
  StreamListener<TcpSession>* owner = nullptr;
  metrics::ListenerCounters* counters = nullptr;  // this worker's; never null in a session
  const SniRouter* sni = nullptr;  // tls_passthrough only; then `pool` is set once routed
};

class TcpSession {
 public:
  using Env = SessionEnv;
  TcpSession(const SessionEnv& env, int client_fd);
  TcpSession(const TcpSession&) = delete;
  TcpSession& operator=(const TcpSession&) = delete;
  ~TcpSession();

  void start();
  uint32_t live_index = 0;  // position in the listener's live list (swap-remove)
  // Graceful-shutdown deadline passed: close both sides now.
  void abort();

 private:
  static constexpr uint32_t kMaxTries = 11;  // 1 + config's maximum connect_retries

  class Side final : public core::StreamHandler {
   public:
    explicit Side(TcpSession& s) : session_(s) {}
    void onConnect(core::Stream& s, int err) override;
    void onRecv(core::Stream& s, core::ChunkId id, uint32_t len) override;
    void onRecvEnd(core::Stream& s, int err) override;
    void onSent(core::Stream& s, int64_t result) override;
    void onReleased(core::Stream& s) override;
    void onSpliced(core::Stream& s, uint32_t len) override;

    // Nothing waits to be written to this side: no chunk, no pipe byte, no send under way.
    bool drained() const {
      return !stream.sending() && out.empty() && (pipe == nullptr || pipe->bytes == 0);
    }

    core::Stream stream;
    core::ChunkQueue out;  // bytes waiting to be written to this side, ahead of the pipe's
    // Bulk bytes to this side, once the other side has moved SplicePipe::threshold() bytes.
    std::unique_ptr<SplicePipe> pipe;
    uint64_t pipe_used_ms = 0;  // when bytes last entered `pipe` (or it was made)
    uint32_t moved = 0;         // bytes read from this side on the copy path (saturating)
    bool eof_in = false;        // this side sent FIN
    bool shut_out = false;      // we sent FIN to this side
    bool reading = false;       // recv requested and not paused
    bool released = true;
    bool pipe_send = false;  // the send under way writes from `pipe`
    // Pipes for this side's bytes that could not be made in a row (budget, EMFILE, ENOBUFS):
    // each failure doubles the bytes moved before the next try (SplicePipe::thresholdAfter).
    uint8_t splice_failures = 0;

   private:
    TcpSession& session_;
  };

  core::EventLoop& loop() const { return *env_.loop; }
  Side& peerOf(const Side& s) { return &s == &client_ ? backend_ : client_; }
  void connectBackend();
  void onBackendConnected();
  void onConnectFailed(int err);
  void onData(Side& from, core::ChunkId id, uint32_t len);
  void countBytes(const Side& from, uint32_t len);
  void maybeSplice(Side& from, uint32_t len);
  void onSpliced(Side& from, uint32_t len);
  uint64_t freeIdlePipes(uint64_t now);
  void armPipeCheck();
  void onEof(Side& from);
  void onReset(Side& from, int err);
  void flush(Side& to);
  void afterSent(Side& to);
  void maybeResume(Side& reader);
  void maybeFinish();
  void closeBoth(bool reset_client);
  void onSideReleased(Side& s);
  bool parseProxyHeader();
  void beginClientHello();
  void readClientHello();
  void armIdle();
  static void onTimer(void* self);

  SessionEnv env_;
  Side client_;
  Side backend_;
  core::Timer timer_;
  uint64_t last_activity_ms_ = 0;
  upstream::BackendState* backend_state_ = nullptr;
  metrics::BackendCounters* backend_counters_ = nullptr;  // the last backend tried
  std::unique_ptr<uint8_t[]> proxy_header_;               // PROXY header to send; freed once sent
  uint16_t proxy_header_len_ = 0;
  uint16_t proxy_header_sent_ = 0;
  // tls_passthrough: the client's bytes until its ClientHello is complete (bounded by
  // proto::tls::kMaxBufferedBytes plus one read), copied out of the received chunks so that a
  // hello sent a byte per segment does not pin a 16 KiB chunk per byte. Once the pool is picked
  // they move to the backend's queue, ahead of anything the client sends next.
  std::unique_ptr<std::vector<uint8_t>> hello_;
  std::array<uint32_t, kMaxTries> tried_{};
  uint8_t tries_ = 0;
  enum class State : uint8_t {
    kProxyHeader,
    kClientHello,
    kConnecting,
    kRetrying,
    kStreaming,
    kClosing
  };
  State state_ = State::kConnecting;
  // Addresses a client's PROXY header announced; kept only until the backend is connected.
  struct ClientAddresses {
    net::SocketAddress source;
    net::SocketAddress destination;
  };
  std::unique_ptr<ClientAddresses> announced_;
};

}  // namespace ballast::l4
