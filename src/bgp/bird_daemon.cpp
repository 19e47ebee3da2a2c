// src/bgp/bird_daemon.cpp — fork/exec of BIRD, its control socket, and its stop.
#include "bgp/bird_daemon.h"

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
#include <vector>

#include "core/clock.h"
#include "core/fd.h"

namespace ballast::bgp {
namespace {

constexpr size_t kReadChunk = 4096;
constexpr size_t kMaxReplyBytes = 65536;
constexpr int kWaitStepMs = 10;
constexpr int kExecFailed = 127;

std::string errnoText(int e) { return std::strerror(e); }  // NOLINT(concurrency-mt-unsafe)

// Reads until `buffer` holds a complete reply or the deadline passes.
bool readReply(int fd, uint64_t deadline_ms, std::string& buffer, BirdReply& reply,
               std::string* error) {
  std::array<char, kReadChunk> chunk{};
  while (true) {
    reply = parseBirdReply(buffer);
    if (reply.complete) {
      return true;
    }
    const uint64_t now = core::monotonicMs();
    if (now >= deadline_ms || buffer.size() > kMaxReplyBytes) {
      *error = "no complete reply from BIRD in time";
      return false;
    }
    pollfd p{fd, POLLIN, 0};
    const int r = ::poll(&p, 1, static_cast<int>(deadline_ms - now));
    if (r < 0 && errno == EINTR) {
      continue;
    }
    if (r <= 0) {
      *error = r == 0 ? "no complete reply from BIRD in time" : "poll: " + errnoText(errno);
      return false;
    }
    const ssize_t n = ::read(fd, chunk.data(), chunk.size());
    if (n <= 0) {
      *error = n == 0 ? "BIRD closed the control socket" : "read: " + errnoText(errno);
      return false;
    }
    buffer.append(chunk.data(), static_cast<size_t>(n));
  }
}

}  // namespace

BirdDaemon::~BirdDaemon() {
  if (pid_ > 0) {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }
}

bool BirdDaemon::start(const std::string& binary, const BirdPaths& paths, std::string* error) {
  socket_ = paths.socket;
  // Everything the child needs, built before fork: only async-signal-safe calls after it.
  std::vector<std::string> args = {binary, "-f",         "-c", paths.config,
                                   "-s",   paths.socket, "-P", paths.pid};
  std::vector<char*> argv;
  argv.reserve(args.size() + 1);
  for (auto& a : args) {
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
    ::setpgid(0, 0);  // a terminal's ^C goes to Ballast, which stops BIRD in order
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

bool BirdDaemon::alive(std::string* how) {
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

bool BirdDaemon::command(const std::string& command, int timeout_ms, std::string* error) const {
  const uint64_t deadline = core::monotonicMs() + static_cast<uint64_t>(timeout_ms);
  core::Fd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!fd.valid()) {
    *error = "socket: " + errnoText(errno);
    return false;
  }
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (socket_.size() >= sizeof(addr.sun_path)) {
    *error = "control socket path too long: " + socket_;
    return false;
  }
  std::memcpy(addr.sun_path, socket_.c_str(), socket_.size() + 1);
  // A local socket connects at once or not at all (EAGAIN: BIRD's backlog is full).
  if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) != 0) {
    *error = "connect " + socket_ + ": " + errnoText(errno);
    return false;
  }
  std::string buffer;
  BirdReply reply;
  if (!readReply(fd.get(), deadline, buffer, reply, error)) {  // the "0001 BIRD … ready." line
    return false;
  }
  buffer.clear();
  const std::string line = command + "\n";
  if (::send(fd.get(), line.data(), line.size(), MSG_NOSIGNAL) !=
      static_cast<ssize_t>(line.size())) {
    *error = "send: " + errnoText(errno);
    return false;
  }
  if (!readReply(fd.get(), deadline, buffer, reply, error)) {
    return false;
  }
  if (!reply.ok) {
    *error = "BIRD answered " + std::to_string(reply.code) + " " + reply.text;
    return false;
  }
  return true;
}

void BirdDaemon::stop(int grace_ms) {
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
