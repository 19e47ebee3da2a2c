// src/uplink/uplink_health.cpp — thresholds and exponential hold-down.
#include "uplink/uplink_health.h"

#include <algorithm>

namespace ballast::uplink {
namespace {
constexpr uint32_t kMaxShift = 32;  // beyond this the doubling has long passed backoff_max
}  // namespace

void UplinkHealth::setPolicy(const config::UplinkPolicy& policy) {
  failure_threshold_ = std::max<uint32_t>(1, policy.failure_threshold);
  recovery_threshold_ = std::max<uint32_t>(1, policy.recovery_threshold);
  backoff_base_ms_ = static_cast<uint64_t>(policy.backoff_base.count());
  backoff_max_ms_ = static_cast<uint64_t>(policy.backoff_max.count());
  hold_down_ms_ = static_cast<uint64_t>(policy.hold_down.count());
}

bool UplinkHealth::onSignals(const UplinkSignals& s, uint64_t now_ms) {
  signals_ = s;
  return evaluate(now_ms);
}

bool UplinkHealth::onProbe(bool ok, uint64_t now_ms) {
  if (ok) {
    fail_streak_ = 0;
    ++ok_streak_;
    if (!probe_ok_ && ok_streak_ >= recovery_threshold_) {
      probe_ok_ = true;
    }
  } else {
    ok_streak_ = 0;
    ++fail_streak_;
    if (probe_ok_ && fail_streak_ >= failure_threshold_) {
      probe_ok_ = false;
    }
  }
  return evaluate(now_ms);
}

bool UplinkHealth::signalsOk() const {
  return signals_.exists && signals_.link_up && signals_.has_gateway &&
         !signals_.neighbour_failed && probe_ok_;
}

bool UplinkHealth::evaluate(uint64_t now_ms) {
  const bool ok = signalsOk();
  if (up_) {
    if (ok) {
      return false;
    }
    up_ = false;
    if (now_ms - up_since_ms_ >= hold_down_ms_) {
      downs_ = 0;  // it had been stable: this is a new failure, not a flap
    }
    ++downs_;
    const uint32_t shift = std::min(downs_ - 1, kMaxShift);
    const uint64_t backoff = std::min(backoff_max_ms_, backoff_base_ms_ << shift);
    held_until_ = now_ms + backoff;
    return true;
  }
  if (!ok || now_ms < held_until_) {
    return false;
  }
  up_ = true;
  up_since_ms_ = now_ms;
  held_until_ = 0;
  return true;
}

std::string UplinkHealth::reason(uint64_t now_ms) const {
  if (up_) {
    return {};
  }
  if (!signals_.exists) {
    return "missing";
  }
  if (!signals_.link_up) {
    return "link";
  }
  if (!signals_.has_gateway) {
    return "gateway";
  }
  if (signals_.neighbour_failed) {
    return "neighbour";
  }
  if (!probe_ok_) {
    return "probe";
  }
  return now_ms < held_until_ ? "hold_down" : "";
}

}  // namespace ballast::uplink
