// src/server/server.h — `ballast run`: the control thread. Loads the config, starts the workers,
// runs health checks, and turns signals into reloads (SIGHUP) and graceful stops (SIGTERM,
// SIGINT).
#pragma once

#include <optional>
#include <string>

#include "core/event_loop.h"

namespace ballast::server {

struct RunOptions {
  std::string config_path;
  std::optional<core::IoKind> io;   // overrides the file's `io`
  std::optional<uint32_t> workers;  // overrides the file's `workers`
  bool upgrade = false;  // take the listening sockets from the running daemon (binary upgrade)
};

// Returns the process exit code: 0 after a clean stop, 1 when the config is invalid or the
// server cannot start.
int run(const RunOptions& options);

}  // namespace ballast::server
