// src/upstream/checks/exec_check.cpp — the child gets /dev/null for stdio, a clean signal mask
// and default dispositions (the control thread blocks signals for its signalfd, and a blocked
// SIGTERM would outlive the exec), its own process group, and a short fixed environment.
#include "upstream/checks/exec_check.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace ballast::upstream::checks {
namespace {

constexpr int kExitStatusOk = 0;

int pidfdOpen(pid_t pid) { return static_cast<int>(syscall(SYS_pidfd_open, pid, 0)); }

std::string errnoText(int err) { return std::strerror(err); }  // NOLINT(concurrency-mt-unsafe)

}  // namespace

ExecRun::~ExecRun() {
  if (pid_ > 0) {
    // Shutdown or a reload with the run in flight: do not leave a zombie or an orphan.
    ::kill(-pid_, SIGKILL);
    int status = 0;
    waitpid(pid_, &status, 0);
  }
}

void ExecRun::start(const std::vector<std::string>& argv, const net::SocketAddress& target) {
  killed_ = false;
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t none;
  sigset_t all;
  sigemptyset(&none);
  sigfillset(&all);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &all);
  posix_spawnattr_setpgroup(&attr, 0);
  posix_spawnattr_setflags(&attr,
                           POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP);

  std::string host = target.toString();
  if (const auto colon = host.rfind(':'); colon != std::string::npos) {
    host.resize(colon);
  }
  if (host.starts_with('[')) {
    host = host.substr(1, host.size() - 2);
  }
  std::vector<std::string> env = {"PATH=/usr/local/bin:/usr/bin:/bin",
                                  "BALLAST_CHECK_ADDRESS=" + host,
                                  "BALLAST_CHECK_PORT=" + std::to_string(target.port())};
  std::vector<char*> c_argv;
  for (const auto& a : argv) {
    c_argv.push_back(const_cast<char*>(a.c_str()));
  }
  c_argv.push_back(nullptr);
  std::vector<char*> c_env;
  for (auto& e : env) {
    c_env.push_back(e.data());
  }
  c_env.push_back(nullptr);

  pid_t pid = -1;
  const int rc = posix_spawn(&pid, c_argv[0], &actions, &attr, c_argv.data(), c_env.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) {
    done_(Judgement::unhealthy("cannot run " + argv[0] + ": " + errnoText(rc)));
    return;
  }
  pid_ = pid;
  pidfd_.reset(pidfdOpen(pid));
  if (!pidfd_.valid()) {
    // Without a pidfd there is nothing to watch; this kernel predates 5.3.
    const int err = errno;
    ::kill(-pid_, SIGKILL);
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = -1;
    done_(Judgement::unhealthy("pidfd_open: " + errnoText(err)));
    return;
  }
  loop_.watch(watcher_, pidfd_.get(), this);
}

void ExecRun::kill() {
  if (pid_ > 0 && !killed_) {
    killed_ = true;
    ::kill(-pid_, SIGKILL);
  }
}

void ExecRun::onReady(core::Watcher& w) {
  if (pid_ <= 0) {
    return;
  }
  int status = 0;
  const pid_t r = waitpid(pid_, &status, WNOHANG);
  if (r == 0) {
    return;  // not exited yet (a spurious wake-up)
  }
  pid_ = -1;
  if (r < 0) {
    result_ = Judgement::unhealthy("waitpid: " + errnoText(errno));
  } else if (killed_) {
    result_ = Judgement::unhealthy("timed out");
  } else if (WIFEXITED(status)) {
    const int code = WEXITSTATUS(status);
    result_ = code == kExitStatusOk ? Judgement::healthy("exit 0")
                                    : Judgement::unhealthy("exit " + std::to_string(code));
  } else if (WIFSIGNALED(status)) {
    result_ = Judgement::unhealthy("killed by signal " + std::to_string(WTERMSIG(status)));
  } else {
    result_ = Judgement::unhealthy("ended");
  }
  loop_.unwatch(w);
}

void ExecRun::onReleased(core::Watcher& /*w*/) {
  pidfd_.reset();
  done_(std::move(result_));
}

}  // namespace ballast::upstream::checks
