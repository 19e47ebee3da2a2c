// src/bgp/daemon_process.cpp — fork/exec of the BGP daemon, its reaping and its stop.
#include "bgp/daemon_process.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <csignal>
#include <cstring>

#include "core/clock.h"

namespace ballast::bgp {
namespace {

constexpr int kWaitStepMs = 10;
constexpr int kExecFailed = 127;

std::string errnoText(int e) { return std::strerror(e); }  // NOLINT(concurrency-mt-unsafe)

}  // namespace

DaemonProcess::~DaemonProcess() {
  if (pid_ > 0) {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }
}

core::Fd connectControlSocket(const std::string& path, std::string_view what, std::string* error) {
  core::Fd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!fd.valid()) {
    *error = "socket: " + errnoText(errno);
    return fd;
  }
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof(addr.sun_path)) {
    *error = std::string(what) + " path too long: " + path;
    return core::Fd();
  }
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  // EAGAIN here: the daemon's backlog is full.
  if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) != 0) {
    *error = "connect " + path + ": " + errnoText(errno);
    return core::Fd();
  }
  return fd;
}

ReplyRead readReplyUntil(int fd, uint64_t deadline_ms, std::string& buffer,
                         const std::function<bool(const std::string&)>& complete,
                         std::string* error) {
  constexpr size_t kReadChunk = 4096;
  constexpr size_t kMaxReplyBytes = 65536;
  std::array<char, kReadChunk> chunk{};
  while (true) {
    if (complete(buffer)) {
      return ReplyRead::kComplete;
    }
    const uint64_t now = core::monotonicMs();
    if (now >= deadline_ms || buffer.size() > kMaxReplyBytes) {
      return ReplyRead::kTimeout;
    }
    pollfd p{fd, POLLIN, 0};
    const int r = ::poll(&p, 1, static_cast<int>(deadline_ms - now));
    if (r < 0 && errno == EINTR) {
      continue;
    }
    if (r == 0) {
      return ReplyRead::kTimeout;
    }
    if (r < 0) {
      *error = "poll: " + errnoText(errno);
      return ReplyRead::kError;
    }
    const ssize_t n = ::read(fd, chunk.data(), chunk.size());
    if (n == 0) {
      return ReplyRead::kClosed;
    }
    if (n < 0) {
      *error = "read: " + errnoText(errno);
      return ReplyRead::kError;
    }
    buffer.append(chunk.data(), static_cast<size_t>(n));
  }
}

bool DaemonProcess::start(const std::vector<std::string>& args, std::string* error) {
  // Everything the child needs, built before fork: only async-signal-safe calls after it.
  std::vector<std::string> copy = args;
  std::vector<char*> argv;
  argv.reserve(copy.size() + 1);
  for (auto& a : copy) {
    argv.push_back(a.data());
  }
  argv.push_back(nullptr);
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid < 0) {
    *error = "fork: " + errnoText(errno);
    return false;
  }
  if (pid == 0) {
    // The child: die with Ballast, start with no blocked signals (our signalfd blocks
    // SIGTERM and friends) and no fd of ours (listening sockets must close with us).
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) {
      ::_exit(kExecFailed);
    }
    sigset_t none;
    sigemptyset(&none);
    ::pthread_sigmask(SIG_SETMASK, &none, nullptr);  // the child has one thread
    ::setpgid(0, 0);  // a terminal's ^C goes to Ballast, which stops the daemon in order
    const int devnull = ::open("/dev/null", O_RDWR);
    if (devnull >= 0) {
      ::dup2(devnull, STDIN_FILENO);
    }
    ::syscall(SYS_close_range, 3U, ~0U, 0U);
    ::execvp(argv[0], argv.data());
    ::_exit(kExecFailed);
  }
  pid_ = pid;
  return true;
}

bool DaemonProcess::alive(std::string* how) {
  if (pid_ <= 0) {
    *how = "not started";
    return false;
  }
  int status = 0;
  const pid_t r = ::waitpid(pid_, &status, WNOHANG);
  if (r == 0) {
    return true;
  }
  if (r == pid_) {
    if (WIFEXITED(status)) {
      *how = "exited with status " + std::to_string(WEXITSTATUS(status));
    } else if (WIFSIGNALED(status)) {
      *how = "killed by signal " + std::to_string(WTERMSIG(status));
    } else {
      *how = "ended";
    }
  } else {
    *how = "waitpid: " + errnoText(errno);
  }
  pid_ = -1;
  return false;
}

void DaemonProcess::stop(int grace_ms) {
  if (pid_ <= 0) {
    return;
  }
  ::kill(pid_, SIGTERM);
  const uint64_t deadline = core::monotonicMs() + static_cast<uint64_t>(grace_ms);
  while (core::monotonicMs() < deadline) {
    if (::waitpid(pid_, nullptr, WNOHANG) == pid_) {
      pid_ = -1;
      return;
    }
    ::usleep(kWaitStepMs * 1000);  // NOLINT(readability-magic-numbers): ms to µs
  }
  ::kill(pid_, SIGKILL);
  ::waitpid(pid_, nullptr, 0);
  pid_ = -1;
}

}  // namespace ballast::bgp
