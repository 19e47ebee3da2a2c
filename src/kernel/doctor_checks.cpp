// src/kernel/doctor_checks.cpp — reads /proc/sys and asks the driver for a read of its tables.
#include "kernel/doctor_checks.h"

#include <fstream>
#include <optional>
#include <string>

#include "kernel/driver.h"

namespace ballast::kernel {
namespace {

using control::DoctorFinding;
using control::Severity;

// Connections a backend slot is expected to hold at once, for the conntrack sizing hint: a
// rough planning figure, not a limit.
constexpr uint64_t kExpectedFlowsPerBackend = 10000;
constexpr uint64_t kArpIgnoreWanted = 1;
constexpr uint64_t kArpAnnounceWanted = 2;

std::optional<uint64_t> readSysctl(const std::string& path) {
  std::ifstream in(path);
  uint64_t v = 0;
  if (!(in >> v)) {
    return std::nullopt;
  }
  return v;
}

DoctorFinding sysctlFinding(const std::string& name, uint64_t wanted, bool at_least, Severity bad,
                            const std::string& why) {
  std::string path = "/proc/sys/" + name;
  for (char& c : path) {
    if (c == '.') {
      c = '/';
    }
  }
  DoctorFinding f{.check = name};
  const auto v = readSysctl(path);
  if (!v) {
    f.severity = Severity::kWarn;
    f.detail = "cannot read " + path;
    f.fix = "run doctor as root on the load-balancer host";
    return f;
  }
  const bool ok = at_least ? *v >= wanted : *v == wanted;
  f.detail = name + " = " + std::to_string(*v);
  if (!ok) {
    f.severity = bad;
    f.detail += " (" + why + ")";
    f.fix = "sysctl -w " + name + "=" + std::to_string(wanted) +
            " and persist it in "
            "/etc/sysctl.d/";
  }
  return f;
}

}  // namespace

std::vector<DoctorFinding> kernelDoctorChecks(const config::Config& config) {
  std::vector<DoctorFinding> out;
  if (config.virtual_services.empty() && !config.kernel.present) {
    return out;
  }
  bool v4 = false;
  bool v6 = false;
  bool dr = false;
  bool mh = false;
  uint64_t backends = 0;
  for (const auto& vs : config.virtual_services) {
    v4 |= !vs.vip.isV6();
    v6 |= vs.vip.isV6();
    dr |= vs.forwarding == config::KernelForwarding::kDr;
    mh |= vs.scheduler == config::KernelScheduler::kMh;
    backends += vs.backends.size();
  }
  // NAT (nftables DNAT, IPVS nat) forwards every packet to a backend through this host.
  if (v4 || config.virtual_services.empty()) {
    out.push_back(sysctlFinding("net.ipv4.ip_forward", 1, true, Severity::kError,
                                "packets to the VIP cannot be forwarded to backends"));
  }
  if (v6) {
    out.push_back(sysctlFinding("net.ipv6.conf.all.forwarding", 1, true, Severity::kError,
                                "IPv6 packets to the VIP cannot be forwarded to backends"));
  }
  if (dr) {
    // Checked here as a reminder: these belong on the backends (which hold the VIP on lo), and
    // a backend answering ARP for the VIP steals its traffic from the load balancer.
    out.push_back(sysctlFinding("net.ipv4.conf.all.arp_ignore", kArpIgnoreWanted, false,
                                Severity::kWarn,
                                "DR backends must not answer ARP for the VIP they hold on lo"));
    out.push_back(sysctlFinding("net.ipv4.conf.all.arp_announce", kArpAnnounceWanted, false,
                                Severity::kWarn,
                                "DR backends must not announce the VIP as a source address"));
  }
  if (mh && config.kernel.driver == config::KernelDriver::kIpvs) {
    // mh is chosen so that every node picks the same backend for a flow that ECMP moves to it
    // (docs/scale-out.md); without sloppy_tcp IPVS schedules only a SYN and the moved flow is
    // reset. The sysctl appears once ip_vs is loaded.
    out.push_back(sysctlFinding("net.ipv4.vs.sloppy_tcp", 1, false, Severity::kWarn,
                                "a flow that ECMP moves to this node from another is reset"));
  }
  if (config.kernel.driver == config::KernelDriver::kNftables) {
    DoctorFinding f{.check = "nf_conntrack_max"};
    const auto max = readSysctl("/proc/sys/net/netfilter/nf_conntrack_max");
    const uint64_t expected = backends * kExpectedFlowsPerBackend;
    if (!max) {
      f.severity = Severity::kWarn;
      f.detail = "nf_conntrack is not loaded (it loads with the first NAT rule)";
    } else {
      f.detail = "nf_conntrack_max = " + std::to_string(*max) + ", about " +
                 std::to_string(expected) + " expected for " + std::to_string(backends) +
                 " backends";
      if (*max < expected) {
        f.severity = Severity::kWarn;
        f.fix = "sysctl -w net.netfilter.nf_conntrack_max=" + std::to_string(expected) +
                " (new flows are dropped when the table is full)";
      }
    }
    out.push_back(std::move(f));
  }
  DoctorFinding avail{
      .check = std::string("kernel driver ") +
               (config.kernel.driver == config::KernelDriver::kIpvs ? "ipvs" : "nftables")};
  std::string error;
  auto driver = makeDriver(config.kernel.driver, &error);
  if (driver) {
    auto state = driver->read(&error);
    if (state) {
      avail.detail =
          "usable; " + std::to_string(state->services.size()) + " services programmed now";
    } else {
      driver.reset();
    }
  }
  if (!driver) {
    avail.severity = Severity::kError;
    avail.detail = error;
    avail.fix = config.kernel.driver == config::KernelDriver::kIpvs
                    ? "modprobe ip_vs (and run as root)"
                    : "install nftables and run as root (CAP_NET_ADMIN)";
  }
  out.push_back(std::move(avail));
  return out;
}

}  // namespace ballast::kernel
