// src/kernel/kernel_state.h — what the kernel holds (observed) or should hold (desired), as plain
// values both drivers share. A driver reads its tables into a KernelState; the reconciler builds
// the desired one from config × health and hands the difference (kernel/diff.h) to the driver.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "config/kernel_types.h"
#include "net/address.h"

namespace ballast::kernel {

struct Destination {
  net::SocketAddress address;  // port 0: the service's own port (DR, tunnel)
  uint32_t weight = 1;         // as the driver counts it (nftables: map slots, see normalize)

  bool operator==(const Destination&) const = default;
};

struct ServiceState {
  // Empty when the kernel keeps no names (IPVS); the key then identifies the service.
  std::string name;
  net::SocketAddress vip;       // port 0
  std::vector<uint16_t> ports;  // sorted
  config::KernelProtocol protocol = config::KernelProtocol::kTcp;
  config::KernelScheduler scheduler = config::KernelScheduler::kWrr;
  config::KernelForwarding forwarding = config::KernelForwarding::kNat;
  bool snat = false;
  uint32_t persistence_s = 0;
  std::vector<Destination> backends;  // sorted by address
  // Observed only: false when the driver found the service's objects damaged (a rule deleted
  // or changed by hand), so that it is rewritten even if everything else matches.
  bool intact = true;

  // name, or "vip:port/proto" when there is no name.
  std::string identity() const;
  bool operator==(const ServiceState&) const = default;
};

struct KernelState {
  std::vector<ServiceState> services;  // sorted by identity
  // Observed only: false when what holds the services together (nftables: the table, its
  // base chains and their dispatch rules) is missing or changed.
  bool scaffold_intact = true;
  // Observed only: true when the driver found nothing of Ballast's at all (no table).
  bool empty_kernel = false;

  // Sorts services and their backends and ports, so that equal states compare equal.
  void canonicalize();
  // The service with s's identity, in canonical (sorted) services; services.end() if none.
  std::vector<ServiceState>::iterator find(const ServiceState& s);
  bool operator==(const KernelState&) const = default;
};

// The order of canonical services.
bool identityLess(const ServiceState& a, const ServiceState& b);

std::string_view protocolName(config::KernelProtocol p);
std::string_view schedulerName(config::KernelScheduler s);
std::string_view forwardingName(config::KernelForwarding f);

nlohmann::json toJson(const ServiceState& s);
nlohmann::json toJson(const KernelState& s);

}  // namespace ballast::kernel
