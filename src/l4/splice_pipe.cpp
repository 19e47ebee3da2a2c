// src/l4/splice_pipe.cpp — pipe creation under the fd budget.
#include "l4/splice_pipe.h"

#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>

namespace ballast::l4 {
namespace {

// 64 KiB in one direction, as HAProxy's splice-auto waits for a full buffer: short exchanges
// stay on the copy path, where a pipe's two extra syscalls per hop would cost more than the
// copy saves.
constexpr uint32_t kDefaultThreshold = 64 * 1024;
// Pipe size asked for. Measured (docs/benchmarks.md, #19): 64 KiB (the kernel's default) cut
// Ballast's CPU per GB by a third, 256 KiB by half, 1 MiB (the default fs.pipe-max-size) by
// four fifths: fewer, larger splices. It bounds what one direction holds in the kernel.
constexpr uint32_t kDefaultPipeBytes = 1024 * 1024;
// A pipe the kernel gave less than this (an unprivileged user past fs.pipe-user-pages-soft gets
// two pages) would cost more syscalls than the copy it saves: the copy path is better.
constexpr int kMinPipeBytes = 64 * 1024;
// Without setBudget, pipe fds may take a quarter of the open-file limit: a pair's sockets need
// 2 fds, its pipes up to 4 more, and sockets must never be refused for an optimisation.
constexpr uint64_t kBudgetShare = 4;
constexpr uint32_t kBudgetUnset = UINT32_MAX;
// An empty pipe costs its two fds and its share of the user's pipe pages (counted by capacity,
// not content) while it waits. A burst every few seconds keeps its pipe; a connection that
// moved a file once and then idles for hours gives it back. Making one again is a handful of
// syscalls after another threshold's worth of copying.
constexpr uint32_t kDefaultIdleMs = 5000;

std::atomic<uint32_t> g_open_fds{0};
std::atomic<uint32_t> g_budget{kBudgetUnset};

uint32_t clampBudget(uint64_t fds) {
  return fds >= kBudgetUnset ? kBudgetUnset - 1 : static_cast<uint32_t>(fds);
}

uint32_t envNumber(const char* name, uint32_t fallback) {
  const char* v = getenv(name);  // NOLINT(concurrency-mt-unsafe): no setenv after start-up
  if (v == nullptr || *v == '\0') {
    return fallback;
  }
  return static_cast<uint32_t>(strtoul(v, nullptr, 10));
}

}  // namespace

void SplicePipe::setBudget(uint64_t fds) {
  g_budget.store(clampBudget(fds), std::memory_order_relaxed);
}

uint32_t SplicePipe::budget() {
  const uint32_t set = g_budget.load(std::memory_order_relaxed);
  if (set != kBudgetUnset) {
    return set;
  }
  rlimit lim{};
  if (getrlimit(RLIMIT_NOFILE, &lim) != 0) {
    return 0;  // unknown: stay on the copy path
  }
  return clampBudget(lim.rlim_cur / kBudgetShare);
}

bool SplicePipe::enabled() {
  static const bool on = [] {
    const char* v = getenv("BALLAST_SPLICE");  // NOLINT(concurrency-mt-unsafe)
    return v == nullptr || strcmp(v, "off") != 0;
  }();
  return on;
}

uint32_t SplicePipe::threshold() {
  static const uint32_t bytes = envNumber("BALLAST_SPLICE_AFTER", kDefaultThreshold);
  return bytes;
}

uint32_t SplicePipe::idleMs() {
  static const uint32_t ms = envNumber("BALLAST_SPLICE_IDLE_MS", kDefaultIdleMs);
  return ms;
}

uint32_t SplicePipe::thresholdAfter(uint32_t failures) {
  const uint64_t bytes = static_cast<uint64_t>(threshold())
                         << (failures < kMaxBackoffShift ? failures : kMaxBackoffShift);
  return bytes > UINT32_MAX ? UINT32_MAX : static_cast<uint32_t>(bytes);
}

uint32_t SplicePipe::openFds() { return g_open_fds.load(std::memory_order_relaxed); }

std::unique_ptr<SplicePipe> SplicePipe::make(int* err) {
  // Reserve first, so that two workers cannot both take the last room.
  if (g_open_fds.fetch_add(2, std::memory_order_relaxed) + 2 > budget()) {
    g_open_fds.fetch_sub(2, std::memory_order_relaxed);
    *err = EMFILE;
    return nullptr;
  }
  int fds[2];
  if (pipe2(fds, O_NONBLOCK | O_CLOEXEC) != 0) {
    *err = errno;
    g_open_fds.fetch_sub(2, std::memory_order_relaxed);
    return nullptr;
  }
  static const uint32_t pipe_bytes = envNumber("BALLAST_SPLICE_PIPE_BYTES", kDefaultPipeBytes);
  // Best effort: above fs.pipe-max-size, or past the user's pipe pages, the kernel refuses and
  // the pipe keeps the size it has.
  fcntl(fds[0], F_SETPIPE_SZ, static_cast<int>(pipe_bytes));
  if (fcntl(fds[0], F_GETPIPE_SZ) < kMinPipeBytes) {
    ::close(fds[0]);
    ::close(fds[1]);
    g_open_fds.fetch_sub(2, std::memory_order_relaxed);
    *err = ENOBUFS;
    return nullptr;
  }
  // NOLINTNEXTLINE(cppcoreguidelines-owning-memory): the constructor is private
  return std::unique_ptr<SplicePipe>(new SplicePipe(fds[0], fds[1]));
}

SplicePipe::~SplicePipe() {
  ::close(fds_[0]);
  ::close(fds_[1]);
  g_open_fds.fetch_sub(2, std::memory_order_relaxed);
}

}  // namespace ballast::l4
