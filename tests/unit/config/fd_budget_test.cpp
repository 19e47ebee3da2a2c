// tests/unit/config/fd_budget_test.cpp — socket needs per protocol and the pipe share.
#include "config/fd_budget.h"

#include <gtest/gtest.h>

namespace ballast::config {
namespace {

Listener listener(Protocol p) {
  Listener l;
  l.protocol = p;
  l.limits.max_connections = 100;
  l.limits.max_flows = 7;
  return l;
}

TEST(FdBudget, PairsForConnectionsOneSocketPerFlowPlusListeners) {
  Config cfg;
  cfg.listeners.push_back(listener(Protocol::kTcp));
  EXPECT_EQ(socketFdsNeeded(cfg, 2), 200U + 2);
  cfg.listeners.push_back(listener(Protocol::kUdp));
  EXPECT_EQ(socketFdsNeeded(cfg, 2), 202U + 7 + 2);
  // HTTP counts its connections (client + upstream), not the UDP flow table.
  Config http;
  http.listeners.push_back(listener(Protocol::kHttp));
  http.listeners.push_back(listener(Protocol::kHttps));
  http.listeners.push_back(listener(Protocol::kTlsPassthrough));
  EXPECT_EQ(socketFdsNeeded(http, 1), 3 * 201U);
}

TEST(FdBudget, PipesGetAQuarterAtMostAndNeverWhatSocketsNeed) {
  EXPECT_EQ(pipeFdBudget(20000, 0), 5000U);
  EXPECT_EQ(pipeFdBudget(20000, 16386), 3614U);  // one default TCP listener, 2 workers
  EXPECT_EQ(pipeFdBudget(20000, 20000), 0U);
  EXPECT_EQ(pipeFdBudget(20000, 40000), 0U);  // over-committed: none, never negative
  EXPECT_EQ(pipeFdBudget(0, 0), 0U);
}

TEST(FdBudget, DefaultTcpListenerFitsTheMachinesLimit) {
  // The hard limit here is 20,000: the default config must neither warn nor starve pipes.
  Config cfg;
  cfg.listeners.push_back(Listener{});
  const uint64_t needed = socketFdsNeeded(cfg, 2);
  EXPECT_LT(needed, 20000U);
  EXPECT_GT(pipeFdBudget(20000, needed), 1000U);
}

}  // namespace
}  // namespace ballast::config
