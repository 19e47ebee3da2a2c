// tests/unit/l4/splice_pipe_test.cpp — the pipe's retry back-off and its fd budget.
#include "l4/splice_pipe.h"

#include <gtest/gtest.h>

#include <cerrno>

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

// Restores the budget a test changed (unset is not restorable: leave the quarter it reads).
class SplicePipeBudget : public ::testing::Test {
 protected:
  void SetUp() override { saved_ = SplicePipe::budget(); }
  void TearDown() override { SplicePipe::setBudget(saved_); }
  uint32_t saved_ = 0;
};

TEST_F(SplicePipeBudget, RefusesPastTheBudgetAndTakesFreedRoomAgain) {
  SplicePipe::setBudget(SplicePipe::openFds() + 2);  // room for one pipe
  int err = 0;
  auto first = SplicePipe::make(&err);
  ASSERT_NE(first, nullptr) << "err " << err;
  EXPECT_EQ(SplicePipe::make(&err), nullptr);
  EXPECT_EQ(err, EMFILE);
  first.reset();  // gives its two fds back
  err = 0;
  EXPECT_NE(SplicePipe::make(&err), nullptr) << "err " << err;
}

TEST_F(SplicePipeBudget, ZeroBudgetMeansCopyOnly) {
  SplicePipe::setBudget(0);
  int err = 0;
  EXPECT_EQ(SplicePipe::make(&err), nullptr);
  EXPECT_EQ(err, EMFILE);
}

}  // namespace
}  // namespace ballast::l4
