// src/kernel/nft_driver.h — the nftables driver: Ballast owns table `inet ballast` and nothing
// else. Per virtual service, a chain `svc_NAME` whose one rule DNATs through a map `be_NAME`
// keyed by `numgen inc mod N` (rr, wrr) or `jhash ip saddr mod N` (hash), weights being repeated
// map slots; base chains dispatch VIP . protocol . port through verdict maps `services4` and
// `services6`; sets `snat_vip4`/`snat_vip6` name the VIP . backend . protocol . port keys a
// one-armed service masquerades (so a service without snat sharing its backends keeps its
// clients' addresses).
// Writes are text commands in one nft_run_cmd_from_buffer batch (one kernel transaction);
// reads are `list table` in JSON.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "kernel/driver.h"

struct nft_ctx;
struct mnl_socket;

namespace ballast::kernel {

// Slots one service's map may hold: weights are divided by their greatest common divisor and,
// if their sum is still above this, scaled down (every live backend keeps at least one slot).
constexpr uint32_t kMaxNftSlotsPerService = 1024;

class NftDriver final : public Driver {
 public:
  // `table` is "ballast" outside tests.
  explicit NftDriver(std::string table = "ballast");
  ~NftDriver() override;

  std::string_view name() const override { return "nftables"; }
  void normalize(KernelState& desired) const override;
  core::Result<KernelState> read(std::string* error) override;
  core::Result<core::Ok> apply(const Diff& diff, std::string* error) override;
  core::Result<core::Ok> removeAll(std::string* error) override;

  // The batch apply() would run, for tests and `ballast apply --dry-run -v`.
  std::string commands(const Diff& diff) const;
  // Full reads done and skipped (ruleset generation unchanged), for tests and metrics.
  uint64_t fullReads() const { return full_reads_; }
  uint64_t skippedReads() const { return skipped_reads_; }
  // Applies whose result was recorded from the batch itself, the generation showing that it
  // was the only commit since the last read (see apply()).
  uint64_t recordedApplies() const { return recorded_applies_; }
  // Parses `nft -j list table` output; exposed for unit tests.
  core::Result<KernelState> parse(const std::string& json, std::string* error);

 private:
  // What the last read() found, so that apply() deletes only objects that exist (nft 1.0.6
  // has no `destroy`) and removes a service's old dispatch elements before writing new ones.
  struct Seen {
    bool table = false;
    std::set<std::string> chains;
    std::map<std::string, std::string> maps;  // name → data type ("ipv4_addr . inet_service")
    std::map<std::string, std::vector<std::string>> dispatch;  // chain → "services4 { key }"
    std::map<std::string, std::set<std::string>> snat;  // service → "snat_vip4 { key }", sorted
    std::set<std::string> legacy_sets;  // snat sets to delete at repair (older layout, other key)
    std::set<std::string> orphan_snat;  // snat elements no service claimed: "snat_vip4 { key }"
  };

  bool run(const std::string& commands, bool json_output, std::string* output, std::string* error);
  void newContext();
  // The kernel's nftables ruleset generation (NFT_MSG_GETGEN): every committed transaction in
  // this network namespace bumps it. nullopt when it cannot be asked.
  std::optional<uint32_t> generation();
  core::Result<KernelState> readTable(std::string* error);
  // Brings cached_ and seen_ to what the kernel holds after commands(diff) committed on top of
  // them. False when the outcome cannot be known without a listing (then a full read runs).
  bool recordApplied(const Diff& diff);
  // Rewrites (desired set) or deletes (desired null, `removed` names it) one service's objects.
  void serviceCommands(const ServiceState* desired, const std::string& removed,
                       std::set<std::string>& deleted, std::string& out) const;

  std::string table_;
  nft_ctx* ctx_ = nullptr;
  mnl_socket* nl_ = nullptr;  // NETLINK_NETFILTER, for generation()
  uint32_t nl_seq_ = 0;
  Seen seen_;
  // The last full read and the generation asked for just before it: while the generation is
  // unchanged, nothing in the ruleset changed and the listing (the costly part of an idle
  // reconcile, hundreds of milliseconds at 10,000 backends) is skipped.
  std::optional<uint32_t> cached_generation_;
  KernelState cached_;
  uint64_t full_reads_ = 0;
  uint64_t skipped_reads_ = 0;
  uint64_t recorded_applies_ = 0;
};

}  // namespace ballast::kernel
