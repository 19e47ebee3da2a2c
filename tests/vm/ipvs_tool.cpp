// tests/vm/ipvs_tool.cpp — a test-only command line over kernel::IpvsClient, so the VM test can
// drive the netlink client step by step and compare with ipvsadm. Not installed.
//
//   ipvs_tool info | list
//   ipvs_tool add-service|set-service tcp|udp VIP:PORT SCHED [PERSIST_S]
//   ipvs_tool del-service tcp|udp VIP:PORT
//   ipvs_tool add-dest|set-dest tcp|udp VIP:PORT RIP:PORT nat|dr|tunnel WEIGHT
//   ipvs_tool set-weight tcp|udp VIP:PORT RIP:PORT WEIGHT
//   ipvs_tool del-dest tcp|udp VIP:PORT RIP:PORT
//
// Exit 0 on success, 1 when the kernel refused (the reason on stderr), 2 on a usage error.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "kernel/ipvs_netlink.h"

namespace {

using ballast::kernel::IpvsClient;
using ballast::kernel::IpvsDest;
using ballast::kernel::IpvsForward;
using ballast::kernel::IpvsService;

constexpr int kExitRefused = 1;
constexpr int kExitUsage = 2;

int usage() {
  std::cerr << "usage: ipvs_tool info | list\n"
               "       ipvs_tool add-service|set-service tcp|udp VIP:PORT SCHED [PERSIST_S]\n"
               "       ipvs_tool del-service tcp|udp VIP:PORT\n"
               "       ipvs_tool add-dest|set-dest tcp|udp VIP:PORT RIP:PORT nat|dr|tunnel W\n"
               "       ipvs_tool set-weight tcp|udp VIP:PORT RIP:PORT WEIGHT\n"
               "       ipvs_tool del-dest tcp|udp VIP:PORT RIP:PORT\n";
  return kExitUsage;
}

std::optional<uint32_t> number(std::string_view s) {
  if (s.empty() || s.size() > std::numeric_limits<uint32_t>::digits10) {
    return std::nullopt;
  }
  uint32_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') {
      return std::nullopt;
    }
    v = v * 10 + static_cast<uint32_t>(c - '0');  // NOLINT(readability-magic-numbers)
  }
  return v;
}

std::optional<IpvsService> service(std::string_view proto, std::string_view vip) {
  auto a = ballast::net::SocketAddress::parse(vip);
  if (!a || (proto != "tcp" && proto != "udp")) {
    return std::nullopt;
  }
  IpvsService s;
  s.af = static_cast<uint16_t>(a->family());
  s.protocol = proto == "tcp" ? IPPROTO_TCP : IPPROTO_UDP;
  s.address = *a;
  s.netmask = a->isV6() ? ballast::kernel::kIpvsNetmaskV6Host : ballast::kernel::kIpvsNetmaskV4Host;
  return s;
}

std::optional<IpvsForward> forward(std::string_view s) {
  if (s == "nat") {
    return IpvsForward::kMasq;
  }
  if (s == "dr") {
    return IpvsForward::kDirectRoute;
  }
  if (s == "tunnel") {
    return IpvsForward::kTunnel;
  }
  return std::nullopt;
}

const char* forwardName(IpvsForward f) {
  switch (f) {
    case IpvsForward::kMasq:
      return "nat";
    case IpvsForward::kDirectRoute:
      return "dr";
    case IpvsForward::kTunnel:
      return "tunnel";
    case IpvsForward::kLocal:
      return "local";
    case IpvsForward::kBypass:
      return "bypass";
  }
  return "?";
}

int refused(const IpvsClient& c) {
  std::cerr << "ipvs_tool: " << c.lastError() << "\n";
  return kExitRefused;
}

// One line per service, then one per destination: stable, so the test can grep it.
int list(IpvsClient& c) {
  auto services = c.listServices();
  if (!services) {
    return refused(c);
  }
  for (const auto& s : *services) {
    std::printf("service %s sched=%s persistent=%u timeout=%u\n", s.describe().c_str(),
                s.scheduler.c_str(), s.persistent() ? 1U : 0U, s.timeout_s);
    auto dests = c.listDests(s);
    if (!dests) {
      return refused(c);
    }
    for (const auto& d : *dests) {
      std::printf("  dest %s fwd=%s weight=%u active=%u inactive=%u\n",
                  d.address.toString().c_str(), forwardName(d.forward), d.weight, d.active_conns,
                  d.inactive_conns);
    }
  }
  return 0;
}

int run(const std::vector<std::string_view>& args) {
  if (args.empty()) {
    return usage();
  }
  const std::string_view cmd = args[0];
  static constexpr std::string_view kCommands[] = {"info",        "list",        "add-service",
                                                   "set-service", "del-service", "add-dest",
                                                   "set-dest",    "set-weight",  "del-dest"};
  if (std::find(std::begin(kCommands), std::end(kCommands), cmd) == std::end(kCommands)) {
    return usage();
  }
  std::string error;
  auto client = IpvsClient::open(&error);
  if (!client) {
    std::cerr << "ipvs_tool: " << error << "\n";
    return kExitRefused;
  }
  IpvsClient& c = **client;
  if (cmd == "info") {
    auto info = c.info();
    if (!info) {
      return refused(c);
    }
    std::printf("IPVS %s conn_table_size=%u family_id=%u\n", info->versionString().c_str(),
                info->conn_table_size, c.familyId());
    return 0;
  }
  if (cmd == "list") {
    return list(c);
  }
  if (args.size() < 3) {
    return usage();
  }
  auto svc = service(args[1], args[2]);
  if (!svc) {
    return usage();
  }
  if (cmd == "add-service" || cmd == "set-service") {
    if (args.size() < 4 || args.size() > 5) {
      return usage();
    }
    svc->scheduler = std::string(args[3]);
    if (args.size() == 5) {
      auto persist = number(args[4]);
      if (!persist) {
        return usage();
      }
      svc->flags |= IP_VS_SVC_F_PERSISTENT;
      svc->timeout_s = *persist;
    }
    auto r = cmd == "add-service" ? c.addService(*svc) : c.updateService(*svc);
    return r ? 0 : refused(c);
  }
  if (cmd == "del-service") {
    return c.deleteService(*svc) ? 0 : refused(c);
  }
  if (args.size() < 4) {
    return usage();
  }
  auto rip = ballast::net::SocketAddress::parse(args[3]);
  if (!rip) {
    return usage();
  }
  IpvsDest dest;
  dest.address = *rip;
  if (cmd == "add-dest" || cmd == "set-dest") {
    if (args.size() != 6) {
      return usage();
    }
    auto fwd = forward(args[4]);
    auto weight = number(args[5]);
    if (!fwd || !weight) {
      return usage();
    }
    dest.forward = *fwd;
    dest.weight = *weight;
    auto r = cmd == "add-dest" ? c.addDest(*svc, dest) : c.updateDest(*svc, dest);
    return r ? 0 : refused(c);
  }
  if (cmd == "set-weight") {
    auto weight = args.size() == 5 ? number(args[4]) : std::nullopt;
    if (!weight) {
      return usage();
    }
    // Keep everything else the destination has; only the weight changes.
    auto dests = c.listDests(*svc);
    if (!dests) {
      return refused(c);
    }
    for (auto d : *dests) {
      if (d.address == dest.address) {
        d.weight = *weight;
        return c.updateDest(*svc, d) ? 0 : refused(c);
      }
    }
    std::cerr << "ipvs_tool: no destination " << dest.address.toString() << "\n";
    return kExitRefused;
  }
  if (cmd == "del-dest") {
    return c.deleteDest(*svc, dest) ? 0 : refused(c);
  }
  return usage();
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string_view> args(argv + 1, argv + argc);
  return run(args);
}
