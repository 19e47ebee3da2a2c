// src/config/uplink_types.h — settings of the uplink plane: a host's outbound traffic spread over
// several uplinks by policy routing, weighted multipath and per-uplink SNAT (issue #7).
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "net/address.h"

namespace ballast::config {

// How an uplink's health is probed beyond its link and gateway-neighbour state.
enum class UplinkProbeKind : uint8_t {
  kNone,     // link and neighbour state only
  kTcp,      // TCP connects to `targets`, bound to the uplink's interface
  kGateway,  // the gateway's ARP state, kept fresh by a datagram to it every interval
};

struct UplinkProbe {
  UplinkProbeKind kind = UplinkProbeKind::kNone;
  std::vector<net::SocketAddress> targets;  // kTcp: host:port (IPv4)
};

struct Uplink {
  std::string interface;
  uint32_t weight = 1;                        // 1..256, the multipath nexthop weight
  std::optional<net::SocketAddress> gateway;  // IPv4, port 0; unset: learned from its routes
  uint32_t table = 0;                         // 0: policy.table_base + position in the list
  UplinkProbe probe;
};

struct UplinkPolicy {
  bool present = false;  // an `uplink_policy:` section was given
  std::chrono::milliseconds interval{std::chrono::seconds(2)};
  std::chrono::milliseconds timeout{std::chrono::seconds(1)};
  uint32_t failure_threshold = 3;
  uint32_t recovery_threshold = 2;
  // Netlink events are gathered this long before the routes are recomputed.
  std::chrono::milliseconds debounce{std::chrono::milliseconds(500)};
  // Hysteresis: after its n-th down in a row an uplink is kept out for
  // min(backoff_max, backoff_base * 2^(n-1)); n starts over once it stayed up for hold_down.
  std::chrono::milliseconds backoff_base{std::chrono::seconds(5)};
  std::chrono::milliseconds backoff_max{std::chrono::minutes(5)};
  std::chrono::milliseconds hold_down{std::chrono::seconds(60)};
  bool affinity = true;  // connection marks keep a flow on the uplink it started on
  uint32_t lb_table = 200;
  uint32_t table_base = 100;
  uint32_t rule_preference = 1000;
  std::string state_file = "/run/ballast/uplinks.state";
};

}  // namespace ballast::config
