// src/bgp/daemon_driver.h — what the BGP plane needs to know about one BGP daemon: the files
// it reads, its command line, and how to tell a running instance which VIPs to announce. The
// plane (bgp_plane.cpp) owns the gate, the child process, back-off, metrics and audit, and
// does not care which daemon it drives. One implementation per daemon: BIRD 2
// (bird_driver.cpp) and FRR's bgpd (frr_driver.cpp).
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "config/bgp_types.h"

namespace ballast::bgp {

class DaemonDriver {
 public:
  virtual ~DaemonDriver() = default;

  // "bird" or "frr", as in `bgp.daemon`.
  virtual std::string_view name() const = 0;
  // The Debian package holding the default binary, for the "not found" error.
  virtual std::string_view package() const = 0;
  // Where this instance's files live; called before anything else and on every apply.
  virtual void setStateDir(const std::string& state_dir) = 0;
  // Writes every file the daemon reads when it starts, announcing the VIPs marked in
  // `announced` (parallel to bgp.vips). Atomic per file.
  virtual bool writeFiles(const config::BgpSettings& bgp, const std::vector<bool>& announced,
                          std::string* error) = 0;
  virtual std::vector<std::string> commandLine(const std::string& binary) const = 0;
  // The control socket: it exists once the daemon has read its files. Removed before a start,
  // since one left by a daemon that died with a killed Ballast would pass for the new one's.
  virtual const std::string& controlSocket() const = 0;
  virtual const std::string& pidFile() const = 0;
  virtual const std::string& logFile() const = 0;
  // True when a running daemon takes changed sessions (asn, router id, peers, hold time) from
  // writeFiles + tell; false when it must be restarted for them.
  virtual bool reloadsSessions() const = 0;
  // The daemon was just started from the files as last written.
  virtual void started(const config::BgpSettings& bgp, const std::vector<bool>& announced) = 0;
  // Makes the running daemon announce exactly the VIPs marked in `announced` (and nothing it
  // was told before), after writeFiles. At most timeout_ms; false and *error when the daemon
  // refused, did not answer in time, or could not be reached.
  virtual bool tell(const config::BgpSettings& bgp, const std::vector<bool>& announced,
                    int timeout_ms, std::string* error) = 0;
};

std::unique_ptr<DaemonDriver> makeBirdDriver();
std::unique_ptr<DaemonDriver> makeFrrDriver();

}  // namespace ballast::bgp
