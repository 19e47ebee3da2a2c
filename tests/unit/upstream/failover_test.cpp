// tests/unit/upstream/failover_test.cpp — the failover group choice: best eligible group by
// priority, min_healthy, a degraded group over none, and manual failback holding on.
#include "upstream/failover.h"

#include <gtest/gtest.h>

#include <vector>

namespace ballast::upstream {
namespace {

using config::Failback;
constexpr int32_t kNone = GroupState::kNoGroup;

TEST(ChooseGroup, BestEligibleByPriority) {
  const std::vector<GroupHealth> g = {{.up = 2, .min_healthy = 2}, {.up = 2, .min_healthy = 1}};
  EXPECT_EQ(chooseGroup(g, kNone, Failback::kAuto, false), 0);
  EXPECT_EQ(chooseGroup(g, 1, Failback::kAuto, false), 0);  // auto failback
}

TEST(ChooseGroup, MinHealthyMovesTrafficOn) {
  const std::vector<GroupHealth> g = {{.up = 1, .min_healthy = 2}, {.up = 1, .min_healthy = 1}};
  EXPECT_EQ(chooseGroup(g, 0, Failback::kAuto, false), 1);
}

TEST(ChooseGroup, DegradedGroupBeatsNone) {
  const std::vector<GroupHealth> g = {{.up = 0, .min_healthy = 1}, {.up = 1, .min_healthy = 2}};
  EXPECT_EQ(chooseGroup(g, 0, Failback::kAuto, false), 1);
  const std::vector<GroupHealth> down = {{.up = 0, .min_healthy = 1}, {.up = 0, .min_healthy = 1}};
  EXPECT_EQ(chooseGroup(down, 1, Failback::kAuto, false), 1);  // nothing up: stay
  EXPECT_EQ(chooseGroup(down, kNone, Failback::kAuto, false), 0);
}

TEST(ChooseGroup, ManualFailbackWaitsForTheAdmin) {
  std::vector<GroupHealth> g = {{.up = 0, .min_healthy = 1}, {.up = 1, .min_healthy = 1}};
  EXPECT_EQ(chooseGroup(g, 0, Failback::kManual, false), 1);  // failover is automatic
  g[0].up = 1;                                                // the best group recovers
  EXPECT_EQ(chooseGroup(g, 1, Failback::kManual, false), 1);  // but traffic stays
  EXPECT_EQ(chooseGroup(g, 1, Failback::kManual, true), 0);   // until the admin call
  g[1].up = 0;  // the serving group fails: on to the best eligible one, admin or not
  EXPECT_EQ(chooseGroup(g, 1, Failback::kManual, false), 0);
}

TEST(ChooseGroup, ManualStartsOnTheBestGroup) {
  const std::vector<GroupHealth> g = {{.up = 1, .min_healthy = 1}, {.up = 1, .min_healthy = 1}};
  EXPECT_EQ(chooseGroup(g, kNone, Failback::kManual, false), 0);
}

}  // namespace
}  // namespace ballast::upstream
