// tests/unit/l4/splice_pipe_test.cpp — the pipe's retry back-off and its fd budget.
#include "l4/splice_pipe.h"

#include <gtest/gtest.h>

namespace ballast::l4 {
namespace {

TEST(SplicePipeBackoff, DoublesPerFailureUpToTheCap) {
  const uint32_t t = SplicePipe::threshold();
  EXPECT_EQ(SplicePipe::thresholdAfter(0), t);
  EXPECT_EQ(SplicePipe::thresholdAfter(1), 2 * t);
  EXPECT_EQ(SplicePipe::thresholdAfter(3), 8 * t);
  const uint64_t cap = static_cast<uint64_t>(t) << SplicePipe::kMaxBackoffShift;
  const uint32_t want = cap > UINT32_MAX ? UINT32_MAX : static_cast<uint32_t>(cap);
  EXPECT_EQ(SplicePipe::thresholdAfter(SplicePipe::kMaxBackoffShift), want);
  EXPECT_EQ(SplicePipe::thresholdAfter(200), want);  // no overflow, no wrap to a small value
}

}  // namespace
}  // namespace ballast::l4
