// src/config/fd_budget.cpp — socket needs and the pipe share of RLIMIT_NOFILE.
#include "config/fd_budget.h"

#include <algorithm>

namespace ballast::config {
namespace {

// Pipes may take at most this share of the limit even when sockets need little: the limit
// also covers the control plane, log files and fds the config does not foresee.
constexpr uint64_t kPipeShare = 4;

}  // namespace

uint64_t socketFdsNeeded(const Config& cfg, uint32_t workers) {
  uint64_t needed = 0;
  for (const auto& l : cfg.listeners) {
    needed += l.protocol == Protocol::kUdp ? l.limits.max_flows : 2ULL * l.limits.max_connections;
    needed += workers;  // the listening sockets
  }
  return needed;
}

uint64_t pipeFdBudget(uint64_t limit, uint64_t socket_fds) {
  const uint64_t left = limit > socket_fds ? limit - socket_fds : 0;
  return std::min(limit / kPipeShare, left);
}

}  // namespace ballast::config
