// src/bgp/frr_config.cpp — bgpd.conf, the vty commands and the vty reply reader.
#include "bgp/frr_config.h"

#include <algorithm>

#include "bgp/state_files.h"

namespace ballast::bgp {
namespace {

// BGP keepalives go every third of the hold time (RFC 4271's suggestion).
constexpr int64_t kKeepalivesPerHold = 3;
// After a session fell, try again soon: a router back from a restart should see the node in
// seconds, not after bgpd's default 120 s connect retry.
constexpr int kConnectRetrySeconds = 2;
// Status byte of a vty reply (FRR's CMD_WARNING_CONFIG_FAILED), and the text bgpd sends with
// it for `no network` of a prefix it does not have.
constexpr int kConfigFailed = 13;
constexpr std::string_view kMissingNetwork = "Can't find static route";
constexpr std::string_view kTerminator{"\0\0\0", 3};

}  // namespace

FrrPaths frrPaths(const std::string& state_dir) {
  const std::string dir = trimSlashes(state_dir);
  return {dir, dir + "/bgpd.conf", dir + "/bgpd.vty", dir + "/bgpd.pid", dir + "/bgpd.log"};
}

std::string renderFrrConfig(const config::BgpSettings& bgp, const std::vector<bool>& announced,
                            const FrrPaths& paths) {
  const int64_t hold = bgp.hold_time.count();
  const int64_t keepalive = std::max<int64_t>(1, hold / kKeepalivesPerHold);
  const std::string map(kFrrImportMap);
  std::string out;
  out += "! Managed by Ballast (bgp: in its config); rewritten on every start, reload and\n";
  out += "! change of the announced VIPs.\n";
  out += "log file " + paths.log + "\n";
  out += "!\n";
  out += "route-map " + map + " deny 10\n";
  out += "exit\n";
  out += "!\n";
  out += "router bgp " + std::to_string(bgp.asn) + "\n";
  out += " bgp router-id " + bgp.router_id.hostString() + "\n";
  out += " no bgp ebgp-requires-policy\n";
  out += " no bgp network import-check\n";
  out += " bgp graceful-restart-disable\n";
  out += " timers bgp " + std::to_string(keepalive) + " " + std::to_string(hold) + "\n";
  for (const auto& p : bgp.peers) {
    const std::string n = " neighbor " + p.address.hostString();
    out += n + " remote-as " + std::to_string(p.asn) + "\n";
    out += n + " timers connect " + std::to_string(kConnectRetrySeconds) + "\n";
    out += n + " advertisement-interval 0\n";
  }
  out += " !\n";
  out += " address-family ipv4 unicast\n";
  for (size_t i = 0; i < bgp.vips.size(); ++i) {
    if (i < announced.size() && announced[i]) {
      out += "  network " + bgp.vips[i].toString() + "\n";
    }
  }
  for (const auto& p : bgp.peers) {
    const std::string n = "  neighbor " + p.address.hostString();
    out += n + " activate\n";
    out += n;
    out += " route-map " + map + " in\n";
  }
  out += " exit-address-family\n";
  out += "exit\n";
  return out;
}

std::vector<VtyCommand> frrAnnounceCommands(uint32_t asn, const std::vector<std::string>& withdraw,
                                            const std::vector<std::string>& announce) {
  std::vector<VtyCommand> out = {{"enable"},
                                 {"configure terminal"},
                                 {"router bgp " + std::to_string(asn)},
                                 {"address-family ipv4 unicast"}};
  for (const auto& prefix : withdraw) {
    out.push_back({"no network " + prefix, /*tolerate_missing=*/true});
  }
  for (const auto& prefix : announce) {
    out.push_back({"network " + prefix});
  }
  out.push_back({"end"});
  return out;
}

VtyReply parseVtyReply(std::string_view buffer) {
  VtyReply r;
  const size_t end = buffer.find(kTerminator);
  if (end == std::string_view::npos || end + kTerminator.size() >= buffer.size()) {
    return r;  // the status byte has not arrived yet
  }
  r.complete = true;
  r.status = static_cast<unsigned char>(buffer[end + kTerminator.size()]);
  r.ok = r.status == 0;
  r.text = std::string(buffer.substr(0, end));
  while (!r.text.empty() && (r.text.back() == '\n' || r.text.back() == '\r')) {
    r.text.pop_back();
  }
  return r;
}

bool isMissingNetworkReply(const VtyReply& reply) {
  return reply.complete && reply.status == kConfigFailed &&
         reply.text.find(kMissingNetwork) != std::string::npos;
}

}  // namespace ballast::bgp
