// tests/unit/upstream/outlier_test.cpp — passive health on a hand-built pool: runs of failures
// eject, successes break a run, the pool's cap holds, ejections grow and end, the success-rate
// test finds the odd backend out, and the workers' pickers skip an ejected backend.
#include "upstream/outlier.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "upstream/worker_pool.h"

namespace ballast::upstream {
namespace {

struct TestPool {
  explicit TestPool(size_t backends, config::OutlierDetection outlier) {
    config.name = "app";
    config.outlier = outlier;
    config.outlier.enabled = true;
    runtime.config = &config;
    runtime.generation = std::make_shared<std::atomic<uint64_t>>(0);
    for (size_t i = 0; i < backends; ++i) {
      const std::string addr = "127.0.0.1:" + std::to_string(9001 + i);
      const auto a = *net::SocketAddress::parse(addr);
      config.backends.push_back({a});
      runtime.backends.push_back(std::make_shared<BackendState>(a));
    }
  }
  const OutlierState& state(size_t i) const { return runtime.backends[i]->outlier; }
  config::Pool config;
  PoolRuntime runtime;
};

config::OutlierDetection detection() {
  config::OutlierDetection o;
  o.consecutive_5xx = 3;
  o.consecutive_gateway_failures = 2;
  o.base_ejection_time = std::chrono::milliseconds(1000);
  o.max_ejection_time = std::chrono::milliseconds(2500);
  o.interval = std::chrono::milliseconds(500);
  o.max_ejection_percent = 50;
  return o;
}

TEST(Outlier, StatusesMapToOutcomes) {
  EXPECT_EQ(outcomeForStatus(200), Outcome::kSuccess);
  EXPECT_EQ(outcomeForStatus(404), Outcome::kSuccess);
  EXPECT_EQ(outcomeForStatus(500), Outcome::kServerError);
  EXPECT_EQ(outcomeForStatus(502), Outcome::kGatewayError);
  EXPECT_EQ(outcomeForStatus(503), Outcome::kGatewayError);
  EXPECT_EQ(outcomeForStatus(504), Outcome::kGatewayError);
  EXPECT_EQ(outcomeForStatus(505), Outcome::kServerError);
}

TEST(Outlier, ARunOf5xxEjectsAndASuccessBreaksIt) {
  TestPool p(4, detection());
  const uint64_t gen = p.runtime.generation->load();
  EXPECT_FALSE(recordOutcome(p.runtime, 0, Outcome::kServerError, 0));
  EXPECT_FALSE(recordOutcome(p.runtime, 0, Outcome::kServerError, 0));
  EXPECT_FALSE(recordOutcome(p.runtime, 0, Outcome::kSuccess, 0));  // the run starts over
  EXPECT_FALSE(recordOutcome(p.runtime, 0, Outcome::kServerError, 0));
  EXPECT_FALSE(recordOutcome(p.runtime, 0, Outcome::kServerError, 0));
  EXPECT_FALSE(isEjected(*p.runtime.backends[0]));
  EXPECT_TRUE(recordOutcome(p.runtime, 0, Outcome::kServerError, 100));
  EXPECT_TRUE(isEjected(*p.runtime.backends[0]));
  EXPECT_GT(p.runtime.generation->load(), gen);  // the workers rebuild their pickers
  EXPECT_EQ(p.state(0).ejected_until_ms.load(), 1100U);
  EXPECT_EQ(p.state(0).ejections_total[0].load(), 1U);
}

TEST(Outlier, GatewayFailuresHaveTheirOwnShorterRun) {
  TestPool p(4, detection());
  EXPECT_FALSE(recordOutcome(p.runtime, 1, Outcome::kLocalFailure, 0));
  EXPECT_TRUE(recordOutcome(p.runtime, 1, Outcome::kGatewayError, 0));
  EXPECT_EQ(static_cast<EjectReason>(p.state(1).reason.load()),
            EjectReason::kConsecutiveGatewayFailure);
  // A plain 500 breaks a gateway run but counts towards the 5xx one.
  EXPECT_FALSE(recordOutcome(p.runtime, 2, Outcome::kLocalFailure, 0));
  EXPECT_FALSE(recordOutcome(p.runtime, 2, Outcome::kServerError, 0));
  EXPECT_FALSE(isEjected(*p.runtime.backends[2]));
  EXPECT_TRUE(recordOutcome(p.runtime, 2, Outcome::kServerError, 0));  // third 5xx in a row
}

TEST(Outlier, ThePoolsCapHoldsButOneBackendMayAlwaysGo) {
  auto d = detection();
  d.max_ejection_percent = 10;  // 10% of 4 rounds to 0: still one may go
  TestPool p(4, d);
  for (int i = 0; i < 2; ++i) {
    recordOutcome(p.runtime, 0, Outcome::kLocalFailure, 0);
    recordOutcome(p.runtime, 1, Outcome::kLocalFailure, 0);
  }
  EXPECT_TRUE(isEjected(*p.runtime.backends[0]));
  EXPECT_FALSE(isEjected(*p.runtime.backends[1]));
  d.max_ejection_percent = 0;
  TestPool none(4, d);
  for (int i = 0; i < 5; ++i) {
    recordOutcome(none.runtime, 0, Outcome::kLocalFailure, 0);
  }
  EXPECT_FALSE(isEjected(*none.runtime.backends[0]));
}

TEST(Outlier, EjectionsGrowWithEachTimeUpToTheMaxAndEndOnTime) {
  TestPool p(2, detection());
  OutlierSweeper sweeper;
  const std::vector<const PoolRuntime*> pools = {&p.runtime};
  auto eject = [&](uint64_t now) {
    recordOutcome(p.runtime, 0, Outcome::kLocalFailure, now);
    return recordOutcome(p.runtime, 0, Outcome::kLocalFailure, now);
  };
  ASSERT_TRUE(eject(0));
  auto events = sweeper.sweep(pools, 10);
  ASSERT_EQ(events.size(), 1U);
  EXPECT_TRUE(events[0].ejected);
  EXPECT_EQ(events[0].duration_ms, 1000U);
  EXPECT_TRUE(sweeper.sweep(pools, 999).empty());  // reported once, not yet over
  events = sweeper.sweep(pools, 1000);
  ASSERT_EQ(events.size(), 1U);
  EXPECT_FALSE(events[0].ejected);
  EXPECT_FALSE(isEjected(*p.runtime.backends[0]));
  ASSERT_TRUE(eject(1100));
  EXPECT_EQ(p.state(0).ejected_until_ms.load(), 1100U + 2000U);  // base × 2
  sweeper.sweep(pools, 3100);
  ASSERT_TRUE(eject(3200));
  EXPECT_EQ(p.state(0).ejected_until_ms.load(), 3200U + 2500U);  // capped at max
}

TEST(Outlier, TheMultiplierDecaysWhileTheBackendServes) {
  TestPool p(2, detection());
  OutlierSweeper sweeper;
  const std::vector<const PoolRuntime*> pools = {&p.runtime};
  sweeper.sweep(pools, 0);  // the first pass only starts the interval
  recordOutcome(p.runtime, 0, Outcome::kLocalFailure, 0);
  recordOutcome(p.runtime, 0, Outcome::kLocalFailure, 0);
  sweeper.sweep(pools, 1000);  // returned at 1000
  EXPECT_EQ(p.state(0).times_ejected.load(), 1U);
  sweeper.sweep(pools, 1200);  // an interval pass, but not a whole interval served yet
  EXPECT_EQ(p.state(0).times_ejected.load(), 1U);
  sweeper.sweep(pools, 1700);
  EXPECT_EQ(p.state(0).times_ejected.load(), 0U);
}

TEST(Outlier, AnActiveCheckReturnsAnEjectedBackend) {
  TestPool p(2, detection());
  recordOutcome(p.runtime, 1, Outcome::kLocalFailure, 0);
  recordOutcome(p.runtime, 1, Outcome::kLocalFailure, 0);
  OutlierEvent e;
  EXPECT_TRUE(OutlierSweeper::returnToService(p.runtime, 1, 40, &e));
  EXPECT_FALSE(isEjected(*p.runtime.backends[1]));
  EXPECT_EQ(e.backend, "127.0.0.1:9002");
  EXPECT_EQ(e.duration_ms, 40U);
  EXPECT_FALSE(OutlierSweeper::returnToService(p.runtime, 1, 50, &e));
}

TEST(Outlier, SuccessRateFindsTheOddBackendOut) {
  auto d = detection();
  d.consecutive_5xx = 0;
  d.consecutive_gateway_failures = 0;
  d.success_rate = true;
  d.success_rate_min_hosts = 5;
  d.success_rate_min_requests = 100;
  d.success_rate_stdev_factor = 1.9;
  TestPool p(6, d);
  OutlierSweeper sweeper;
  const std::vector<const PoolRuntime*> pools = {&p.runtime};
  sweeper.sweep(pools, 0);
  for (uint32_t b = 0; b < 6; ++b) {
    for (int i = 0; i < 200; ++i) {
      // Backend 3 fails one request in four; the others one in a hundred.
      const bool fail = b == 3 ? i % 4 == 0 : i % 100 == 0;
      recordOutcome(p.runtime, b, fail ? Outcome::kServerError : Outcome::kSuccess, 0);
    }
  }
  const auto events = sweeper.sweep(pools, 500);
  ASSERT_EQ(events.size(), 1U);
  EXPECT_EQ(events[0].backend, "127.0.0.1:9004");
  EXPECT_EQ(events[0].reason, EjectReason::kSuccessRate);
  EXPECT_DOUBLE_EQ(events[0].success_rate, 0.75);
  EXPECT_GT(events[0].threshold, 0.75);
  EXPECT_TRUE(isEjected(*p.runtime.backends[3]));
  // Too few backends with enough requests: no verdict at all.
  for (uint32_t b = 0; b < 4; ++b) {
    for (int i = 0; i < 200; ++i) {
      recordOutcome(p.runtime, b, b == 0 ? Outcome::kServerError : Outcome::kSuccess, 0);
    }
  }
  EXPECT_TRUE(sweeper.sweep(pools, 1000).empty());
}

TEST(Outlier, TheWorkersPickerSkipsAnEjectedBackend) {
  TestPool p(2, detection());
  WorkerPool worker(&p.runtime, 1);
  recordOutcome(p.runtime, 0, Outcome::kLocalFailure, 0);
  recordOutcome(p.runtime, 0, Outcome::kLocalFailure, 0);
  for (int i = 0; i < 10; ++i) {
    EXPECT_EQ(worker.pick(0, {}), 1U);
  }
  OutlierSweeper::returnToService(p.runtime, 0, 1, nullptr);
  bool saw_zero = false;
  for (int i = 0; i < 10; ++i) {
    saw_zero = saw_zero || worker.pick(0, {}) == 0U;
  }
  EXPECT_TRUE(saw_zero);
}

}  // namespace
}  // namespace ballast::upstream
