// src/server/control_thread.h — `ballast run`'s control thread: loads the config, starts the
// workers and the kernel and uplink planes, runs health checks, serves the admin API and
// metrics, and turns signals, admin calls and file changes into reloads and graceful stops.
// Everything here runs on one thread; workers are reached only through snapshots and their
// mailboxes.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "acme/acme_manager.h"
#include "bgp/bgp_plane.h"
#include "control/admin_api.h"
#include "control/admin_server.h"
#include "control/audit_log.h"
#include "control/log_outputs.h"
#include "control/plane.h"
#include "core/event_loop.h"
#include "core/fd.h"
#include "discovery/dns_discovery.h"
#include "discovery/kubernetes_discovery.h"
#include "server/etcd_watch.h"
#include "server/file_watch.h"
#include "server/jwks_fetcher.h"
#include "server/server.h"
#include "server/snapshot.h"
#include "server/upgrade.h"
#include "server/worker.h"
#include "upstream/health_checker.h"
#include "upstream/outlier.h"

namespace ballast::server {

class ControlThread final : public core::WatchHandler, public control::ControlOps {
 public:
  explicit ControlThread(RunOptions options);
  ~ControlThread() override;
  ControlThread(const ControlThread&) = delete;
  ControlThread& operator=(const ControlThread&) = delete;

  int run();
  void onReady(core::Watcher& w) override;

  // control::ControlOps (control_ops.cpp)
  bool ready() const override;
  nlohmann::json status() const override;
  nlohmann::json listeners() const override;
  nlohmann::json pools() const override;
  std::optional<nlohmann::json> pool(const std::string& name) const override;
  control::AdminResponse backendAction(const control::BackendAction& action) override;
  control::ReloadOutcome reload(const std::string& actor) override;
  nlohmann::json effectiveConfig() const override;
  control::AdminResponse drainNode(const std::string& actor) override;
  control::AdminResponse poolFailback(const std::string& pool,
                                      const std::string& actor) override;  // control_failover.cpp
  std::string metricsText() const override;
  nlohmann::json caches() const override;  // control_cache.cpp
  control::AdminResponse purgeCache(const control::CachePurge& purge) override;  // same
  std::optional<nlohmann::json> planeStatus(std::string_view plane) const override;
  control::AdminResponse upgrade(const control::AdminRequest& request) override;
  nlohmann::json certificates() const override;  // control_certificates.cpp
  nlohmann::json configSource() const override;  // control_etcd.cpp

  // Rebuilds every https listener's TLS contexts from the files on disk (ACME issued a
  // certificate; later, a watched certificate file changed) and publishes a new snapshot.
  // Open connections keep their sessions. False when a context cannot be built: the old
  // ones keep serving. control_certificates.cpp.
  bool refreshTlsContexts(const std::string& why);

 private:
  bool blockSignals();
  bool startAdmin(const config::Config& cfg);
  void drainControlServers();
  // Swaps in a new config: snapshot, workers, health checks, planes. False (and *error) when
  // the new snapshot cannot be built; nothing changes then.
  bool install(const config::ConfigPtr& cfg, std::string* error);
  bool syncPlanes(const config::ConfigPtr& cfg, bool starting);
  void stopPlanes();
  void stopWorkers(uint64_t deadline);
  void watchConfigFiles();
  void onConfigFileEvent();
  void reopenLogs();
  void noteRestartOnlyChanges(const config::Config& next);
  void applyLogging(const config::Logging& logging);
  nlohmann::json backendJson(const upstream::PoolRuntime& pool, size_t index) const;
  void writeProxyMetrics(metrics::PrometheusWriter& out) const;    // metrics_scrape.cpp
  void writeControlMetrics(metrics::PrometheusWriter& out) const;  // metrics_scrape.cpp
  // Re-chooses the serving failover group of every pool with groups; `failback_pool` is
  // the pool an admin sent back to its best group. True when some pool switched.
  // control_failover.cpp.
  bool evaluateFailover(const std::string& actor, std::string_view failback_pool = {});
  void writeFailoverMetrics(metrics::PrometheusWriter& out) const;  // control_failover.cpp
  void applyServerPolicies(const config::Config& cfg);
  bool startAcme();               // control_certificates.cpp
  void onAcmeCertificateEvent();  // control_certificates.cpp
  // A discovery file changed, or a DNS answer did: re-reads every discovered pool and applies
  // each new backend set in place (discovery_apply.cpp).
  void onDiscoveryChange();
  void writeDiscoveryMetrics(metrics::PrometheusWriter& out) const;  // discovery_apply.cpp
  // cfg with each DNS-named pool's current answers added to its backends (discovery_apply.cpp).
  config::ConfigPtr withResolvedBackends(const config::ConfigPtr& cfg) const;
  static void onLogFlush(void* self);
  // Outlier detection's control side (outlier_sweep.cpp).
  void startOutlierSweep();
  static void onOutlierSweep(void* self);
  void returnEjectedBackend(const std::string& pool, const upstream::BackendState& backend);
  void reportOutlierEvent(const upstream::OutlierEvent& e, const char* why);
  // Audits each backend breaker's moves since the last sweep (breaker_audit.cpp): the workers
  // move breakers on the request path, where the audit log is not theirs to write.
  void auditBreakerChanges();
  static void onWatchDebounce(void* self);
  // Where the served configuration comes from (control_etcd.cpp): the `-c` file, or the etcd
  // prefix its config_source names. readConfigSource runs once at start; with etcd it reads
  // the prefix (failing the start when no endpoint answers). loadServedConfig is what a start
  // and every reload parse.
  bool readConfigSource();
  config::LoadResult loadServedConfig() const;
  bool startEtcdWatch();
  void onEtcdEvent();
  void writeConfigSourceMetrics(metrics::PrometheusWriter& out) const;
  // The BGP plane's gate (control_bgp.cpp): what to announce, per bgp.vips entry, and the
  // periodic re-evaluation.
  std::vector<bool> bgpWanted() const;
  void updateBgp(std::string_view why);
  void startBgpTick();
  static void onBgpTick(void* self);

  RunOptions options_;
  core::IoKind io_ = core::IoKind::kAuto;
  std::string io_name_;
  uint64_t started_ms_ = 0;
  uint64_t started_unix_ms_ = 0;
  std::unique_ptr<SnapshotBuilder> builder_;
  SnapshotPtr snapshot_;
  // The configuration in force as the file (and runtime backend changes) say; differs from
  // snapshot_->config only while the node is drained (the snapshot then has no listeners).
  config::ConfigPtr config_;
  config::Config started_admin_;  // admin and metrics settings the listeners were opened with
  std::vector<std::unique_ptr<Worker>> workers_;
  std::unique_ptr<core::EventLoop> loop_;
  core::Fd signal_fd_;
  core::Watcher signal_watcher_;
  core::Fd inotify_fd_;
  core::Watcher inotify_watcher_;
  core::Timer watch_debounce_;
  core::Timer log_flush_;      // writes the log's repeat summaries once per interval
  core::Timer outlier_sweep_;  // ends ejections, compares success rates
  upstream::OutlierSweeper outlier_sweeper_;
  struct BreakerSeen {
    upstream::BreakerState state = upstream::BreakerState::kClosed;
    uint64_t opened_total = 0;
  };
  std::map<std::string, BreakerSeen> breaker_seen_;  // by "pool/backend", as of the last sweep
  std::string config_basename_;
  std::unique_ptr<upstream::HealthChecker> health_;
  std::unique_ptr<FileWatch> tls_watch_;  // after loop_: it unwatches on destruction
  std::unique_ptr<FileWatch> discovery_watch_;
  std::unique_ptr<discovery::DnsDiscovery> dns_discovery_;
  // `discovery: {kubernetes}` pools: its watch threads say "a set changed" on this eventfd.
  core::Fd kubernetes_event_fd_;
  core::Watcher kubernetes_watcher_;
  std::unique_ptr<discovery::KubernetesDiscovery> kubernetes_discovery_;  // after its eventfd
  bool startKubernetesDiscovery();                                        // discovery_apply.cpp
  struct DiscoveryCounters {
    uint64_t updates = 0;  // backend sets applied in place
    uint64_t errors = 0;   // files refused (unreadable, invalid): the last good set serves
    uint64_t last_update_unix_ms = 0;
    std::string last_error;  // of the last read, if it was refused; else empty
  };
  // A pool's discovery sources and how they fare, for the API (discovery_apply.cpp); null when
  // the pool discovers nothing.
  nlohmann::json discoveryJson(const config::Pool& pool) const;
  std::map<std::string, DiscoveryCounters> discovery_counters_;  // by pool
  control::AuditLog audit_;
  control::LogOutputs log_outputs_;
  uint64_t audit_subscription_ = 0;
  std::unique_ptr<control::AdminApi> api_;
  std::unique_ptr<control::AdminServer> admin_;
  std::unique_ptr<control::AdminServer> metrics_server_;
  std::unique_ptr<control::Plane> kernel_plane_;
  std::unique_ptr<control::Plane> uplink_plane_;
  std::unique_ptr<bgp::BgpPlane> bgp_plane_;
  core::Timer bgp_tick_;
  std::unique_ptr<acme::AcmeManager> acme_;
  std::unique_ptr<JwksFetcher> jwks_fetcher_;  // jwt: {jwks_url}
  core::Fd acme_event_fd_;                     // the ACME thread says "a certificate landed" here
  core::Watcher acme_watcher_;
  uint64_t tls_refreshes_total_ = 0;
  uint64_t tls_refresh_failures_total_ = 0;
  uint64_t reloads_total_ = 0;
  uint64_t reload_failures_total_ = 0;
  // config_source: etcd (control_etcd.cpp). etcd_current_ is the newest revision read (the
  // one a reload parses); served/refused say how the last ones fared.
  std::optional<config::EtcdSourceSettings> etcd_source_;
  EtcdRevision etcd_current_;
  int64_t etcd_served_revision_ = 0;
  int64_t etcd_refused_revision_ = 0;
  std::vector<std::string> etcd_refused_errors_;
  uint64_t etcd_refused_total_ = 0;
  core::Fd etcd_event_fd_;  // the watch thread says "a revision waits" here
  core::Watcher etcd_watcher_;
  std::unique_ptr<EtcdWatch> etcd_watch_;  // after its fd: destroyed (joined) before it closes
  bool draining_ = false;
  bool handed_over_ = false;  // a newer process serves our sockets: stop without undoing
  std::optional<InheritedSockets> inherited_;
  bool stop_ = false;
};

}  // namespace ballast::server
