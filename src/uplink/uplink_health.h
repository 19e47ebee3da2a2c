// src/uplink/uplink_health.h — one uplink's verdict from its signals (link, gateway, neighbour,
// probes), with failure/recovery thresholds and hysteresis: after its n-th down in a row an
// uplink stays out for min(backoff_max, backoff_base * 2^(n-1)) even if it looks fine again;
// n starts over once it has stayed up for hold_down. Pure: the caller passes the time.
#pragma once

#include <cstdint>
#include <string>

#include "config/uplink_types.h"

namespace ballast::uplink {

struct UplinkSignals {
  bool exists = false;
  bool link_up = false;
  bool has_gateway = false;
  bool neighbour_failed = false;
};

class UplinkHealth {
 public:
  explicit UplinkHealth(const config::UplinkPolicy& policy) { setPolicy(policy); }
  void setPolicy(const config::UplinkPolicy& policy);

  // Each returns true when up() changed.
  bool onSignals(const UplinkSignals& s, uint64_t now_ms);
  bool onProbe(bool ok, uint64_t now_ms);
  // Re-evaluates, e.g. when a hold-down ends.
  bool onTimer(uint64_t now_ms) { return evaluate(now_ms); }

  bool up() const { return up_; }
  // When a hold-down keeps the uplink out: the time it ends; 0 otherwise.
  uint64_t heldUntil() const { return held_until_; }
  bool probeOk() const { return probe_ok_; }
  uint32_t downs() const { return downs_; }
  // Why it is down ("missing", "link", "gateway", "neighbour", "probe", "hold_down"), or "".
  std::string reason(uint64_t now_ms) const;

 private:
  bool signalsOk() const;
  bool evaluate(uint64_t now_ms);

  uint32_t failure_threshold_ = 1;
  uint32_t recovery_threshold_ = 1;
  uint64_t backoff_base_ms_ = 0;
  uint64_t backoff_max_ms_ = 0;
  uint64_t hold_down_ms_ = 0;

  UplinkSignals signals_;
  bool probe_ok_ = true;  // optimistic until probes say otherwise: traffic flows at once
  uint32_t fail_streak_ = 0;
  uint32_t ok_streak_ = 0;
  bool up_ = false;
  uint64_t up_since_ms_ = 0;
  uint64_t held_until_ = 0;
  uint32_t downs_ = 0;
};

}  // namespace ballast::uplink
