// src/server/breaker_audit.cpp — audit records for circuit breakers. Workers move a backend's
// breaker (open, half-open, closed) on the request path and log it; the control thread owns the
// audit log, so its periodic sweep (every 250 ms) compares each breaker with what it saw last time
// and records the moves. Moves quicker than the sweep are deduced from the breaker's opened count
// and marked `between_sweeps`.
#include <algorithm>
#include <map>
#include <string>

#include "control/audit_log.h"
#include "server/control_thread.h"
#include "upstream/circuit.h"

namespace ballast::server {
namespace {

using nlohmann::json;

constexpr const char* kActor = "circuit-breaker";
// A breaker that flaps faster than the sweep (a tiny recovery_timeout) leaves at most this many
// deduced openings per sweep; the opened count in the records says how many there were.
constexpr uint64_t kMaxOpeningsPerSweep = 4;

json breakerJson(const std::string& pool, const std::string& backend, upstream::BreakerState s,
                 uint64_t opened_total) {
  return {{"pool", pool},
          {"backend", backend},
          {"breaker", upstream::breakerStateName(s)},
          {"opened_total", opened_total}};
}

const char* kindFor(upstream::BreakerState s) {
  switch (s) {
    case upstream::BreakerState::kOpen:
      return "backend.breaker_open";
    case upstream::BreakerState::kHalfOpen:
      return "backend.breaker_half_open";
    case upstream::BreakerState::kClosed:
      break;
  }
  return "backend.breaker_closed";
}

}  // namespace

void ControlThread::auditBreakerChanges() {
  const auto record = [this](const std::string& pool, const std::string& backend,
                             const BreakerSeen& from, const BreakerSeen& to, bool inferred) {
    json after = breakerJson(pool, backend, to.state, to.opened_total);
    if (inferred) {
      after["between_sweeps"] = true;  // not seen, deduced from the opened count
    }
    audit_.record(kindFor(to.state), kActor,
                  breakerJson(pool, backend, from.state, from.opened_total), std::move(after));
  };
  std::map<std::string, BreakerSeen> seen;
  for (const auto& p : snapshot_->pools) {
    if (!p->config->circuit_breaker.breaks()) {
      continue;
    }
    const std::string& pool = p->config->name;
    for (const auto& b : p->backends) {
      const BreakerSeen now{b->breaker.state(), b->breaker.openedTotal()};
      std::string key = pool + "/" + b->name;
      const auto it = breaker_seen_.find(key);
      // A backend seen for the first time starts from closed and never opened, as it was made.
      const BreakerSeen before = it != breaker_seen_.end() ? it->second : BreakerSeen{};
      BreakerSeen was = before;
      // Each opening since the last sweep that the current state does not show is recorded as
      // inferred: a breaker seen open twice that opened again went half-open in between.
      const uint64_t first =
          std::max(before.opened_total + 1, now.opened_total >= kMaxOpeningsPerSweep
                                                ? now.opened_total - kMaxOpeningsPerSweep + 1
                                                : 0);
      for (uint64_t n = first; n <= now.opened_total; ++n) {
        const bool last = n == now.opened_total && now.state == upstream::BreakerState::kOpen;
        if (was.state == upstream::BreakerState::kOpen) {
          record(pool, b->name, was, {upstream::BreakerState::kHalfOpen, was.opened_total}, true);
          was.state = upstream::BreakerState::kHalfOpen;
        }
        const BreakerSeen opened{upstream::BreakerState::kOpen, n};
        record(pool, b->name, was, opened, !last);
        was = opened;
      }
      if (now.state != was.state) {
        record(pool, b->name, was, now, false);
      }
      seen.emplace(std::move(key), now);
    }
  }
  breaker_seen_ = std::move(seen);  // backends that left the config are forgotten
}

}  // namespace ballast::server
