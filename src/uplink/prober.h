// src/uplink/prober.h — one uplink's active probe on the control loop: every interval a TCP
// connect to each target from a socket bound to the uplink's interface (SO_BINDTODEVICE), so
// the probe leaves by that uplink whatever the routes say. A round succeeds when any target
// answers within the timeout. `probe: gateway` instead sends one datagram to the gateway per
// interval, which keeps its ARP entry fresh; the neighbour state is then the signal.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "config/uplink_types.h"
#include "core/event_loop.h"

namespace ballast::uplink {

struct ProbeCounters {
  uint64_t ok = 0;
  uint64_t failed = 0;
  uint64_t timeout = 0;
};

class UplinkProber {
 public:
  // ok, and the fastest successful connect's time in ms.
  using RoundFn = std::function<void(bool ok, uint64_t rtt_ms)>;

  UplinkProber(core::EventLoop& loop, std::string interface, config::UplinkProbe probe,
               uint64_t interval_ms, uint64_t timeout_ms, RoundFn on_round);
  ~UplinkProber();
  UplinkProber(const UplinkProber&) = delete;
  UplinkProber& operator=(const UplinkProber&) = delete;

  void start(uint64_t first_delay_ms);
  void setGateway(uint32_t gateway) { gateway_ = gateway; }
  // While the gateway's ARP entry has failed, every interval also sends it a datagram, so an
  // uplink without `probe: gateway` still learns when the gateway answers again.
  void setNudgeGateway(bool on) { nudge_gateway_ = on; }
  // Stops probing; connects in flight are closed. Destroy once idle().
  void retire();
  bool idle() const;
  const ProbeCounters& counters() const { return counters_; }

 private:
  class Attempt;
  static void onIntervalTimer(void* self);
  static void onTimeoutTimer(void* self);
  void startRound();
  void onVerdict(Attempt& a, bool ok, bool timed_out);
  void sendGatewayDatagram();

  core::EventLoop& loop_;
  std::string interface_;
  config::UplinkProbe probe_;
  uint64_t interval_ms_;
  uint64_t timeout_ms_;
  RoundFn on_round_;
  uint32_t gateway_ = 0;
  bool nudge_gateway_ = false;
  std::vector<std::unique_ptr<Attempt>> attempts_;
  core::Timer interval_timer_;
  core::Timer timeout_timer_;
  uint32_t pending_ = 0;
  bool round_ok_ = false;
  uint64_t best_rtt_ms_ = 0;
  bool retired_ = false;
  ProbeCounters counters_;
};

}  // namespace ballast::uplink
