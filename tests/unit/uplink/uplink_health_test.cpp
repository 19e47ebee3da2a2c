// tests/unit/uplink/uplink_health_test.cpp — thresholds and exponential hold-down, with the
// clock passed in.
#include "uplink/uplink_health.h"

#include <gtest/gtest.h>

namespace ballast::uplink {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

config::UplinkPolicy policy() {
  config::UplinkPolicy p;
  p.failure_threshold = 3;
  p.recovery_threshold = 2;
  p.backoff_base = seconds(1);
  p.backoff_max = seconds(4);
  p.hold_down = seconds(30);
  return p;
}

constexpr UplinkSignals kGood{.exists = true, .link_up = true, .has_gateway = true};

TEST(UplinkHealthTest, ComesUpAtOnceWhenSignalsAreGood) {
  UplinkHealth h(policy());
  EXPECT_FALSE(h.up());
  EXPECT_TRUE(h.onSignals(kGood, 0));
  EXPECT_TRUE(h.up());
  EXPECT_EQ(h.reason(0), "");
}

TEST(UplinkHealthTest, StaysDownWithoutLinkOrGatewayAndSaysWhy) {
  UplinkHealth h(policy());
  EXPECT_FALSE(h.onSignals({}, 0));
  EXPECT_EQ(h.reason(0), "missing");
  h.onSignals({.exists = true}, 0);
  EXPECT_EQ(h.reason(0), "link");
  h.onSignals({.exists = true, .link_up = true}, 0);
  EXPECT_EQ(h.reason(0), "gateway");
  h.onSignals({.exists = true, .link_up = true, .has_gateway = true, .neighbour_failed = true}, 0);
  EXPECT_EQ(h.reason(0), "neighbour");
  EXPECT_FALSE(h.up());
  EXPECT_EQ(h.downs(), 0U);  // never up, so nothing flapped
}

TEST(UplinkHealthTest, ProbeFailuresNeedTheThresholdAndRecoveryToo) {
  UplinkHealth h(policy());
  h.onSignals(kGood, 0);
  EXPECT_FALSE(h.onProbe(false, 100));
  EXPECT_FALSE(h.onProbe(false, 200));
  EXPECT_TRUE(h.up());
  EXPECT_TRUE(h.onProbe(false, 300));
  EXPECT_FALSE(h.up());
  EXPECT_EQ(h.reason(300), "probe");
  EXPECT_EQ(h.heldUntil(), 1300U);
  // One success is not enough, and a failure in between starts the count over.
  EXPECT_FALSE(h.onProbe(true, 2000));
  EXPECT_FALSE(h.onProbe(false, 2100));
  EXPECT_FALSE(h.onProbe(true, 2200));
  EXPECT_TRUE(h.onProbe(true, 2300));
  EXPECT_TRUE(h.up());
}

TEST(UplinkHealthTest, FlapsDoubleTheHoldDownUpToTheMax) {
  UplinkHealth h(policy());
  h.onSignals(kGood, 0);
  const UplinkSignals down{.exists = true};
  uint64_t t = 1000;
  const uint64_t expected[] = {1000, 2000, 4000, 4000};
  for (const uint64_t hold : expected) {
    ASSERT_TRUE(h.onSignals(down, t));
    EXPECT_EQ(h.heldUntil(), t + hold);
    // Good again at once, but held down until the backoff ends.
    EXPECT_FALSE(h.onSignals(kGood, t + 1));
    EXPECT_EQ(h.reason(t + 1), "hold_down");
    EXPECT_FALSE(h.onTimer(t + hold - 1));
    EXPECT_TRUE(h.onTimer(t + hold));
    EXPECT_TRUE(h.up());
    t += hold + 1;
  }
  EXPECT_EQ(h.downs(), 4U);
}

TEST(UplinkHealthTest, StayingUpForHoldDownForgetsTheFlaps) {
  UplinkHealth h(policy());
  h.onSignals(kGood, 0);
  h.onSignals({.exists = true}, 1000);
  h.onSignals(kGood, 1500);
  h.onTimer(2000);
  ASSERT_TRUE(h.up());
  ASSERT_EQ(h.downs(), 1U);
  // Up since 2000; going down after 30 s of stability counts as a first failure again.
  h.onSignals({.exists = true}, 2000 + 30000);
  EXPECT_EQ(h.downs(), 1U);
  EXPECT_EQ(h.heldUntil(), 2000U + 30000U + 1000U);
}

}  // namespace
}  // namespace ballast::uplink
