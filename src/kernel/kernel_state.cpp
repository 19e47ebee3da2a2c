// src/kernel/kernel_state.cpp — canonical ordering, names and JSON of kernel states.
#include "kernel/kernel_state.h"

#include <algorithm>
#include <tuple>

namespace ballast::kernel {
namespace {

// Family, then address bytes, then port: a total order for sorting.
bool addressLess(const net::SocketAddress& a, const net::SocketAddress& b) {
  return std::make_tuple(a.family(), a.addressBytes(), a.port()) <
         std::make_tuple(b.family(), b.addressBytes(), b.port());
}

}  // namespace

std::string_view protocolName(config::KernelProtocol p) {
  return p == config::KernelProtocol::kUdp ? "udp" : "tcp";
}

std::string_view schedulerName(config::KernelScheduler s) {
  switch (s) {
    case config::KernelScheduler::kRr:
      return "rr";
    case config::KernelScheduler::kWrr:
      return "wrr";
    case config::KernelScheduler::kHash:
      return "hash";
    case config::KernelScheduler::kLc:
      return "lc";
    case config::KernelScheduler::kWlc:
      return "wlc";
    case config::KernelScheduler::kSh:
      return "sh";
    case config::KernelScheduler::kMh:
      return "mh";
  }
  return "?";
}

std::string_view forwardingName(config::KernelForwarding f) {
  switch (f) {
    case config::KernelForwarding::kNat:
      return "nat";
    case config::KernelForwarding::kDr:
      return "dr";
    case config::KernelForwarding::kTunnel:
      return "tunnel";
  }
  return "?";
}

std::string ServiceState::identity() const {
  if (!name.empty()) {
    return name;
  }
  net::SocketAddress a = vip;
  a.setPort(ports.empty() ? 0 : ports.front());
  return a.toString() + "/" + std::string(protocolName(protocol));
}

void KernelState::canonicalize() {
  for (auto& s : services) {
    std::sort(s.ports.begin(), s.ports.end());
    std::sort(s.backends.begin(), s.backends.end(), [](const Destination& a, const Destination& b) {
      return addressLess(a.address, b.address);
    });
  }
  std::sort(services.begin(), services.end(), identityLess);
}

std::vector<ServiceState>::iterator KernelState::find(const ServiceState& s) {
  const auto at = std::lower_bound(services.begin(), services.end(), s, identityLess);
  return at != services.end() && at->identity() == s.identity() ? at : services.end();
}

bool identityLess(const ServiceState& a, const ServiceState& b) {
  return a.identity() < b.identity();
}

nlohmann::json toJson(const ServiceState& s) {
  nlohmann::json backends = nlohmann::json::array();
  for (const auto& b : s.backends) {
    backends.push_back(
        {{"address", b.address.port() == 0 ? b.address.hostString() : b.address.toString()},
         {"weight", b.weight}});
  }
  nlohmann::json j = {{"name", s.name},
                      {"vip", s.vip.hostString()},
                      {"ports", s.ports},
                      {"protocol", protocolName(s.protocol)},
                      {"scheduler", schedulerName(s.scheduler)},
                      {"forwarding", forwardingName(s.forwarding)},
                      {"snat", s.snat},
                      {"persistence_s", s.persistence_s},
                      {"backends", std::move(backends)}};
  if (!s.intact) {
    j["intact"] = false;
  }
  return j;
}

nlohmann::json toJson(const KernelState& s) {
  nlohmann::json services = nlohmann::json::array();
  for (const auto& svc : s.services) {
    services.push_back(toJson(svc));
  }
  return {{"services", std::move(services)}, {"scaffold_intact", s.scaffold_intact}};
}

}  // namespace ballast::kernel
