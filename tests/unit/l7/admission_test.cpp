// tests/unit/l7/admission_test.cpp — request slots and the wait for one on a real loop: admitted
// within max_requests, refused at once without a queue, queued and admitted when a slot frees,
// refused when the queue is full, and given up at queue_timeout.
#include "l7/admission.h"

#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <string>

#include "core/clock.h"

namespace ballast::l7 {
namespace {

constexpr int kTurnMs = 5;
constexpr uint64_t kDeadlineMs = 3000;

struct User final : AdmissionUser {
  int admitted = 0;
  std::optional<upstream::CircuitRefusal> refused;
  void onAdmitted() override { ++admitted; }
  void onAdmissionRefused(upstream::CircuitRefusal why) override { refused = why; }
};

class AdmissionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string why;
    loop_ = core::EventLoop::create(core::IoKind::kEpoll, &why);
    ASSERT_TRUE(loop_) << why;
    pool_.name = "app";
    pool_.circuit_breaker.enabled = true;
    pool_.circuit_breaker.max_requests = 1;
    pool_.circuit_breaker.queue_timeout = std::chrono::milliseconds(100);
    config::Backend b;
    b.address = *net::SocketAddress::parse("127.0.0.1:9001");
    pool_.backends.push_back(b);
    runtime_.config = &pool_;
    runtime_.backends.push_back(std::make_shared<upstream::BackendState>(b.address));
    runtime_.generation = std::make_shared<std::atomic<uint64_t>>(0);
    worker_pool_ = std::make_unique<upstream::WorkerPool>(&runtime_, 1);
  }

  template <typename Done>
  void runUntil(Done done) {
    const uint64_t deadline = core::monotonicMs() + kDeadlineMs;
    while (!done() && core::monotonicMs() < deadline) {
      loop_->runOnce(kTurnMs);
    }
  }

  std::unique_ptr<core::EventLoop> loop_;
  config::Pool pool_;
  upstream::PoolRuntime runtime_;
  std::unique_ptr<upstream::WorkerPool> worker_pool_;
};

TEST_F(AdmissionTest, WithoutAQueueTheRequestOverTheLimitIsRefused) {
  User u1;
  User u2;
  Admission a1(*loop_, u1);
  Admission a2(*loop_, u2);
  upstream::CircuitRefusal why{};
  EXPECT_EQ(a1.admit(*worker_pool_, &why), Admission::Outcome::kAdmitted);
  EXPECT_EQ(a2.admit(*worker_pool_, &why), Admission::Outcome::kRefused);
  EXPECT_EQ(why, upstream::CircuitRefusal::kMaxRequests);
  EXPECT_EQ(runtime_.circuit->requests.load(), 1U);
  a1.release();
  EXPECT_EQ(runtime_.circuit->requests.load(), 0U);
  EXPECT_EQ(a2.admit(*worker_pool_, &why), Admission::Outcome::kAdmitted);
}

TEST_F(AdmissionTest, AQueuedRequestGoesOnWhenASlotFrees) {
  pool_.circuit_breaker.max_pending = 1;
  pool_.circuit_breaker.queue_timeout = std::chrono::milliseconds(2000);
  User u1;
  User u2;
  User u3;
  Admission a1(*loop_, u1);
  Admission a2(*loop_, u2);
  Admission a3(*loop_, u3);
  upstream::CircuitRefusal why{};
  ASSERT_EQ(a1.admit(*worker_pool_, &why), Admission::Outcome::kAdmitted);
  ASSERT_EQ(a2.admit(*worker_pool_, &why), Admission::Outcome::kWaiting);
  EXPECT_EQ(runtime_.circuit->pending.load(), 1U);
  EXPECT_EQ(a3.admit(*worker_pool_, &why), Admission::Outcome::kRefused);
  EXPECT_EQ(why, upstream::CircuitRefusal::kMaxPending);
  a1.release();
  runUntil([&] { return u2.admitted > 0; });
  EXPECT_EQ(u2.admitted, 1);
  EXPECT_FALSE(u2.refused);
  EXPECT_EQ(runtime_.circuit->pending.load(), 0U);
  EXPECT_EQ(runtime_.circuit->requests.load(), 1U);
}

TEST_F(AdmissionTest, AQueuedRequestGivesUpAtQueueTimeout) {
  pool_.circuit_breaker.max_pending = 4;
  User u1;
  User u2;
  Admission a1(*loop_, u1);
  Admission a2(*loop_, u2);
  upstream::CircuitRefusal why{};
  ASSERT_EQ(a1.admit(*worker_pool_, &why), Admission::Outcome::kAdmitted);
  const uint64_t start = core::monotonicMs();
  ASSERT_EQ(a2.admit(*worker_pool_, &why), Admission::Outcome::kWaiting);
  runUntil([&] { return u2.refused.has_value(); });
  ASSERT_TRUE(u2.refused);
  EXPECT_EQ(*u2.refused, upstream::CircuitRefusal::kQueueTimeout);
  EXPECT_GE(core::monotonicMs() - start, 90U);
  EXPECT_EQ(u2.admitted, 0);
  EXPECT_EQ(runtime_.circuit->pending.load(), 0U);
}

TEST_F(AdmissionTest, APoolWithoutTheBlockCountsNothing) {
  pool_.circuit_breaker.enabled = false;
  User u;
  Admission a(*loop_, u);
  upstream::CircuitRefusal why{};
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(a.admit(*worker_pool_, &why), Admission::Outcome::kAdmitted);
  }
  EXPECT_EQ(runtime_.circuit->requests.load(), 0U);
}

}  // namespace
}  // namespace ballast::l7
