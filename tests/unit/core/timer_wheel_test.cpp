// tests/unit/core/timer_wheel_test.cpp — timers fire at their deadline, not before, in order,
// across wheel turns, and can be cancelled or re-armed from callbacks.
#include "core/timer_wheel.h"

#include <gtest/gtest.h>

#include <vector>

namespace ballast::core {
namespace {

struct Recorder {
  std::vector<int> fired;
};

struct Tagged {
  Recorder* rec;
  int tag;
  Timer timer;
};

void record(void* ctx) {
  auto* t = static_cast<Tagged*>(ctx);
  t->rec->fired.push_back(t->tag);
}

TEST(TimerWheel, FiresAtDeadlineNotBefore) {
  TimerWheel wheel(1000);
  Recorder rec;
  Tagged a{&rec, 1, {}};
  a.timer.bind(record, &a);
  wheel.schedule(a.timer, 50);
  wheel.advance(1049);
  EXPECT_TRUE(rec.fired.empty());
  wheel.advance(1050);
  EXPECT_EQ(rec.fired, std::vector<int>{1});
  EXPECT_FALSE(a.timer.armed());
}

struct SoonRearming {
  TimerWheel* wheel;
  int runs = 0;
  Timer timer;
};

TEST(TimerWheel, SoonFiresAtTheNextAdvanceWithoutWaiting) {
  TimerWheel wheel(1000);
  wheel.advance(1000);  // the cursor is past 1000 now: a wheel deadline is at least 1001
  Recorder rec;
  Tagged a{&rec, 1, {}};
  Tagged b{&rec, 2, {}};
  a.timer.bind(record, &a);
  b.timer.bind(record, &b);
  wheel.scheduleSoon(a.timer);
  wheel.scheduleSoon(b.timer);
  EXPECT_EQ(wheel.nextTimeoutMs(1000), 0);
  EXPECT_EQ(wheel.armedCount(), 2U);
  TimerWheel::cancel(b.timer);
  wheel.advance(1000);  // same millisecond
  EXPECT_EQ(rec.fired, std::vector<int>{1});
  EXPECT_NE(wheel.nextTimeoutMs(1000), 0);
  // One that re-arms itself from its callback runs once per advance, never in a loop.
  SoonRearming r{&wheel, 0, {}};
  r.timer.bind(
      [](void* ctx) {
        auto* self = static_cast<SoonRearming*>(ctx);
        ++self->runs;
        self->wheel->scheduleSoon(self->timer);
      },
      &r);
  wheel.scheduleSoon(r.timer);
  wheel.advance(1000);
  EXPECT_EQ(r.runs, 1);
  wheel.advance(1000);
  EXPECT_EQ(r.runs, 2);
  TimerWheel::cancel(r.timer);
}

TEST(TimerWheel, LongTimersSurviveWheelTurns) {
  TimerWheel wheel(0);
  Recorder rec;
  Tagged a{&rec, 7, {}};
  a.timer.bind(record, &a);
  wheel.schedule(a.timer, 10000);  // more than two turns of a 4096-slot wheel
  for (uint64_t now = 0; now < 10000; now += 7) {
    wheel.advance(now);
  }
  EXPECT_TRUE(rec.fired.empty());
  wheel.advance(10000);
  EXPECT_EQ(rec.fired, std::vector<int>{7});
}

TEST(TimerWheel, LongStallFiresEverythingDue) {
  TimerWheel wheel(0);
  Recorder rec;
  std::vector<Tagged> timers(5);
  for (int i = 0; i < 5; ++i) {
    timers[i].rec = &rec;
    timers[i].tag = i;
    timers[i].timer.bind(record, &timers[i]);
    wheel.schedule(timers[i].timer, static_cast<uint64_t>(100 * (i + 1)));
  }
  wheel.advance(1000000);
  EXPECT_EQ(rec.fired.size(), 5U);
}

TEST(TimerWheel, CancelPreventsFiring) {
  TimerWheel wheel(0);
  Recorder rec;
  Tagged a{&rec, 1, {}};
  a.timer.bind(record, &a);
  wheel.schedule(a.timer, 10);
  TimerWheel::cancel(a.timer);
  wheel.advance(100);
  EXPECT_TRUE(rec.fired.empty());
  EXPECT_EQ(wheel.armedCount(), 0U);
}

struct Rearming {
  TimerWheel* wheel = nullptr;
  int count = 0;
  Timer timer;
};

void rearm(void* ctx) {
  auto* r = static_cast<Rearming*>(ctx);
  if (++r->count < 3) {
    r->wheel->schedule(r->timer, 0);  // re-arm into the slot being processed
  }
}

TEST(TimerWheel, CallbackMayRearmWithoutFiringTwiceInOneAdvance) {
  TimerWheel wheel(0);
  Rearming r;
  r.wheel = &wheel;
  r.timer.bind(rearm, &r);
  wheel.schedule(r.timer, 5);
  wheel.advance(5);
  EXPECT_EQ(r.count, 1);
  wheel.advance(6);
  EXPECT_EQ(r.count, 2);
  wheel.advance(7);
  EXPECT_EQ(r.count, 3);
  wheel.advance(100);
  EXPECT_EQ(r.count, 3);
}

TEST(TimerWheel, NextTimeoutPointsAtTheNearestTimer) {
  TimerWheel wheel(0);
  Recorder rec;
  Tagged a{&rec, 1, {}};
  a.timer.bind(record, &a);
  wheel.schedule(a.timer, 30);
  EXPECT_EQ(wheel.nextTimeoutMs(0), 30);
  EXPECT_EQ(wheel.nextTimeoutMs(10), 20);
}

TEST(TimerWheel, DestroyingAnArmedTimerUnlinksIt) {
  TimerWheel wheel(0);
  Recorder rec;
  {
    Tagged a{&rec, 1, {}};
    a.timer.bind(record, &a);
    wheel.schedule(a.timer, 10);
  }
  wheel.advance(100);
  EXPECT_TRUE(rec.fired.empty());
}

}  // namespace
}  // namespace ballast::core
