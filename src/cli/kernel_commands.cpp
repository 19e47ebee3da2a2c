// src/cli/kernel_commands.cpp — `ballast apply` (one reconcile of the kernel plane, or a daemon
// that keeps reconciling) and `ballast disable` (remove everything Ballast programmed).
#include "cli/kernel_commands.h"

#include <cstdio>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "config/loader.h"
#include "kernel/desired_state.h"
#include "kernel/driver.h"
#include "kernel/reconciler.h"
#include "kernel/vip_watch.h"
#include "server/server.h"

namespace ballast::cli {
namespace {

constexpr int kExitOk = 0;
constexpr int kExitFailed = 1;
constexpr int kExitUsage = 2;

constexpr std::string_view kApplyHelp =
    R"(ballast apply — program the kernel's load balancer once (or keep it programmed)

SYNOPSIS
  ballast apply -c FILE [--dry-run] [-q]
  ballast apply -c FILE --daemon

DESCRIPTION
  Reads the `virtual_services:` and `kernel:` sections of FILE, reads what the kernel holds
  (nftables: table `inet ballast`; IPVS: its services), and applies only the difference, in one
  transaction where the kernel allows it. Prints one line per change:
    + service   added            - service   removed
    ~ service   updated (backends added, removed or reweighted underneath)
  Then it reads the kernel again to verify. A one-shot apply runs no health checks: every
  backend counts as up (weight 0 in FILE still takes one out).

  With `kernel.vip_gate`, the node is active only while one of the gated addresses is on one of
  its interfaces; otherwise it is standby and, with `on_standby: remove` (the default),
  whatever Ballast had programmed is removed instead.

  --daemon keeps reconciling, with health checks, VIP watching and drift repair every
  `reconcile_interval`, exactly like `ballast run` (which does the same whenever the file has
  virtual services, beside the proxy plane). SIGHUP reloads FILE, SIGTERM stops and leaves the
  kernel programmed.

OPTIONS
  -c, --config FILE   Configuration file (YAML). Required.
  --dry-run           Print the difference only; change nothing.
  --daemon            Keep reconciling until stopped (see above).
  -q, --quiet         Print nothing but errors.
  -h, --help          Show this help.

EXIT STATUS
  0  the kernel matches FILE (after applying; with --dry-run: already, nothing to do),
     or this node is standby and was left as `on_standby` says
  1  invalid FILE, the kernel refused a change, or it still differs afterwards
     (with --dry-run: changes would be made)
  2  usage error

EXAMPLE
  ballast apply -c examples/kernel-nft.yaml --dry-run
  ballast apply -c examples/kernel-nft.yaml && nft list table inet ballast
)";

constexpr std::string_view kDisableHelp =
    R"(ballast disable — remove everything the kernel plane programmed

SYNOPSIS
  ballast disable [-c FILE] [--driver nftables|ipvs] [-q]

DESCRIPTION
  Deletes what Ballast programmed into the kernel: with nftables, the table `inet ballast`
  (Ballast never touches other tables); with IPVS, the services it created. Connections already
  established keep their conntrack entries and finish. The driver is taken from FILE's
  `kernel.driver`, from --driver, or is nftables. A running `ballast run`/`apply --daemon` would
  program the kernel again within one interval: stop it first.

OPTIONS
  -c, --config FILE   Configuration file whose driver to use.
  --driver NAME       nftables or ipvs (overrides FILE).
  -q, --quiet         Print nothing but errors.
  -h, --help          Show this help.

EXIT STATUS
  0  nothing of Ballast's is left (including: there was nothing);  1  invalid FILE or the
  kernel refused;  2  usage error.

EXAMPLE
  ballast disable -c /etc/ballast/ballast.yaml
)";

void printOut(std::string_view text) { fwrite(text.data(), 1, text.size(), stdout); }

int usageError(const std::string& message, std::string_view command) {
  fprintf(stderr, "ballast: %s\nTry 'ballast %s --help'.\n", message.c_str(),
          std::string(command).c_str());
  return kExitUsage;
}

struct Args {
  std::optional<std::string> config;
  std::optional<std::string> driver;
  bool dry_run = false;
  bool daemon = false;
  bool quiet = false;
  bool help = false;
};

std::optional<std::string> parseArgs(int argc, char** argv, bool apply, Args& args) {
  for (int i = 2; i < argc; ++i) {
    const std::string_view a = argv[i];
    auto value = [&](std::optional<std::string>& slot) -> std::optional<std::string> {
      if (i + 1 >= argc) {
        return "option " + std::string(a) + " needs a value";
      }
      slot = argv[++i];
      return std::nullopt;
    };
    std::optional<std::string> err;
    if (a == "-c" || a == "--config") {
      err = value(args.config);
    } else if (a.starts_with("--config=")) {
      args.config = std::string(a.substr(std::strlen("--config=")));
    } else if (apply && a == "--dry-run") {
      args.dry_run = true;
    } else if (apply && a == "--daemon") {
      args.daemon = true;
    } else if (!apply && a == "--driver") {
      err = value(args.driver);
    } else if (a == "-q" || a == "--quiet") {
      args.quiet = true;
    } else if (a == "-h" || a == "--help") {
      args.help = true;
    } else {
      err = "unknown option '" + std::string(a) + "'";
    }
    if (err) {
      return err;
    }
  }
  return std::nullopt;
}

config::ConfigPtr load(const std::string& path, int* exit_code) {
  const auto result = config::loadConfigFile(path);
  for (const auto& e : result.errors) {
    fprintf(stderr, "%s\n", e.format().c_str());
  }
  if (!result.config) {
    *exit_code = result.unreadable ? kExitUsage : kExitFailed;
  }
  return result.config;
}

// With a vip_gate: whether one of its addresses is on this node now.
bool gateOpen(const config::Config& cfg, std::string* error, bool* ok) {
  const auto& gate = cfg.kernel.vip_gate.addresses;
  *ok = true;
  if (gate.empty()) {
    return true;
  }
  std::vector<net::SocketAddress> here;
  if (!kernel::VipWatch::snapshot(&here, error)) {
    *ok = false;
    return false;
  }
  for (const auto& want : gate) {
    for (const auto& have : here) {
      if (want.hostString() == have.hostString()) {
        return true;
      }
    }
  }
  return false;
}

int cmdApply(const Args& args) {
  if (!args.config) {
    return usageError("apply needs -c FILE", "apply");
  }
  if (args.daemon) {
    if (args.dry_run) {
      return usageError("--daemon and --dry-run do not go together", "apply");
    }
    server::RunOptions options;
    options.config_path = *args.config;
    return server::run(options);
  }
  int code = kExitOk;
  const auto cfg = load(*args.config, &code);
  if (!cfg) {
    return code;
  }
  std::string error;
  auto driver = kernel::makeDriver(cfg->kernel.driver, &error);
  if (!driver) {
    fprintf(stderr, "ballast apply: %s\n", error.c_str());
    return kExitFailed;
  }
  bool gate_ok = true;
  if (!gateOpen(*cfg, &error, &gate_ok)) {
    if (!gate_ok) {
      fprintf(stderr, "ballast apply: %s\n", error.c_str());
      return kExitFailed;
    }
    const bool remove = cfg->kernel.vip_gate.on_standby == config::OnStandby::kRemove;
    if (!args.quiet) {
      printf("standby: no vip_gate address is on this node; %s\n",
             remove ? (args.dry_run ? "would remove Ballast's services"
                                    : "removing Ballast's services")
                    : "leaving the kernel as it is (on_standby: keep)");
    }
    if (remove && !args.dry_run && !driver->removeAll(&error)) {
      fprintf(stderr, "ballast apply: %s\n", error.c_str());
      return kExitFailed;
    }
    return kExitOk;
  }
  kernel::Reconciler reconciler(std::move(driver));
  const auto r = reconciler.reconcile(kernel::desiredState(*cfg, {}), args.dry_run);
  if (!args.quiet) {
    for (const auto& line : r.diff.describe()) {
      printf("%s\n", line.c_str());
    }
  }
  if (!r.ok || (!args.dry_run && !r.converged)) {
    fprintf(stderr, "ballast apply: %s failed: %s\n", r.stage.c_str(), r.error.c_str());
    return kExitFailed;
  }
  if (!args.quiet) {
    const size_t n = cfg->virtual_services.size();
    if (r.diff.empty()) {
      printf("kernel already matches (%zu service%s, %s)\n", n, n == 1 ? "" : "s",
             std::string(reconciler.driver().name()).c_str());
    } else if (args.dry_run) {
      printf("dry run: %zu change%s not applied\n", r.diff.changes.size(),
             r.diff.changes.size() == 1 ? "" : "s");
    } else {
      printf(
          "applied; kernel matches (%zu service%s, %s; read %.1f ms, apply %.1f ms, verify %.1f "
          "ms)\n",
          n, n == 1 ? "" : "s", std::string(reconciler.driver().name()).c_str(), r.read_s * 1000,
          r.apply_s * 1000, r.verify_s * 1000);
    }
  }
  return args.dry_run && !r.diff.empty() ? kExitFailed : kExitOk;
}

int cmdDisable(const Args& args) {
  config::KernelDriver kind = config::KernelDriver::kNftables;
  if (args.config) {
    int code = kExitOk;
    const auto cfg = load(*args.config, &code);
    if (!cfg) {
      return code;
    }
    kind = cfg->kernel.driver;
  }
  if (args.driver) {
    if (*args.driver == "nftables") {
      kind = config::KernelDriver::kNftables;
    } else if (*args.driver == "ipvs") {
      kind = config::KernelDriver::kIpvs;
    } else {
      return usageError("--driver must be nftables or ipvs", "disable");
    }
  }
  std::string error;
  auto driver = kernel::makeDriver(kind, &error);
  if (!driver) {
    fprintf(stderr, "ballast disable: %s\n", error.c_str());
    return kExitFailed;
  }
  auto before = driver->read(&error);
  const size_t n = before ? before->services.size() : 0;
  if (!driver->removeAll(&error)) {
    fprintf(stderr, "ballast disable: %s\n", error.c_str());
    return kExitFailed;
  }
  if (!args.quiet) {
    printf("removed %zu service%s (%s)\n", n, n == 1 ? "" : "s",
           std::string(driver->name()).c_str());
  }
  return kExitOk;
}

}  // namespace

bool printKernelHelp(std::string_view topic) {
  if (topic == "apply") {
    printOut(kApplyHelp);
    return true;
  }
  if (topic == "disable") {
    printOut(kDisableHelp);
    return true;
  }
  return false;
}

int kernelMain(int argc, char** argv) {
  const std::string_view cmd = argv[1];
  const bool apply = cmd == "apply";
  Args args;
  if (auto err = parseArgs(argc, argv, apply, args)) {
    return usageError(*err, cmd);
  }
  if (args.help) {
    printKernelHelp(cmd);
    return kExitOk;
  }
  return apply ? cmdApply(args) : cmdDisable(args);
}

}  // namespace ballast::cli
