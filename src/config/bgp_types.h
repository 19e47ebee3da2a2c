// src/config/bgp_types.h — settings of BGP announcement (issue #20): which VIPs this node
// announces to its routers, through which daemon, and when. Ballast decides; the daemon speaks
// BGP.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "net/address.h"
#include "net/cidr.h"

namespace ballast::config {

// BIRD 2 (Debian bird2) or FRR bgpd (Debian frr, default binary /usr/lib/frr/bgpd).
enum class BgpDaemon : uint8_t { kBird, kFrr };
// healthy: a VIP is announced while a listener on it has a pool with a healthy backend;
// always: while Ballast runs and is not drained, whatever the backends say.
enum class BgpAnnounceWhen : uint8_t { kHealthy, kAlways };

struct BgpPeer {
  net::SocketAddress address;  // IPv4, port 0
  uint32_t asn = 0;
};

struct BgpSettings {
  bool present = false;  // a `bgp:` section was given
  BgpDaemon daemon = BgpDaemon::kBird;
  uint32_t asn = 0;
  net::SocketAddress router_id;  // IPv4, port 0
  std::vector<BgpPeer> peers;
  std::vector<net::Cidr> vips;  // IPv4 prefixes; a bare address reads as /32
  BgpAnnounceWhen announce_when = BgpAnnounceWhen::kHealthy;
  // The BGP hold time offered to peers (keepalives every third of it): how long a peer keeps
  // routes of a node that went silent without closing its sessions.
  std::chrono::seconds hold_time{3};  // NOLINT(readability-magic-numbers): BGP's minimum
  // Where the daemon's configuration, control socket, pid file and log live (created 0700).
  std::string state_dir = "/run/ballast/bgp";
  std::string daemon_binary = "bird";  // on PATH unless absolute; frr: /usr/lib/frr/bgpd
};

}  // namespace ballast::config
