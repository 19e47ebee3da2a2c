// src/core/timer_wheel.cpp — hashed wheel: slot = deadline mod span; long timers stay in their
// slot across turns of the wheel until their deadline has really passed.
#include "core/timer_wheel.h"

#include <algorithm>

#include "core/limits.h"

namespace ballast::core {
namespace {
// How far ahead nextTimeoutMs() looks for a non-empty slot before settling for a short sleep.
constexpr uint64_t kMaxScanTicks = 256;
}  // namespace

TimerWheel::TimerWheel(uint64_t now_ms) : slots_(kTimerSlots), now_ms_(now_ms), cursor_ms_(now_ms) {
  for (auto& s : slots_) {
    s.next_ = s.prev_ = &s;
  }
  soon_.next_ = soon_.prev_ = &soon_;
}

TimerWheel::~TimerWheel() {
  while (soon_.next_ != &soon_) {
    soon_.next_->unlink();
  }
  soon_.next_ = soon_.prev_ = nullptr;
  for (auto& s : slots_) {
    while (s.next_ != &s) {
      s.next_->unlink();
    }
    s.next_ = s.prev_ = nullptr;
  }
}

Timer& TimerWheel::slotFor(uint64_t deadline_ms) {
  return slots_[(deadline_ms / kTimerTickMs) % kTimerSlots];
}

void TimerWheel::schedule(Timer& t, uint64_t delay_ms) { scheduleAt(t, now_ms_ + delay_ms); }

void TimerWheel::scheduleAt(Timer& t, uint64_t deadline_ms) {
  t.unlink();
  // A deadline in the past fires on the next advance(), never in the middle of this call.
  t.deadline_ms_ = std::max(deadline_ms, cursor_ms_);
  Timer& head = slotFor(t.deadline_ms_);
  t.prev_ = head.prev_;
  t.next_ = &head;
  head.prev_->next_ = &t;
  head.prev_ = &t;
}

void TimerWheel::scheduleSoon(Timer& t) {
  t.unlink();
  t.deadline_ms_ = now_ms_;
  t.prev_ = soon_.prev_;
  t.next_ = &soon_;
  soon_.prev_->next_ = &t;
  soon_.prev_ = &t;
}

void TimerWheel::advance(uint64_t now_ms) {
  now_ms_ = std::max(now_ms_, now_ms);
  if (soon_.next_ != &soon_) {
    // Those asked for until now; any a callback asks for run at the next turn.
    Timer due;
    due.next_ = soon_.next_;
    due.prev_ = soon_.prev_;
    due.next_->prev_ = &due;
    due.prev_->next_ = &due;
    soon_.next_ = soon_.prev_ = &soon_;
    while (due.next_ != &due) {
      Timer* t = due.next_;
      t->unlink();
      t->cb_(t->ctx_);
    }
  }
  if (cursor_ms_ > now_ms_) {
    return;
  }
  // Each slot is visited at most once per call, even after a long stall.
  const uint64_t ticks = std::min<uint64_t>((now_ms_ - cursor_ms_) / kTimerTickMs + 1, kTimerSlots);
  for (uint64_t i = 0; i < ticks; ++i) {
    const uint64_t tick_ms = cursor_ms_;
    // Move the cursor first: a timer (re)armed by a callback below lands in a later slot,
    // never in the one being emptied.
    cursor_ms_ += kTimerTickMs;
    Timer& head = slots_[(tick_ms / kTimerTickMs) % kTimerSlots];
    Timer due;
    due.next_ = due.prev_ = &due;
    for (Timer* t = head.next_; t != &head;) {
      Timer* next = t->next_;
      if (t->deadline_ms_ <= now_ms_) {
        t->unlink();
        t->prev_ = due.prev_;
        t->next_ = &due;
        due.prev_->next_ = t;
        due.prev_ = t;
      }
      t = next;
    }
    while (due.next_ != &due) {
      Timer* t = due.next_;
      t->unlink();
      t->cb_(t->ctx_);
    }
    due.next_ = due.prev_ = nullptr;
  }
  cursor_ms_ = std::max(cursor_ms_, now_ms_ + kTimerTickMs);
}

int TimerWheel::nextTimeoutMs(uint64_t now_ms) const {
  if (soon_.next_ != &soon_) {
    return 0;
  }
  for (uint64_t i = 0; i < kMaxScanTicks; ++i) {
    const uint64_t tick_ms = cursor_ms_ + i * kTimerTickMs;
    const Timer& head = slots_[(tick_ms / kTimerTickMs) % kTimerSlots];
    for (const Timer* t = head.next_; t != &head; t = t->next_) {
      if (t->deadline_ms_ <= tick_ms + kTimerTickMs - 1) {
        return tick_ms <= now_ms ? 0 : static_cast<int>(tick_ms - now_ms);
      }
    }
  }
  // Nothing due soon: sleep a bounded while, so far timers need no bookkeeping of their own.
  return static_cast<int>(kMaxScanTicks * kTimerTickMs);
}

size_t TimerWheel::armedCount() const {
  size_t n = 0;
  for (const Timer* t = soon_.next_; t != &soon_; t = t->next_) {
    ++n;
  }
  for (const auto& s : slots_) {
    for (const Timer* t = s.next_; t != &s; t = t->next_) {
      ++n;
    }
  }
  return n;
}

}  // namespace ballast::core
