// src/kernel/ipvs_driver.h — the IPVS driver: one IPVS service per (VIP, port, protocol) of
// every virtual service, its backends as destinations, programmed over generic netlink
// (kernel/ipvs_netlink.h).
//
// Ownership: IPVS keeps no names or comments, so Ballast records the services it created
// ("198.18.0.10:80/tcp", one per line) in a state file under /run (tmpfs: cleared by a reboot,
// like IPVS itself). read() reports only those services; anything else in IPVS (ipvsadm's,
// keepalived's) is never touched. A service configured in Ballast that already exists, made
// by hand, is adopted: brought to the config and recorded as Ballast's from then on.
#pragma once

#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "kernel/driver.h"
#include "kernel/ipvs_netlink.h"

namespace ballast::kernel {

constexpr const char* kIpvsStatePath = "/run/ballast/ipvs-services";

class IpvsDriver final : public Driver {
 public:
  // state_path empty: ownership is kept in memory only (tests).
  IpvsDriver(std::unique_ptr<IpvsClient> client, std::string state_path);

  std::string_view name() const override { return "ipvs"; }
  // One ServiceState per port, names dropped, hash → sh, snat off (nftables only), DR and
  // tunnel destinations on the service's port, a service without backends as nat.
  void normalize(KernelState& desired) const override;
  core::Result<KernelState> read(std::string* error) override;
  // Goes on past a failed change so that the rest still converges; reports them all.
  core::Result<core::Ok> apply(const Diff& diff, std::string* error) override;
  core::Result<core::Ok> removeAll(std::string* error) override;

  // Conversions, exposed for unit tests. toState is nullopt for services Ballast never makes
  // (fwmark, SCTP); what it cannot express (a hand-set scheduler or flag, mixed forwarding)
  // comes back with intact = false so that the service is rewritten.
  static std::optional<ServiceState> toState(const IpvsService& s,
                                             const std::vector<IpvsDest>& dests);
  static IpvsService toService(const ServiceState& s);
  static IpvsDest toDest(const ServiceState& s, const Destination& d);

 private:
  bool loadOwned(std::string* error);
  bool saveOwned(std::string* error) const;
  // Makes the kernel's destinations of `svc` exactly `want`'s backends.
  bool syncDests(const IpvsService& svc, const ServiceState& want, std::vector<std::string>& errs);
  bool applyChange(const ServiceChange& c, std::vector<std::string>& errs);

  std::unique_ptr<IpvsClient> client_;
  std::string state_path_;
  std::set<std::string> owned_;  // identities: "vip:port/proto"
};

}  // namespace ballast::kernel
