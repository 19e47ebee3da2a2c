// src/core/timer_wheel.h — a hashed timer wheel owned by one event loop. Timers are intrusive
// (embedded in their owner), so arming and cancelling never allocate: an idle connection's
// timeout costs one node and nothing else.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace ballast::core {

class Timer {
 public:
  using Callback = void (*)(void* ctx);

  Timer() = default;
  Timer(Callback cb, void* ctx) : cb_(cb), ctx_(ctx) {}
  Timer(const Timer&) = delete;
  Timer& operator=(const Timer&) = delete;
  ~Timer() { unlink(); }

  void bind(Callback cb, void* ctx) {
    cb_ = cb;
    ctx_ = ctx;
  }
  bool armed() const { return next_ != nullptr; }
  uint64_t deadlineMs() const { return deadline_ms_; }

 private:
  friend class TimerWheel;
  void unlink() {
    if (next_ != nullptr) {
      prev_->next_ = next_;
      next_->prev_ = prev_;
      next_ = prev_ = nullptr;
    }
  }

  Timer* prev_ = nullptr;
  Timer* next_ = nullptr;
  uint64_t deadline_ms_ = 0;
  Callback cb_ = nullptr;
  void* ctx_ = nullptr;
};

class TimerWheel {
 public:
  explicit TimerWheel(uint64_t now_ms);
  TimerWheel(const TimerWheel&) = delete;
  TimerWheel& operator=(const TimerWheel&) = delete;
  ~TimerWheel();

  // (Re)arms `t` to fire at now + delay. Owning thread only.
  void schedule(Timer& t, uint64_t delay_ms);
  void scheduleAt(Timer& t, uint64_t deadline_ms);
  // Fires `t` at the loop's next turn, before it waits for I/O (a wheel deadline is at least a
  // tick away): work a callback must not do inside the call that asks for it.
  void scheduleSoon(Timer& t);
  static void cancel(Timer& t) { t.unlink(); }
  // Fires every timer whose deadline is <= now_ms. Callbacks may arm and cancel timers.
  void advance(uint64_t now_ms);
  // Milliseconds the loop may sleep before the next timer could be due (bounded).
  int nextTimeoutMs(uint64_t now_ms) const;
  uint64_t nowMs() const { return now_ms_; }
  size_t armedCount() const;  // O(slots): tests and diagnostics only

 private:
  Timer& slotFor(uint64_t deadline_ms);

  std::vector<Timer> slots_;  // sentinels of circular lists
  Timer soon_;                // sentinel of the scheduleSoon list
  uint64_t now_ms_;
  uint64_t cursor_ms_;  // the next tick not yet processed
};

}  // namespace ballast::core
