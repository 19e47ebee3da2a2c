// tests/unit/core/loop_test_support.h — what the event-loop tests share: running a loop until
// a condition holds, and naming the two I/O backends a parameterized test runs on.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <string>

#include "core/clock.h"
#include "core/event_loop.h"

namespace ballast::core {

// Runs turns of `loop` (each waiting at most turn_ms) until pred holds (true) or within_ms
// passes (false); `turns`, when given, counts the turns run.
template <typename Pred>
bool runLoopUntil(EventLoop& loop, Pred pred, uint64_t within_ms, int turn_ms,
                  uint64_t* turns = nullptr) {
  const uint64_t deadline = monotonicMs() + within_ms;
  while (!pred()) {
    if (monotonicMs() > deadline) {
      return false;
    }
    loop.runOnce(turn_ms);
    if (turns != nullptr) {
      ++*turns;
    }
  }
  return true;
}

// For INSTANTIATE_TEST_SUITE_P(Backends, T, ::testing::Values(IoKind::kIoUring,
// IoKind::kEpoll), ioKindTestName).
inline std::string ioKindTestName(const ::testing::TestParamInfo<IoKind>& info) {
  return info.param == IoKind::kIoUring ? "io_uring" : "epoll";
}

}  // namespace ballast::core
