// src/bgp/bgp_plane.cpp — the BGP plane: managed BIRD files, the child, announce/withdraw.
#include "bgp/bgp_plane.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>

#include "bgp/bird_config.h"
#include "bgp/bird_daemon.h"
#include "core/clock.h"
#include "core/log.h"

namespace ballast::bgp {
namespace {

using json = nlohmann::json;

// One control-socket round trip; BIRD answers a local `configure` in milliseconds.
constexpr int kCommandTimeoutMs = 2000;
// Stop: how long BIRD gets to send its Cease notifications before SIGKILL.
constexpr int kStopGraceMs = 2000;
// A BIRD that keeps dying is restarted at most this often.
constexpr uint64_t kRestartIntervalMs = 1000;
constexpr mode_t kStateDirMode = 0700;
constexpr uint64_t kStartupGraceMs = 5000;
// Back-off of configure retries after a failure (doubling).
constexpr uint64_t kRetryMinMs = 200;
constexpr uint64_t kRetryMaxMs = 10000;

bool writeFile(const std::string& path, const std::string& text, std::string* error) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << text;
    if (!out.good()) {
      *error = "cannot write " + tmp;
      return false;
    }
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    *error = "rename " + tmp + ": " + std::strerror(errno);  // NOLINT(concurrency-mt-unsafe)
    return false;
  }
  return true;
}

bool makeDirs(const std::string& dir, std::string* error) {
  for (size_t i = 1; i <= dir.size(); ++i) {
    if (i == dir.size() || dir[i] == '/') {
      const std::string part = dir.substr(0, i);
      if (::mkdir(part.c_str(), kStateDirMode) != 0 && errno != EEXIST) {
        *error = "mkdir " + part + ": " + std::strerror(errno);  // NOLINT(concurrency-mt-unsafe)
        return false;
      }
    }
  }
  return true;
}

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

class BirdBgpPlane final : public BgpPlane {
 public:
  explicit BirdBgpPlane(const control::PlaneContext& ctx) : ctx_(ctx) {}
  ~BirdBgpPlane() override = default;

  std::string_view name() const override { return "bgp"; }
  const config::BgpSettings& settings() const override { return bgp_; }

  bool apply(const config::ConfigPtr& config, std::string* error) override {
    const auto& next = config->bgp;
    if (daemon_.pid() > 0 &&
        (next.state_dir != bgp_.state_dir || next.daemon_binary != bgp_.daemon_binary)) {
      *error = "bgp.state_dir and bgp.daemon_binary take effect at the next start";
      return false;
    }
    if (daemon_.pid() <= 0 && !findProgram(next.daemon_binary)) {
      *error = "bgp: " + next.daemon_binary +
               " not found (BIRD 2: Debian package bird2; or set bgp.daemon_binary)";
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
    paths_ = birdPaths(bgp_.state_dir);
    announced_ = announced;
    // A VIP removed from the config while announced must be withdrawn now, not at the next
    // change of the gate.
    const std::string vips_text = renderVipsFile(bgp_, announced_);
    const bool vips_changed = vips_text != vips_text_;
    if (!makeDirs(bgp_.state_dir, error) || !writeFile(paths_.vips, vips_text, error) ||
        !writeFile(paths_.config, renderBirdConfig(bgp_, paths_), error)) {
      return false;
    }
    vips_text_ = vips_text;
    if (daemon_.pid() <= 0) {
      return true;  // setWanted starts it, once vips.conf says what the gate wants
    }
    if (sessions_changed || vips_changed || pending_) {
      pending_ = !configure("reload", error);
      return !pending_;
    }
    return true;
  }

  void setWanted(const std::vector<bool>& wanted, std::string_view why) override {
    std::string how;
    if (daemon_.pid() > 0 && !daemon_.alive(&how)) {
      ++daemon_exits_;
      core::LogLine(core::LogLevel::kError, "bgp.daemon_exited", core::LogRepeat::kLimited)
          .str("how", how)
          .str("log", paths_.log);
      ctx_.audit.record("bgp.daemon_exited", "system", nullptr, {{"how", how}});
    }
    const bool changed = wanted.size() == announced_.size() && wanted != announced_;
    // A retry waits out a back-off: each attempt may block the control loop for up to
    // kCommandTimeoutMs when BIRD hangs. A new decision is tried at once.
    const bool retry_due = pending_ && core::monotonicMs() >= retry_at_ms_;
    if (changed || retry_due) {
      std::string error;
      const auto before = announced_;
      if (changed) {
        announced_ = wanted;
      }
      const std::string vips_text = renderVipsFile(bgp_, announced_);
      if (!writeFile(paths_.vips, vips_text, &error)) {
        noteFailure("write", error);
        pending_ = true;
      } else if (daemon_.pid() > 0) {
        vips_text_ = vips_text;
        pending_ = !configure(why, &error);
      } else {
        vips_text_ = vips_text;
      }
      if (changed) {
        audit(before, why);
      }
    }
    if (daemon_.pid() <= 0 && !stopped_) {
      const uint64_t now = core::monotonicMs();
      if (now - last_start_ms_ >= kRestartIntervalMs) {
        std::string error;
        startDaemon(&error);  // reads vips.conf as just written: no configure needed
      }
    }
  }

  void stop() override {
    if (stopped_) {
      return;
    }
    stopped_ = true;
    // Withdraw first, explicitly, then end the sessions: either alone would do, both make
    // the withdrawal not depend on how BIRD's shutdown goes.
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
    return {{"daemon", "bird"},
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
    // A socket left by a BIRD that died with a killed Ballast would pass for the new one's.
    ::unlink(paths_.socket.c_str());
    if (!daemon_.start(bgp_.daemon_binary, paths_, error)) {
      noteFailure("start", *error);
      return false;
    }
    pending_ = false;  // the child reads vips.conf as written
    core::LogLine(core::LogLevel::kInfo, "bgp.daemon_started")
        .unum("pid", static_cast<uint64_t>(daemon_.pid()))
        .str("config", paths_.config);
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
    // A BIRD just started opens its socket once it has read the files; until then a failure
    // is expected, not worth a count, and retried at the next tick.
    if (core::monotonicMs() - last_start_ms_ < kStartupGraceMs &&
        ::access(paths_.socket.c_str(), F_OK) != 0) {
      *error = "BIRD's control socket is not open yet";
      return false;
    }
    ++commands_;
    if (!daemon_.command("configure", kCommandTimeoutMs, error)) {
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
  BirdPaths paths_;
  BirdDaemon daemon_;
  std::vector<bool> announced_;  // what vips.conf says, bgp_.vips order
  std::string vips_text_;        // vips.conf as last written
  bool pending_ = false;         // vips.conf is ahead of what BIRD was told
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
  return std::make_unique<BirdBgpPlane>(ctx);
}

}  // namespace ballast::bgp
