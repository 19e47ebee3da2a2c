// src/bgp/frr_config.h — what Ballast writes for its FRR bgpd instance, the vty commands that
// announce and withdraw VIPs, and how it reads bgpd's vty replies. Pure functions over text,
// so unit tests pin them.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "config/bgp_types.h"

namespace ballast::bgp {

// Files of one bgpd instance, all under BgpSettings::state_dir.
struct FrrPaths {
  std::string dir;     // bgpd's --vty_socket directory (it creates bgpd.vty there)
  std::string config;  // bgpd.conf: router id, peers and the announced VIPs
  std::string socket;  // bgpd.vty: the vty socket vtysh would use
  std::string pid;     // pid file
  std::string log;     // bgpd's own log
};
FrrPaths frrPaths(const std::string& state_dir);

// The route-map that refuses every route a peer sends: a Ballast node announces, it does not
// route (nor pass one router's routes on to another).
inline constexpr std::string_view kFrrImportMap = "ballast-import-none";

// bgpd.conf: one session per peer with short timers, no graceful restart (a dead node's routes
// must go at once, not linger as stale), `network` statements for the announced VIPs, and
// import checks off so they are announced without zebra. `announced` is parallel to bgp.vips.
std::string renderFrrConfig(const config::BgpSettings& bgp, const std::vector<bool>& announced,
                            const FrrPaths& paths);

// One line sent to the vty. A withdrawal of a prefix bgpd does not have is fine (the same
// state is reached), so its "Can't find static route" refusal is tolerated.
struct VtyCommand {
  std::string text;
  bool tolerate_missing = false;
};
// The vty conversation that makes bgpd announce exactly `announce` and not `withdraw` (prefix
// strings like "198.18.10.1/32"): enable, configure, router bgp, address-family, the
// `network`/`no network` lines, end.
std::vector<VtyCommand> frrAnnounceCommands(uint32_t asn, const std::vector<std::string>& withdraw,
                                            const std::vector<std::string>& announce);

// One reply of bgpd's vty socket: the command's output, then three NUL bytes and a status byte
// (0 is CMD_SUCCESS).
struct VtyReply {
  bool complete = false;  // the terminator was seen
  bool ok = false;        // complete and status 0
  int status = -1;
  std::string text;  // the output, for messages
};
VtyReply parseVtyReply(std::string_view buffer);
// True when a refused `no network` only means bgpd never had the prefix.
bool isMissingNetworkReply(const VtyReply& reply);

}  // namespace ballast::bgp
