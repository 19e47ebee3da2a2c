// src/cli/control_commands.cpp — status, show, backend, reload and drain: a request to the
// admin API and a table (or raw JSON with --json) of its answer.
#include "cli/control_commands.h"

#include <array>
#include <cstdio>
#include <ctime>
#include <optional>
#include <string_view>

#include "cli/admin_client.h"
#include "cli/doctor.h"
#include "cli/shell.h"
#include "cli/table.h"

namespace ballast::cli {
namespace {

using nlohmann::json;

constexpr int kExitOk = 0;
constexpr int kExitUsage = 2;

constexpr std::string_view kControlHelp =
    R"(ballast status | show | backend | pool | reload | drain — steer a running daemon

SYNOPSIS
  ballast status [--json]
  ballast show status|config|listeners|certificates|pools|backends [POOL]|events|services|
               uplinks|bgp [--json]
  ballast backend add POOL ADDRESS [WEIGHT]
  ballast backend remove POOL ADDRESS
  ballast backend weight POOL ADDRESS WEIGHT
  ballast backend drain|enable|disable POOL ADDRESS
  ballast pool failback POOL
  ballast cache [--json]
  ballast cache purge KEY | --prefix PREFIX [--listener NAME]
  ballast reload
  ballast drain
  ballast shell
  ballast doctor [-c FILE]

DESCRIPTION
  These commands talk to `ballast run` over its admin unix socket (admin.socket in the
  config, /run/ballast/admin.sock by default). Tables are for people; --json prints the API's
  answer unchanged, for scripts.

  backend changes take effect at once. add, remove and weight last until the next reload
  unless the file says the same; drain, disable and enable are kept across reloads (like a
  backend's health) until changed again.
  pool failback sends a pool with failover groups back to its best eligible group (for
  failback: manual, which otherwise stays on the group it failed over to).
  cache shows each listener's HTTP cache; cache purge removes one key (as cache.key makes
  them, by default $scheme://$host$request_uri: http://example.com/a?b) or every key that
  starts with PREFIX, from every listener's cache or just NAME's. Purges are audited.
  reload re-reads the config file like SIGHUP; an invalid file is refused with its errors and
  the running configuration stays.
  drain closes every listener (open connections finish) before maintenance; reload resumes.

OPTIONS
  --socket PATH   Admin socket (default: $BALLAST_ADMIN_SOCKET, else /run/ballast/admin.sock).
  --json          Print the JSON answer.
  -h, --help      Show this help.

EXIT STATUS
  0  done;  1  the daemon refused (the reason is printed);  2  usage error;
  3  no daemon answers on the socket.

EXAMPLES
  ballast show backends app
  ballast backend drain app 10.0.0.7:8080
)";

struct ControlArgs {
  std::vector<std::string> words;
  std::optional<std::string> socket;
  std::optional<std::string> config;
  bool json = false;
  bool help = false;
};

std::optional<std::string> parse(int argc, char** argv, ControlArgs& out) {
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    if (a == "--json") {
      out.json = true;
    } else if (a == "-h" || a == "--help") {
      out.help = true;
    } else if (a == "--socket" || a == "-c" || a == "--config") {
      if (i + 1 >= argc) {
        return std::string(a) + " needs a value";
      }
      (a == "--socket" ? out.socket : out.config) = argv[++i];
    } else if (a.starts_with("--socket=")) {
      out.socket = std::string(a.substr(a.find('=') + 1));
    } else if ((a == "--prefix" || a == "--listener") && !out.words.empty() &&
               out.words[0] == "cache") {
      out.words.emplace_back(a);  // cache purge's own options, read with its words
    } else if (a.starts_with("-") && a.size() > 1) {
      return "unknown option " + std::string(a);
    } else {
      out.words.emplace_back(a);
    }
  }
  return std::nullopt;
}

int usage(const std::string& message) {
  std::fprintf(stderr, "ballast: %s\nRun 'ballast help status' for usage.\n", message.c_str());
  return kExitUsage;
}

std::string str(const json& j) {
  if (j.is_string()) {
    return j.get<std::string>();
  }
  if (j.is_null()) {
    return "-";
  }
  return j.dump();
}

void printStatus(const json& s) {
  Table t({"FIELD", "VALUE"});
  for (const auto& key : {"version", "pid", "uptime_seconds", "config_file", "config_generation",
                          "workers", "io", "listeners", "pools", "ready", "draining", "reloads",
                          "reload_failures", "ha_state", "planes"}) {
    if (s.contains(key)) {
      t.add({key, str(s[key])});
    }
  }
  t.print();
}

void printListeners(const json& j) {
  Table t({"LISTENER", "BIND", "PROTO", "POOL", "ACTIVE", "TOTAL", "REQUESTS"});
  for (const auto& l : j["listeners"]) {
    t.add({str(l["name"]), str(l["bind"]), str(l["protocol"]), str(l["pool"]),
           str(l.value("connections_active", json(0))), str(l.value("connections_total", json(0))),
           l.contains("requests_total") ? str(l["requests_total"]) : "-"});
  }
  t.print();
}

// "redis: PONG, role master", cut to a column's width; "-" when the backend is not checked.
std::string checkSummary(const json& b) {
  constexpr size_t kMaxCheckText = 48;
  if (!b.contains("check")) {
    return "-";
  }
  const auto& c = b["check"];
  std::string text = str(c["type"]);
  if (c.contains("last_reason")) {
    text += ": " + str(c["last_reason"]);
  }
  if (text.size() > kMaxCheckText) {
    text = text.substr(0, kMaxCheckText - 3) + "...";
  }
  return text;
}

// "2026-03-01 12:00Z" from Unix seconds; "-" for none.
std::string utcDate(const json& seconds) {
  if (!seconds.is_number_integer() || seconds.get<int64_t>() == 0) {
    return "-";
  }
  const auto t = static_cast<time_t>(seconds.get<int64_t>());
  tm parts{};
  gmtime_r(&t, &parts);
  std::array<char, 32> buf{};
  std::strftime(buf.data(), buf.size(), "%Y-%m-%d %H:%MZ", &parts);
  return buf.data();
}

void printCertificates(const json& j) {
  Table t({"LISTENER", "NAMES", "NOT_AFTER", "SOURCE", "STATE", "FILE", "NOTE"});
  for (const auto& l : j["listeners"]) {
    for (const auto& c : l["certificates"]) {
      std::string names;
      for (const auto& n : c.value("names", json::array())) {
        names += (names.empty() ? "" : ",") + str(n);
      }
      std::string note;
      if (c.contains("acme") && c["acme"].is_object()) {
        const auto& a = c["acme"];
        note = (a.value("failures", 0) > 0 ? str(a["failures"]) + " failures, retry " : "next ") +
               utcDate(a["next_order"]);
      }
      t.add({str(l["listener"]), names.empty() ? "-" : names, utcDate(c.value("not_after", json())),
             str(c["source"]), str(c["state"]), str(c["file"]), note.empty() ? "-" : note});
    }
  }
  t.print();
}

void addBackendRows(Table& t, const std::string& pool, const json& backends) {
  for (const auto& b : backends) {
    // An ejected backend is up by its checks but out by outlier detection: say both.
    const std::string health = str(b["health"]) + (b.value("ejected", false) ? ",ejected" : "");
    t.add({pool, str(b["address"]), health, str(b["admin_state"]), str(b["weight"]),
           str(b["active_connections"]), str(b.value("connections_total", json(0))),
           str(b.value("requests_total", json(0))), str(b.value("connect_errors", json(0))),
           checkSummary(b)});
  }
}

Table backendTable() {
  return Table({"POOL", "BACKEND", "HEALTH", "ADMIN", "WEIGHT", "ACTIVE", "CONNS", "REQUESTS",
                "ERRORS", "CHECK"});
}

// "file ok", "dns failing (2): <why>", "kubernetes ok"; "-" without discovery.
std::string discoverySummary(const json& p) {
  if (!p.contains("discovery")) {
    return "-";
  }
  std::string out;
  for (const char* source : {"file", "dns", "kubernetes"}) {
    if (!p["discovery"].contains(source)) {
      continue;
    }
    const json& d = p["discovery"][source];
    if (!out.empty()) {
      out += ", ";
    }
    out += source;
    const uint64_t failed = d.value(std::string(source) == "dns" ? "failures" : "errors", 0ULL);
    if (d["last_error"].is_string()) {
      out += " failing (" + std::to_string(failed) + "): " + d["last_error"].get<std::string>();
    } else {
      out += " ok";
    }
  }
  return out;
}

void printPools(const json& j) {
  Table t({"POOL", "ALGORITHM", "UP", "BACKENDS", "DISCOVERY"});
  for (const auto& p : j["pools"]) {
    t.add({str(p["name"]), str(p["algorithm"]), str(p["backends_up"]),
           std::to_string(p["backends"].size()), discoverySummary(p)});
  }
  t.print();
}

void printEvents(const json& j) {
  Table t({"SEQ", "TIME_MS", "KIND", "ACTOR", "AFTER"});
  for (const auto& e : j["events"]) {
    std::string after = str(e["after"]);
    constexpr size_t kMaxCell = 60;
    if (after.size() > kMaxCell) {
      after = after.substr(0, kMaxCell) + "…";
    }
    t.add({str(e["seq"]), str(e["time_ms"]), str(e["kind"]), str(e["actor"]), after});
  }
  t.print();
}

// Prints an error reply; returns the exit code.
int refused(const AdminReply& r) {
  if (r.json.is_object() && r.json.contains("error")) {
    std::fprintf(stderr, "ballast: %s (%u)\n", str(r.json["error"]["message"]).c_str(), r.status);
  } else if (r.json.is_object() && r.json.contains("errors")) {
    std::fprintf(stderr, "ballast: refused (%u):\n", r.status);
    for (const auto& e : r.json["errors"]) {
      std::fprintf(stderr, "  %s\n", str(e).c_str());
    }
  } else {
    std::fprintf(stderr, "ballast: refused (%u): %s\n", r.status, r.body.c_str());
  }
  return kExitDaemonRefused;
}

int call(const std::string& socket, const std::string& method, const std::string& target,
         const std::string& body, bool as_json, void (*print)(const json&)) {
  std::string error;
  auto reply = adminRequest(socket, method, target, body, &error);
  if (!reply) {
    std::fprintf(stderr, "ballast: %s\n", error.c_str());
    return kExitUnreachable;
  }
  if (reply->status >= 400) {  // NOLINT(readability-magic-numbers)
    if (as_json) {
      std::fputs(reply->body.c_str(), stdout);
    }
    return refused(*reply);
  }
  if (as_json || print == nullptr) {
    std::fputs(reply->body.c_str(), stdout);
  } else {
    print(reply->json);
  }
  return kExitOk;
}

int show(const std::vector<std::string>& w, const std::string& socket, bool as_json) {
  const std::string what = w.size() > 1 ? w[1] : "status";
  if (what == "status") {
    return call(socket, "GET", "/api/v1/status", "", as_json, printStatus);
  }
  if (what == "config") {
    return call(socket, "GET", "/api/v1/config", "", true, nullptr);
  }
  if (what == "listeners") {
    return call(socket, "GET", "/api/v1/listeners", "", as_json, printListeners);
  }
  if (what == "certificates") {
    return call(socket, "GET", "/api/v1/certificates", "", as_json, printCertificates);
  }
  if (what == "pools") {
    return call(socket, "GET", "/api/v1/pools", "", as_json, printPools);
  }
  if (what == "events") {
    return call(socket, "GET", "/api/v1/events", "", as_json, printEvents);
  }
  if (what == "services" || what == "uplinks" || what == "bgp") {
    return call(socket, "GET", "/api/v1/" + what, "", true, nullptr);
  }
  if (what == "backends") {
    if (w.size() > 2) {
      return call(socket, "GET", "/api/v1/pools/" + encodeSegment(w[2]), "", as_json,
                  [](const json& p) {
                    Table t = backendTable();
                    addBackendRows(t, str(p["name"]), p["backends"]);
                    t.print();
                  });
    }
    return call(socket, "GET", "/api/v1/pools", "", as_json, [](const json& j) {
      Table t = backendTable();
      for (const auto& p : j["pools"]) {
        addBackendRows(t, str(p["name"]), p["backends"]);
      }
      t.print();
    });
  }
  return usage(
      "show what? status, config, listeners, certificates, pools, backends, events, services, "
      "uplinks, bgp");
}

void printBackendResult(const json& j) {
  if (j.contains("backend") && j["backend"].is_object()) {
    const auto& b = j["backend"];
    std::printf("%s %s: health %s, admin %s, weight %s\n", str(j["pool"]).c_str(),
                str(b["address"]).c_str(), str(b["health"]).c_str(), str(b["admin_state"]).c_str(),
                str(b["weight"]).c_str());
    std::printf("note: %s\n", str(b["note"]).c_str());
  } else {
    std::printf("%s %s: %s\nnote: %s\n", str(j["pool"]).c_str(), str(j["backend"]).c_str(),
                str(j["result"]).c_str(), str(j["note"]).c_str());
  }
}

int backend(const std::vector<std::string>& w, const std::string& socket, bool as_json) {
  if (w.size() < 4) {
    return usage("backend needs a verb, a pool and an address: backend drain POOL ADDRESS");
  }
  const std::string& verb = w[1];
  const std::string base = "/api/v1/pools/" + encodeSegment(w[2]) + "/backends";
  const std::string one = base + "/" + encodeSegment(w[3]);
  const auto weightOf = [](const std::string& s) -> std::optional<uint32_t> {
    constexpr unsigned long kMaxWeight = 1000;
    char* end = nullptr;
    const unsigned long v = std::strtoul(s.c_str(), &end, 10);  // NOLINT
    if (s.empty() || *end != '\0' || v > kMaxWeight) {
      return std::nullopt;
    }
    return static_cast<uint32_t>(v);
  };
  if (verb == "add") {
    json body = {{"address", w[3]}};
    if (w.size() > 4) {
      const auto wt = weightOf(w[4]);
      if (!wt) {
        return usage("weight must be 0..1000");
      }
      body["weight"] = *wt;
    }
    return call(socket, "POST", base, body.dump(), as_json, printBackendResult);
  }
  if (verb == "remove") {
    return call(socket, "DELETE", one, "", as_json, printBackendResult);
  }
  if (verb == "weight") {
    const auto wt = w.size() > 4 ? weightOf(w[4]) : std::nullopt;
    if (!wt) {
      return usage("backend weight POOL ADDRESS WEIGHT (0..1000)");
    }
    return call(socket, "PUT", one + "/weight", json{{"weight", *wt}}.dump(), as_json,
                printBackendResult);
  }
  if (verb == "drain" || verb == "enable" || verb == "disable") {
    return call(socket, "POST", one + "/" + verb, "", as_json, printBackendResult);
  }
  return usage("backend verbs: add, remove, weight, drain, enable, disable");
}

// cache | cache purge KEY | cache purge --prefix PREFIX, either with [--listener NAME].
int cache(const std::vector<std::string>& w, const std::string& socket, bool as_json) {
  if (w.size() == 1) {
    return call(socket, "GET", "/api/v1/cache", "", as_json, [](const json& j) {
      std::printf("%-20s %12s %12s %9s %10s %10s %9s %10s\n", "LISTENER", "BYTES", "MAX", "ENTRIES",
                  "HITS", "MISSES", "STALE", "EVICTIONS");
      for (const auto& c : j["caches"]) {
        std::printf("%-20s %12s %12s %9s %10s %10s %9s %10s\n", str(c["listener"]).c_str(),
                    str(c["bytes"]).c_str(), str(c["max_bytes"]).c_str(), str(c["entries"]).c_str(),
                    str(c["hits"]).c_str(), str(c["misses"]).c_str(), str(c["stale"]).c_str(),
                    str(c["evictions"]).c_str());
      }
    });
  }
  constexpr std::string_view kUsage =
      "cache purge KEY | cache purge --prefix PREFIX [--listener NAME]";
  if (w[1] != "purge") {
    return usage(std::string(kUsage));
  }
  json body = json::object();
  for (size_t i = 2; i < w.size(); ++i) {
    if ((w[i] == "--prefix" || w[i] == "--listener") && i + 1 < w.size()) {
      body[w[i].substr(2)] = w[i + 1];
      ++i;
    } else if (!w[i].starts_with("--") && !body.contains("key")) {
      body["key"] = w[i];
    } else {
      return usage(std::string(kUsage));
    }
  }
  if (body.contains("key") == body.contains("prefix")) {
    return usage(std::string(kUsage));
  }
  return call(socket, "POST", "/api/v1/cache/purge", body.dump(), as_json,
              [](const json& j) { std::printf("purged: %s\n", str(j["purged"]).c_str()); });
}

}  // namespace

bool isControlCommand(const std::string& name) {
  return name == "status" || name == "show" || name == "backend" || name == "pool" ||
         name == "cache" || name == "reload" || name == "drain" || name == "doctor" ||
         name == "shell";
}

int runControlWords(const std::vector<std::string>& w, const std::string& socket, bool as_json) {
  if (w.empty()) {
    return kExitOk;
  }
  const std::string& cmd = w[0];
  if (cmd == "status") {
    return call(socket, "GET", "/api/v1/status", "", as_json, printStatus);
  }
  if (cmd == "show") {
    return show(w, socket, as_json);
  }
  if (cmd == "backend") {
    return backend(w, socket, as_json);
  }
  if (cmd == "pool") {
    if (w.size() != 3 || w[1] != "failback") {
      return usage("pool failback POOL");
    }
    return call(socket, "POST", "/api/v1/pools/" + w[2] + "/failback", "", as_json,
                [](const json& j) {
                  std::printf("%s: active group %s (was %s)\n", str(j["pool"]).c_str(),
                              str(j["active_group"]).c_str(), str(j["from"]).c_str());
                });
  }
  if (cmd == "cache") {
    return cache(w, socket, as_json);
  }
  if (cmd == "reload") {
    return call(socket, "POST", "/api/v1/reload", "", as_json, [](const json& j) {
      std::printf("reloaded: generation %s\n", str(j["generation"]).c_str());
    });
  }
  if (cmd == "drain") {
    return call(socket, "POST", "/api/v1/drain", "", as_json,
                [](const json& j) { std::printf("draining: %s\n", str(j["note"]).c_str()); });
  }
  return usage("unknown command '" + cmd + "'");
}

int controlMain(int argc, char** argv) {
  ControlArgs args;
  if (auto err = parse(argc, argv, args)) {
    return usage(*err);
  }
  if (args.help) {
    std::fwrite(kControlHelp.data(), 1, kControlHelp.size(), stdout);
    return kExitOk;
  }
  const std::string socket = adminSocketPath(args.socket);
  if (args.words[0] == "doctor") {
    return runDoctor(args.config, socket, args.json);
  }
  if (args.words[0] == "shell") {
    return runShell(socket);
  }
  return runControlWords(args.words, socket, args.json);
}

}  // namespace ballast::cli
