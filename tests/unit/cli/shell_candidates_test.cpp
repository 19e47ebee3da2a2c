// tests/unit/cli/shell_candidates_test.cpp — what the shell offers for completion and `?` after
// the words typed so far: commands, show topics, backend verbs, pool names and backend addresses.
#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

#include "cli/shell.h"

namespace ballast::cli {
namespace {

using Pools = std::vector<std::pair<std::string, std::vector<std::string>>>;

const Pools kPools = {{"app", {"10.0.0.1:80", "10.0.0.2:80"}}, {"api", {"[2001:db8::1]:8080"}}};

std::vector<std::string> words(const std::vector<ShellCandidate>& c) {
  std::vector<std::string> out;
  for (const auto& x : c) {
    out.push_back(x.word);
  }
  return out;
}

TEST(ShellCandidatesTest, EveryCandidateHasHelp) {
  const std::vector<std::vector<std::string>> inputs = {{},
                                                        {"show"},
                                                        {"show", "backends"},
                                                        {"backend"},
                                                        {"backend", "drain"},
                                                        {"backend", "drain", "app"},
                                                        {"backend", "add", "app"},
                                                        {"backend", "weight", "app", "x"}};
  for (const auto& in : inputs) {
    for (const auto& c : shellCandidates(in, kPools)) {
      EXPECT_FALSE(c.word.empty());
      EXPECT_FALSE(c.help.empty()) << c.word;
    }
  }
}

TEST(ShellCandidatesTest, TopLevelCommands) {
  const auto w = words(shellCandidates({}, kPools));
  const std::set<std::string> got(w.begin(), w.end());
  for (const char* cmd : {"show", "backend", "pool", "status", "reload", "drain", "help", "exit"}) {
    EXPECT_TRUE(got.contains(cmd)) << cmd;
  }
  EXPECT_EQ(got.size(), w.size()) << "no duplicates";
  EXPECT_EQ(words(shellCandidates({}, {})), w) << "commands do not depend on pools";
}

TEST(ShellCandidatesTest, ShowTopics) {
  EXPECT_EQ(words(shellCandidates({"show"}, kPools)),
            (std::vector<std::string>{"status", "config", "listeners", "certificates", "pools",
                                      "backends", "events", "services", "uplinks", "bgp"}));
  const auto pools = shellCandidates({"show", "backends"}, kPools);
  EXPECT_EQ(words(pools), (std::vector<std::string>{"app", "api"}));
  EXPECT_EQ(pools[0].help, "2 backends");
  EXPECT_EQ(pools[1].help, "1 backends");
  EXPECT_TRUE(shellCandidates({"show", "backends"}, {}).empty());
  EXPECT_TRUE(shellCandidates({"show", "pools"}, kPools).empty());
  EXPECT_TRUE(shellCandidates({"show", "backends", "app"}, kPools).empty());
}

TEST(ShellCandidatesTest, BackendVerbsPoolsAndAddresses) {
  EXPECT_EQ(words(shellCandidates({"backend"}, kPools)),
            (std::vector<std::string>{"add", "remove", "weight", "drain", "enable", "disable"}));
  for (const char* verb : {"add", "remove", "weight", "drain", "enable", "disable"}) {
    EXPECT_EQ(words(shellCandidates({"backend", verb}, kPools)),
              (std::vector<std::string>{"app", "api"}))
        << verb;
  }
  const auto app = shellCandidates({"backend", "drain", "app"}, kPools);
  EXPECT_EQ(words(app), (std::vector<std::string>{"10.0.0.1:80", "10.0.0.2:80"}));
  EXPECT_EQ(app[0].help, "backend of app");
  EXPECT_EQ(words(shellCandidates({"backend", "remove", "api"}, kPools)),
            (std::vector<std::string>{"[2001:db8::1]:8080"}));
  EXPECT_TRUE(shellCandidates({"backend", "drain", "nope"}, kPools).empty());
  // add takes a new address (a placeholder, never completed), then a weight.
  EXPECT_EQ(words(shellCandidates({"backend", "add", "app"}, kPools)),
            (std::vector<std::string>{"<host:port>"}));
  EXPECT_EQ(words(shellCandidates({"backend", "add", "app", "10.0.0.9:80"}, kPools)),
            (std::vector<std::string>{"<0-1000>"}));
  EXPECT_EQ(words(shellCandidates({"backend", "weight", "app", "10.0.0.1:80"}, kPools)),
            (std::vector<std::string>{"<0-1000>"}));
  EXPECT_TRUE(shellCandidates({"backend", "drain", "app", "10.0.0.1:80"}, kPools).empty());
  EXPECT_TRUE(shellCandidates({"backend", "weight", "app", "10.0.0.1:80", "5"}, kPools).empty());
}

TEST(ShellCandidatesTest, CommandsWithoutArgumentsOfferNothing) {
  for (const char* cmd : {"status", "reload", "drain", "exit", "help", "frobnicate"}) {
    EXPECT_TRUE(shellCandidates({cmd}, kPools).empty()) << cmd;
  }
}

}  // namespace
}  // namespace ballast::cli
