// src/uplink/routing_types.h — what the uplink plane asks of the kernel (default routes and
// policy rules, IPv4) and what it reads back. Addresses are in network byte order.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace ballast::uplink {

// rtm_protocol / FRA_PROTOCOL stamped on every route and rule the plane adds, so `remove` finds
// exactly those even after a crash. Unassigned in iproute2's rt_protos.
constexpr uint8_t kRtProtBallast = 151;

struct Nexthop {
  int ifindex = 0;
  uint32_t gateway = 0;
  uint32_t weight = 1;  // 1..256
  bool operator==(const Nexthop&) const = default;
};

// A default route (0.0.0.0/0) in `table`; more than one nexthop makes it multipath.
struct RouteSpec {
  uint32_t table = 0;
  std::vector<Nexthop> nexthops;
  bool operator==(const RouteSpec&) const = default;
};

struct RuleSpec {
  uint32_t priority = 0;
  uint32_t table = 0;
  uint32_t src = 0;  // from <src>/32 when non-zero
  std::string iif;
  std::string oif;
  uint32_t fwmark = 0;
  uint32_t fwmask = 0;
  bool suppress_default = false;  // suppress_prefixlength 0: main's specific routes first
  bool operator==(const RuleSpec&) const = default;
};

// One object read back from the kernel; `raw` is its netlink message, which sent back as a
// delete names exactly that object.
struct KernelRoute {
  uint32_t table = 0;
  uint8_t dst_len = 0;
  uint8_t protocol = 0;
  int oif = 0;
  uint32_t gateway = 0;
  std::vector<Nexthop> nexthops;  // multipath
  std::vector<char> raw;
};

struct KernelRule {
  RuleSpec spec;
  uint8_t protocol = 0;
  std::vector<char> raw;
};

struct LinkInfo {
  int index = 0;
  std::string name;
  bool up = false;  // administratively up and carrier (IFF_UP and IFF_LOWER_UP)
};

struct AddrInfo {
  int index = 0;
  uint32_t addr = 0;
  uint8_t prefix_len = 0;
};

struct NeighInfo {
  int index = 0;
  uint32_t addr = 0;
  uint16_t state = 0;  // NUD_*
};

// The host's IPv4 routing state as one dump sees it.
struct HostView {
  std::vector<LinkInfo> links;
  std::vector<AddrInfo> addrs;
  std::vector<KernelRoute> routes;  // every table
  std::vector<KernelRule> rules;
  std::vector<NeighInfo> neighbours;

  const LinkInfo* link(const std::string& name) const;
  // The interface's first primary IPv4 address; 0 when none.
  uint32_t primaryAddress(int ifindex) const;
  // The gateway of a main-table default route through the interface; 0 when none.
  uint32_t learnedGateway(int ifindex) const;
  const NeighInfo* neighbour(int ifindex, uint32_t addr) const;
};

std::string ipv4String(uint32_t addr);
nlohmann::json toJson(const RuleSpec& rule);
nlohmann::json toJson(const RouteSpec& route);

}  // namespace ballast::uplink
