// src/config/control_sections.cpp — `admin:`, `metrics:` and `reload:`.
#include <array>
#include <string_view>

#include "config/plane_sections.h"

namespace ballast::config {
namespace {

using namespace std::string_view_literals;

constexpr std::array kAdminKeys = {"socket"sv, "bind"sv,      "tls"sv,    "insecure"sv,
                                   "auth"sv,   "audit_log"sv, "limits"sv, "timeouts"sv};
constexpr std::array kAdminLimitKeys = {"max_connections"sv, "max_connections_per_peer"sv,
                                        "unix_connections"sv, "max_event_streams"sv};
constexpr std::array kAdminTimeoutKeys = {"header"sv, "idle"sv, "handshake"sv};
constexpr std::array kMetricsLimitKeys = {"max_connections"sv, "max_connections_per_peer"sv};
constexpr std::array kMetricsTimeoutKeys = {"header"sv, "idle"sv};
constexpr std::array kAdminTlsKeys = {"cert"sv, "key"sv};
constexpr std::array kAdminAuthKeys = {
    "tokens_file"sv, "jwt_hs256_secret_file"sv, "jwt_rs256_public_key_file"sv,
    "allow"sv,       "rate_limit_per_sec"sv,    "audience"sv,
    "issuer"sv};
constexpr std::array kMetricsKeys = {"bind"sv, "path"sv, "limits"sv, "timeouts"sv};
constexpr std::array kReloadKeys = {"watch"sv};
constexpr std::string_view kCidrExpected = "an address or CIDR (\"10.0.0.0/8\", \"::1\")";
constexpr uint64_t kMaxAdminRate = 100000;

// Mapping sections may come from one file only; `seen` remembers that one already did.
bool firstTime(FileReader& file, const Field& f, bool& seen) {
  if (seen) {
    file.error(f.key_mark, f.key + ": already set in another file; set it in one file only");
    return false;
  }
  seen = true;
  return true;
}

// `limits:` of admin or metrics (metrics has no unix socket and no event streams).
template <size_t N>
void readServerLimits(FileReader& file, const Field& field, std::string_view where,
                      const std::array<std::string_view, N>& keys, ServerLimits& limits) {
  const MapReader map(file, field, where, keys);
  if (const Field* f = map.find("max_connections")) {
    assign(limits.max_connections, readUnsigned(file, *f, 1, kMaxControlConnections));
  }
  if (const Field* f = map.find("max_connections_per_peer")) {
    assign(limits.max_connections_per_peer, readUnsigned(file, *f, 1, kMaxControlConnections));
  }
  if (const Field* f = map.find("unix_connections")) {
    assign(limits.unix_connections, readUnsigned(file, *f, 1, kMaxControlConnections));
  }
  if (const Field* f = map.find("max_event_streams")) {
    assign(limits.max_event_streams, readUnsigned(file, *f, 0, kMaxControlConnections));
  }
}

template <size_t N>
void readServerTimeouts(FileReader& file, const Field& field, std::string_view where,
                        const std::array<std::string_view, N>& keys, ServerTimeouts& timeouts) {
  const MapReader map(file, field, where, keys);
  if (const Field* f = map.find("header")) {
    assign(timeouts.header, readDuration(file, *f, /*positive=*/true));
  }
  if (const Field* f = map.find("idle")) {
    assign(timeouts.idle, readDuration(file, *f, /*positive=*/true));
  }
  if (const Field* f = map.find("handshake")) {
    assign(timeouts.handshake, readDuration(file, *f, /*positive=*/true));
  }
}

void readAuth(FileReader& file, const Field& field, AdminAuth& auth) {
  const MapReader map(file, field, "admin.auth", kAdminAuthKeys);
  if (const Field* f = map.find("tokens_file")) {
    assign(auth.tokens_file, readFilePath(file, *f, false));
  }
  if (const Field* f = map.find("jwt_hs256_secret_file")) {
    assign(auth.jwt_hs256_secret_file, readFilePath(file, *f, false));
  }
  if (const Field* f = map.find("jwt_rs256_public_key_file")) {
    assign(auth.jwt_rs256_public_key_file, readFilePath(file, *f, false));
  }
  if (const Field* f = map.find("allow")) {
    for (const auto& item : listItems(file, *f, "allow entry")) {
      const auto text = readScalar(file, item, kCidrExpected);
      if (!text) {
        continue;
      }
      const auto cidr = net::Cidr::parse(*text);
      if (!cidr) {
        reportExpected(file, item, kCidrExpected, quote(*text));
        continue;
      }
      auth.allow.push_back(*cidr);
    }
  }
  if (const Field* f = map.find("rate_limit_per_sec")) {
    assign(auth.rate_limit_per_sec, readUnsigned(file, *f, 0, kMaxAdminRate));
  }
  if (const Field* f = map.find("audience")) {
    assign(auth.audience, readScalar(file, *f, "a JWT audience"));
  }
  if (const Field* f = map.find("issuer")) {
    assign(auth.issuer, readScalar(file, *f, "a JWT issuer"));
  }
}

void readAdmin(FileReader& file, const Field& field, AdminSettings& admin) {
  const MapReader map(file, field, "admin", kAdminKeys);
  if (const Field* f = map.find("socket")) {
    assign(admin.socket, readFilePath(file, *f, /*allow_empty=*/true));
  }
  const Field* bind = map.find("bind");
  if (bind != nullptr) {
    admin.bind = readAddress(file, *bind);
  }
  if (const Field* f = map.find("tls")) {
    const MapReader tls(file, *f, "admin.tls", kAdminTlsKeys);
    if (const Field* c = tls.find("cert")) {
      assign(admin.tls.cert, readFilePath(file, *c, false));
    }
    if (const Field* k = tls.find("key")) {
      assign(admin.tls.key, readFilePath(file, *k, false));
    }
    if (admin.tls.cert.empty() != admin.tls.key.empty()) {
      file.error(f->key_mark, "tls: set both cert and key");
    }
  }
  if (const Field* f = map.find("insecure")) {
    assign(admin.insecure, readBool(file, *f));
  }
  if (const Field* f = map.find("auth")) {
    readAuth(file, *f, admin.auth);
  }
  if (const Field* f = map.find("audit_log")) {
    assign(admin.audit_log, readFilePath(file, *f, /*allow_empty=*/true));
  }
  if (const Field* f = map.find("limits")) {
    readServerLimits(file, *f, "admin.limits", kAdminLimitKeys, admin.limits);
  }
  if (const Field* f = map.find("timeouts")) {
    readServerTimeouts(file, *f, "admin.timeouts", kAdminTimeoutKeys, admin.timeouts);
  }
  // Plain HTTP off loopback would send tokens in the clear to anyone on the path.
  if (admin.bind && !admin.bind->isLoopback() && admin.tls.cert.empty() && !admin.insecure) {
    file.error(bind->valueMark(),
               "bind: plain HTTP is allowed only on loopback; add tls: {cert, key} or, knowing "
               "that tokens then cross the network in the clear, insecure: true");
  }
}

void readMetrics(FileReader& file, const Field& field, MetricsSettings& metrics) {
  const MapReader map(file, field, "metrics", kMetricsKeys);
  if (const Field* f = map.find("bind")) {
    metrics.bind = readAddress(file, *f);
  }
  if (const Field* f = map.find("path")) {
    const auto text = readScalar(file, *f, "a URL path starting with /");
    if (text && text->starts_with('/') && text->find_first_of(" ?#") == std::string::npos) {
      metrics.path = *text;
    } else if (text) {
      reportExpected(file, *f, "a URL path starting with /", quote(*text));
    }
  }
  if (const Field* f = map.find("limits")) {
    readServerLimits(file, *f, "metrics.limits", kMetricsLimitKeys, metrics.limits);
  }
  if (const Field* f = map.find("timeouts")) {
    readServerTimeouts(file, *f, "metrics.timeouts", kMetricsTimeoutKeys, metrics.timeouts);
  }
}

}  // namespace

void readControlSections(FileReader& file, const MapReader& top, Config& config) {
  if (const Field* f = top.find("admin");
      f != nullptr && firstTime(file, *f, config.admin.present)) {
    readAdmin(file, *f, config.admin);
  }
  if (const Field* f = top.find("metrics");
      f != nullptr && firstTime(file, *f, config.metrics.present)) {
    readMetrics(file, *f, config.metrics);
  }
  if (const Field* f = top.find("reload");
      f != nullptr && firstTime(file, *f, config.reload.present)) {
    const MapReader map(file, *f, "reload", kReloadKeys);
    if (const Field* w = map.find("watch")) {
      assign(config.reload.watch, readBool(file, *w));
    }
  }
}

}  // namespace ballast::config
