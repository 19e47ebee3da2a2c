// tests/unit/kernel/nft_driver_test.cpp — normalization and command building offline, then a
// round trip against the real kernel in a throwaway network namespace (root only; skipped
// otherwise): apply from empty, read back equal, repair a hand-deleted rule, remove all.
#include "kernel/nft_driver.h"

#include <gtest/gtest.h>
#include <sched.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <functional>

#include "kernel/reconciler.h"

namespace ballast::kernel {
namespace {

net::SocketAddress addr(const char* text) {
  return *net::SocketAddress::parse(text, /*allow_no_port=*/true);
}

KernelState sample() {
  KernelState k;
  ServiceState web;
  web.name = "web-1.a";
  web.vip = addr("198.18.0.10");
  web.ports = {80};
  web.scheduler = config::KernelScheduler::kWrr;
  web.snat = true;
  web.backends = {{addr("198.18.2.1"), 6}, {addr("198.18.2.2"), 3}, {addr("198.18.2.3"), 0}};
  ServiceState dns;
  dns.name = "dns";
  dns.vip = addr("2001:db8::10");
  dns.ports = {53, 5353};
  dns.protocol = config::KernelProtocol::kUdp;
  dns.scheduler = config::KernelScheduler::kHash;
  dns.backends = {{addr("2001:db8::1"), 1}, {addr("2001:db8::2"), 1}};
  ServiceState rr;
  rr.name = "rr";
  rr.vip = addr("198.18.0.11");
  rr.ports = {8080};
  rr.scheduler = config::KernelScheduler::kRr;
  rr.backends = {{addr("198.18.2.1:9000"), 5}, {addr("198.18.2.2:9000"), 1}};
  k.services = {web, dns, rr};
  k.canonicalize();
  return k;
}

TEST(NftDriverTest, NormalizeTurnsWeightsIntoSlots) {
  NftDriver d("ballast_test");
  KernelState k = sample();
  d.normalize(k);
  ASSERT_EQ(k.services.size(), 3U);
  const ServiceState& web = k.services[2];  // sorted by name: dns, rr, web-1.a
  ASSERT_EQ(web.name, "web-1.a");
  ASSERT_EQ(web.backends.size(), 2U);     // weight 0 leaves the map
  EXPECT_EQ(web.backends[0].weight, 2U);  // 6:3 over gcd 3
  EXPECT_EQ(web.backends[1].weight, 1U);
  EXPECT_EQ(web.backends[0].address.port(), 80);  // single port: filled in
  const ServiceState& rr = k.services[1];
  EXPECT_EQ(rr.scheduler, config::KernelScheduler::kWrr);
  EXPECT_EQ(rr.backends[0].weight, 1U);  // rr ignores weights
  const ServiceState& dns = k.services[0];
  EXPECT_EQ(dns.backends[0].address.port(), 0);  // several ports: keeps the client's
}

TEST(NftDriverTest, CommandsForAnEmptyKernelBuildEverythingInOneBatch) {
  NftDriver d("ballast_test");
  std::string error;
  ASSERT_TRUE(d.parse(R"({"nftables": []})", &error)) << error;
  KernelState k = sample();
  d.normalize(k);
  KernelState empty;
  empty.scaffold_intact = false;
  const std::string batch = d.commands(diff(k, empty));
  EXPECT_NE(batch.find("add table inet ballast_test\n"), std::string::npos);
  EXPECT_NE(batch.find("add rule inet ballast_test svc_web-1.a meta l4proto tcp dnat ip to "
                       "numgen inc mod 3 map @be_web-1.a\n"),
            std::string::npos)
      << batch;
  EXPECT_NE(batch.find("add element inet ballast_test be_web-1.a { 0 : 198.18.2.1 . 80, 1 : "
                       "198.18.2.2 . 80, 2 : 198.18.2.1 . 80 }"),
            std::string::npos)
      << batch;
  EXPECT_NE(batch.find("dnat ip6 to jhash ip6 saddr mod 2 map @be_dns"), std::string::npos);
  EXPECT_NE(batch.find("services6 { 2001:db8::10 . udp . 53 : jump svc_dns, 2001:db8::10 . udp "
                       ". 5353 : jump svc_dns }"),
            std::string::npos)
      << batch;
  EXPECT_NE(batch.find("add element inet ballast_test snat_vip4 { 198.18.0.10 . 198.18.2.1 . "
                       "tcp . 80, 198.18.0.10 . 198.18.2.2 . tcp . 80 }"),
            std::string::npos)
      << batch;
}

TEST(NftDriverTest, ParseFlagsDamagedService) {
  NftDriver d("ballast");
  std::string error;
  // A service chain with its rule deleted by hand and the base chains missing.
  const auto k = d.parse(R"({"nftables": [
    {"table": {"family": "inet", "name": "ballast"}},
    {"map": {"name": "services4", "type": ["ipv4_addr", "inet_proto", "inet_service"],
             "map": "verdict", "elem": [[{"concat": ["198.18.0.10", "tcp", 80]},
                                         {"jump": {"target": "svc_web"}}]]}},
    {"map": {"name": "be_web", "type": "integer", "map": "ipv4_addr . inet_service",
             "elem": [[0, {"concat": ["198.18.2.1", 80]}]]}},
    {"chain": {"name": "svc_web"}}]})",
                         &error);
  ASSERT_TRUE(k) << error;
  EXPECT_FALSE(k->scaffold_intact);
  ASSERT_EQ(k->services.size(), 1U);
  EXPECT_FALSE(k->services[0].intact);
  EXPECT_EQ(k->services[0].ports, std::vector<uint16_t>{80});
  EXPECT_FALSE(d.parse("{not json", &error));
  EXPECT_NE(error.find("nft JSON output"), std::string::npos);
}

// Runs `body` in a child process inside a new network namespace; its exit code is the result.
int inNetns(const std::function<int()>& body) {
  const pid_t pid = fork();
  if (pid == 0) {
    if (unshare(CLONE_NEWNET) != 0) {
      _exit(77);  // NOLINT(readability-magic-numbers): automake's "skipped"
    }
    _exit(body());
  }
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

TEST(NftDriverTest, RoundTripAgainstTheKernel) {
  if (geteuid() != 0) {
    GTEST_SKIP() << "needs root for a network namespace";
  }
  const int rc = inNetns([] {
    NftDriver d;
    std::string error;
    KernelState want = sample();
    d.normalize(want);
    auto before = d.read(&error);
    if (!before || !before->empty_kernel) {
      fprintf(stderr, "read empty: %s\n", error.c_str());
      return 1;
    }
    if (!d.apply(diff(want, *before), &error)) {
      fprintf(stderr, "apply: %s\n", error.c_str());
      return 2;
    }
    auto after = d.read(&error);
    if (!after || !diff(want, *after).empty() || !after->scaffold_intact) {
      fprintf(stderr, "after apply differs: %s %s\n", error.c_str(),
              after ? toJson(*after).dump().c_str() : "");
      return 3;
    }
    // Nothing changed since: the generation says so and the listing is skipped.
    const uint64_t full = d.fullReads();
    auto again = d.read(&error);
    if (!again || !diff(want, *again).empty() || d.fullReads() != full || d.skippedReads() == 0) {
      fprintf(stderr, "unchanged read was not skipped\n");
      return 11;
    }
    // Drift: delete a service's rule and the prerouting dispatch by hand.
    if (system("nft flush chain inet ballast svc_web-1.a && nft flush chain inet ballast "
               "prerouting") != 0) {
      return 4;
    }
    auto drifted = d.read(&error);
    const Diff repair = drifted ? diff(want, *drifted) : Diff{};
    if (!drifted || !repair.repair_scaffold || repair.changes.size() != 1) {
      fprintf(stderr, "drift not seen\n");
      return 5;
    }
    if (!d.apply(repair, &error)) {
      fprintf(stderr, "repair: %s\n", error.c_str());
      return 6;
    }
    // One backend goes down: an update of one service only.
    want.services[2].backends.pop_back();
    auto now = d.read(&error);
    const Diff down = now ? diff(want, *now) : Diff{};
    if (!now || down.changes.size() != 1 || down.repair_scaffold || !d.apply(down, &error)) {
      fprintf(stderr, "health change: %s\n", error.c_str());
      return 7;
    }
    auto check = d.read(&error);
    if (!check || !diff(want, *check).empty()) {
      return 8;
    }
    // Everything removed; a second removal is fine too.
    if (!d.removeAll(&error) || !d.removeAll(&error)) {
      return 9;
    }
    auto gone = d.read(&error);
    return gone && gone->empty_kernel ? 0 : 10;
  });
  if (rc == 77) {  // NOLINT(readability-magic-numbers)
    GTEST_SKIP() << "unshare(CLONE_NEWNET) not permitted";
  }
  EXPECT_EQ(rc, 0);
}

// After each of its own commits, the driver records the result from the batch instead of
// listing the table again. What it records must be exactly what a fresh full read finds, and
// the next batch it would build must be the same as a fresh driver's.
TEST(NftDriverTest, RecordedApplyMatchesAFreshFullRead) {
  if (geteuid() != 0) {
    GTEST_SKIP() << "needs root for a network namespace";
  }
  const int rc = inNetns([] {
    NftDriver d;
    std::string error;
    int step = 0;
    // One reconcile pass towards `want`, then the checks; returns 0 when all hold.
    const auto pass = [&](KernelState want, bool expect_recorded) -> int {
      ++step;
      d.normalize(want);
      auto observed = d.read(&error);
      if (!observed) {
        fprintf(stderr, "step %d: read: %s\n", step, error.c_str());
        return 100 + step;
      }
      const uint64_t recorded = d.recordedApplies();
      if (!d.apply(diff(want, *observed), &error)) {
        fprintf(stderr, "step %d: apply: %s\n", step, error.c_str());
        return 200 + step;
      }
      if ((d.recordedApplies() == recorded + 1) != expect_recorded) {
        fprintf(stderr, "step %d: recorded %s\n", step, expect_recorded ? "no" : "yes");
        return 300 + step;
      }
      const uint64_t full = d.fullReads();
      auto verified = d.read(&error);
      if (!verified || (expect_recorded && d.fullReads() != full)) {
        fprintf(stderr, "step %d: verify listed the table\n", step);
        return 400 + step;
      }
      NftDriver fresh;
      auto listed = fresh.read(&error);
      if (!listed || !(*listed == *verified) || !diff(want, *listed).empty()) {
        fprintf(stderr, "step %d: recorded %s\nlisted   %s\n", step,
                toJson(*verified).dump().c_str(),
                listed ? toJson(*listed).dump().c_str() : error.c_str());
        return 500 + step;
      }
      // The same next batch (seen_ alike): every service removed.
      KernelState none;
      d.normalize(none);
      if (d.commands(diff(none, *verified)) != fresh.commands(diff(none, *listed))) {
        fprintf(stderr, "step %d: next batch differs\n%s\n---\n%s\n", step,
                d.commands(diff(none, *verified)).c_str(),
                fresh.commands(diff(none, *listed)).c_str());
        return 600 + step;
      }
      return 0;
    };
    KernelState want = sample();
    const auto svc = [&](const char* name) -> ServiceState& {
      return *std::find_if(want.services.begin(), want.services.end(),
                           [&](const ServiceState& s) { return s.name == name; });
    };
    int r = pass(want, true);               // from an empty kernel: scaffold and three services
    svc("web-1.a").backends[0].weight = 1;  // a weight change
    r = r != 0 ? r : pass(want, true);
    svc("web-1.a").backends.clear();  // every backend of a snat service down
    r = r != 0 ? r : pass(want, true);
    std::erase_if(want.services, [](const ServiceState& s) { return s.name == "dns"; });
    r = r != 0 ? r : pass(want, true);  // a service removed
    // A second snat service on rr's VIP and backends (another VIP port): the same elements.
    ServiceState shared = svc("rr");
    shared.name = "shared";
    shared.ports = {8081};
    shared.snat = true;
    svc("rr").snat = true;
    want.services.push_back(shared);
    want.canonicalize();
    r = r != 0 ? r : pass(want, false);  // a shared snat element: listed, not recorded
    std::erase_if(want.services, [](const ServiceState& s) { return s.name == "shared"; });
    r = r != 0 ? r : pass(want, false);  // its elements stay: rr still needs them
    ServiceState renamed = svc("rr");    // rr renamed (another port): the same snat elements
    renamed.name = "rr2";
    renamed.ports = {8082};
    std::erase_if(want.services, [](const ServiceState& s) { return s.name == "rr"; });
    want.services.push_back(renamed);
    want.canonicalize();
    // rr2 is added before rr is removed: rr's removal must not take the elements rr2 took.
    r = r != 0 ? r : pass(want, false);
    // Someone else commits between the read and the apply: listed, not recorded.
    if (r == 0) {
      auto observed = d.read(&error);
      svc("web-1.a").ports = {80, 81};
      KernelState normalized = want;
      d.normalize(normalized);
      if (!observed || system("nft add chain inet ballast hand_made") != 0 ||
          !d.apply(diff(normalized, *observed), &error)) {
        return 700;
      }
      const uint64_t full = d.fullReads();
      auto after = d.read(&error);
      r = after && d.fullReads() == full + 1 && diff(normalized, *after).empty() ? 0 : 701;
    }
    return r;
  });
  if (rc == 77) {  // NOLINT(readability-magic-numbers)
    GTEST_SKIP() << "unshare(CLONE_NEWNET) not permitted";
  }
  EXPECT_EQ(rc, 0);
}

// One reconcile pass towards `want` with `d`, then a fresh driver's read must find exactly
// `want`, with the scaffold intact and no element left over; returns 0 when all hold.
int passAndCheck(NftDriver& d, KernelState want, int code) {
  std::string error;
  d.normalize(want);
  auto observed = d.read(&error);
  if (!observed || !d.apply(diff(want, *observed), &error)) {
    fprintf(stderr, "%d: %s\n", code, error.c_str());
    return code;
  }
  NftDriver fresh;
  auto listed = fresh.read(&error);
  if (!listed || !listed->scaffold_intact || !diff(want, *listed).empty()) {
    fprintf(stderr, "%d: after the pass: %s\n", code,
            listed ? toJson(*listed).dump().c_str() : error.c_str());
    return code + 1;
  }
  return 0;
}

// What older builds or hand edits left in the snat sets is repaired in one pass: the sets an
// older layout keyed by backend alone, a set of ours by name with another key (nft could not
// `add` over it, so every batch would fail), and an element no service claims any more, whose
// service lost its dispatch element by hand before snat was turned off: left, it would
// masquerade that VIP and backend for ever.
TEST(NftDriverTest, SnatSetsLeftByOlderLayoutsOrHandsAreRepaired) {
  if (geteuid() != 0) {
    GTEST_SKIP() << "needs root for a network namespace";
  }
  const int rc = inNetns([] {
    if (system("nft -f - <<'EOF'\n"
               "table inet ballast {\n"
               "  set snat4 { type ipv4_addr . inet_proto . inet_service; "
               "elements = { 198.18.2.1 . tcp . 80 } }\n"
               "  set snat_vip6 { type ipv6_addr . inet_proto . inet_service; }\n"
               "  chain postrouting { type nat hook postrouting priority srcnat; policy accept;\n"
               "    ct status dnat ip daddr . meta l4proto . th dport @snat4 masquerade\n"
               "  }\n"
               "}\n"
               "EOF") != 0) {
      return 10;
    }
    NftDriver d;
    KernelState want = sample();
    int r = passAndCheck(d, want, 20);
    if (r == 0 &&
        (system("nft list set inet ballast snat4 >/dev/null 2>&1") == 0 ||
         system("nft list set inet ballast snat_vip6 | grep -q 'ipv6_addr . ipv6_addr'") != 0)) {
      return 30;  // the old set is still there, or snat_vip6 kept its old key
    }
    // web-1.a loses its dispatch element by hand, then its snat is turned off.
    if (r == 0 &&
        system("nft delete element inet ballast services4 '{ 198.18.0.10 . tcp . 80 }'") != 0) {
      return 40;
    }
    for (auto& s : want.services) {
      s.snat = false;
    }
    r = r != 0 ? r : passAndCheck(d, want, 50);
    if (r == 0 && system("nft list set inet ballast snat_vip4 | grep -q 198.18.0.10") == 0) {
      return 60;  // web-1.a's element outlived its snat
    }
    return r;
  });
  if (rc == 77) {  // NOLINT(readability-magic-numbers)
    GTEST_SKIP() << "unshare(CLONE_NEWNET) not permitted";
  }
  EXPECT_EQ(rc, 0);
}

// A partial pass on a damaged table writes nothing and asks for a full pass.
TEST(NftDriverTest, PartialPassOnAMissingTableAsksForAFullPass) {
  if (geteuid() != 0) {
    GTEST_SKIP() << "needs root for a network namespace";
  }
  const int rc = inNetns([] {
    Reconciler reconciler(std::make_unique<NftDriver>());
    KernelState one;
    one.services = {sample().services[1]};
    const ReconcileResult r = reconciler.reconcile(one, /*dry_run=*/false, /*partial=*/true);
    if (r.converged || r.error.find("full pass") == std::string::npos) {
      return 1;
    }
    NftDriver fresh;
    std::string error;
    auto listed = fresh.read(&error);
    return listed && listed->empty_kernel ? 0 : 2;
  });
  if (rc == 77) {  // NOLINT(readability-magic-numbers)
    GTEST_SKIP() << "unshare(CLONE_NEWNET) not permitted";
  }
  EXPECT_EQ(rc, 0);
}

// A pass for a health change holds one service: it updates that one and removes nothing else.
TEST(NftDriverTest, PartialPassTouchesOnlyItsServices) {
  if (geteuid() != 0) {
    GTEST_SKIP() << "needs root for a network namespace";
  }
  const int rc = inNetns([] {
    Reconciler reconciler(std::make_unique<NftDriver>());
    const KernelState all = sample();
    if (!reconciler.reconcile(all, /*dry_run=*/false).converged) {
      return 1;
    }
    KernelState one;
    one.services = {all.services[1]};  // "rr", with one backend down
    one.services[0].backends.pop_back();
    const ReconcileResult r = reconciler.reconcile(one, /*dry_run=*/false, /*partial=*/true);
    if (!r.converged || r.diff.changes.size() != 1 ||
        r.diff.changes[0].kind != ServiceChange::Kind::kUpdate) {
      fprintf(stderr, "partial: %s %s\n", r.error.c_str(), r.diff.toJson().dump().c_str());
      return 2;
    }
    KernelState want = all;
    want.services[1] = one.services[0];
    NftDriver fresh;
    std::string error;
    fresh.normalize(want);
    auto listed = fresh.read(&error);
    return listed && diff(want, *listed).empty() ? 0 : 3;
  });
  if (rc == 77) {  // NOLINT(readability-magic-numbers)
    GTEST_SKIP() << "unshare(CLONE_NEWNET) not permitted";
  }
  EXPECT_EQ(rc, 0);
}

}  // namespace
}  // namespace ballast::kernel
