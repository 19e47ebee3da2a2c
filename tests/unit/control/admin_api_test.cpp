// tests/unit/control/admin_api_test.cpp — URL routing of the admin API against a fake
// ControlOps: 404 and 405 (with Allow), request-body validation, health probes without auth,
// the events list and SSE framing, and every route of AdminApi::routes() reaching the fake.
#include "control/admin_api.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <vector>

namespace ballast::control {
namespace {

using nlohmann::json;

class FakeOps final : public ControlOps {
 public:
  bool ready() const override {
    ++calls["ready"];
    return ready_;
  }
  json status() const override {
    ++calls["status"];
    return {{"version", "test"}};
  }
  json listeners() const override {
    ++calls["listeners"];
    return json::array({{{"name", "web"}}});
  }
  json pools() const override {
    ++calls["pools"];
    return json::array({{{"name", "app"}}});
  }
  std::optional<json> pool(const std::string& name) const override {
    ++calls["pool"];
    if (name != "app") {
      return std::nullopt;
    }
    return json{{"name", "app"}, {"backends", json::array({{{"address", "10.0.0.1:80"}}})}};
  }
  AdminResponse backendAction(const BackendAction& a) override {
    ++calls["backendAction"];
    actions.push_back(a);
    return AdminResponse::json(200, {{"ok", true}});
  }
  ReloadOutcome reload(const std::string& actor) override {
    ++calls["reload"];
    last_actor = actor;
    return reload_outcome;
  }
  json effectiveConfig() const override {
    ++calls["effectiveConfig"];
    return {{"pools", json::array()}};
  }
  json configSource() const override {
    ++calls["configSource"];
    return {{"type", "etcd"}};
  }
  nlohmann::json caches() const override {
    ++calls["caches"];
    return nlohmann::json::array();
  }
  AdminResponse purgeCache(const CachePurge& purge) override {
    ++calls["purgeCache"];
    last_actor = purge.actor;
    return AdminResponse::json(200, {{"purged", 0}});
  }
  AdminResponse poolFailback(const std::string& pool, const std::string& actor) override {
    ++calls["poolFailback"];
    last_actor = actor;
    return AdminResponse::json(200, {{"pool", pool}, {"changed", false}});
  }
  AdminResponse drainNode(const std::string& actor) override {
    ++calls["drainNode"];
    last_actor = actor;
    return AdminResponse::json(200, {{"draining", true}});
  }
  std::string metricsText() const override {
    ++calls["metricsText"];
    return "ballast_up 1\n";
  }
  json certificates() const override {
    ++calls["certificates"];
    return json::array({{{"listener", "web"}, {"certificates", json::array()}}});
  }
  AdminResponse upgrade(const AdminRequest& /*request*/) override {
    ++calls["upgrade"];
    return AdminResponse::json(200, {{"handed_over", true}});
  }
  std::optional<json> planeStatus(std::string_view plane) const override {
    ++calls["planeStatus"];
    if (!planes_running) {
      return std::nullopt;
    }
    return json{{"plane", plane}};
  }

  bool ready_ = true;
  bool planes_running = true;
  ReloadOutcome reload_outcome{true, 7, {}};
  mutable std::map<std::string, int> calls;
  std::vector<BackendAction> actions;
  std::string last_actor;
};

class AdminApiTest : public ::testing::Test {
 protected:
  AdminApiTest() : api_(ops_, audit_, noTokens()) {}

  static AdminAuth noTokens() {
    std::string error;
    return *AdminAuth::load(config::AdminAuth{}, &error);
  }

  AdminResponse call(const std::string& method, const std::string& path,
                     const std::string& body = "", bool unix_peer = true,
                     std::vector<std::pair<std::string, std::string>> headers = {}) {
    AdminRequest r;
    r.method = method;
    const auto q = path.find('?');
    r.path = path.substr(0, q);
    if (q != std::string::npos) {
      r.query = path.substr(q + 1);
    }
    r.body = body;
    r.headers = std::move(headers);
    r.peer.unix_socket = unix_peer;
    r.peer.uid = 0;
    r.peer.pid = 1;
    r.peer.address = unix_peer ? "" : "127.0.0.1";
    return api_.handle(r, 0);
  }

  static std::string header(const AdminResponse& r, const std::string& name) {
    for (const auto& [k, v] : r.headers) {
      if (k == name) {
        return v;
      }
    }
    return "";
  }
  static json body(const AdminResponse& r) { return json::parse(r.body); }
  int totalCalls() const {
    int n = 0;
    for (const auto& [k, v] : ops_.calls) {
      n += v;
    }
    return n;
  }

  FakeOps ops_;
  AuditLog audit_{16};
  AdminApi api_;
};

TEST_F(AdminApiTest, UnknownPathsAre404WithAJsonError) {
  for (const char* path :
       {"/nope", "/api", "/api/v1", "/api/v2/status", "/api/v1/nothing", "/api/v1/status/extra",
        "/api/v1/pools/app/nope", "/api/v1/pools/app/backends/10.0.0.1:80/nope",
        "/api/v1/pools/app/backends/10.0.0.1:80/drain/more", "/v1/status", "/metrics/x"}) {
    const auto r = call("GET", path);
    EXPECT_EQ(r.status, 404) << path;
    EXPECT_EQ(body(r)["error"]["code"], "not_found") << path;
    EXPECT_EQ(r.content_type, "application/json");
  }
  EXPECT_EQ(ops_.calls["backendAction"], 0);
}

TEST_F(AdminApiTest, WrongMethodIs405WithAllow) {
  const std::pair<std::string, std::string> cases[][1] = {
      {{"POST /api/v1/status", "GET"}},
      {{"DELETE /api/v1/listeners", "GET"}},
      {{"PUT /api/v1/pools", "GET"}},
      {{"POST /api/v1/config", "GET"}},
      {{"POST /api/v1/events", "GET"}},
      {{"GET /api/v1/reload", "POST"}},
      {{"DELETE /api/v1/drain", "POST"}},
      {{"POST /api/v1/pools/app", "GET"}},
      {{"PUT /api/v1/pools/app/backends", "GET, POST"}},
      {{"GET /api/v1/pools/app/backends/10.0.0.1:80", "DELETE"}},
      {{"GET /api/v1/pools/app/backends/10.0.0.1:80/weight", "PUT"}},
      {{"DELETE /api/v1/pools/app/backends/10.0.0.1:80/drain", "POST"}},
      {{"GET /api/v1/pools/app/backends/10.0.0.1:80/enable", "POST"}},
      {{"PUT /api/v1/pools/app/backends/10.0.0.1:80/disable", "POST"}},
      {{"POST /metrics", "GET"}},
      {{"GET /api/v1/upgrade", "POST"}},
  };
  for (const auto& c : cases) {
    const auto& [route, allow] = c[0];
    const auto space = route.find(' ');
    const auto r = call(route.substr(0, space), route.substr(space + 1));
    EXPECT_EQ(r.status, 405) << route;
    EXPECT_EQ(header(r, "Allow"), allow) << route;
    EXPECT_EQ(body(r)["error"]["code"], "method_not_allowed") << route;
  }
  EXPECT_EQ(ops_.calls["backendAction"], 0);
  EXPECT_EQ(ops_.calls["reload"], 0);
  EXPECT_EQ(ops_.calls["drainNode"], 0);
}

TEST_F(AdminApiTest, WeightBodyIsValidated) {
  const std::string url = "/api/v1/pools/app/backends/10.0.0.1:80/weight";
  for (const char* bad :
       {"", "{}", "not json", "[5]", "5", R"({"weight": -1})", R"({"weight": 1001})",
        R"({"weight": 1.5})", R"({"weight": "3"})", R"({"weight": null})", R"({"weight": true})",
        R"({"weight": 18446744073709551615})"}) {
    const auto r = call("PUT", url, bad);
    EXPECT_EQ(r.status, 400) << bad;
    EXPECT_EQ(body(r)["error"]["code"], "bad_request") << bad;
  }
  EXPECT_EQ(ops_.calls["backendAction"], 0);
  for (const auto& [text, weight] :
       std::vector<std::pair<std::string, uint32_t>>{{R"({"weight": 0})", 0},
                                                     {R"({"weight": 1000})", 1000},
                                                     {R"({"weight": 5, "extra": 1})", 5}}) {
    EXPECT_EQ(call("PUT", url, text).status, 200) << text;
    ASSERT_FALSE(ops_.actions.empty());
    EXPECT_EQ(ops_.actions.back().verb, BackendVerb::kWeight);
    EXPECT_EQ(ops_.actions.back().weight, weight);
    EXPECT_EQ(ops_.actions.back().pool, "app");
    EXPECT_EQ(ops_.actions.back().backend, "10.0.0.1:80");
    EXPECT_EQ(ops_.actions.back().actor, "admin:unix:uid=0,pid=1");
  }
  EXPECT_EQ(call("POST", url, R"({"weight": 2})").status, 200);  // POST is accepted too
}

TEST_F(AdminApiTest, AddBodyIsValidated) {
  const std::string url = "/api/v1/pools/app/backends";
  for (const char* bad : {"{}", R"({"address": 5})", R"({"weight": 1})", "[]", "x",
                          R"({"address": "10.0.0.9:80", "weight": 2000})",
                          R"({"address": "10.0.0.9:80", "weight": "1"})"}) {
    EXPECT_EQ(call("POST", url, bad).status, 400) << bad;
  }
  EXPECT_EQ(ops_.calls["backendAction"], 0);
  EXPECT_EQ(call("POST", url, R"({"address": "10.0.0.9:80"})").status, 200);
  EXPECT_EQ(ops_.actions.back().verb, BackendVerb::kAdd);
  EXPECT_EQ(ops_.actions.back().backend, "10.0.0.9:80");
  EXPECT_EQ(ops_.actions.back().weight, 1U);  // default
  EXPECT_EQ(call("POST", url, R"({"address": "10.0.0.9:81", "weight": 0})").status, 200);
  EXPECT_EQ(ops_.actions.back().weight, 0U);
}

TEST_F(AdminApiTest, BackendVerbsReachTheFakeWithTheirVerb) {
  const std::string one = "/api/v1/pools/app/backends/[2001:db8::1]:80";
  EXPECT_EQ(call("POST", one + "/drain").status, 200);
  EXPECT_EQ(ops_.actions.back().verb, BackendVerb::kDrain);
  EXPECT_EQ(ops_.actions.back().backend, "[2001:db8::1]:80");
  EXPECT_EQ(call("POST", one + "/enable").status, 200);
  EXPECT_EQ(ops_.actions.back().verb, BackendVerb::kEnable);
  EXPECT_EQ(call("POST", one + "/disable").status, 200);
  EXPECT_EQ(ops_.actions.back().verb, BackendVerb::kDisable);
  EXPECT_EQ(call("DELETE", one).status, 200);
  EXPECT_EQ(ops_.actions.back().verb, BackendVerb::kRemove);
}

TEST_F(AdminApiTest, UnknownPoolIs404) {
  EXPECT_EQ(call("GET", "/api/v1/pools/nope").status, 404);
  EXPECT_EQ(call("GET", "/api/v1/pools/nope/backends").status, 404);
  const auto r = call("GET", "/api/v1/pools/app/backends");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(body(r)["pool"], "app");
  EXPECT_EQ(body(r)["backends"][0]["address"], "10.0.0.1:80");
}

TEST_F(AdminApiTest, HealthProbesNeedNoTokenButTheApiDoes) {
  EXPECT_EQ(call("GET", "/healthz", "", /*unix_peer=*/false).status, 200);
  EXPECT_EQ(call("HEAD", "/healthz", "", false).status, 200);
  EXPECT_EQ(call("GET", "/readyz", "", false).status, 200);
  ops_.ready_ = false;
  const auto r = call("GET", "/readyz", "", false);
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(body(r), (json{{"ready", false}}));
  const int before = totalCalls();
  const auto denied = call("GET", "/api/v1/status", "", false);
  EXPECT_EQ(denied.status, 401);
  EXPECT_EQ(call("GET", "/metrics", "", false).status, 401);
  EXPECT_EQ(totalCalls(), before) << "an unauthorized request must not reach ControlOps";
}

TEST_F(AdminApiTest, UpgradeIsOfferedOnlyOnTheUnixSocket) {
  std::string tmpl = "/tmp/ballast-api-XXXXXX";
  const std::string dir = mkdtemp(tmpl.data());
  const std::string tokens = dir + "/tokens";
  FILE* f = std::fopen(tokens.c_str(), "w");
  ASSERT_NE(f, nullptr);
  std::fputs("tok\n", f);
  std::fclose(f);
  config::AdminAuth settings;
  settings.tokens_file = tokens;
  std::string error;
  api_.setAuth(*AdminAuth::load(settings, &error));
  std::remove(tokens.c_str());
  std::remove(dir.c_str());
  const std::vector<std::pair<std::string, std::string>> bearer = {{"authorization", "Bearer tok"}};
  EXPECT_EQ(call("GET", "/api/v1/status", "", /*unix_peer=*/false, bearer).status, 200);
  const auto r = call("POST", "/api/v1/upgrade", "", false, bearer);
  EXPECT_EQ(r.status, 403);
  EXPECT_EQ(body(r)["error"]["code"], "forbidden");
  EXPECT_EQ(ops_.calls["upgrade"], 0);
  EXPECT_EQ(call("POST", "/api/v1/upgrade").status, 200);
  EXPECT_EQ(ops_.calls["upgrade"], 1);
}

TEST_F(AdminApiTest, ReloadAnswers200Or422WithErrors) {
  auto r = call("POST", "/api/v1/reload");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(body(r), (json{{"reloaded", true}, {"generation", 7}}));
  EXPECT_EQ(ops_.last_actor, "admin:unix:uid=0,pid=1");
  ops_.reload_outcome = {false, 7, {"/etc/ballast.yaml:3:5: unknown key \"x\""}};
  r = call("POST", "/api/v1/reload");
  EXPECT_EQ(r.status, 422);
  EXPECT_EQ(body(r)["reloaded"], false);
  EXPECT_EQ(body(r)["errors"], json::array({"/etc/ballast.yaml:3:5: unknown key \"x\""}));
}

TEST_F(AdminApiTest, PlanesNotRunningAre404) {
  EXPECT_EQ(call("GET", "/api/v1/services").status, 200);
  ops_.planes_running = false;
  EXPECT_EQ(call("GET", "/api/v1/services").status, 404);
  EXPECT_EQ(call("GET", "/api/v1/uplinks").status, 404);
  EXPECT_EQ(call("GET", "/api/v1/bgp").status, 404);
}

TEST_F(AdminApiTest, EventsAsJsonAndAsServerSentEvents) {
  audit_.record("one", "system", nullptr, {{"n", 1}});
  audit_.record("two", "system", nullptr, {{"n", 2}});
  audit_.record("three", "system", nullptr, {{"n", 3}});
  auto r = call("GET", "/api/v1/events");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(body(r)["last_seq"], 3);
  EXPECT_EQ(body(r)["events"].size(), 3U);
  r = call("GET", "/api/v1/events?since=2");
  ASSERT_EQ(body(r)["events"].size(), 1U);
  EXPECT_EQ(body(r)["events"][0]["kind"], "three");
  EXPECT_FALSE(r.event_stream);

  r = call("GET", "/api/v1/events", "", true, {{"accept", "text/event-stream"}});
  EXPECT_EQ(r.status, 200);
  EXPECT_TRUE(r.event_stream);
  EXPECT_EQ(r.content_type, "text/event-stream");
  EXPECT_TRUE(r.body.starts_with("retry: "));
  EXPECT_NE(r.body.find("id: 1\nevent: audit\ndata: {"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("id: 3\nevent: audit\ndata: {"), std::string::npos) << r.body;
  // A reconnecting client resumes after Last-Event-ID.
  r = call("GET", "/api/v1/events", "", true,
           {{"accept", "text/event-stream"}, {"last-event-id", "2"}});
  EXPECT_EQ(r.body.find("id: 2\n"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("id: 3\n"), std::string::npos) << r.body;
}

TEST_F(AdminApiTest, SseFrameIsOneEventWithJsonData) {
  AuditRecord rec;
  rec.seq = 42;
  rec.kind = "admin.backend_weight";
  rec.actor = "admin:unix:uid=0,pid=1";
  rec.after = {{"line", "a\nb"}};
  const std::string frame = sseFrame(rec);
  EXPECT_TRUE(frame.starts_with("id: 42\nevent: audit\ndata: ")) << frame;
  EXPECT_TRUE(frame.ends_with("\n\n"));
  const auto data = frame.substr(frame.find("data: ") + 6);
  EXPECT_EQ(data.find('\n'), data.size() - 2) << "the data must be one line";
  EXPECT_EQ(json::parse(data)["after"]["line"], "a\nb");
}

// Every route the API lists (and the OpenAPI spec must cover) answers, and all but the
// liveness probe and the audit stream go to ControlOps.
TEST_F(AdminApiTest, EveryListedRouteReachesTheFake) {
  const auto routes = AdminApi::routes();
  ASSERT_FALSE(routes.empty());
  for (const auto& route : routes) {
    const auto space = route.find(' ');
    const std::string method = route.substr(0, space);
    std::string path = route.substr(space + 1);
    for (const auto& [param, value] :
         {std::pair<std::string, std::string>{"{pool}", "app"}, {"{backend}", "10.0.0.1:80"}}) {
      if (const auto at = path.find(param); at != std::string::npos) {
        path.replace(at, param.size(), value);
      }
    }
    std::string req_body;
    if (path.ends_with("/weight")) {
      req_body = R"({"weight": 3})";
    } else if (path.ends_with("/cache/purge")) {
      req_body = R"({"prefix": "http://example.com/"})";
    } else if (method == "POST" && path.ends_with("/backends")) {
      req_body = R"({"address": "10.0.0.2:80"})";
    }
    const int before = totalCalls();
    const auto r = call(method, path, req_body);
    EXPECT_LT(r.status, 300) << route << ": " << r.body;
    if (path != "/healthz" && path != "/api/v1/events") {
      EXPECT_GT(totalCalls(), before) << route << " did not reach ControlOps";
    }
  }
  // Each endpoint family was seen.
  for (const char* op : {"ready", "status", "listeners", "pools", "pool", "backendAction", "reload",
                         "effectiveConfig", "drainNode", "metricsText", "planeStatus",
                         "certificates", "poolFailback", "caches", "purgeCache", "configSource"}) {
    EXPECT_GT(ops_.calls[op], 0) << op;
  }
  EXPECT_EQ(ops_.actions.size(), 6U);  // add, remove, weight, drain, enable, disable
}

}  // namespace
}  // namespace ballast::control
