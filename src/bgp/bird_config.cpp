// src/bgp/bird_config.cpp — the managed BIRD files and the control-socket reply reader.
#include "bgp/bird_config.h"

#include <chrono>

namespace ballast::bgp {
namespace {

// BGP keepalives go every third of the hold time (RFC 4271's suggestion).
constexpr int64_t kKeepalivesPerHold = 3;
// After a session fell, try again soon: a node back from a restart should be re-added in
// seconds, not after BIRD's default 5 s connect delay and 60 s error wait.
constexpr int kConnectDelaySeconds = 1;
constexpr int kConnectRetrySeconds = 2;
constexpr int kErrorWaitMinSeconds = 1;
constexpr int kErrorWaitMaxSeconds = 5;
constexpr size_t kCodeDigits = 4;

}  // namespace

BirdPaths birdPaths(const std::string& state_dir) {
  std::string dir = state_dir;
  while (dir.size() > 1 && dir.back() == '/') {
    dir.pop_back();
  }
  return {dir + "/bird.conf", dir + "/vips.conf", dir + "/bird.ctl", dir + "/bird.pid",
          dir + "/bird.log"};
}

std::string renderBirdConfig(const config::BgpSettings& bgp, const BirdPaths& paths) {
  const int64_t hold = bgp.hold_time.count();
  const int64_t keepalive = std::max<int64_t>(1, hold / kKeepalivesPerHold);
  std::string out;
  out += "# Managed by Ballast (bgp: in its config); rewritten on every start and reload.\n";
  out += "log \"" + paths.log + "\" all;\n";
  out += "router id " + bgp.router_id.hostString() + ";\n";
  out += "protocol device {\n}\n";
  out += "include \"" + paths.vips + "\";\n";
  for (size_t i = 0; i < bgp.peers.size(); ++i) {
    const auto& p = bgp.peers[i];
    out += "protocol bgp peer" + std::to_string(i + 1) + " {\n";
    out += "  local as " + std::to_string(bgp.asn) + ";\n";
    out += "  neighbor " + p.address.hostString() + " as " + std::to_string(p.asn) + ";\n";
    out += "  hold time " + std::to_string(hold) + ";\n";
    out += "  keepalive time " + std::to_string(keepalive) + ";\n";
    out += "  connect delay time " + std::to_string(kConnectDelaySeconds) + ";\n";
    out += "  connect retry time " + std::to_string(kConnectRetrySeconds) + ";\n";
    out += "  error wait time " + std::to_string(kErrorWaitMinSeconds) + ", " +
           std::to_string(kErrorWaitMaxSeconds) + ";\n";
    out += "  ipv4 {\n";
    out += "    import none;\n";
    out += "    export where proto = \"" + std::string(kVipProtocol) + "\";\n";
    out += "  };\n";
    out += "}\n";
  }
  return out;
}

std::string renderVipsFile(const config::BgpSettings& bgp, const std::vector<bool>& announced) {
  std::string out;
  out += "# Managed by Ballast: the VIPs this node announces now. Rewritten on every change.\n";
  out += "protocol static " + std::string(kVipProtocol) + " {\n";
  out += "  ipv4;\n";
  for (size_t i = 0; i < bgp.vips.size(); ++i) {
    if (i < announced.size() && announced[i]) {
      out += "  route " + bgp.vips[i].toString() + " blackhole;\n";
    }
  }
  out += "}\n";
  return out;
}

BirdReply parseBirdReply(std::string_view buffer) {
  BirdReply r;
  size_t start = 0;
  while (start < buffer.size()) {
    const size_t nl = buffer.find('\n', start);
    if (nl == std::string_view::npos) {
      break;  // a partial line: wait for more
    }
    const std::string_view line = buffer.substr(start, nl - start);
    start = nl + 1;
    if (line.size() < kCodeDigits + 1) {
      continue;
    }
    bool digits = true;
    for (size_t i = 0; i < kCodeDigits; ++i) {
      digits = digits && line[i] >= '0' && line[i] <= '9';
    }
    if (!digits || line[kCodeDigits] != ' ') {
      continue;  // "NNNN-" (more follow) or " text" (continuation)
    }
    r.complete = true;
    r.code = std::stoi(std::string(line.substr(0, kCodeDigits)));
    r.ok = line[0] == '0';
    r.text = std::string(line.substr(kCodeDigits + 1));
    return r;
  }
  return r;
}

}  // namespace ballast::bgp
