// src/l7/admission.cpp — request slots and the wait for one.
#include "l7/admission.h"

#include <algorithm>

namespace ballast::l7 {

using upstream::CircuitRefusal;
using upstream::PoolCircuit;

Admission::Admission(core::EventLoop& loop, AdmissionUser& user) : loop_(loop), user_(user) {
  timer_.bind(&Admission::onTimer, this);
}

Admission::Outcome Admission::admit(upstream::WorkerPool& pool, CircuitRefusal* why) {
  release();
  decided_ = true;
  const config::CircuitBreaker& cfg = pool.circuitConfig();
  if (!cfg.enabled) {
    return Outcome::kAdmitted;
  }
  PoolCircuit& circuit = pool.circuit();
  pool_ = &pool;
  // While others wait, a newcomer waits behind them rather than taking the slot they wait for.
  const bool queue_empty = circuit.pending.load(std::memory_order_relaxed) == 0;
  if (queue_empty && PoolCircuit::acquire(circuit.requests, cfg.max_requests)) {
    holding_ = true;
    return Outcome::kAdmitted;
  }
  if (cfg.max_pending == 0) {
    *why = CircuitRefusal::kMaxRequests;
    return Outcome::kRefused;
  }
  if (!PoolCircuit::acquire(circuit.pending, cfg.max_pending)) {
    *why = CircuitRefusal::kMaxPending;
    return Outcome::kRefused;
  }
  waiting_ = true;
  decided_ = false;
  const auto timeout = static_cast<uint64_t>(cfg.queue_timeout.count());
  deadline_ms_ = loop_.nowMs() + timeout;
  loop_.timers().schedule(timer_, std::min(kQueuePollMs, timeout));
  return Outcome::kWaiting;
}

void Admission::stopWaiting() {
  core::TimerWheel::cancel(timer_);
  waiting_ = false;
  PoolCircuit::release(pool_->circuit().pending);
}

void Admission::onTimer(void* self) {
  auto* a = static_cast<Admission*>(self);
  if (!a->waiting_) {
    return;
  }
  upstream::WorkerPool& pool = *a->pool_;
  if (PoolCircuit::acquire(pool.circuit().requests, pool.circuitConfig().max_requests)) {
    a->stopWaiting();
    a->holding_ = true;
    a->decided_ = true;
    a->user_.onAdmitted();
    return;
  }
  const uint64_t now = a->loop_.nowMs();
  if (now >= a->deadline_ms_) {
    a->stopWaiting();
    a->user_.onAdmissionRefused(CircuitRefusal::kQueueTimeout);
    return;
  }
  a->loop_.timers().schedule(a->timer_, std::min(kQueuePollMs, a->deadline_ms_ - now));
}

void Admission::release() {
  if (waiting_) {
    stopWaiting();
  }
  if (holding_) {
    holding_ = false;
    PoolCircuit::release(pool_->circuit().requests);
  }
  pool_ = nullptr;
  decided_ = false;
}

}  // namespace ballast::l7
