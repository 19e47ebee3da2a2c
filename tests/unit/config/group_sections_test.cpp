// tests/unit/config/group_sections_test.cpp — slow_start, backup, allbackups, groups and
// failback: every key read back, and each refusal's exact "file:line:col: message".
#include <gtest/gtest.h>

#include <string>

#include "config/loader.h"

namespace ballast::config {
namespace {

// A pool with three backends on lines 4-6 and `extra` (pool keys) from line 7.
LoadResult load(const std::string& extra, const std::string& backend_extra = "") {
  const std::string yaml =
      "pools:\n  - name: app\n    backends:\n"
      "      - {address: \"127.0.0.1:9001\"}\n"
      "      - {address: \"127.0.0.1:9002\"" +
      backend_extra +
      "}\n"
      "      - {address: \"127.0.0.1:9003\"}\n" +
      extra;
  return loadConfigText(yaml, "g.yaml");
}

std::string firstError(const LoadResult& r) { return r.errors.empty() ? "" : r.errors[0].format(); }

const std::string kGroups =
    "    groups:\n"
    "      - {name: main, priority: 1, min_healthy: 2, backends: [\"127.0.0.1:9001\", "
    "\"127.0.0.1:9002\"]}\n"
    "      - {name: dr, priority: 0, backends: [\"127.0.0.1:9003\"]}\n";

TEST(GroupSectionsConfig, SlowStartBackupAndAllBackupsAreRead) {
  const auto r = load("    slow_start: 30s\n    allbackups: true\n", ", backup: true");
  ASSERT_TRUE(r.errors.empty()) << firstError(r);
  const Pool& p = r.config->pools[0];
  EXPECT_EQ(p.slow_start.count(), 30000);
  EXPECT_TRUE(p.all_backups);
  EXPECT_FALSE(p.backends[0].backup);
  EXPECT_TRUE(p.backends[1].backup);
}

TEST(GroupSectionsConfig, GroupsAreReadAndSortedByPriority) {
  const auto r = load(kGroups + "    failback: manual\n");
  ASSERT_TRUE(r.errors.empty()) << firstError(r);
  const Pool& p = r.config->pools[0];
  ASSERT_EQ(p.groups.size(), 2U);
  EXPECT_EQ(p.groups[0].name, "dr");  // priority 0 first
  EXPECT_EQ(p.groups[0].min_healthy, 1U);
  EXPECT_EQ(p.groups[1].name, "main");
  EXPECT_EQ(p.groups[1].min_healthy, 2U);
  EXPECT_EQ(p.groups[1].backends, (std::vector<uint32_t>{0, 1}));
  EXPECT_EQ(p.failback, Failback::kManual);
}

TEST(GroupSectionsConfig, UnknownBackendIsRefused) {
  const auto r = load(
      "    groups:\n      - {name: a, priority: 1, backends: [\"127.0.0.1:9001\", "
      "\"127.0.0.1:9002\", \"127.0.0.1:9003\", \"127.0.0.1:9009\"]}\n");
  EXPECT_EQ(firstError(r),
            "g.yaml:8:97: group \"a\": 127.0.0.1:9009 is not a backend of pool \"app\"");
}

TEST(GroupSectionsConfig, ABackendInTwoGroupsIsRefused) {
  const auto r = load(
      "    groups:\n      - {name: a, priority: 1, backends: [\"127.0.0.1:9001\", "
      "\"127.0.0.1:9002\"]}\n"
      "      - {name: b, priority: 2, backends: [\"127.0.0.1:9003\", \"127.0.0.1:9002\"]}\n");
  EXPECT_EQ(firstError(r),
            "g.yaml:9:61: backend 127.0.0.1:9002 is already in group \"a\"; a backend belongs "
            "to one group");
}

TEST(GroupSectionsConfig, ABackendInNoGroupIsRefused) {
  const auto r = load(
      "    groups:\n      - {name: a, priority: 1, backends: [\"127.0.0.1:9001\", "
      "\"127.0.0.1:9002\"]}\n");
  EXPECT_EQ(firstError(r), "g.yaml:7:5: pool \"app\": backend 127.0.0.1:9003 is in no group");
}

TEST(GroupSectionsConfig, BackupWithGroupsIsRefused) {
  const auto r = load(kGroups, ", backup: true");
  EXPECT_EQ(firstError(r),
            "g.yaml:7:5: pool \"app\": groups and backup backends are exclusive (a lower "
            "priority group is the backup)");
}

TEST(GroupSectionsConfig, EqualPrioritiesAndTooHighMinHealthyAreRefused) {
  auto r = load(
      "    groups:\n      - {name: a, priority: 1, backends: [\"127.0.0.1:9001\"]}\n"
      "      - {name: b, priority: 1, backends: [\"127.0.0.1:9002\", \"127.0.0.1:9003\"]}\n");
  EXPECT_EQ(firstError(r),
            "g.yaml:9:29: group \"b\" has the priority of group \"a\"; priorities must differ");
  r = load(
      "    groups:\n      - {name: a, priority: 1, min_healthy: 4, backends: [\"127.0.0.1:9001\", "
      "\"127.0.0.1:9002\", \"127.0.0.1:9003\"]}\n");
  ASSERT_FALSE(r.errors.empty());
  EXPECT_NE(firstError(r).find("g.yaml:8:45:"), std::string::npos) << firstError(r);
}

TEST(GroupSectionsConfig, FailbackWithoutGroupsIsRefused) {
  const auto r = load("    failback: auto\n");
  EXPECT_EQ(firstError(r), "g.yaml:7:5: pool \"app\": failback needs groups");
}

}  // namespace
}  // namespace ballast::config
