// src/bgp/bird_config.h — what Ballast writes for its BIRD 2 instance, and how it reads BIRD's
// control-socket replies. Pure functions over text, so unit tests pin the managed files.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "config/bgp_types.h"

namespace ballast::bgp {

// Files of one BIRD instance, all under BgpSettings::state_dir.
struct BirdPaths {
  std::string config;  // bird.conf: router id, peers; includes `vips`
  std::string vips;    // vips.conf: the managed static protocol, rewritten on every change
  std::string socket;  // control socket (birdc -s)
  std::string pid;     // pid file
  std::string log;     // BIRD's own log
};
BirdPaths birdPaths(const std::string& state_dir);

// The name of the static protocol holding the announced VIPs; peers export only its routes.
inline constexpr std::string_view kVipProtocol = "ballast_vips";

// bird.conf: one eBGP/iBGP session per peer with short timers, exporting kVipProtocol only and
// importing nothing (a Ballast node announces; it does not route).
std::string renderBirdConfig(const config::BgpSettings& bgp, const BirdPaths& paths);
// vips.conf: the static protocol with one blackhole route per announced VIP (BGP sends our
// own address as next hop, so the blackhole is never used for forwarding). `announced` is
// parallel to bgp.vips.
std::string renderVipsFile(const config::BgpSettings& bgp, const std::vector<bool>& announced);

// One complete reply of BIRD's control socket: lines "NNNN-text" (more follow), " text"
// (continuation), and a final "NNNN text". Codes 0xxx are success, 8xxx run-time and 9xxx
// parse errors.
struct BirdReply {
  bool complete = false;  // the final line was seen
  bool ok = false;        // complete, and its code is 0xxx
  int code = -1;          // of the final line
  std::string text;       // the final line's text, for messages
};
BirdReply parseBirdReply(std::string_view buffer);

}  // namespace ballast::bgp
