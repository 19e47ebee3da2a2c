// src/bgp/daemon_process.h — the BGP daemon (BIRD or FRR's bgpd) run as Ballast's child:
// started with its managed config, watched, stopped on shutdown. The child dies with Ballast
// (PR_SET_PDEATHSIG), so a killed Ballast closes its BGP sessions and the routers withdraw its
// routes at once instead of after the hold time.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "core/fd.h"

namespace ballast::bgp {

// Connects to the daemon's control socket at `path` (a Unix stream socket, non-blocking: a
// local socket connects at once or not at all). An invalid Fd and *error, naming `what`, when
// it cannot.
core::Fd connectControlSocket(const std::string& path, std::string_view what, std::string* error);

// How reading a reply from a control socket ended.
enum class ReplyRead : uint8_t {
  kComplete,  // `complete(buffer)` holds
  kTimeout,   // the deadline passed, or the reply grew past any sane size
  kClosed,    // the daemon closed the socket
  kError,     // poll or read failed: *error says which
};
// Reads from `fd` into `buffer` until `complete(buffer)` holds or `deadline_ms` (monotonic)
// passes: the loop both daemons' command exchanges share; each words its own timeout.
ReplyRead readReplyUntil(int fd, uint64_t deadline_ms, std::string& buffer,
                         const std::function<bool(const std::string&)>& complete,
                         std::string* error);

class DaemonProcess {
 public:
  DaemonProcess() = default;
  ~DaemonProcess();  // kills a child still running
  DaemonProcess(const DaemonProcess&) = delete;
  DaemonProcess& operator=(const DaemonProcess&) = delete;

  // Execs `args` (args[0] looked up on PATH). Control thread only: the death signal is tied
  // to the thread that forks. False and *error when fork fails; a failed exec shows as an
  // exit with status 127.
  bool start(const std::vector<std::string>& args, std::string* error);
  // True while the child runs; reaps it (and says how it ended in *how) once it has exited.
  bool alive(std::string* how);
  // SIGTERM (the daemon closes its sessions with a Cease notification), then SIGKILL after
  // grace_ms. Blocks for at most grace_ms plus a little.
  void stop(int grace_ms);
  pid_t pid() const { return pid_; }

 private:
  pid_t pid_ = -1;
};

}  // namespace ballast::bgp
