// src/config/kernel_types.h — settings of the kernel plane: L4 virtual services that Ballast
// programs into nftables or IPVS and keeps there (issue #8).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "net/address.h"

namespace ballast::config {

// config_types.h includes this file before it defines HealthCheck, so a virtual service holds
// its check behind a pointer (shared: the config is immutable once loaded).
struct HealthCheck;

enum class KernelDriver : uint8_t { kNftables, kIpvs };
// rr/wrr/hash work with both drivers (hash is IPVS's sh); the others are IPVS schedulers.
enum class KernelScheduler : uint8_t { kRr, kWrr, kHash, kLc, kWlc, kSh, kMh };
// nftables only does nat; dr and tunnel are IPVS forwarding methods.
enum class KernelForwarding : uint8_t { kNat, kDr, kTunnel };
enum class KernelProtocol : uint8_t { kTcp, kUdp };
enum class OnStandby : uint8_t { kRemove, kKeep };

struct VipGate {
  // Reconcile only while one of these addresses is on an interface of this node; empty: always.
  std::vector<net::SocketAddress> addresses;  // ports are 0
  OnStandby on_standby = OnStandby::kRemove;
};

struct KernelSettings {
  bool present = false;  // a `kernel:` section was given
  KernelDriver driver = KernelDriver::kNftables;
  std::chrono::milliseconds reconcile_interval{std::chrono::seconds(5)};
  VipGate vip_gate;
};

struct KernelBackend {
  net::SocketAddress address;  // with the port traffic is sent to
  uint32_t weight = 1;         // 0..kMaxWeight; 0 takes no new connections
};

struct VirtualService {
  std::string name;
  net::SocketAddress vip;       // port 0: the ports are in `ports`
  std::vector<uint16_t> ports;  // at least one; `port:` reads as a list of one
  KernelProtocol protocol = KernelProtocol::kTcp;
  KernelScheduler scheduler = KernelScheduler::kWrr;
  KernelForwarding forwarding = KernelForwarding::kNat;
  bool snat = false;  // nftables: masquerade toward backends (one-armed load balancer)
  std::chrono::milliseconds persistence{0};  // IPVS persistent timeout; 0 = off
  std::vector<KernelBackend> backends;
  std::shared_ptr<const HealthCheck> health_check;  // never null once loaded
  std::string source;  // "file:line" of the entry, for messages that compare files
};

}  // namespace ballast::config
