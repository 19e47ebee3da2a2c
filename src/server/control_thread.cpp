// src/server/control_thread.cpp — start-up, reload, signals, file watch and shutdown.
#include "server/control_thread.h"

#include <signal.h>
#include <sys/inotify.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include <thread>

#include "acme/http_client.h"
#include "config/fd_budget.h"
#include "config/limits.h"
#include "config/loader.h"
#include "core/clock.h"
#include "core/limits.h"
#include "core/log.h"
#include "kernel/kernel_plane.h"
#include "l4/splice_pipe.h"
#include "uplink/uplink_plane.h"

namespace ballast::server {
namespace {

constexpr uint64_t kWatchDebounceMs = 200;  // editors write a file in several steps

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

std::vector<upstream::HealthTarget> healthTargets(const Snapshot& snap) {
  std::vector<upstream::HealthTarget> targets;
  for (const auto& pool : snap.pools) {
    for (size_t i = 0; i < pool->backends.size(); ++i) {
      // A backend's own overrides, else the pool's check.
      const auto& own = pool->config->backends[i].health_check;
      targets.push_back({pool->config->name, pool->backends[i],
                         own ? *own : pool->config->health_check, pool->generation});
    }
  }
  return targets;
}

// Raises the soft open-file limit to the hard one (as HAProxy does), warns when the configured
// connection limits could need more descriptors than that, and gives splice pipes what
// sockets leave over (at most a quarter): a pipe must never cost a client its socket.
void checkFileLimit(const config::Config& cfg, uint32_t workers) {
  rlimit lim{};
  if (getrlimit(RLIMIT_NOFILE, &lim) != 0) {
    return;
  }
  if (lim.rlim_cur < lim.rlim_max) {
    lim.rlim_cur = lim.rlim_max;
    setrlimit(RLIMIT_NOFILE, &lim);
  }
  const uint64_t needed = config::socketFdsNeeded(cfg, workers);
  const uint64_t pipe_fds = config::pipeFdBudget(lim.rlim_cur, needed);
  l4::SplicePipe::setBudget(pipe_fds);
  if (needed > lim.rlim_cur) {
    core::LogLine(core::LogLevel::kWarn, "server.fd_limit")
        .unum("needed", needed)
        .unum("limit", lim.rlim_cur)
        .unum("pipe_fds", pipe_fds)
        .str("hint",
             "lower limits.max_connections/max_flows or raise RLIMIT_NOFILE (LimitNOFILE=); "
             "splice pipes get no fds until sockets fit");
    return;
  }
  core::LogLine(core::LogLevel::kInfo, "server.fd_budget")
      .unum("limit", lim.rlim_cur)
      .unum("sockets", needed)
      .unum("pipe_fds", pipe_fds);
}

void logErrors(const std::vector<config::ConfigError>& errors) {
  for (const auto& e : errors) {
    core::LogLine(core::LogLevel::kError, "config.error")
        .str("file", e.file)
        .num("line", e.line)
        .num("column", e.column)
        .str("message", e.message);
  }
}

void logWarnings(const std::vector<config::ConfigError>& warnings) {
  for (const auto& w : warnings) {
    core::LogLine(core::LogLevel::kWarn, "config.warning")
        .str("file", w.file)
        .num("line", w.line)
        .num("column", w.column)
        .str("message", w.message);
  }
}

}  // namespace

namespace {

static_assert(config::kDefaultLogRepeatBurst == core::kLogRepeatBurst &&
                  config::kDefaultLogRepeatIntervalMs == core::kLogRepeatIntervalMs,
              "the config's logging.repeat_* defaults are the logging core's");

control::ServerPolicy adminPolicy(const config::Config& cfg) {
  return {"admin", cfg.admin.limits, cfg.admin.timeouts, cfg.admin.auth.allow};
}

control::ServerPolicy metricsPolicy(const config::Config& cfg) {
  return {"metrics", cfg.metrics.limits, cfg.metrics.timeouts, {}};
}

}  // namespace

ControlThread::ControlThread(RunOptions options) : options_(std::move(options)) {
  watch_debounce_.bind(&ControlThread::onWatchDebounce, this);
  log_flush_.bind(&ControlThread::onLogFlush, this);
  outlier_sweep_.bind(&ControlThread::onOutlierSweep, this);
}

void ControlThread::onLogFlush(void* self) {
  auto* t = static_cast<ControlThread*>(self);
  core::flushLogSummaries();
  t->loop_->timers().schedule(t->log_flush_, core::logRepeatIntervalMs());
}

void ControlThread::applyServerPolicies(const config::Config& cfg) {
  if (admin_) {
    admin_->setPolicy(adminPolicy(cfg));
  }
  if (metrics_server_) {
    metrics_server_->setPolicy(metricsPolicy(cfg));
  }
}

ControlThread::~ControlThread() {
  etcd_watch_.reset();  // its thread writes to etcd_event_fd_
  acme_.reset();        // its thread writes to acme_event_fd_: stop it before the fd closes
  kubernetes_discovery_.reset();  // its threads write to kubernetes_event_fd_: the same
  core::TimerWheel::cancel(watch_debounce_);
  core::TimerWheel::cancel(log_flush_);
  core::TimerWheel::cancel(outlier_sweep_);
  core::TimerWheel::cancel(bgp_tick_);
  if (audit_subscription_ != 0) {
    audit_.unsubscribe(audit_subscription_);
  }
}

int ControlThread::run() {
  if (!readConfigSource()) {
    return 1;
  }
  auto loaded = loadServedConfig();
  if (!loaded.errors.empty()) {
    logErrors(loaded.errors);
    return 1;
  }
  logWarnings(loaded.warnings);
  const auto& cfg = *loaded.config;
  applyLogging(cfg.logging);
  audit_.setFile(cfg.admin.audit_log);
  uint32_t workers = options_.workers.value_or(cfg.workers);
  if (workers == 0) {
    workers = std::max(1U, std::thread::hardware_concurrency());
  }
  io_ = options_.io.value_or(toIoKind(cfg.io));
  checkFileLimit(cfg, workers);
  builder_ = std::make_unique<SnapshotBuilder>(workers);
  config_ = loaded.config;
  std::string error;
  if (options_.upgrade) {
    inherited_ = requestHandover(cfg.admin.socket, &error);
    if (!inherited_) {
      core::LogLine(core::LogLevel::kError, "server.upgrade_failed").str("reason", error);
      return 1;
    }
    core::LogLine(core::LogLevel::kInfo, "server.upgrade_sockets_received")
        .unum("listeners", inherited_->listeners.size());
    builder_->adopt(std::move(inherited_->listeners));
  }
  acme::initHttpClientLibrary();  // before any thread of ours: libcurl's global init
  if (!acme::AcmeManager::prepare(cfg, &error)) {
    core::LogLine(core::LogLevel::kError, "acme.prepare_failed").str("reason", error);
    return 1;
  }
  snapshot_ = builder_->build(loaded.config, nullptr, &error);
  if (!snapshot_) {
    core::LogLine(core::LogLevel::kError, "server.listen_failed").str("reason", error);
    return 1;
  }
  evaluateFailover("system");
  if (!blockSignals()) {
    return 1;
  }
  // After blockSignals: threads inherit the mask, and SIGTERM must reach the signalfd only.
  jwks_fetcher_ = std::make_unique<JwksFetcher>();
  for (uint32_t i = 0; i < workers; ++i) {
    workers_.push_back(std::make_unique<Worker>(i, workers, io_));
    io_name_ = workers_.back()->start(snapshot_).get();
    if (io_name_.starts_with("error:")) {
      core::LogLine(core::LogLevel::kError, "server.worker_failed").str("reason", io_name_);
      stopWorkers(core::monotonicMs());
      return 1;
    }
  }
  std::string unused;
  loop_ = core::EventLoop::create(core::IoKind::kEpoll, &unused);
  loop_->watch(signal_watcher_, signal_fd_.get(), this);
  if (!startEtcdWatch()) {
    stopWorkers(core::monotonicMs());
    return 1;
  }
  health_ = std::make_unique<upstream::HealthChecker>(*loop_, core::monotonicMs());
  health_->setOnChange([this](const upstream::HealthTarget& t, bool up, const std::string& why) {
    audit_.record(
        "backend.health", "health-check",
        {{"pool", t.pool}, {"backend", t.backend->name}, {"up", !up}},
        {{"pool", t.pool}, {"backend", t.backend->name}, {"up", up}, {"reason", up ? "" : why}});
    if (up) {
      returnEjectedBackend(t.pool, *t.backend);  // back up by its check: ejected no longer
    }
    evaluateFailover("health-check");
  });
  health_->setTargets(healthTargets(*snapshot_));
  if (!startAcme()) {
    stopWorkers(core::monotonicMs());
    return 1;
  }
  if (!syncPlanes(loaded.config, /*starting=*/true)) {
    stopPlanes();
    stopWorkers(core::monotonicMs());
    return 1;
  }
  started_ms_ = core::monotonicMs();
  started_unix_ms_ = core::unixMs();
  startAdmin(cfg);
  loop_->timers().schedule(log_flush_, core::logRepeatIntervalMs());
  startOutlierSweep();
  startBgpTick();
  if (inherited_) {
    // Our workers accept on the inherited sockets now; let the old process go.
    if (!confirmHandover(*inherited_, &error)) {
      core::LogLine(core::LogLevel::kWarn, "server.upgrade_confirm_failed").str("reason", error);
    }
    inherited_.reset();
    audit_.record("upgrade.completed", "system", nullptr, {{"pid", getpid()}});
  }
  if (cfg.reload.watch) {
    watchConfigFiles();
  }
  tls_watch_ = std::make_unique<FileWatch>(*loop_, "tls", [this] { reload("watch:tls_files"); });
  tls_watch_->update(tlsFilesOf(cfg));
  discovery_watch_ =
      std::make_unique<FileWatch>(*loop_, "discovery", [this] { onDiscoveryChange(); });
  discovery_watch_->update(discoveryFilesOf(cfg));
  dns_discovery_ =
      std::make_unique<discovery::DnsDiscovery>(*loop_, [this] { onDiscoveryChange(); });
  dns_discovery_->update(cfg);
  if (!startKubernetesDiscovery()) {
    stopPlanes();
    stopWorkers(core::monotonicMs());
    return 1;
  }
  audit_.record("config.load", "system", nullptr,
                {{"file", options_.config_path},
                 {"generation", snapshot_->generation},
                 {"listeners", cfg.listeners.size()},
                 {"pools", cfg.pools.size()}});
  core::LogLine(core::LogLevel::kInfo, "server.started")
      .str("version", BALLAST_VERSION)
      .unum("workers", workers)
      .str("io", io_name_)
      .unum("listeners", cfg.listeners.size())
      .unum("pools", cfg.pools.size())
      .unum("pid", static_cast<uint64_t>(getpid()));
  sd_notify(0, "READY=1\nSTATUS=serving");
  while (!stop_) {
    loop_->runOnce(-1);
  }
  sd_notify(0, "STOPPING=1");
  // Withdraw the VIPs before anything else: routers move new flows to the other nodes while
  // this one still serves what it has. After a handover the new process has its own BIRD on
  // the same state_dir: leave the files alone (stopPlanes then just kills our child).
  if (bgp_plane_ && !handed_over_) {
    bgp_plane_->stop();
  }
  const uint64_t deadline =
      core::monotonicMs() + static_cast<uint64_t>(snapshot_->config->shutdown_timeout.count());
  core::LogLine(core::LogLevel::kInfo, "server.stopping")
      .num("shutdown_timeout_ms", snapshot_->config->shutdown_timeout.count());
  drainControlServers();
  if (admin_) {
    if (handed_over_) {
      admin_->forgetUnixPath();
    }
    admin_->close();
  }
  if (metrics_server_) {
    metrics_server_->close();
  }
  health_.reset();
  acme_.reset();  // joins the ACME thread; an order in flight is abandoned
  stopPlanes();
  stopWorkers(deadline);
  core::LogLine(core::LogLevel::kInfo, "server.stopped");
  return 0;
}

// An admin or metrics client may have a request on its way when we stop (during a binary
// upgrade, a script polling status or a Prometheus scrape): answer it rather than reset it.
// Bounded by kAdminDrainGraceMs; ends as soon as every connection is done.
void ControlThread::drainControlServers() {
  const auto open_connections = [this] {
    return (admin_ ? admin_->connections() : 0) +
           (metrics_server_ ? metrics_server_->connections() : 0);
  };
  if (admin_) {
    admin_->drain();
  }
  if (metrics_server_) {
    metrics_server_->drain();
  }
  const uint64_t until = core::monotonicMs() + control::kAdminDrainGraceMs;
  for (uint64_t now = core::monotonicMs(); open_connections() > 0 && now < until;
       now = core::monotonicMs()) {
    loop_->runOnce(static_cast<int>(until - now));
  }
}

bool ControlThread::startAdmin(const config::Config& cfg) {
  std::string error;
  auto auth = control::AdminAuth::load(cfg.admin.auth, &error);
  if (!auth) {
    core::LogLine(core::LogLevel::kError, "admin.auth_failed").str("reason", error);
    auth = control::AdminAuth::load(config::AdminAuth{}, &error);  // no tokens: unix only
  }
  api_ = std::make_unique<control::AdminApi>(*this, audit_, std::move(*auth));
  started_admin_.admin = cfg.admin;
  started_admin_.metrics = cfg.metrics;
  const auto handler = [this](control::AdminRequest& r) { return api_->handle(r, core::unixMs()); };
  admin_ = std::make_unique<control::AdminServer>(*loop_, handler, adminPolicy(cfg));
  bool ok = true;
  const bool adopt_unix = inherited_ && !inherited_->admin_unix.empty();
  const bool adopt_tcp = inherited_ && !inherited_->admin_tcp.empty() && cfg.admin.bind;
  if (adopt_unix) {
    admin_->adoptListener(std::move(inherited_->admin_unix.front()), true, cfg.admin.socket);
  } else if (!cfg.admin.socket.empty() && !admin_->listenUnix(cfg.admin.socket, &error)) {
    core::LogLine(core::LogLevel::kError, "admin.listen_failed").str("reason", error);
    ok = false;
  }
  tls::SharedSslCtx tls;
  if (!cfg.admin.tls.cert.empty()) {
    tls = tls::makeServerTlsContext(cfg.admin.tls.cert, cfg.admin.tls.key, &error);
    if (!tls) {
      // Never fall back to plain HTTP where the operator asked for TLS.
      core::LogLine(core::LogLevel::kError, "admin.tls_failed").str("reason", error);
      ok = false;
    }
  }
  const bool want_tcp = cfg.admin.bind && (cfg.admin.tls.cert.empty() || tls);
  if (adopt_tcp && want_tcp) {
    admin_->adoptListener(std::move(inherited_->admin_tcp.front()), false, "", tls);
  } else if (want_tcp && !admin_->listenTcp(*cfg.admin.bind, &error, tls)) {
    core::LogLine(core::LogLevel::kError, "admin.listen_failed").str("reason", error);
    ok = false;
  }
  audit_subscription_ = audit_.subscribe([this](const control::AuditRecord& rec) {
    if (admin_) {
      admin_->broadcast(control::sseFrame(rec));
    }
  });
  if (cfg.metrics.bind) {
    const std::string path = cfg.metrics.path;
    metrics_server_ = std::make_unique<control::AdminServer>(
        *loop_,
        [this, path](control::AdminRequest& r) {
          if (r.path != path) {
            return control::AdminResponse::error(404, "not_found", "metrics are at " + path);
          }
          if (r.method != "GET" && r.method != "HEAD") {
            return control::AdminResponse::error(405, "method_not_allowed", "GET only");
          }
          return control::AdminResponse::text(200, metricsText(),
                                              "text/plain; version=0.0.4; charset=utf-8");
        },
        metricsPolicy(cfg));
    if (inherited_ && !inherited_->metrics.empty()) {
      metrics_server_->adoptListener(std::move(inherited_->metrics.front()), false);
    } else if (!metrics_server_->listenTcp(*cfg.metrics.bind, &error)) {
      core::LogLine(core::LogLevel::kError, "metrics.listen_failed").str("reason", error);
      ok = false;
    }
  }
  return ok;
}

void ControlThread::onReady(core::Watcher& w) {
  if (&w == &inotify_watcher_) {
    onConfigFileEvent();
    return;
  }
  if (&w == &acme_watcher_) {
    onAcmeCertificateEvent();
    return;
  }
  if (&w == &etcd_watcher_) {
    onEtcdEvent();
    return;
  }
  if (&w == &kubernetes_watcher_) {
    uint64_t count = 0;
    if (::read(kubernetes_event_fd_.get(), &count, sizeof(count)) == sizeof(count)) {
      onDiscoveryChange();
    }
    return;
  }
  signalfd_siginfo info{};
  while (::read(signal_fd_.get(), &info, sizeof(info)) == sizeof(info)) {
    if (info.ssi_signo == SIGHUP) {
      reload("signal:SIGHUP");
    } else if (info.ssi_signo == SIGUSR1) {
      reopenLogs();
    } else if (info.ssi_signo == SIGTERM || info.ssi_signo == SIGINT) {
      stop_ = true;
    }
  }
}

bool ControlThread::blockSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGHUP);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGUSR1);
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

void ControlThread::applyLogging(const config::Logging& logging) {
  core::setLogLevel(static_cast<core::LogLevel>(logging.level));
  core::setLogJson(logging.format == config::LogFormat::kJson);
  core::setLogRepeatLimit(logging.repeat_burst,
                          static_cast<uint64_t>(logging.repeat_interval.count()));
  std::string error;
  if (!log_outputs_.apply(logging, &error)) {
    core::LogLine(core::LogLevel::kError, "log.output_failed").str("reason", error);
  }
}

void ControlThread::reopenLogs() {
  log_outputs_.reopen();
  audit_.reopen();
  core::reopenSharedLineWriters();
  core::LogLine(core::LogLevel::kInfo, "server.logs_reopened");
}

control::ReloadOutcome ControlThread::reload(const std::string& actor) {
  control::ReloadOutcome outcome;
  outcome.generation = snapshot_->generation;
  sd_notifyf(0, "RELOADING=1\nMONOTONIC_USEC=%llu",
             static_cast<unsigned long long>(core::monotonicMs()) * 1000ULL);  // NOLINT
  core::LogLine(core::LogLevel::kInfo, "config.reload_requested")
      .str("file", options_.config_path)
      .str("actor", actor);
  auto loaded = loadServedConfig();
  std::string error;
  std::optional<control::AdminAuth> auth;
  logWarnings(loaded.warnings);
  if (!loaded.errors.empty()) {
    logErrors(loaded.errors);
    for (const auto& e : loaded.errors) {
      outcome.errors.push_back(e.format());
    }
  } else if (auth = control::AdminAuth::load(loaded.config->admin.auth, &error); !auth) {
    // A token file that cannot be read must not leave the old tokens valid unnoticed, nor
    // lock everyone out: refuse the whole reload.
    outcome.errors.push_back("admin.auth: " + error);
  } else if (!install(loaded.config, &error)) {
    outcome.errors.push_back(error);
  } else {
    outcome.ok = true;
    api_->setAuth(std::move(*auth));
    applyServerPolicies(*loaded.config);
    // A weight set over the API lasts until the file speaks again.
    for (const auto& pool : snapshot_->pools) {
      for (const auto& b : pool->backends) {
        b->weight_override.store(-1, std::memory_order_relaxed);
      }
      pool->generation->fetch_add(1, std::memory_order_release);
    }
    noteRestartOnlyChanges(*loaded.config);
  }
  const uint64_t before = outcome.generation;
  if (outcome.ok) {
    ++reloads_total_;
    draining_ = false;  // a reload after a node drain brings the listeners back
    if (etcd_source_) {
      etcd_served_revision_ = etcd_current_.revision;  // a revision deferred by a drain, too
    }
    outcome.generation = snapshot_->generation;
    const auto& cfg = *snapshot_->config;
    audit_.record("config.reload", actor, {{"generation", before}},
                  {{"generation", outcome.generation},
                   {"listeners", cfg.listeners.size()},
                   {"pools", cfg.pools.size()}});
    core::LogLine(core::LogLevel::kInfo, "config.reloaded")
        .unum("generation", outcome.generation)
        .unum("listeners", cfg.listeners.size())
        .unum("pools", cfg.pools.size());
  } else {
    ++reload_failures_total_;
    audit_.record("config.reload_rejected", actor, {{"generation", before}},
                  {{"errors", outcome.errors}});
    core::LogLine(core::LogLevel::kError, "config.reload_rejected")
        .unum("errors", outcome.errors.size())
        .unum("generation", before);
  }
  sd_notify(0, "READY=1");
  return outcome;
}

bool ControlThread::install(const config::ConfigPtr& loaded, std::string* error) {
  const config::ConfigPtr cfg = withResolvedBackends(loaded);
  if (cfg->io != snapshot_->config->io || cfg->workers != snapshot_->config->workers) {
    core::LogLine(core::LogLevel::kWarn, "config.reload_needs_restart")
        .str("reason", "workers and io take effect at the next start");
  }
  if (!acme::AcmeManager::prepare(*cfg, error)) {
    return false;
  }
  auto next = builder_->build(cfg, snapshot_.get(), error);
  if (!next) {
    return false;
  }
  applyLogging(cfg->logging);
  audit_.setFile(cfg->admin.audit_log);
  checkFileLimit(*cfg, builder_->workers());
  snapshot_ = next;
  config_ = cfg;
  if (jwks_fetcher_) {
    jwks_fetcher_->poke();  // a jwks_url new in this config is fetched now
  }
  evaluateFailover("system");  // before the workers see the snapshot: a group serves at once
  for (auto& w : workers_) {
    w->publish(snapshot_);
  }
  health_->setTargets(healthTargets(*snapshot_));
  acme_->apply(*cfg);
  syncPlanes(cfg, /*starting=*/false);
  if (tls_watch_) {
    tls_watch_->update(tlsFilesOf(*cfg));
  }
  if (discovery_watch_) {
    discovery_watch_->update(discoveryFilesOf(*cfg));
  }
  if (dns_discovery_) {
    dns_discovery_->update(*cfg);
  }
  if (kubernetes_discovery_) {
    kubernetes_discovery_->update(*cfg);
  }
  return true;
}

// Listening addresses of the control plane are bound at start; say so rather than ignore a
// change silently. reload.watch can be switched on at run time.
void ControlThread::noteRestartOnlyChanges(const config::Config& next) {
  const auto& now = started_admin_;
  if (next.admin.socket != now.admin.socket || next.admin.bind != now.admin.bind ||
      next.metrics.bind != now.metrics.bind || next.metrics.path != now.metrics.path) {
    core::LogLine(core::LogLevel::kWarn, "config.reload_needs_restart")
        .str("reason", "admin.socket, admin.bind and metrics take effect at the next start");
  }
  if (next.reload.watch && !inotify_fd_.valid()) {
    watchConfigFiles();
  }
}

bool ControlThread::syncPlanes(const config::ConfigPtr& cfg, bool starting) {
  const control::PlaneContext ctx{*loop_, audit_};
  if (!kernel_plane_ && (!cfg->virtual_services.empty() || cfg->kernel.present)) {
    kernel_plane_ = kernel::makeKernelPlane(ctx);
  }
  if (!uplink_plane_ && !cfg->uplinks.empty()) {
    uplink_plane_ = uplink::makeUplinkPlane(ctx);
  }
  if (!bgp_plane_ && cfg->bgp.present) {
    bgp_plane_ = bgp::makeBgpPlane(ctx);
  } else if (bgp_plane_ && !cfg->bgp.present) {
    bgp_plane_->stop();  // the section was removed: withdraw and end the sessions
    bgp_plane_.reset();
  }
  bool ok = true;
  for (control::Plane* plane :
       {kernel_plane_.get(), uplink_plane_.get(), static_cast<control::Plane*>(bgp_plane_.get())}) {
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
  updateBgp(starting ? "start" : "reload");
  return ok || !starting;
}

void ControlThread::stopPlanes() {
  for (control::Plane* plane :
       {kernel_plane_.get(), uplink_plane_.get(), static_cast<control::Plane*>(bgp_plane_.get())}) {
    // After a handover the new process owns what the planes programmed: leave it in place.
    if (plane != nullptr && !handed_over_) {
      plane->stop();
    }
  }
  kernel_plane_.reset();
  uplink_plane_.reset();
  bgp_plane_.reset();
}

void ControlThread::stopWorkers(uint64_t deadline) {
  for (auto& w : workers_) {
    w->requestStop(deadline);
  }
  for (auto& w : workers_) {
    w->join();
  }
  workers_.clear();
}

// Watches the top file's directory rather than the file: editors and config managers replace
// files by renaming over them, which a watch on the old inode would miss.
void ControlThread::watchConfigFiles() {
  inotify_fd_.reset(inotify_init1(IN_NONBLOCK | IN_CLOEXEC));
  if (!inotify_fd_.valid()) {
    core::LogLine(core::LogLevel::kError, "config.watch_failed").str("reason", strerror(errno));
    return;
  }
  const std::string& path = options_.config_path;
  const size_t slash = path.rfind('/');
  const std::string dir = slash == std::string::npos ? "." : path.substr(0, slash + 1);
  config_basename_ = slash == std::string::npos ? path : path.substr(slash + 1);
  if (inotify_add_watch(inotify_fd_.get(), dir.c_str(),
                        IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE | IN_DELETE) < 0) {
    core::LogLine(core::LogLevel::kError, "config.watch_failed")
        .str("dir", dir)
        .str("reason", strerror(errno));
    return;
  }
  loop_->watch(inotify_watcher_, inotify_fd_.get(), this);
  core::LogLine(core::LogLevel::kInfo, "config.watching").str("dir", dir);
}

void ControlThread::onConfigFileEvent() {
  alignas(inotify_event) std::array<char, 4096> buf{};  // NOLINT(readability-magic-numbers)
  bool relevant = false;
  for (;;) {
    const ssize_t n = ::read(inotify_fd_.get(), buf.data(), buf.size());
    if (n <= 0) {
      break;
    }
    for (ssize_t off = 0; off < n;) {
      const auto* ev = reinterpret_cast<const inotify_event*>(buf.data() + off);
      const std::string name = ev->len > 0 ? std::string(ev->name) : std::string();
      // The config itself or any YAML beside it (includes); not editor swap files, and never
      // the logs a reload itself writes.
      if (name == config_basename_ ||
          (!name.starts_with('.') && (name.ends_with(".yaml") || name.ends_with(".yml")))) {
        relevant = true;
      }
      off += static_cast<ssize_t>(sizeof(inotify_event) + ev->len);
    }
  }
  if (relevant) {
    loop_->timers().schedule(watch_debounce_, kWatchDebounceMs);
  }
}

void ControlThread::onWatchDebounce(void* self) {
  static_cast<ControlThread*>(self)->reload("watch:inotify");
}

}  // namespace ballast::server
