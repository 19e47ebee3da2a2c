// src/upstream/checks/exec_check.h — an external command as a health check: healthy on exit
// status 0. The child is spawned (posix_spawn) and watched through a pidfd on the event loop,
// so the loop never waits on it; a command past its timeout is killed with its process group.
#pragma once

#include <sys/types.h>

#include <functional>
#include <string>
#include <vector>

#include "core/event_loop.h"
#include "core/fd.h"
#include "upstream/checks/check_conversation.h"

namespace ballast::upstream::checks {

class ExecRun final : public core::WatchHandler {
 public:
  // Called once per run, after the child is reaped (so never with a zombie left behind).
  using DoneFn = std::function<void(Judgement)>;
  ExecRun(core::EventLoop& loop, DoneFn done) : loop_(loop), done_(std::move(done)) {}
  ~ExecRun();
  ExecRun(const ExecRun&) = delete;
  ExecRun& operator=(const ExecRun&) = delete;

  // Starts `argv` with BALLAST_CHECK_ADDRESS/PORT naming the target. A spawn failure is
  // reported through DoneFn before this returns.
  void start(const std::vector<std::string>& argv, const net::SocketAddress& target);
  // The timeout: kills the process group; the verdict follows when the child is reaped.
  void kill();
  bool running() const { return pid_ > 0; }

  void onReady(core::Watcher& w) override;
  void onReleased(core::Watcher& w) override;

 private:
  core::EventLoop& loop_;
  DoneFn done_;
  core::Watcher watcher_;
  core::Fd pidfd_;
  pid_t pid_ = -1;
  bool killed_ = false;
  Judgement result_;
};

}  // namespace ballast::upstream::checks
