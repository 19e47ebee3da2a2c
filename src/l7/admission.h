// src/l7/admission.h — one exchange's place under its pool's `circuit_breaker:` request limits:
// a request slot taken at once (max_requests), a wait for one (max_pending, queue_timeout), or a
// refusal. Slots are counted over all workers; the waiting is per worker: a waiting exchange
// looks for a free slot every few milliseconds until its queue_timeout, so a slot freed on any
// worker is found without waking other threads. Owning worker only.
#pragma once

#include <cstdint>

#include "core/event_loop.h"
#include "core/timer_wheel.h"
#include "upstream/worker_pool.h"

namespace ballast::l7 {

// What the exchange's connector implements to hear how a wait ended.
class AdmissionUser {
 public:
  virtual void onAdmitted() = 0;
  virtual void onAdmissionRefused(upstream::CircuitRefusal why) = 0;

 protected:
  ~AdmissionUser() = default;
};

class Admission {
 public:
  // How often a waiting exchange looks for a free slot: short against any sensible
  // queue_timeout, long enough that a full queue costs little CPU.
  static constexpr uint64_t kQueuePollMs = 2;

  enum class Outcome : uint8_t { kAdmitted, kWaiting, kRefused };

  Admission(core::EventLoop& loop, AdmissionUser& user);
  Admission(const Admission&) = delete;
  Admission& operator=(const Admission&) = delete;
  ~Admission() { release(); }

  // Asks `pool` for a request slot. kWaiting: the user hears onAdmitted or onAdmissionRefused
  // later; kRefused: *why says which limit. Pools without `circuit_breaker:` admit at once and
  // count nothing.
  Outcome admit(upstream::WorkerPool& pool, upstream::CircuitRefusal* why);
  bool waiting() const { return waiting_; }
  // Whether this exchange went through admission (holding a slot, or admitted uncounted).
  bool decided() const { return decided_; }
  // The exchange is over (or gave up waiting): its slot or queue place is freed.
  void release();

 private:
  static void onTimer(void* self);
  void stopWaiting();

  core::EventLoop& loop_;
  AdmissionUser& user_;
  upstream::WorkerPool* pool_ = nullptr;
  core::Timer timer_;
  uint64_t deadline_ms_ = 0;
  bool holding_ = false;  // a request slot of pool_ is ours
  bool waiting_ = false;  // a queue place of pool_ is ours
  bool decided_ = false;
};

}  // namespace ballast::l7
