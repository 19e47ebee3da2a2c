// src/cli/uplink_commands.cpp — `ballast uplinks apply|status|remove`: the uplink plane without
// the proxy, as a one-shot programmer, a daemon (--daemon, the systemd unit's mode), and the
// undo that puts the host's routing back as it was.
#include "cli/uplink_commands.h"

#include <signal.h>
#include <sys/signalfd.h>

#include <cstdio>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "config/loader.h"
#include "control/audit_log.h"
#include "core/event_loop.h"
#include "core/fd.h"
#include "core/log.h"
#include "uplink/netlink.h"
#include "uplink/nft_driver.h"
#include "uplink/plan.h"
#include "uplink/rtnl.h"
#include "uplink/state_file.h"
#include "uplink/sysctl.h"
#include "uplink/uplink_plane.h"

namespace ballast::cli {
namespace {

constexpr int kExitOk = 0;
constexpr int kExitInvalid = 1;
constexpr int kExitUsage = 2;
constexpr int kExitHost = 3;     // the host could not be programmed or restored
constexpr int kExitNothing = 4;  // status: nothing of ballast's is in place
constexpr const char* kActor = "cli:uplinks";

constexpr std::string_view kHelp =
    R"(ballast uplinks — balance this host's outbound traffic over several uplinks

SYNOPSIS
  ballast uplinks apply -c FILE [--daemon] [--state PATH]
  ballast uplinks status [-c FILE] [--state PATH]
  ballast uplinks remove [-c FILE] [--state PATH]

DESCRIPTION
  Runs the uplink plane of FILE (its `uplinks:`, `uplink_policy:` and `lan_interfaces:`
  sections) on its own, without the proxy. `ballast run -c FILE` runs the same plane beside the
  others; use one or the other for a given host, not both.

  apply     Programs the host once and exits: one routing table per uplink with its default
            route and `from <address>` / `oif <interface>` rules, the balancing table
            (uplink_policy.lb_table) with one weighted multipath default route over the uplinks
            whose link is up and whose gateway is known, rules sending the host's own traffic
            and lan_interfaces traffic to it, nftables `table inet ballast_uplinks`
            (masquerade per uplink, connection marks for affinity), and
            net.ipv4/ipv6.fib_multipath_hash_policy=1. Probes do not run in this mode.
            With --daemon it keeps running: probes, netlink events and hysteresis move uplinks
            in and out of the balancing route; SIGHUP reloads FILE (an invalid file is refused
            and logged); SIGTERM or SIGINT removes everything, as `remove` does, and exits.
  status    Prints, as JSON, what ballast has in place: its rules and routes (found by their
            protocol stamp), whether its nftables table exists, the state file, the sysctls,
            and with -c each uplink's link, address and gateway as the kernel sees them.
  remove    Deletes every rule and route ballast added and its nftables table, and restores
            the sysctl values saved in the state file by the first apply; the state file is
            then deleted. Safe to run twice, and after a crash.

  The state file (default /run/ballast/uplinks.state, or uplink_policy.state_file) is written
  before the host is first touched and keeps the original sysctl values across restarts.

OPTIONS
  -c, --config FILE   Configuration file (YAML). Required for apply.
  --daemon            apply: keep running (see above).
  --state PATH        State file; overrides uplink_policy.state_file.
  -h, --help          Show this help.

EXIT STATUS
  0  done (status: ballast's routing is in place);  1  invalid configuration;  2  usage error;
  3  the host could not be programmed or restored (netlink or nftables refused; not root?);
  4  status: nothing of ballast's is in place.

EXAMPLE
  ballast uplinks apply -c /etc/ballast/uplinks.yaml && ballast uplinks status
  ballast uplinks remove
)";

struct Args {
  std::string action;
  std::optional<std::string> config;
  std::optional<std::string> state;
  bool daemon = false;
  bool help = false;
};

int usage(const std::string& message) {
  std::fprintf(stderr, "ballast uplinks: %s\nTry 'ballast uplinks --help'.\n", message.c_str());
  return kExitUsage;
}

std::optional<std::string> parse(int argc, char** argv, Args& args) {
  for (int i = 2; i < argc; ++i) {
    const std::string_view a = argv[i];
    if (a == "-h" || a == "--help") {
      args.help = true;
    } else if (a == "-c" || a == "--config" || a == "--state") {
      if (i + 1 >= argc) {
        return "option " + std::string(a) + " needs a value";
      }
      (a == "--state" ? args.state : args.config) = argv[++i];
    } else if (a.starts_with("--config=")) {
      args.config = std::string(a.substr(std::strlen("--config=")));
    } else if (a.starts_with("--state=")) {
      args.state = std::string(a.substr(std::strlen("--state=")));
    } else if (a == "--daemon") {
      args.daemon = true;
    } else if (args.action.empty() && !a.starts_with("-")) {
      args.action = std::string(a);
    } else {
      return "unknown option '" + std::string(a) + "'";
    }
  }
  return std::nullopt;
}

// Loads FILE with --state applied; nullptr after printing the errors.
config::ConfigPtr loadConfig(const Args& args) {
  const auto result = config::loadConfigFile(*args.config);
  for (const auto& e : result.errors) {
    std::fprintf(stderr, "%s\n", e.format().c_str());
  }
  if (!result.errors.empty()) {
    return nullptr;
  }
  if (result.config->uplinks.empty()) {
    std::fprintf(stderr, "%s: no `uplinks:` to apply\n", args.config->c_str());
    return nullptr;
  }
  if (!args.state) {
    return result.config;
  }
  auto copy = std::make_shared<config::Config>(*result.config);
  copy->uplink_policy.state_file = *args.state;
  return copy;
}

std::string statePath(const Args& args) {
  if (args.state) {
    return *args.state;
  }
  if (args.config) {
    const auto result = config::loadConfigFile(*args.config);
    if (result.config) {
      return result.config->uplink_policy.state_file;
    }
  }
  return config::UplinkPolicy{}.state_file;
}

class Daemon final : public core::WatchHandler {
 public:
  Daemon(core::EventLoop& loop, control::Plane& plane, Args args)
      : loop_(loop), plane_(plane), args_(std::move(args)) {}

  bool blockSignals() {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGHUP);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigprocmask(SIG_BLOCK, &set, nullptr);
    signal(SIGPIPE, SIG_IGN);
    fd_.reset(signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC));
    if (!fd_.valid()) {
      return false;
    }
    loop_.watch(watcher_, fd_.get(), this);
    return true;
  }

  void run() {
    while (!stop_) {
      loop_.runOnce(-1);
    }
    loop_.unwatch(watcher_);
  }

  void onReady(core::Watcher& /*w*/) override {
    signalfd_siginfo info{};
    while (::read(fd_.get(), &info, sizeof(info)) == sizeof(info)) {
      if (info.ssi_signo == SIGHUP) {
        reload();
      } else {
        stop_ = true;
      }
    }
  }

 private:
  void reload() {
    core::LogLine(core::LogLevel::kInfo, "config.reload_requested").str("file", *args_.config);
    auto cfg = loadConfig(args_);
    if (!cfg) {
      core::LogLine(core::LogLevel::kError, "config.reload_rejected");
      return;
    }
    std::string error;
    if (!plane_.apply(cfg, &error)) {
      core::LogLine(core::LogLevel::kError, "config.reload_rejected").str("reason", error);
      return;
    }
    core::LogLine(core::LogLevel::kInfo, "config.reloaded");
  }

  core::EventLoop& loop_;
  control::Plane& plane_;
  Args args_;
  core::Fd fd_;
  core::Watcher watcher_;
  bool stop_ = false;
};

int cmdApply(const Args& args) {
  if (!args.config) {
    return usage("apply needs -c FILE");
  }
  const auto cfg = loadConfig(args);
  if (!cfg) {
    return kExitInvalid;
  }
  core::setLogLevel(static_cast<core::LogLevel>(cfg->logging.level));
  core::setLogJson(cfg->logging.format == config::LogFormat::kJson);
  std::string unused;
  auto loop = core::EventLoop::create(core::IoKind::kEpoll, &unused);
  control::AuditLog audit;
  auto plane = uplink::makeUplinkPlane({*loop, audit}, kActor);
  std::string error;
  if (!plane->apply(cfg, &error)) {
    std::fprintf(stderr, "ballast uplinks apply: %s\n", error.c_str());
    return kExitHost;
  }
  if (!args.daemon) {
    std::printf("%s\n", plane->status().dump(2).c_str());
    return kExitOk;
  }
  Daemon daemon(*loop, *plane, args);
  if (!daemon.blockSignals()) {
    plane->stop();
    return kExitHost;
  }
  core::LogLine(core::LogLevel::kInfo, "uplink.daemon_started")
      .unum("uplinks", cfg->uplinks.size())
      .unum("pid", static_cast<uint64_t>(getpid()));
  daemon.run();
  plane->stop();
  core::LogLine(core::LogLevel::kInfo, "uplink.daemon_stopped");
  return kExitOk;
}

int cmdStatus(const Args& args) {
  int err = 0;
  auto sock = uplink::NetlinkSocket::open(0, false, &err);
  if (!sock) {
    std::fprintf(stderr, "ballast uplinks status: netlink: %s\n",
                 std::strerror(err));  // NOLINT(concurrency-mt-unsafe)
    return kExitHost;
  }
  uplink::HostView view;
  if (const int rc = uplink::readHostView(*sock, &view); rc != 0) {
    std::fprintf(stderr, "ballast uplinks status: netlink: %s\n",
                 std::strerror(-rc));  // NOLINT(concurrency-mt-unsafe)
    return kExitHost;
  }
  nlohmann::json rules = nlohmann::json::array();
  for (const auto& r : view.rules) {
    if (r.protocol == uplink::kRtProtBallast) {
      rules.push_back(uplink::toJson(r.spec));
    }
  }
  nlohmann::json routes = nlohmann::json::array();
  for (const auto& r : view.routes) {
    if (r.protocol == uplink::kRtProtBallast) {
      uplink::RouteSpec spec{r.table, r.nexthops};
      if (spec.nexthops.empty()) {
        spec.nexthops.push_back({r.oif, r.gateway, 1});
      }
      routes.push_back(uplink::toJson(spec));
    }
  }
  const std::string state_path = statePath(args);
  nlohmann::json doc = {{"applied", !rules.empty() || !routes.empty()},
                        {"rules", rules},
                        {"routes", routes},
                        {"nft_table", uplink::nftTableExists()},
                        {"state_file", state_path},
                        {"state", uplink::readState(state_path)}};
  for (const char* name : uplink::kHashPolicySysctls) {
    if (const auto v = uplink::readSysctl(name)) {
      doc["sysctls"][name] = *v;
    }
  }
  if (args.config) {
    const auto result = config::loadConfigFile(*args.config);
    if (!result.config) {
      for (const auto& e : result.errors) {
        std::fprintf(stderr, "%s\n", e.format().c_str());
      }
      return kExitInvalid;
    }
    nlohmann::json list = nlohmann::json::array();
    for (const auto& u : result.config->uplinks) {
      const uplink::LinkInfo* link = view.link(u.interface);
      nlohmann::json item = {{"interface", u.interface}, {"exists", link != nullptr}};
      if (link != nullptr) {
        const uint32_t src = view.primaryAddress(link->index);
        const uint32_t gw = view.learnedGateway(link->index);
        item["link_up"] = link->up;
        item["source"] = src != 0 ? uplink::ipv4String(src) : "";
        item["gateway"] = u.gateway ? u.gateway->hostString()
                                    : (gw != 0 ? uplink::ipv4String(gw) : std::string());
      }
      list.push_back(item);
    }
    doc["uplinks"] = list;
  }
  std::printf("%s\n", doc.dump(2).c_str());
  return doc["applied"].get<bool>() ? kExitOk : kExitNothing;
}

int cmdRemove(const Args& args) {
  int err = 0;
  auto sock = uplink::NetlinkSocket::open(0, false, &err);
  if (!sock) {
    std::fprintf(stderr, "ballast uplinks remove: netlink: %s\n",
                 std::strerror(err));  // NOLINT(concurrency-mt-unsafe)
    return kExitHost;
  }
  std::string error;
  const auto summary = uplink::restoreHost(*sock, statePath(args), &error);
  std::printf("%s\n", summary.dump(2).c_str());
  if (!error.empty()) {
    std::fprintf(stderr, "ballast uplinks remove: %s\n", error.c_str());
    return kExitHost;
  }
  return kExitOk;
}

}  // namespace

int uplinksMain(int argc, char** argv) {
  Args args;
  if (auto err = parse(argc, argv, args)) {
    return usage(*err);
  }
  if (args.help || args.action == "help") {
    std::fwrite(kHelp.data(), 1, kHelp.size(), stdout);
    return kExitOk;
  }
  if (args.action == "apply") {
    return cmdApply(args);
  }
  if (args.daemon) {
    return usage("--daemon is for apply");
  }
  if (args.action == "status") {
    return cmdStatus(args);
  }
  if (args.action == "remove") {
    return cmdRemove(args);
  }
  return usage(args.action.empty() ? "needs an action: apply, status or remove"
                                   : "unknown action '" + args.action + "'");
}

}  // namespace ballast::cli
