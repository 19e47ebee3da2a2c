// src/bgp/bgp_plane.cpp — the BGP plane: the gate's decision, the daemon child, announce and
// withdraw through a DaemonDriver (BIRD or FRR), back-off, metrics and audit.
#include "bgp/bgp_plane.h"

#include <unistd.h>

#include <algorithm>
#include <cstdlib>

#include "bgp/daemon_driver.h"
#include "bgp/daemon_process.h"
#include "bgp/state_files.h"
#include "core/clock.h"
#include "core/log.h"

namespace ballast::bgp {
namespace {

using json = nlohmann::json;

// One control-socket conversation; BIRD answers a local `configure`, bgpd a handful of vty
// lines, in milliseconds.
constexpr int kCommandTimeoutMs = 2000;
// Stop: how long the daemon gets to send its Cease notifications before SIGKILL.
constexpr int kStopGraceMs = 2000;
// A daemon that keeps dying is restarted at most this often.
constexpr uint64_t kRestartIntervalMs = 1000;
constexpr uint64_t kStartupGraceMs = 5000;
// Back-off of configure retries after a failure (doubling).
constexpr uint64_t kRetryMinMs = 200;
constexpr uint64_t kRetryMaxMs = 10000;

// True when `program` can be executed as execvp would find it.
bool findProgram(const std::string& program) {
  if (program.find('/') != std::string::npos) {
    return ::access(program.c_str(), X_OK) == 0;
  }
  const char* path = std::getenv("PATH");  // NOLINT(concurrency-mt-unsafe): read-only here
  std::string dirs = path != nullptr ? path : "/usr/local/bin:/usr/bin:/bin";
  size_t start = 0;
  while (start <= dirs.size()) {
    size_t end = dirs.find(':', start);
    if (end == std::string::npos) {
      end = dirs.size();
    }
    std::string candidate = end > start ? dirs.substr(start, end - start) : ".";
    candidate += '/';
    candidate += program;
    if (::access(candidate.c_str(), X_OK) == 0) {
      return true;
    }
    start = end + 1;
  }
  return false;
}

bool sameSessions(const config::BgpSettings& a, const config::BgpSettings& b) {
  if (a.asn != b.asn || !(a.router_id == b.router_id) || a.hold_time != b.hold_time ||
      a.peers.size() != b.peers.size()) {
    return false;
  }
  for (size_t i = 0; i < a.peers.size(); ++i) {
    if (!(a.peers[i].address == b.peers[i].address) || a.peers[i].asn != b.peers[i].asn) {
      return false;
    }
  }
  return true;
}

std::unique_ptr<DaemonDriver> makeDriver(config::BgpDaemon daemon) {
  return daemon == config::BgpDaemon::kFrr ? makeFrrDriver() : makeBirdDriver();
}

std::string_view daemonName(config::BgpDaemon daemon) {
  return daemon == config::BgpDaemon::kFrr ? "frr" : "bird";
}

// The announced prefixes, to tell whether a reload changed what the daemon must announce.
std::string announcedKey(const config::BgpSettings& bgp, const std::vector<bool>& announced) {
  std::string out;
  for (size_t i = 0; i < bgp.vips.size(); ++i) {
    if (i < announced.size() && announced[i]) {
      out += bgp.vips[i].toString() + " ";
    }
  }
  return out;
}

class DaemonBgpPlane final : public BgpPlane {
 public:
  explicit DaemonBgpPlane(const control::PlaneContext& ctx) : ctx_(ctx) {}
  ~DaemonBgpPlane() override = default;

  std::string_view name() const override { return "bgp"; }
  const config::BgpSettings& settings() const override { return bgp_; }

  bool apply(const config::ConfigPtr& config, std::string* error) override {
    const auto& next = config->bgp;
    if (daemon_.pid() > 0 &&
        (next.state_dir != bgp_.state_dir || next.daemon_binary != bgp_.daemon_binary ||
         next.daemon != bgp_.daemon)) {
      *error = "bgp.daemon, bgp.state_dir and bgp.daemon_binary take effect at the next start";
      return false;
    }
    if (daemon_.pid() <= 0 && (!driver_ || driver_->name() != daemonName(next.daemon))) {
      driver_ = makeDriver(next.daemon);
    }
    if (daemon_.pid() <= 0 && !findProgram(next.daemon_binary)) {
      *error = "bgp: " + next.daemon_binary + " not found (" + std::string(driver_->package()) +
               "; or set bgp.daemon_binary)";
      return false;
    }
    const bool sessions_changed = !sameSessions(next, bgp_);
    // Keep the decision for VIPs that stay; new ones start withdrawn until the gate says so.
    std::vector<bool> announced(next.vips.size(), false);
    for (size_t i = 0; i < next.vips.size(); ++i) {
      for (size_t j = 0; j < bgp_.vips.size(); ++j) {
        if (next.vips[i] == bgp_.vips[j] && j < announced_.size()) {
          announced[i] = announced_[j];
        }
      }
    }
    bgp_ = next;
    driver_->setStateDir(bgp_.state_dir);
    announced_ = announced;
    // A VIP removed from the config while announced must be withdrawn now, not at the next
    // change of the gate.
    const std::string key = announcedKey(bgp_, announced_);
    const bool vips_changed = key != announced_key_;
    if (!makeStateDirs(bgp_.state_dir, error) || !driver_->writeFiles(bgp_, announced_, error)) {
      return false;
    }
    announced_key_ = key;
    if (daemon_.pid() <= 0) {
      return true;  // setWanted starts it, once the files say what the gate wants
    }
    if (sessions_changed && !driver_->reloadsSessions()) {
      // The restart reads the files as just written. The new settings stand even if it
      // fails: the failure is counted and the restart retried by setWanted.
      std::string start_error;
      startDaemon(&start_error);
      return true;
    }
    if (sessions_changed || vips_changed || pending_) {
      pending_ = !configure("reload", error);
      return !pending_;
    }
    return true;
  }

  void setWanted(const std::vector<bool>& wanted, std::string_view why) override {
    if (!driver_) {
      return;  // no config applied yet
    }
    std::string how;
    if (daemon_.pid() > 0 && !daemon_.alive(&how)) {
      ++daemon_exits_;
      core::LogLine(core::LogLevel::kError, "bgp.daemon_exited", core::LogRepeat::kLimited)
          .str("how", how)
          .str("log", driver_->logFile());
      ctx_.audit.record("bgp.daemon_exited", "system", nullptr, {{"how", how}});
    }
    const bool changed = wanted.size() == announced_.size() && wanted != announced_;
    // A retry waits out a back-off: each attempt may block the control loop for up to
    // kCommandTimeoutMs when the daemon hangs. A new decision is tried at once.
    const bool retry_due = pending_ && core::monotonicMs() >= retry_at_ms_;
    if (changed || retry_due) {
      std::string error;
      const auto before = announced_;
      if (changed) {
        announced_ = wanted;
      }
      if (!driver_->writeFiles(bgp_, announced_, &error)) {
        noteFailure("write", error);
        pending_ = true;
      } else if (daemon_.pid() > 0) {
        announced_key_ = announcedKey(bgp_, announced_);
        pending_ = !configure(why, &error);
      } else {
        announced_key_ = announcedKey(bgp_, announced_);
      }
      if (changed) {
        audit(before, why);
      }
    }
    if (daemon_.pid() <= 0 && !stopped_) {
      const uint64_t now = core::monotonicMs();
      if (now - last_start_ms_ >= kRestartIntervalMs) {
        std::string error;
        startDaemon(&error);  // reads the files as just written: nothing to tell it
      }
    }
  }

  void stop() override {
    if (stopped_) {
      return;
    }
    stopped_ = true;
    // Withdraw first, explicitly, then end the sessions: either alone would do, both make
    // the withdrawal not depend on how the daemon's shutdown goes.
    const std::vector<bool> none(bgp_.vips.size(), false);
    setWanted(none, "stop");
    daemon_.stop(kStopGraceMs);
    core::LogLine(core::LogLevel::kInfo, "bgp.stopped");
  }

  void writeMetrics(metrics::PrometheusWriter& out) const override {
    out.family("ballast_bgp_vip_announced", "gauge",
               "1 while this node announces the VIP to its BGP peers");
    for (size_t i = 0; i < bgp_.vips.size(); ++i) {
      const std::string vip = bgp_.vips[i].toString();
      out.sampleInt("ballast_bgp_vip_announced", {{"vip", vip}},
                    i < announced_.size() && announced_[i] ? 1 : 0);
    }
    out.family("ballast_bgp_daemon_up", "gauge", "1 while the BGP daemon child runs");
    out.sampleInt("ballast_bgp_daemon_up", {}, daemon_.pid() > 0 ? 1 : 0);
    out.family("ballast_bgp_daemon_commands_total", "counter",
               "Commands sent to the BGP daemon's control socket");
    out.sampleInt("ballast_bgp_daemon_commands_total", {}, commands_);
    out.family("ballast_bgp_daemon_failures_total", "counter",
               "Failed BGP daemon actions, by kind (start, command, write)");
    out.sampleInt("ballast_bgp_daemon_failures_total", {{"kind", "start"}}, start_failures_);
    out.sampleInt("ballast_bgp_daemon_failures_total", {{"kind", "command"}}, command_failures_);
    out.sampleInt("ballast_bgp_daemon_failures_total", {{"kind", "write"}}, write_failures_);
    out.family("ballast_bgp_daemon_exits_total", "counter",
               "Times the BGP daemon child ended while Ballast ran");
    out.sampleInt("ballast_bgp_daemon_exits_total", {}, daemon_exits_);
  }

  json status() const override {
    json vips = json::array();
    for (size_t i = 0; i < bgp_.vips.size(); ++i) {
      vips.push_back({{"vip", bgp_.vips[i].toString()},
                      {"announced", i < announced_.size() && announced_[i]}});
    }
    json peers = json::array();
    for (const auto& p : bgp_.peers) {
      peers.push_back({{"address", p.address.hostString()}, {"asn", p.asn}});
    }
    return {{"daemon", driver_ ? std::string(driver_->name()) : std::string()},
            {"daemon_pid", daemon_.pid()},
            {"asn", bgp_.asn},
            {"router_id", bgp_.router_id.hostString()},
            {"state_dir", bgp_.state_dir},
            {"pending", pending_},
            {"peers", peers},
            {"vips", vips}};
  }

 private:
  bool startDaemon(std::string* error) {
    last_start_ms_ = core::monotonicMs();
    if (daemon_.pid() > 0) {
      daemon_.stop(kStopGraceMs);
    }
    // A socket left by a daemon that died with a killed Ballast would pass for the new one's.
    ::unlink(driver_->controlSocket().c_str());
    if (!daemon_.start(driver_->commandLine(bgp_.daemon_binary), error)) {
      noteFailure("start", *error);
      return false;
    }
    pending_ = false;  // the child reads the files as written
    driver_->started(bgp_, announced_);
    core::LogLine(core::LogLevel::kInfo, "bgp.daemon_started")
        .str("daemon", driver_->name())
        .unum("pid", static_cast<uint64_t>(daemon_.pid()))
        .str("state_dir", bgp_.state_dir);
    return true;
  }

  bool configure(std::string_view why, std::string* error) {
    const bool ok = tryConfigure(why, error);
    if (ok) {
      retry_backoff_ms_ = 0;
    } else {
      retry_backoff_ms_ = std::clamp<uint64_t>(retry_backoff_ms_ * 2, kRetryMinMs, kRetryMaxMs);
      retry_at_ms_ = core::monotonicMs() + retry_backoff_ms_;
    }
    return ok;
  }

  bool tryConfigure(std::string_view why, std::string* error) {
    // A daemon just started opens its socket once it has read the files; until then a failure
    // is expected, not worth a count, and retried at the next tick.
    if (core::monotonicMs() - last_start_ms_ < kStartupGraceMs &&
        ::access(driver_->controlSocket().c_str(), F_OK) != 0) {
      *error = "the daemon's control socket is not open yet";
      return false;
    }
    ++commands_;
    if (!driver_->tell(bgp_, announced_, kCommandTimeoutMs, error)) {
      noteFailure("command", *error);
      return false;
    }
    core::LogLine(core::LogLevel::kDebug, "bgp.configured").str("why", why);
    if (failing_) {
      failing_ = false;
      ctx_.audit.record("bgp.daemon_recovered", "system", nullptr, {{"why", why}});
    }
    return true;
  }

  void noteFailure(std::string_view kind, const std::string& error) {
    if (kind == "start") {
      ++start_failures_;
    } else if (kind == "command") {
      ++command_failures_;
    } else {
      ++write_failures_;
    }
    core::LogLine(core::LogLevel::kWarn, "bgp.daemon_failed", core::LogRepeat::kLimited)
        .str("kind", kind)
        .str("reason", error);
    // Audited once per failing spell (retries run every tick), like a health transition.
    if (!failing_) {
      failing_ = true;
      ctx_.audit.record("bgp.daemon_failed", "system", nullptr,
                        {{"kind", kind}, {"reason", error}});
    }
  }

  void audit(const std::vector<bool>& before, std::string_view why) {
    for (size_t i = 0; i < announced_.size(); ++i) {
      const bool was = i < before.size() && before[i];
      if (was == announced_[i]) {
        continue;
      }
      const std::string vip = bgp_.vips[i].toString();
      ctx_.audit.record(announced_[i] ? "bgp.announce" : "bgp.withdraw", std::string(why),
                        {{"vip", vip}, {"announced", was}},
                        {{"vip", vip}, {"announced", announced_[i]}, {"applied", !pending_}});
      core::LogLine(core::LogLevel::kInfo, announced_[i] ? "bgp.announce" : "bgp.withdraw")
          .str("vip", vip)
          .str("why", why)
          .flag("applied", !pending_);
    }
  }

  control::PlaneContext ctx_;
  config::BgpSettings bgp_;
  std::unique_ptr<DaemonDriver> driver_;  // for bgp_.daemon; replaced only while none runs
  DaemonProcess daemon_;
  std::vector<bool> announced_;  // what the files say, bgp_.vips order
  std::string announced_key_;    // announcedKey() as last written
  bool pending_ = false;         // the files are ahead of what the daemon was told
  bool stopped_ = false;
  bool failing_ = false;  // the last start, write or command failed
  uint64_t retry_at_ms_ = 0;
  uint64_t retry_backoff_ms_ = 0;
  uint64_t last_start_ms_ = 0;
  uint64_t commands_ = 0;
  uint64_t start_failures_ = 0;
  uint64_t command_failures_ = 0;
  uint64_t write_failures_ = 0;
  uint64_t daemon_exits_ = 0;
};

}  // namespace

std::unique_ptr<BgpPlane> makeBgpPlane(const control::PlaneContext& ctx) {
  return std::make_unique<DaemonBgpPlane>(ctx);
}

}  // namespace ballast::bgp
