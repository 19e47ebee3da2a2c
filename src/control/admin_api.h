// src/control/admin_api.h — the admin REST API (/api/v1/…), health endpoints and metrics: URL
// routing, auth and audit. What the API reads and changes is behind ControlOps, which the
// control thread implements; this file knows nothing of workers or snapshots.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "control/admin_auth.h"
#include "control/admin_http.h"
#include "control/audit_log.h"

namespace ballast::control {

enum class BackendVerb : uint8_t { kAdd, kRemove, kWeight, kDrain, kEnable, kDisable };

struct BackendAction {
  BackendVerb verb = BackendVerb::kAdd;
  std::string pool;
  std::string backend;  // "198.18.0.10:8080"
  uint32_t weight = 1;  // kAdd, kWeight
  std::string actor;
};

struct ReloadOutcome {
  bool ok = false;
  uint64_t generation = 0;
  std::vector<std::string> errors;  // "file:line:column: message"
};

// POST /api/v1/cache/purge: one key or every key with a prefix, from one listener's cache ("":
// every listener's).
struct CachePurge {
  std::string listener;
  std::string key;
  std::string prefix;
  std::string actor;
};

class ControlOps {
 public:
  virtual ~ControlOps() = default;
  virtual bool ready() const = 0;
  virtual nlohmann::json status() const = 0;
  virtual nlohmann::json listeners() const = 0;
  virtual nlohmann::json pools() const = 0;
  virtual std::optional<nlohmann::json> pool(const std::string& name) const = 0;
  // The response to send (200 with the backend's new state, or 4xx with why).
  virtual AdminResponse backendAction(const BackendAction& action) = 0;
  virtual ReloadOutcome reload(const std::string& actor) = 0;
  virtual nlohmann::json effectiveConfig() const = 0;
  virtual AdminResponse drainNode(const std::string& actor) = 0;
  // Sends a pool with failover groups back to its best eligible group (failback: manual).
  virtual AdminResponse poolFailback(const std::string& pool, const std::string& actor) = 0;
  virtual std::string metricsText() const = 0;
  // "services" (kernel plane) or "uplinks"; nullopt when that plane is not running.
  virtual std::optional<nlohmann::json> planeStatus(std::string_view plane) const = 0;
  // Each https listener's certificates: names, not-after, source (file or acme), state.
  virtual nlohmann::json certificates() const = 0;
  // GET /api/v1/config/source: where the configuration comes from and how its last
  // revisions fared (etcd). A file source by default.
  virtual nlohmann::json configSource() const { return {{"type", "file"}}; }
  // Binary upgrade: hand every listening socket to the process on this connection.
  virtual AdminResponse upgrade(const AdminRequest& request) = 0;
  // The HTTP caches (one per listener that caches) and their purge.
  virtual nlohmann::json caches() const = 0;
  virtual AdminResponse purgeCache(const CachePurge& purge) = 0;
};

class AdminApi {
 public:
  AdminApi(ControlOps& ops, AuditLog& audit, AdminAuth auth)
      : ops_(ops), audit_(audit), auth_(std::move(auth)) {}

  AdminResponse handle(AdminRequest& request, uint64_t now_ms);
  void setAuth(AdminAuth auth) { auth_ = std::move(auth); }
  // Every route as "METHOD /path/{param}", for the OpenAPI coverage test.
  static std::vector<std::string> routes();

 private:
  AdminResponse route(AdminRequest& request);
  AdminResponse backendRoute(AdminRequest& request, const std::vector<std::string>& parts);
  AdminResponse cacheRoute(AdminRequest& request, const std::vector<std::string>& parts);
  AdminResponse events(const AdminRequest& request) const;

  ControlOps& ops_;
  AuditLog& audit_;
  AdminAuth auth_;
};

// One audit record framed as a server-sent event.
std::string sseFrame(const AuditRecord& record);

}  // namespace ballast::control
