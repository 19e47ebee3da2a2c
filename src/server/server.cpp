// src/server/server.cpp — start-up, reload and shutdown of the proxy plane.
#include "server/server.h"

#include <signal.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <cstdio>
#include <memory>
#include <thread>
#include <vector>

#include "config/loader.h"
#include "control/audit_log.h"
#include "core/clock.h"
#include "core/fd.h"
#include "core/log.h"
#include "kernel/kernel_plane.h"
#include "server/plane.h"
#include "server/snapshot.h"
#include "server/worker.h"
#include "uplink/uplink_plane.h"
#include "upstream/health_checker.h"

namespace ballast::server {
namespace {

core::IoKind toIoKind(config::IoBackend io) {
  switch (io) {
    case config::IoBackend::kIoUring:
      return core::IoKind::kIoUring;
    case config::IoBackend::kEpoll:
      return core::IoKind::kEpoll;
    default:
      return core::IoKind::kAuto;
  }
}

void applyLogging(const config::Logging& logging) {
  core::setLogLevel(static_cast<core::LogLevel>(logging.level));
  core::setLogJson(logging.format == config::LogFormat::kJson);
}

std::vector<upstream::HealthTarget> healthTargets(const Snapshot& snap) {
  std::vector<upstream::HealthTarget> targets;
  for (const auto& pool : snap.pools) {
    for (const auto& backend : pool->backends) {
      targets.push_back(
          {pool->config->name, backend, pool->config->health_check, pool->generation});
    }
  }
  return targets;
}

// Raises the soft open-file limit to the hard one (as HAProxy does) and warns when the
// configured connection limits could need more descriptors than that.
void checkFileLimit(const config::Config& cfg, uint32_t workers) {
  rlimit lim{};
  if (getrlimit(RLIMIT_NOFILE, &lim) != 0) {
    return;
  }
  if (lim.rlim_cur < lim.rlim_max) {
    lim.rlim_cur = lim.rlim_max;
    setrlimit(RLIMIT_NOFILE, &lim);
  }
  // Each TCP connection is a pair (client + backend); a UDP flow holds one socket.
  uint64_t needed = 0;
  for (const auto& l : cfg.listeners) {
    needed +=
        l.protocol == config::Protocol::kTcp ? 2ULL * l.limits.max_connections : l.limits.max_flows;
    needed += workers;  // the listening sockets
  }
  if (needed > lim.rlim_cur) {
    core::LogLine(core::LogLevel::kWarn, "server.fd_limit")
        .unum("needed", needed)
        .unum("limit", lim.rlim_cur)
        .str("hint",
             "lower limits.max_connections/max_flows or raise RLIMIT_NOFILE (LimitNOFILE=)");
  }
}

void printErrors(const config::LoadResult& result) {
  for (const auto& e : result.errors) {
    core::LogLine(core::LogLevel::kError, "config.error")
        .str("file", e.file)
        .num("line", e.line)
        .num("column", e.column)
        .str("message", e.message);
  }
}

class ControlThread final : public core::WatchHandler {
 public:
  explicit ControlThread(RunOptions options) : options_(std::move(options)) {}

  int run() {
    auto loaded = config::loadConfigFile(options_.config_path);
    if (!loaded.errors.empty()) {
      printErrors(loaded);
      return 1;
    }
    const auto& cfg = *loaded.config;
    applyLogging(cfg.logging);
    uint32_t workers = options_.workers.value_or(cfg.workers);
    if (workers == 0) {
      workers = std::max(1U, std::thread::hardware_concurrency());
    }
    io_ = options_.io.value_or(toIoKind(cfg.io));
    checkFileLimit(cfg, workers);
    builder_ = std::make_unique<SnapshotBuilder>(workers);
    std::string error;
    snapshot_ = builder_->build(loaded.config, nullptr, &error);
    if (!snapshot_) {
      core::LogLine(core::LogLevel::kError, "server.listen_failed").str("reason", error);
      return 1;
    }
    if (!blockSignals()) {
      return 1;
    }
    std::string backend;
    for (uint32_t i = 0; i < workers; ++i) {
      workers_.push_back(std::make_unique<Worker>(i, workers, io_));
      backend = workers_.back()->start(snapshot_).get();
      if (backend.starts_with("error:")) {
        core::LogLine(core::LogLevel::kError, "server.worker_failed").str("reason", backend);
        stopWorkers(core::monotonicMs());
        return 1;
      }
    }
    std::string unused;
    loop_ = core::EventLoop::create(core::IoKind::kEpoll, &unused);
    loop_->watch(signal_watcher_, signal_fd_.get(), this);
    health_ = std::make_unique<upstream::HealthChecker>(*loop_, core::monotonicMs());
    health_->setTargets(healthTargets(*snapshot_));
    if (!syncPlanes(loaded.config, /*starting=*/true)) {
      stopPlanes();
      stopWorkers(core::monotonicMs());
      return 1;
    }
    core::LogLine(core::LogLevel::kInfo, "server.started")
        .str("version", BALLAST_VERSION)
        .unum("workers", workers)
        .str("io", backend)
        .unum("listeners", cfg.listeners.size())
        .unum("pools", cfg.pools.size())
        .unum("pid", static_cast<uint64_t>(getpid()));
    while (!stop_) {
      loop_->runOnce(-1);
    }
    const uint64_t deadline =
        core::monotonicMs() + static_cast<uint64_t>(snapshot_->config->shutdown_timeout.count());
    core::LogLine(core::LogLevel::kInfo, "server.stopping")
        .num("shutdown_timeout_ms", snapshot_->config->shutdown_timeout.count());
    health_.reset();
    stopPlanes();
    stopWorkers(deadline);
    core::LogLine(core::LogLevel::kInfo, "server.stopped");
    return 0;
  }

  void onReady(core::Watcher& /*w*/) override {
    signalfd_siginfo info{};
    while (::read(signal_fd_.get(), &info, sizeof(info)) == sizeof(info)) {
      if (info.ssi_signo == SIGHUP) {
        reload();
      } else if (info.ssi_signo == SIGTERM || info.ssi_signo == SIGINT) {
        stop_ = true;
      }
    }
  }

 private:
  bool blockSignals() {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGHUP);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    // Workers are started after this, so they inherit the mask and signals reach only signalfd.
    pthread_sigmask(SIG_BLOCK, &set, nullptr);
    signal(SIGPIPE, SIG_IGN);
    signal_fd_.reset(signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC));
    if (!signal_fd_.valid()) {
      core::LogLine(core::LogLevel::kError, "server.signalfd_failed");
      return false;
    }
    return true;
  }

  void reload() {
    core::LogLine(core::LogLevel::kInfo, "config.reload_requested")
        .str("file", options_.config_path);
    auto loaded = config::loadConfigFile(options_.config_path);
    if (!loaded.errors.empty()) {
      printErrors(loaded);
      core::LogLine(core::LogLevel::kError, "config.reload_rejected")
          .unum("errors", loaded.errors.size())
          .unum("generation", snapshot_->generation);
      return;
    }
    const auto& cfg = *loaded.config;
    if (cfg.io != snapshot_->config->io || (cfg.workers != snapshot_->config->workers)) {
      core::LogLine(core::LogLevel::kWarn, "config.reload_needs_restart")
          .str("reason", "workers and io take effect at the next start");
    }
    std::string error;
    auto next = builder_->build(loaded.config, snapshot_.get(), &error);
    if (!next) {
      core::LogLine(core::LogLevel::kError, "config.reload_rejected").str("reason", error);
      return;
    }
    applyLogging(cfg.logging);
    checkFileLimit(cfg, builder_->workers());
    snapshot_ = next;
    for (auto& w : workers_) {
      w->publish(snapshot_);
    }
    health_->setTargets(healthTargets(*snapshot_));
    syncPlanes(loaded.config, /*starting=*/false);
    core::LogLine(core::LogLevel::kInfo, "config.reloaded")
        .unum("generation", snapshot_->generation)
        .unum("listeners", cfg.listeners.size())
        .unum("pools", cfg.pools.size());
  }

  // Creates the kernel and uplink planes when the config first asks for them and hands every
  // accepted config to those that exist (an emptied section tells a plane to undo its work).
  bool syncPlanes(const config::ConfigPtr& cfg, bool starting) {
    const PlaneContext ctx{*loop_, audit_};
    if (!kernel_plane_ && (!cfg->virtual_services.empty() || cfg->kernel.present)) {
      kernel_plane_ = kernel::makeKernelPlane(ctx);
    }
    if (!uplink_plane_ && !cfg->uplinks.empty()) {
      uplink_plane_ = uplink::makeUplinkPlane(ctx);
    }
    bool ok = true;
    for (Plane* plane : {kernel_plane_.get(), uplink_plane_.get()}) {
      if (plane == nullptr) {
        continue;
      }
      std::string error;
      if (!plane->apply(cfg, &error)) {
        core::LogLine(starting ? core::LogLevel::kError : core::LogLevel::kWarn,
                      "server.plane_apply_failed")
            .str("plane", plane->name())
            .str("reason", error);
        ok = false;
      }
    }
    return ok || !starting;
  }

  void stopPlanes() {
    for (Plane* plane : {kernel_plane_.get(), uplink_plane_.get()}) {
      if (plane != nullptr) {
        plane->stop();
      }
    }
    kernel_plane_.reset();
    uplink_plane_.reset();
  }

  void stopWorkers(uint64_t deadline) {
    for (auto& w : workers_) {
      w->requestStop(deadline);
    }
    for (auto& w : workers_) {
      w->join();
    }
    workers_.clear();
  }

  RunOptions options_;
  core::IoKind io_ = core::IoKind::kAuto;
  std::unique_ptr<SnapshotBuilder> builder_;
  SnapshotPtr snapshot_;
  std::vector<std::unique_ptr<Worker>> workers_;
  std::unique_ptr<core::EventLoop> loop_;
  core::Fd signal_fd_;
  core::Watcher signal_watcher_;
  std::unique_ptr<upstream::HealthChecker> health_;
  control::AuditLog audit_;
  std::unique_ptr<Plane> kernel_plane_;
  std::unique_ptr<Plane> uplink_plane_;
  bool stop_ = false;
};

}  // namespace

int run(const RunOptions& options) {
  ControlThread control(options);
  return control.run();
}

}  // namespace ballast::server
