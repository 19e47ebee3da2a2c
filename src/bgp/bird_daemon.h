// src/bgp/bird_daemon.h — one BIRD 2 instance run by Ballast as its child: started with the
// managed config, told to re-read it over its control socket, stopped on shutdown. The child
// dies with Ballast (PR_SET_PDEATHSIG), so a killed Ballast closes its BGP sessions and the
// routers withdraw its routes at once instead of after the hold time.
#pragma once

#include <sys/types.h>

#include <string>

#include "bgp/bird_config.h"

namespace ballast::bgp {

class BirdDaemon {
 public:
  BirdDaemon() = default;
  ~BirdDaemon();  // kills a child still running
  BirdDaemon(const BirdDaemon&) = delete;
  BirdDaemon& operator=(const BirdDaemon&) = delete;

  // Starts `binary -f -c config -s socket -P pid`. Control thread only: the death signal is
  // tied to the thread that forks. False and *error when fork or exec fails.
  bool start(const std::string& binary, const BirdPaths& paths, std::string* error);
  // True while the child runs; reaps it (and says how it ended in *how) once it has exited.
  bool alive(std::string* how);
  // Sends `command` over the control socket and waits for the reply, at most timeout_ms in all.
  // False and *error on a refused connection, a timeout or a non-0xxx reply.
  bool command(const std::string& command, int timeout_ms, std::string* error) const;
  // SIGTERM (BIRD closes its sessions with a Cease notification), then SIGKILL after
  // grace_ms. Blocks for at most grace_ms plus a little.
  void stop(int grace_ms);
  pid_t pid() const { return pid_; }

 private:
  pid_t pid_ = -1;
  std::string socket_;
};

}  // namespace ballast::bgp
