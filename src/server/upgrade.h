// src/server/upgrade.h — binary upgrade without losing a connection: the new process asks the
// running one, over its admin unix socket, for every listening socket (SCM_RIGHTS), starts
// serving on them, then confirms; only then does the old process stop accepting and drain.
// Accept queues live in the sockets, so connections waiting there go to the new process.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/fd.h"

namespace ballast::server {

inline constexpr uint64_t kHandoverTimeoutMs = 30'000;  // the new process's start-up budget

// What the old process sends: sockets in this order, described by the manifest.
struct HandoverSockets {
  std::vector<std::pair<std::string, std::vector<int>>> listeners;  // listener key → fds
  std::vector<int> admin_unix;
  std::vector<int> admin_tcp;
  std::vector<int> metrics;
};

// Sockets as the new process receives them (it owns them now).
struct InheritedSockets {
  std::map<std::string, std::vector<core::Fd>> listeners;
  std::vector<core::Fd> admin_unix;
  std::vector<core::Fd> admin_tcp;
  std::vector<core::Fd> metrics;
  core::Fd channel;  // the admin connection, kept open until confirmHandover
};

// New process. nullopt and *error when no daemon answers or it refuses.
std::optional<InheritedSockets> requestHandover(const std::string& admin_socket,
                                                std::string* error);
// New process: tells the old one that it serves now; the old one then drains and exits.
bool confirmHandover(InheritedSockets& inherited, std::string* error);

// Old process, on the control thread: sends the sockets down `conn_fd` (the admin connection
// that asked) and waits up to kHandoverTimeoutMs for the confirmation. True: the new process
// serves; the caller stops accepting and drains.
bool sendHandover(int conn_fd, const HandoverSockets& sockets, std::string* error);

}  // namespace ballast::server
