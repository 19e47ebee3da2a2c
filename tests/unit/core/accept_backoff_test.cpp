// tests/unit/core/accept_backoff_test.cpp — an acceptor whose accept(2) fails with EMFILE backs
// off (100 ms, then 200 ms …) instead of retrying at once, on io_uring and epoll alike; accepts
// again by itself once descriptors free up; and the owner's pause outlasts the back-off.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/accept_error.h"
#include "core/clock.h"
#include "core/event_loop.h"
#include "core/limits.h"
#include "core/socket.h"
#include "loop_test_support.h"

namespace ballast::core {
namespace {

constexpr int kTurnMs = 10;
constexpr uint64_t kDeadlineMs = 5000;
// The test's soft RLIMIT_NOFILE while it runs: the fd table is filled up to it with copies of
// /dev/null, so it only has to be above what the test process already holds, and small.
constexpr rlim_t kTestFdLimit = 512;

struct Acceptor final : WatchHandler {
  std::vector<int> accepted;
  std::vector<std::pair<int, uint32_t>> pauses;  // (errno, pause_ms)
  bool released = false;
  void onAccept(Watcher& /*w*/, int fd) override { accepted.push_back(fd); }
  void onAcceptPaused(Watcher& /*w*/, int err, uint32_t pause_ms) override {
    pauses.emplace_back(err, pause_ms);
  }
  void onReleased(Watcher& /*w*/) override { released = true; }
};

// Lowers the soft open-file limit and fills the table up to it; frees and restores on scope exit.
class FdTableFiller {
 public:
  FdTableFiller() {
    getrlimit(RLIMIT_NOFILE, &saved_);
    rlimit low = saved_;
    low.rlim_cur = std::min(saved_.rlim_cur, kTestFdLimit);
    setrlimit(RLIMIT_NOFILE, &low);
  }
  ~FdTableFiller() {
    releaseAll();
    setrlimit(RLIMIT_NOFILE, &saved_);
  }
  FdTableFiller(const FdTableFiller&) = delete;
  FdTableFiller& operator=(const FdTableFiller&) = delete;

  // True when the table is now full (the next open fails with EMFILE).
  bool fill() {
    for (;;) {
      const int fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
      if (fd < 0) {
        return errno == EMFILE;
      }
      fds_.push_back(fd);
    }
  }
  void release(size_t n) {
    for (size_t i = 0; i < n && !fds_.empty(); ++i) {
      ::close(fds_.back());
      fds_.pop_back();
    }
  }
  void releaseAll() { release(fds_.size()); }

 private:
  rlimit saved_{};
  std::vector<int> fds_;
};

class AcceptBackoffTest : public ::testing::TestWithParam<IoKind> {
 protected:
  void SetUp() override {
    // UBSan checks an object's dynamic type the first time it meets a (type, static type)
    // pair, reading the vtable through a pipe it opens: with the fd table full, as here, that
    // fails and is reported as an invalid vptr in correct code. The sanitized run (make asan,
    // which sets UBSAN_OPTIONS) leaves these to the plain one.
    if (std::getenv("UBSAN_OPTIONS") != nullptr) {
      GTEST_SKIP() << "fills the fd table, which UBSan's type checks need";
    }
    std::string why;
    loop_ = EventLoop::create(GetParam(), &why);
    if (!loop_) {
      GTEST_SKIP() << "io_uring unavailable here: " << why;
    }
    auto bind = net::SocketAddress::parse("127.0.0.1", true);
    ASSERT_TRUE(bind);
    auto lfd = openListener(*bind, true);
    ASSERT_TRUE(lfd);
    listen_fd_ = *lfd;
    addr_ = localAddress(listen_fd_);
  }
  void TearDown() override {
    for (int fd : clients_) {
      ::close(fd);
    }
    if (listen_fd_ >= 0) {
      ::close(listen_fd_);
    }
  }

  // A client connection the kernel completes and queues, whether or not the loop accepts it.
  void queueClient() {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(::connect(fd, addr_.sockaddrPtr(), addr_.length()), 0);
    clients_.push_back(fd);
  }

  // Runs turns until pred holds (true) or the deadline passes; counts the turns.
  template <typename Pred>
  bool runUntil(Pred pred, uint64_t within_ms = kDeadlineMs) {
    return runLoopUntil(*loop_, pred, within_ms, kTurnMs, &turns_);
  }

  void stop(Watcher& w, Acceptor& a) {
    loop_->unwatch(w);
    ASSERT_TRUE(runUntil([&] { return a.released; }));
    for (int fd : a.accepted) {
      ::close(fd);
    }
  }

  std::unique_ptr<EventLoop> loop_;
  int listen_fd_ = -1;
  net::SocketAddress addr_;
  std::vector<int> clients_;
  uint64_t turns_ = 0;
};

TEST_P(AcceptBackoffTest, OutOfFdsPausesDoublingThenAcceptsOnceFdsFree) {
  FdTableFiller table;
  queueClient();
  queueClient();
  ASSERT_TRUE(table.fill());

  Acceptor acceptor;
  Watcher w;
  loop_->listen(w, listen_fd_, &acceptor);
  // Two failed accepts take 100 ms of back-off between them. Retrying at once (the spin this
  // guards against) would turn the loop thousands of times and never report a pause.
  const uint64_t start = monotonicMs();
  ASSERT_TRUE(runUntil([&] { return acceptor.pauses.size() >= 2; }));
  EXPECT_GE(monotonicMs() - start, kAcceptBackoffFirstMs);
  EXPECT_LT(turns_, 100U) << "the loop spun while accept kept failing";
  EXPECT_EQ(acceptor.pauses[0], std::make_pair(EMFILE, kAcceptBackoffFirstMs));
  EXPECT_EQ(acceptor.pauses[1], std::make_pair(EMFILE, 2 * kAcceptBackoffFirstMs));
  EXPECT_TRUE(acceptor.accepted.empty());
  EXPECT_EQ(acceptErrorName(acceptor.pauses[0].first), "emfile");

  // Room again: the back-off ends by itself and both queued connections are accepted.
  const size_t pauses_before = acceptor.pauses.size();
  table.release(2);
  ASSERT_TRUE(runUntil([&] { return acceptor.accepted.size() == 2; }));

  // A success starts the back-off over. The table is full again, so the next accept fails
  // (at once: the kernel takes the descriptor before it looks at the queue), for the first step.
  ::close(acceptor.accepted.back());
  acceptor.accepted.pop_back();
  queueClient();  // takes the descriptor just freed
  ASSERT_TRUE(runUntil([&] { return acceptor.pauses.size() > pauses_before; }));
  EXPECT_EQ(acceptor.pauses[pauses_before].second, kAcceptBackoffFirstMs);

  stop(w, acceptor);
}

TEST_P(AcceptBackoffTest, TheOwnersPauseOutlastsTheBackoff) {
  FdTableFiller table;
  queueClient();
  ASSERT_TRUE(table.fill());

  Acceptor acceptor;
  Watcher w;
  loop_->listen(w, listen_fd_, &acceptor);
  ASSERT_TRUE(runUntil([&] { return !acceptor.pauses.empty(); }));
  // The owner pauses too (max_connections reached); the back-off ends while it holds.
  loop_->pauseAccept(w);
  table.releaseAll();
  const uint64_t past_backoff = monotonicMs() + uint64_t{3} * kAcceptBackoffFirstMs;
  ASSERT_TRUE(runUntil([&] { return monotonicMs() > past_backoff; }));
  EXPECT_TRUE(acceptor.accepted.empty());
  loop_->resumeAccept(w);
  ASSERT_TRUE(runUntil([&] { return acceptor.accepted.size() == 1; }));

  stop(w, acceptor);
}

TEST_P(AcceptBackoffTest, UnwatchDuringTheBackoffReleasesAndNeverRearms) {
  FdTableFiller table;
  queueClient();
  ASSERT_TRUE(table.fill());

  Acceptor acceptor;
  Watcher w;
  loop_->listen(w, listen_fd_, &acceptor);
  ASSERT_TRUE(runUntil([&] { return !acceptor.pauses.empty(); }));
  loop_->unwatch(w);
  ASSERT_TRUE(runUntil([&] { return acceptor.released; }));
  table.releaseAll();
  // Past the back-off: its timer was cancelled, so nothing accepts on the released watcher.
  const uint64_t past_backoff = monotonicMs() + uint64_t{2} * kAcceptBackoffFirstMs;
  ASSERT_TRUE(runUntil([&] { return monotonicMs() > past_backoff; }));
  EXPECT_TRUE(acceptor.accepted.empty());
  EXPECT_EQ(acceptor.pauses.size(), 1U);
}

TEST(AcceptErrorTest, OneConnectionsFailuresRetryAndResourceShortagesBackOff) {
  EXPECT_TRUE(acceptErrorIsTransient(ECONNABORTED));
  EXPECT_TRUE(acceptErrorIsTransient(EINTR));
  EXPECT_TRUE(acceptErrorIsTransient(EPROTO));
  EXPECT_FALSE(acceptErrorIsTransient(EMFILE));
  EXPECT_FALSE(acceptErrorIsTransient(ENFILE));
  EXPECT_FALSE(acceptErrorIsTransient(ENOBUFS));
  EXPECT_FALSE(acceptErrorIsTransient(ENOMEM));
  EXPECT_FALSE(acceptErrorIsTransient(EINVAL));  // unexpected: backing off beats spinning
  EXPECT_EQ(acceptErrorName(ENFILE), "enfile");
  EXPECT_EQ(acceptErrorName(ENOBUFS), "enobufs");
  EXPECT_EQ(acceptErrorName(ENOMEM), "enomem");
  EXPECT_EQ(acceptErrorName(EINVAL), "other");
}

INSTANTIATE_TEST_SUITE_P(Backends, AcceptBackoffTest,
                         ::testing::Values(IoKind::kIoUring, IoKind::kEpoll), ioKindTestName);

}  // namespace
}  // namespace ballast::core
