// src/uplink/doctor_checks.cpp — reads /sys and /proc/sys only; changes nothing.
#include "uplink/doctor_checks.h"

#include <sys/stat.h>

#include <algorithm>
#include <fstream>
#include <string>

namespace ballast::uplink {
namespace {

using control::DoctorFinding;
using control::Severity;

constexpr int kStrictRpFilter = 1;

bool interfaceExists(const std::string& name) {
  struct stat st {};
  return ::stat(("/sys/class/net/" + name).c_str(), &st) == 0;
}

// Read by path, not by dotted name: interface names may contain dots (eth0.100).
int readInt(const std::string& path, int fallback) {
  std::ifstream in(path);
  int v = fallback;
  if (!(in >> v)) {
    return fallback;
  }
  return v;
}

void checkInterface(const std::string& name, const char* role, std::vector<DoctorFinding>& out) {
  const bool ok = interfaceExists(name);
  out.push_back(
      {.check = std::string(role) + " interface " + name,
       .severity = ok ? Severity::kOk : Severity::kWarn,
       .detail = ok ? "present" : "not present now",
       .fix = ok ? "" : "the plane waits for it and adds it when it appears; check the name"});
}

}  // namespace

std::vector<DoctorFinding> uplinkDoctorChecks(const config::Config& config) {
  std::vector<DoctorFinding> out;
  if (config.uplinks.empty()) {
    return out;
  }
  const int all_rp = readInt("/proc/sys/net/ipv4/conf/all/rp_filter", 0);
  for (const auto& u : config.uplinks) {
    checkInterface(u.interface, "uplink", out);
    if (!interfaceExists(u.interface)) {
      continue;
    }
    // The kernel uses the larger of `all` and the interface's own value.
    const int rp =
        std::max(all_rp, readInt("/proc/sys/net/ipv4/conf/" + u.interface + "/rp_filter", 0));
    const bool strict = rp == kStrictRpFilter;
    out.push_back({.check = "net.ipv4.conf." + u.interface + ".rp_filter",
                   .severity = strict ? Severity::kWarn : Severity::kOk,
                   .detail = "effective " + std::to_string(rp),
                   .fix = strict ? "strict reverse-path filtering drops replies that arrive on an "
                                   "uplink the main table does not route back through; set it to "
                                   "2 (loose): sysctl -w net.ipv4.conf.all.rp_filter=2 "
                                   "net.ipv4.conf." +
                                       u.interface + ".rp_filter=2"
                                 : ""});
  }
  for (const auto& lan : config.lan_interfaces) {
    checkInterface(lan, "LAN", out);
  }
  if (!config.lan_interfaces.empty()) {
    const bool on = readInt("/proc/sys/net/ipv4/ip_forward", 0) == 1;
    out.push_back(
        {.check = "net.ipv4.ip_forward",
         .severity = on ? Severity::kOk : Severity::kError,
         .detail = on ? "1" : "0: traffic from lan_interfaces is not forwarded",
         .fix = on ? "" : "sysctl -w net.ipv4.ip_forward=1 (and persist it in /etc/sysctl.d)"});
  }
  const int hash = readInt("/proc/sys/net/ipv4/fib_multipath_hash_policy", -1);
  out.push_back({.check = "net.ipv4.fib_multipath_hash_policy",
                 .severity = hash == 1 ? Severity::kOk : Severity::kWarn,
                 .detail = std::to_string(hash) + (hash == 1 ? " (layer 4)" : ""),
                 .fix = hash == 1 ? ""
                                  : "the uplink plane sets 1 while it runs (and restores this "
                                    "value on remove); at 0 all flows to one destination take "
                                    "the same uplink"});
  return out;
}

}  // namespace ballast::uplink
