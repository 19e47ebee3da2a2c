// src/control/admin_api.cpp — routes of the admin API.
#include "control/admin_api.h"

#include <charconv>

#include "control/dashboard_assets.h"

namespace ballast::control {
namespace {

using nlohmann::json;

std::vector<std::string> splitPath(std::string_view path) {
  std::vector<std::string> parts;
  size_t i = 0;
  while (i < path.size()) {
    if (path[i] == '/') {
      ++i;
      continue;
    }
    const size_t next = path.find('/', i);
    parts.emplace_back(path.substr(i, next == std::string_view::npos ? next : next - i));
    i = next == std::string_view::npos ? path.size() : next;
  }
  return parts;
}

AdminResponse methodNotAllowed(std::string_view allow) {
  auto r = AdminResponse::error(405, "method_not_allowed", "allowed: " + std::string(allow));
  r.headers.emplace_back("Allow", std::string(allow));
  return r;
}

AdminResponse notFound() { return AdminResponse::error(404, "not_found", "no such endpoint"); }

// The request body as a JSON object; an empty body is an empty object.
std::optional<json> bodyObject(const AdminRequest& r, AdminResponse* error) {
  if (r.body.empty()) {
    return json::object();
  }
  auto parsed = json::parse(r.body, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded() || !parsed.is_object()) {
    *error = AdminResponse::error(400, "bad_request", "body must be a JSON object");
    return std::nullopt;
  }
  return parsed;
}

std::optional<uint32_t> readWeight(const json& body, AdminResponse* error) {
  constexpr uint32_t kMaxWeight = 1000;
  const auto it = body.find("weight");
  if (it == body.end() || !it->is_number_unsigned() || it->get<uint64_t>() > kMaxWeight) {
    *error = AdminResponse::error(400, "bad_request", "weight must be an integer 0..1000");
    return std::nullopt;
  }
  return it->get<uint32_t>();
}

}  // namespace

std::string sseFrame(const AuditRecord& record) {
  return "id: " + std::to_string(record.seq) + "\nevent: audit\ndata: " + record.toJson().dump() +
         "\n\n";
}

std::vector<std::string> AdminApi::routes() {
  return {
      "GET /healthz",
      "GET /readyz",
      "GET /metrics",
      "GET /api/v1/status",
      "GET /api/v1/listeners",
      "GET /api/v1/certificates",
      "GET /api/v1/pools",
      "GET /api/v1/pools/{pool}",
      "GET /api/v1/pools/{pool}/backends",
      "POST /api/v1/pools/{pool}/backends",
      "POST /api/v1/pools/{pool}/failback",
      "DELETE /api/v1/pools/{pool}/backends/{backend}",
      "PUT /api/v1/pools/{pool}/backends/{backend}/weight",
      "POST /api/v1/pools/{pool}/backends/{backend}/drain",
      "POST /api/v1/pools/{pool}/backends/{backend}/enable",
      "POST /api/v1/pools/{pool}/backends/{backend}/disable",
      "POST /api/v1/reload",
      "GET /api/v1/config",
      "GET /api/v1/config/source",
      "POST /api/v1/drain",
      "GET /api/v1/events",
      "GET /api/v1/services",
      "GET /api/v1/uplinks",
      "GET /api/v1/bgp",
      "POST /api/v1/upgrade",
      "GET /api/v1/cache",
      "POST /api/v1/cache/purge",
  };
}

AdminResponse AdminApi::handle(AdminRequest& request, uint64_t now_ms) {
  // Orchestrator probes carry no credentials and reveal nothing.
  if (request.path == "/healthz" && (request.method == "GET" || request.method == "HEAD")) {
    return AdminResponse::json(200, {{"status", "alive"}});
  }
  if (request.path == "/readyz" && (request.method == "GET" || request.method == "HEAD")) {
    const bool ready = ops_.ready();
    return AdminResponse::json(ready ? 200 : 503, {{"ready", ready}});
  }
  // The dashboard's page, script and style hold no data (the script calls the API with the
  // operator's token), so they are served without auth, like the probes.
  if (request.method == "GET" || request.method == "HEAD") {
    if (const auto asset = dashboardAsset(request.path)) {
      auto r = AdminResponse::text(200, std::string(asset->body), std::string(asset->content_type));
      r.headers.emplace_back("Content-Security-Policy", kDashboardContentSecurityPolicy);
      r.headers.emplace_back("X-Content-Type-Options", "nosniff");
      return r;
    }
  }
  if (auto denied = auth_.check(request, now_ms)) {
    return *denied;
  }
  return route(request);
}

AdminResponse AdminApi::events(const AdminRequest& request) const {
  uint64_t since = 0;
  std::string since_text = request.queryParam("since");
  if (since_text.empty()) {
    since_text = std::string(request.header("last-event-id"));
  }
  if (!since_text.empty()) {
    std::from_chars(since_text.data(), since_text.data() + since_text.size(), since);
  }
  const auto records = audit_.since(since);
  if (request.header("accept").find("text/event-stream") == std::string_view::npos) {
    json list = json::array();
    for (const auto& r : records) {
      list.push_back(r.toJson());
    }
    return AdminResponse::json(200, {{"events", list}, {"last_seq", audit_.lastSeq()}});
  }
  AdminResponse r;
  r.content_type = "text/event-stream";
  r.event_stream = true;
  r.body = "retry: 2000\n\n";
  for (const auto& rec : records) {
    r.body += sseFrame(rec);
  }
  return r;
}

AdminResponse AdminApi::route(AdminRequest& request) {
  const auto parts = splitPath(request.path);
  const std::string& m = request.method;
  const bool get = m == "GET" || m == "HEAD";
  if (parts.size() == 1 && parts[0] == "metrics") {
    if (!get) {
      return methodNotAllowed("GET");
    }
    return AdminResponse::text(200, ops_.metricsText(), "text/plain; version=0.0.4; charset=utf-8");
  }
  if (parts.size() < 3 || parts[0] != "api" || parts[1] != "v1") {
    return notFound();
  }
  const std::string& what = parts[2];
  if (what == "cache") {
    return cacheRoute(request, parts);
  }
  if (what == "config" && parts.size() == 4 && parts[3] == "source") {
    if (!get) {
      return methodNotAllowed("GET");
    }
    return AdminResponse::json(200, ops_.configSource());
  }
  if (parts.size() == 3) {
    if (what == "status" || what == "listeners" || what == "pools" || what == "config" ||
        what == "events" || what == "services" || what == "uplinks" || what == "bgp" ||
        what == "certificates") {
      if (!get) {
        return methodNotAllowed("GET");
      }
      if (what == "status") {
        return AdminResponse::json(200, ops_.status());
      }
      if (what == "listeners") {
        return AdminResponse::json(200, {{"listeners", ops_.listeners()}});
      }
      if (what == "certificates") {
        return AdminResponse::json(200, {{"listeners", ops_.certificates()}});
      }
      if (what == "pools") {
        return AdminResponse::json(200, {{"pools", ops_.pools()}});
      }
      if (what == "config") {
        return AdminResponse::json(200, ops_.effectiveConfig());
      }
      if (what == "events") {
        return events(request);
      }
      auto plane = ops_.planeStatus(what);
      if (!plane) {
        return AdminResponse::error(404, "not_running",
                                    what == "services" ? "the kernel plane is not configured"
                                    : what == "bgp"    ? "bgp: is not configured"
                                                       : "the uplink plane is not configured");
      }
      return AdminResponse::json(200, *plane);
    }
    if (what == "upgrade") {
      if (m != "POST") {
        return methodNotAllowed("POST");
      }
      if (!request.peer.unix_socket) {
        return AdminResponse::error(403, "forbidden", "upgrade is only offered on the unix socket");
      }
      return ops_.upgrade(request);
    }
    if (what == "reload" || what == "drain") {
      if (m != "POST") {
        return methodNotAllowed("POST");
      }
      if (what == "drain") {
        return ops_.drainNode(request.actor);
      }
      const auto outcome = ops_.reload(request.actor);
      json body = {{"reloaded", outcome.ok}, {"generation", outcome.generation}};
      if (!outcome.ok) {
        body["errors"] = outcome.errors;
      }
      return AdminResponse::json(outcome.ok ? 200 : 422, body);
    }
    return notFound();
  }
  if (what != "pools") {
    return notFound();
  }
  if (parts.size() == 4) {
    if (!get) {
      return methodNotAllowed("GET");
    }
    auto p = ops_.pool(parts[3]);
    if (!p) {
      return AdminResponse::error(404, "not_found", "no pool named " + parts[3]);
    }
    return AdminResponse::json(200, *p);
  }
  if (parts[4] == "failback" && parts.size() == 5) {
    if (request.method != "POST") {
      return methodNotAllowed("POST");
    }
    return ops_.poolFailback(parts[3], request.actor);
  }
  if (parts[4] != "backends") {
    return notFound();
  }
  return backendRoute(request, parts);
}

// GET /api/v1/cache: each listener's store; POST /api/v1/cache/purge {key | prefix, listener?}:
// removes what matches from every store (or the one listener's), audited.
AdminResponse AdminApi::cacheRoute(AdminRequest& request, const std::vector<std::string>& parts) {
  const std::string& m = request.method;
  if (parts.size() == 3) {
    if (m != "GET" && m != "HEAD") {
      return methodNotAllowed("GET");
    }
    return AdminResponse::json(200, {{"caches", ops_.caches()}});
  }
  if (parts.size() != 4 || parts[3] != "purge") {
    return notFound();
  }
  if (m != "POST") {
    return methodNotAllowed("POST");
  }
  AdminResponse error;
  auto body = bodyObject(request, &error);
  if (!body) {
    return error;
  }
  const auto text = [&body](const char* name) {
    const auto it = body->find(name);
    return it != body->end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  CachePurge purge;
  purge.key = text("key");
  purge.prefix = text("prefix");
  purge.listener = text("listener");
  purge.actor = request.actor;
  if (purge.key.empty() == purge.prefix.empty()) {
    return AdminResponse::error(400, "bad_request", "give one of key or prefix");
  }
  return ops_.purgeCache(purge);
}

AdminResponse AdminApi::backendRoute(AdminRequest& request, const std::vector<std::string>& parts) {
  const std::string& m = request.method;
  BackendAction action;
  action.pool = parts[3];
  action.actor = request.actor;
  AdminResponse error;
  if (parts.size() == 5) {
    if (m == "GET" || m == "HEAD") {
      auto p = ops_.pool(parts[3]);
      if (!p) {
        return AdminResponse::error(404, "not_found", "no pool named " + parts[3]);
      }
      return AdminResponse::json(200, {{"pool", parts[3]}, {"backends", (*p)["backends"]}});
    }
    if (m != "POST") {
      return methodNotAllowed("GET, POST");
    }
    auto body = bodyObject(request, &error);
    if (!body) {
      return error;
    }
    const auto addr = body->find("address");
    if (addr == body->end() || !addr->is_string()) {
      return AdminResponse::error(400, "bad_request", "address (\"host:port\") is required");
    }
    action.verb = BackendVerb::kAdd;
    action.backend = addr->get<std::string>();
    if (body->contains("weight")) {
      auto w = readWeight(*body, &error);
      if (!w) {
        return error;
      }
      action.weight = *w;
    }
    return ops_.backendAction(action);
  }
  action.backend = parts[5];
  if (parts.size() == 6) {
    if (m != "DELETE") {
      return methodNotAllowed("DELETE");
    }
    action.verb = BackendVerb::kRemove;
    return ops_.backendAction(action);
  }
  if (parts.size() != 7) {
    return notFound();
  }
  const std::string& verb = parts[6];
  if (verb == "weight") {
    if (m != "PUT" && m != "POST") {
      return methodNotAllowed("PUT");
    }
    auto body = bodyObject(request, &error);
    if (!body) {
      return error;
    }
    auto w = readWeight(*body, &error);
    if (!w) {
      return error;
    }
    action.verb = BackendVerb::kWeight;
    action.weight = *w;
    return ops_.backendAction(action);
  }
  if (verb == "drain" || verb == "enable" || verb == "disable") {
    if (m != "POST") {
      return methodNotAllowed("POST");
    }
    action.verb = verb == "drain"    ? BackendVerb::kDrain
                  : verb == "enable" ? BackendVerb::kEnable
                                     : BackendVerb::kDisable;
    return ops_.backendAction(action);
  }
  return notFound();
}

}  // namespace ballast::control
