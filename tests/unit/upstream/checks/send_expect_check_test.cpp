// tests/unit/upstream/checks/send_expect_check_test.cpp — string and regex expectations, on
// partial and final replies.
#include "upstream/checks/send_expect_check.h"

#include <gtest/gtest.h>
#include <re2/re2.h>

namespace ballast::upstream::checks {
namespace {

TEST(SendExpectCheck, StringMatchAnywhere) {
  EXPECT_EQ(judgeExpected("220 smtp ready\r\n", "ready", nullptr, false).verdict,
            Verdict::kHealthy);
  EXPECT_EQ(judgeExpected("220 sm", "ready", nullptr, false).verdict, Verdict::kNeedMore);
  EXPECT_EQ(judgeExpected("220 smtp busy", "ready", nullptr, true).reason, "reply did not match");
  EXPECT_EQ(judgeExpected("", "ready", nullptr, true).reason, "no reply");
}

TEST(SendExpectCheck, RegexMatch) {
  const re2::RE2 re("^\\+OK [0-9]+");
  EXPECT_EQ(judgeExpected("+OK 42\r\n", "", &re, false).verdict, Verdict::kHealthy);
  EXPECT_EQ(judgeExpected("-ERR\r\n", "", &re, true).verdict, Verdict::kUnhealthy);
}

}  // namespace
}  // namespace ballast::upstream::checks
