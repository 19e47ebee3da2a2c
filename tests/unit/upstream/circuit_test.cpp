// tests/unit/upstream/circuit_test.cpp — the breaker's states and the shared limits: opening
// after the threshold, half-open after the recovery time with bounded probes, closing on
// success and reopening on failure; acquire never passing a limit; the picker skipping open
// backends.
#include "upstream/circuit.h"

#include <gtest/gtest.h>

#include <memory>
#include <vector>

#include "upstream/worker_pool.h"

namespace ballast::upstream {
namespace {

config::CircuitBreaker breakerConfig() {
  config::CircuitBreaker c;
  c.enabled = true;
  c.failure_threshold = 3;
  c.recovery_timeout = std::chrono::milliseconds(100);
  c.half_open_requests = 1;
  return c;
}

TEST(Breaker, OpensAfterTheThresholdOfConsecutiveFailures) {
  const auto cfg = breakerConfig();
  Breaker b;
  EXPECT_EQ(b.onFailure(cfg, 10), BreakerChange::kNone);
  EXPECT_EQ(b.onFailure(cfg, 10), BreakerChange::kNone);
  EXPECT_EQ(b.onSuccess(), BreakerChange::kNone);  // the run starts again
  EXPECT_EQ(b.onFailure(cfg, 10), BreakerChange::kNone);
  EXPECT_EQ(b.onFailure(cfg, 10), BreakerChange::kNone);
  EXPECT_EQ(b.state(), BreakerState::kClosed);
  EXPECT_EQ(b.onFailure(cfg, 10), BreakerChange::kOpened);
  EXPECT_EQ(b.state(), BreakerState::kOpen);
  EXPECT_EQ(b.openedTotal(), 1U);
  EXPECT_FALSE(b.admit(cfg, 20));
}

TEST(Breaker, HalfOpensAfterRecoveryAndLetsOneProbeThrough) {
  const auto cfg = breakerConfig();
  Breaker b;
  for (int i = 0; i < 3; ++i) {
    b.onFailure(cfg, 1000);
  }
  EXPECT_EQ(b.maybeHalfOpen(cfg, 1099), BreakerChange::kNone);
  EXPECT_EQ(b.maybeHalfOpen(cfg, 1100), BreakerChange::kHalfOpened);
  EXPECT_EQ(b.maybeHalfOpen(cfg, 1100), BreakerChange::kNone);  // one caller wins
  EXPECT_TRUE(b.admit(cfg, 1101));
  EXPECT_FALSE(b.admit(cfg, 1102));  // the probe is out
  EXPECT_EQ(b.onSuccess(), BreakerChange::kClosed);
  EXPECT_EQ(b.state(), BreakerState::kClosed);
  EXPECT_TRUE(b.admit(cfg, 1103));
}

TEST(Breaker, AFailedProbeReopens) {
  const auto cfg = breakerConfig();
  Breaker b;
  for (int i = 0; i < 3; ++i) {
    b.onFailure(cfg, 0);
  }
  b.maybeHalfOpen(cfg, 100);
  EXPECT_TRUE(b.admit(cfg, 100));
  EXPECT_EQ(b.onFailure(cfg, 150), BreakerChange::kOpened);
  EXPECT_EQ(b.state(), BreakerState::kOpen);
  EXPECT_EQ(b.openedTotal(), 2U);
  EXPECT_EQ(b.maybeHalfOpen(cfg, 200), BreakerChange::kNone);  // recovery counts from 150
  EXPECT_EQ(b.maybeHalfOpen(cfg, 250), BreakerChange::kHalfOpened);
}

TEST(Breaker, AProbeThatNeverReportsFreesItsSlotAfterTheRecoveryTime) {
  const auto cfg = breakerConfig();
  Breaker b;
  for (int i = 0; i < 3; ++i) {
    b.onFailure(cfg, 0);
  }
  b.maybeHalfOpen(cfg, 100);
  EXPECT_TRUE(b.admit(cfg, 100));
  EXPECT_FALSE(b.admit(cfg, 150));
  EXPECT_TRUE(b.admit(cfg, 200));
}

TEST(Breaker, AThresholdOfZeroNeverOpens) {
  auto cfg = breakerConfig();
  cfg.failure_threshold = 0;
  Breaker b;
  for (int i = 0; i < 100; ++i) {
    EXPECT_EQ(b.onFailure(cfg, 0), BreakerChange::kNone);
  }
  EXPECT_EQ(b.state(), BreakerState::kClosed);
}

TEST(PoolCircuit, AcquireNeverPassesTheLimit) {
  std::atomic<uint32_t> n{0};
  EXPECT_TRUE(PoolCircuit::acquire(n, 2));
  EXPECT_TRUE(PoolCircuit::acquire(n, 2));
  EXPECT_FALSE(PoolCircuit::acquire(n, 2));
  EXPECT_EQ(n.load(), 2U);
  PoolCircuit::release(n);
  EXPECT_TRUE(PoolCircuit::acquire(n, 2));
  for (int i = 0; i < 10; ++i) {
    EXPECT_TRUE(PoolCircuit::acquire(n, 0));  // 0: no limit
  }
}

TEST(PoolCircuit, RefusalsHaveTheirHeaderNames) {
  EXPECT_EQ(circuitRefusalName(CircuitRefusal::kMaxRequests), "max_requests");
  EXPECT_EQ(circuitRefusalName(CircuitRefusal::kQueueTimeout), "queue_timeout");
  EXPECT_EQ(circuitRefusalName(CircuitRefusal::kBreakerOpen), "breaker_open");
  EXPECT_EQ(circuitRefusalName(CircuitRefusal::kMaxRetries), "max_retries");
}

// A two-backend pool with a breaker that opens on the first failure.
struct PoolFixture {
  PoolFixture() {
    pool.name = "app";
    pool.circuit_breaker = breakerConfig();
    pool.circuit_breaker.failure_threshold = 1;
    pool.circuit_breaker.recovery_timeout = std::chrono::hours(1);
    for (uint16_t port : {9001, 9002}) {
      config::Backend b;
      b.address = *net::SocketAddress::parse("127.0.0.1:" + std::to_string(port));
      pool.backends.push_back(b);
      runtime.backends.push_back(std::make_shared<BackendState>(b.address));
    }
    runtime.config = &pool;
    runtime.generation = std::make_shared<std::atomic<uint64_t>>(0);
  }
  config::Pool pool;
  PoolRuntime runtime;
};

TEST(WorkerPoolCircuit, AnOpenBackendIsSkippedAndAllOpenIsReported) {
  PoolFixture f;
  WorkerPool wp(&f.runtime, 1);
  EXPECT_FALSE(wp.anyBreakerOpen());
  wp.recordFailure(0);
  EXPECT_EQ(f.runtime.backends[0]->breaker.state(), BreakerState::kOpen);
  for (int i = 0; i < 10; ++i) {
    EXPECT_EQ(wp.pick(0, {}), 1U);
  }
  EXPECT_TRUE(wp.anyBreakerOpen());
  wp.recordFailure(1);
  EXPECT_FALSE(wp.pick(0, {}).has_value());
}

TEST(WorkerPoolCircuit, ConnectionRoomFollowsTheBackendAndPoolLimits) {
  PoolFixture f;
  f.pool.backends[0].max_connections = 1;
  f.pool.circuit_breaker.max_connections = 2;
  WorkerPool wp(&f.runtime, 1);
  EXPECT_TRUE(wp.connectionRoom(0));
  f.runtime.backends[0]->connections = 1;
  EXPECT_FALSE(wp.connectionRoom(0));  // its own limit
  EXPECT_TRUE(wp.connectionRoom(1));
  f.runtime.backends[1]->connections = 1;
  EXPECT_FALSE(wp.connectionRoom(1));  // the pool's: 2 open
}

}  // namespace
}  // namespace ballast::upstream
