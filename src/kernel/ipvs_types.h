// src/kernel/ipvs_types.h — IPVS services and destinations as the kernel's generic netlink
// family "IPVS" describes them, in host form (ports in host order, flags split out). Shared by
// the netlink client, the IPVS driver and the test tool.
#pragma once

#include <linux/ip_vs.h>
#include <netinet/in.h>

#include <cstdint>
#include <string>

#include "net/address.h"

namespace ballast::kernel {

// The kernel answers with the persistence bits and its own bookkeeping (IP_VS_SVC_F_HASHED);
// only these are ours to set and compare.
constexpr uint32_t kIpvsUserFlags = IP_VS_SVC_F_PERSISTENT | IP_VS_SVC_F_ONEPACKET |
                                    IP_VS_SVC_F_SCHED1 | IP_VS_SVC_F_SCHED2 | IP_VS_SVC_F_SCHED3;
// The mh scheduler's flags, defined only inside the kernel's ip_vs_mh.c. Fallback: a client
// whose table slot holds a weight-0 destination is re-hashed to a live one instead of dropped
// ("no destination available"); mh keeps weight-0 destinations in its table so that the other
// clients do not move.
constexpr uint32_t kIpvsMhFallback = IP_VS_SVC_F_SCHED1;
constexpr uint32_t kIpvsMhPort = IP_VS_SVC_F_SCHED2;
// Persistence netmask meaning "per client address": all ones for IPv4, a prefix length for IPv6.
constexpr uint32_t kIpvsNetmaskV4Host = 0xffffffffU;
constexpr uint32_t kIpvsNetmaskV6Host = 128;

enum class IpvsForward : uint8_t {
  kMasq = IP_VS_CONN_F_MASQ,
  kLocal = IP_VS_CONN_F_LOCALNODE,
  kTunnel = IP_VS_CONN_F_TUNNEL,
  kDirectRoute = IP_VS_CONN_F_DROUTE,
  kBypass = IP_VS_CONN_F_BYPASS,
};

// One virtual service. Addressed either by (af, protocol, address with port) or, when fwmark is
// non-zero, by (af, fwmark); Ballast only creates the former.
struct IpvsService {
  uint16_t af = AF_INET;
  uint16_t protocol = IPPROTO_TCP;
  net::SocketAddress address;  // VIP with the service port
  uint32_t fwmark = 0;
  std::string scheduler = "wlc";  // at most IP_VS_SCHEDNAME_MAXLEN - 1 bytes
  uint32_t flags = 0;             // IP_VS_SVC_F_*, within kIpvsUserFlags
  uint32_t timeout_s = 0;         // persistence timeout, with IP_VS_SVC_F_PERSISTENT
  uint32_t netmask = kIpvsNetmaskV4Host;

  bool persistent() const { return (flags & IP_VS_SVC_F_PERSISTENT) != 0; }
  // "tcp 198.18.0.10:80" or "fwmark 7/inet", for messages.
  std::string describe() const;
  bool operator==(const IpvsService&) const = default;
};

// One real server of a service.
struct IpvsDest {
  net::SocketAddress address;  // real server with its port (DR, tunnel: the service's port)
  IpvsForward forward = IpvsForward::kMasq;
  uint32_t weight = 1;           // 0: no new connections, existing ones finish
  uint32_t upper_threshold = 0;  // connections; 0 = no limit
  uint32_t lower_threshold = 0;
  // Observed only (never sent, ignored by ==).
  uint32_t active_conns = 0;
  uint32_t inactive_conns = 0;
  uint32_t persist_conns = 0;

  bool operator==(const IpvsDest& o) const {
    return address == o.address && forward == o.forward && weight == o.weight &&
           upper_threshold == o.upper_threshold && lower_threshold == o.lower_threshold;
  }
};

struct IpvsInfo {
  uint32_t version = 0;  // (major << 16) | (minor << 8) | patch
  uint32_t conn_table_size = 0;
  std::string versionString() const;  // "1.2.1"
};

}  // namespace ballast::kernel
