// src/l7/forward_auth_call.h — one forward_auth subrequest: the head the filter wrote goes to the
// auth service's pool over a pooled HTTP/1.1 connection (an H1Upstream of its own, so the pool's
// keep-alive, health, TLS and connect retries apply as for any backend), and the answer comes
// back bounded: its status, the fields Ballast passes on, and a refusal's body. The whole call
// has one deadline (forward_auth.timeout). Owning worker only; made on first use by the
// exchange's upstream side (http_upstream.h), so exchanges without forward_auth carry nothing.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

#include "core/event_loop.h"
#include "core/timer_wheel.h"
#include "l7/exchange_core.h"
#include "l7/forward_auth_cache.h"
#include "l7/h1_upstream.h"

namespace ballast::l7 {

// What the owner implements to hear how a call ended: `answer` is complete, or null when the
// auth service gave no usable answer (`why`, static text, says what failed). Never called from
// inside start().
class ForwardAuthUser {
 public:
  virtual void onForwardAuthDone(const ForwardAuthAnswer* answer, const char* why) = 0;

 protected:
  ~ForwardAuthUser() = default;
};

class ForwardAuthCall final : public UpstreamSink {
 public:
  ForwardAuthCall(core::EventLoop& loop, UpstreamPool& pool, const ExchangeEnv& env,
                  const proto::http1::Limits& response_limits, ForwardAuthUser& user);
  ForwardAuthCall(const ForwardAuthCall&) = delete;
  ForwardAuthCall& operator=(const ForwardAuthCall&) = delete;
  ~ForwardAuthCall();

  // Sends `head` (a bodiless GET) to auth.pool_index's pool.
  void start(const config::ForwardAuth& auth, std::string_view head, uint64_t now_ms);
  // The exchange no longer waits: the connection is closed (an answer may be half read) and
  // nothing more is reported.
  void cancel();
  bool running() const { return running_; }

  // UpstreamSink: the connector's calls.
  void onUpstreamConnecting() override {}
  void onUpstreamConnected() override {}
  bool onResponseHead(const proto::http1::ResponseHead& head) override;
  bool onResponseBody(std::span<const uint8_t> body) override;
  void onResponseEnd(std::span<const proto::http1::Header> trailers, bool reusable) override;
  void onTunnel(std::span<const uint8_t> rest) override;
  void onTunnelData(core::ChunkId id, uint32_t len) override;
  void onTunnelEnd(int err) override;
  void onUpstreamError(uint16_t status, const char* why) override;
  void onRequestWritable() override {}
  bool onResponseBatchDone() override { return true; }

 private:
  // Reports now, or at the loop's next turn when inside start().
  void finish(bool ok, const char* why);
  static void onTimer(void* self);

  core::EventLoop& loop_;
  ForwardAuthUser& user_;
  Exchange ex_;  // the subrequest as the connector and the pool's counters see it
  H1Upstream up_;
  core::Timer timer_;
  const config::ForwardAuth* auth_ = nullptr;
  ForwardAuthAnswer answer_;
  const char* why_ = nullptr;
  bool ok_ = false;
  bool running_ = false;
  bool starting_ = false;
  bool reporting_ = false;  // finish() ran: the timer now delivers the result
};

}  // namespace ballast::l7
