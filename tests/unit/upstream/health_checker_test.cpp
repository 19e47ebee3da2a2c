// tests/unit/upstream/health_checker_test.cpp — the checker on a real epoll loop against
// loopback: a refused port goes down with its reason, backoff doubles the interval to its limit
// and a success resets it, and a reload keeps a backend's probe (streaks, interval).
#include "upstream/health_checker.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>

#include "core/clock.h"

namespace ballast::upstream {
namespace {

using namespace std::chrono_literals;

// A loopback port nothing listens on: bound, then closed.
uint16_t refusedPort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a));
  socklen_t len = sizeof(a);
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  close(fd);
  return ntohs(a.sin_port);
}

struct Fixture {
  Fixture() {
    std::string unused;
    loop = core::EventLoop::create(core::IoKind::kEpoll, &unused);
    checker = std::make_unique<HealthChecker>(*loop, 1);
  }
  template <typename Pred>
  bool runUntil(Pred pred, uint64_t limit_ms = 5000) {
    const uint64_t end = core::monotonicMs() + limit_ms;
    while (!pred()) {
      if (core::monotonicMs() > end) {
        return false;
      }
      loop->runOnce(5);
    }
    return true;
  }
  HealthTarget target(uint16_t port, const config::HealthCheck& check) {
    auto address = net::SocketAddress::parse("127.0.0.1:" + std::to_string(port));
    if (!backend || backend->address.port() != port) {
      backend = std::make_shared<BackendState>(*address);
    }
    return {"app", backend, check, generation};
  }
  std::unique_ptr<core::EventLoop> loop;
  std::unique_ptr<HealthChecker> checker;
  BackendStatePtr backend;
  std::shared_ptr<std::atomic<uint64_t>> generation = std::make_shared<std::atomic<uint64_t>>(0);
};

config::HealthCheck fastTcp() {
  config::HealthCheck c;
  c.type = config::HealthCheckType::kTcp;
  c.interval = 10ms;
  c.timeout = 10ms;
  c.rise = 1;
  c.fall = 1;
  c.jitter = 0;
  return c;
}

TEST(HealthChecker, RefusedGoesDownAndBacksOffToTheLimit) {
  Fixture f;
  auto check = fastTcp();
  check.backoff_max = 80ms;
  f.checker->setTargets({f.target(refusedPort(), check)});
  ASSERT_TRUE(f.runUntil([&] { return f.checker->status(*f.backend)->interval_ms == 80; }));
  EXPECT_FALSE(f.backend->healthy.load());
  const auto s = *f.checker->status(*f.backend);
  EXPECT_EQ(s.type, config::HealthCheckType::kTcp);
  EXPECT_FALSE(s.last_ok);
  EXPECT_EQ(s.last_reason, "Connection refused");
  EXPECT_EQ(f.checker->stateChanges(), 1U);
  EXPECT_GE(f.generation->load(), 1U);
  EXPECT_GE(f.checker->failuresByType()[static_cast<size_t>(config::HealthCheckType::kTcp)], 3U);
}

TEST(HealthChecker, SuccessResetsTheInterval) {
  Fixture f;
  auto check = fastTcp();
  check.backoff_max = 40ms;
  const uint16_t port = refusedPort();
  f.checker->setTargets({f.target(port, check)});
  ASSERT_TRUE(f.runUntil([&] { return f.checker->status(*f.backend)->interval_ms == 40; }));
  // Now something listens there.
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  const int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(port);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
  ASSERT_EQ(listen(fd, 64), 0);
  ASSERT_TRUE(f.runUntil([&] { return f.backend->healthy.load(); }));
  EXPECT_EQ(f.checker->status(*f.backend)->interval_ms, 10U);
  EXPECT_EQ(f.checker->status(*f.backend)->last_reason, "connected");
  close(fd);
}

TEST(HealthChecker, ReloadKeepsTheProbeAndUncheckedBackendsHaveNoStatus) {
  Fixture f;
  auto check = fastTcp();
  check.fall = 1000;  // stays up while failures pile up
  f.checker->setTargets({f.target(refusedPort(), check)});
  ASSERT_TRUE(f.runUntil([&] { return f.checker->status(*f.backend)->fail_streak >= 3; }));
  const uint32_t before = f.checker->status(*f.backend)->fail_streak;
  check.interval = 1h;
  check.timeout = 1s;
  f.checker->setTargets({{"app", f.backend, check, f.generation}});
  EXPECT_GE(f.checker->status(*f.backend)->fail_streak, before);
  EXPECT_EQ(f.checker->status(*f.backend)->interval_ms, 3600000U);
  check.type = config::HealthCheckType::kNone;
  f.checker->setTargets({{"app", f.backend, check, f.generation}});
  EXPECT_FALSE(f.checker->status(*f.backend).has_value());
}

}  // namespace
}  // namespace ballast::upstream
