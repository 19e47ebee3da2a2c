// src/config/fd_budget.h — how the open-file limit is shared: what the configured connection
// limits could need in sockets, and what is left for splice pipes. One formula for the start-up
// and reload check (server/control_thread) and for `ballast doctor`.
#pragma once

#include <cstdint>

#include "config/config_types.h"

namespace ballast::config {

// Sockets the listeners could hold at once: a TCP, TLS-passthrough or HTTP client connection
// is a pair with its backend connection (2 × limits.max_connections), a UDP flow one socket
// (limits.max_flows), plus each worker's listening socket. Control-plane sockets (admin,
// metrics) are small and not counted.
uint64_t socketFdsNeeded(const Config& cfg, uint32_t workers);

// Fds splice pipes may take (2 per pipe): a quarter of `limit`, but never what sockets need,
// since a pipe is an optimisation and a refused socket is a refused client. 0 when sockets
// could take every fd.
uint64_t pipeFdBudget(uint64_t limit, uint64_t socket_fds);

}  // namespace ballast::config
