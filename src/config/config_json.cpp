// src/config/config_json.cpp — Config → JSON, field names as in the YAML.
#include "config/config_json.h"

#include <array>
#include <string_view>

namespace ballast::config {
namespace {

using nlohmann::json;

double seconds(Duration d) {
  constexpr double kMsPerSecond = 1000.0;
  return static_cast<double>(d.count()) / kMsPerSecond;
}

std::string_view hashKeyName(HashKey k) {
  switch (k) {
    case HashKey::kSourceIpPort:
      return "source_ip_port";
    case HashKey::kHeader:
      return "header";
    case HashKey::kCookie:
      return "cookie";
    case HashKey::kPath:
      return "path";
    case HashKey::kQuery:
      return "query";
    default:
      return "source_ip";
  }
}

json cidrs(const std::vector<net::Cidr>& list) {
  json out = json::array();
  for (const auto& c : list) {
    out.push_back(c.toString());
  }
  return out;
}

json aclJson(const AclRules& acl) {
  return {{"allow", cidrs(acl.allow)}, {"deny", cidrs(acl.deny)}, {"files", acl.files}};
}

std::string rateKeyText(const RateKeyPart& part) {
  switch (part.kind) {
    case RateKeyKind::kSourceIp:
      return "source_ip";
    case RateKeyKind::kHeader:
      return "header:" + part.name;
    case RateKeyKind::kCookie:
      return "cookie:" + part.name;
    case RateKeyKind::kPath:
      return "path";
    case RateKeyKind::kJwtClaim:
      return "jwt_claim:" + part.name;
  }
  return "";
}

json rateLimitsJson(const std::vector<RateLimitRule>& rules) {
  json out = json::array();
  for (const auto& r : rules) {
    json key = json::array();
    for (const auto& part : r.key) {
      key.push_back(rateKeyText(part));
    }
    out.push_back({{"name", r.name},
                   {"key", key},
                   {"rate", r.rate},
                   {"period_s", r.period_s},
                   {"burst", r.burst},
                   {"dry_run", r.dry_run}});
    if (r.store.enabled()) {
      constexpr std::array<const char*, 3> kFallbacks = {"allow", "deny", "local"};
      out.back()["store"] = r.store.url();
      out.back()["on_store_error"] = kFallbacks[static_cast<size_t>(r.on_store_error)];
    }
  }
  return out;
}

json jwtJson(const JwtAuth& jwt) {
  if (!jwt.enabled) {
    return {{"enabled", false}};
  }
  json claims = json::object();
  for (const auto& [claim, header] : jwt.forward_claims) {
    claims[claim] = header;
  }
  return {{"enabled", true},
          {"issuer", jwt.issuer},
          {"audiences", jwt.audiences},
          {"jwks_file", jwt.jwks_file},  // the path: keys stay out of the API
          {"jwks_url", jwt.jwks_url},
          {"optional", jwt.optional},
          {"clock_skew_s", seconds(jwt.clock_skew)},
          {"forward_claims", claims}};
}

json basicAuthJson(const BasicAuth& auth) {
  if (!auth.enabled) {
    return {{"enabled", false}};
  }
  return {{"enabled", true},
          {"realm", auth.realm},
          {"users_file", auth.users_file},  // the path: hashes stay out of the API
          {"forward_credentials", auth.forward_credentials}};
}

json forwardAuthJson(const ForwardAuth& auth) {
  if (!auth.enabled) {
    return {{"enabled", false}};
  }
  return {{"enabled", true},
          {"pool", auth.pool},
          {"path", auth.path},
          {"copy_request_headers", auth.copy_request_headers},
          {"copy_response_headers", auth.copy_response_headers},
          {"cache_ttl_s", seconds(auth.cache_ttl)},
          {"timeout_s", seconds(auth.timeout)}};
}

json corsJson(const CorsPolicy& cors) {
  if (!cors.enabled) {
    return {{"enabled", false}};
  }
  std::vector<std::string> origins = cors.origins;
  if (cors.any_origin) {
    origins.insert(origins.begin(), "*");
  }
  return {{"enabled", true},
          {"origins", origins},
          {"origin_regex", cors.origin_regexes},
          {"methods", cors.methods},
          {"headers", cors.headers},
          {"expose_headers", cors.expose_headers},
          {"credentials", cors.credentials},
          {"max_age_s", cors.max_age_s}};
}

json errorPagesJson(const ErrorPages& pages) {
  json files = json::object();
  for (const auto& [status, page] : pages.pages) {
    files[std::to_string(status)] = page.file;  // paths: the pages themselves stay out
  }
  return {{"pages", files},
          {"content_type", pages.content_type},
          {"backend_errors", pages.backend_errors}};
}

json compressJson(const CompressPolicy& c) {
  if (!c.enabled) {
    return {{"enabled", false}};
  }
  json algorithms = json::array();
  json levels = json::object();
  for (const auto e : c.algorithms) {
    algorithms.push_back(compress::encodingName(e));
    levels[std::string(compress::encodingName(e))] = c.level[static_cast<size_t>(e)];
  }
  return {{"enabled", true},
          {"algorithms", algorithms},
          {"types", c.types},
          {"min_size", c.min_size},
          {"level", levels}};
}

json cacheJson(const CachePolicy& c) {
  if (!c.enabled) {
    return {{"enabled", false}};
  }
  return {{"enabled", true},
          {"max_size", c.max_size},
          {"max_object_size", c.max_object_size},
          {"key", c.key},
          {"coalesce", c.coalesce},
          {"coalesce_timeout_ms", c.coalesce_timeout.count()},
          {"heuristic_freshness", c.heuristic_freshness}};
}

// A route's redirect:, rewrite: and respond: (bodies stay out; files are named).
void contentRulesJson(const Route& r, json& route) {
  if (r.redirect_to) {
    route["redirect"] = {{"status", r.redirect_to->status},
                         {"to", r.redirect_to->to},
                         {"regex", r.redirect_to->regex}};
  }
  if (r.rewrite) {
    route["rewrite"] = {{"prefix", r.rewrite->prefix},
                        {"regex", r.rewrite->regex},
                        {"replace", r.rewrite->replace},
                        {"host", r.rewrite->host}};
  }
  if (r.respond) {
    json headers = json::object();
    for (const auto& [name, value] : r.respond->headers) {
      headers[name] = value;
    }
    route["respond"] = {{"status", r.respond->status},
                        {"file", r.respond->file},
                        {"body_bytes", r.respond->body.size()},
                        {"content_type", r.respond->content_type},
                        {"headers", headers}};
  }
  if (r.cors) {
    route["cors"] = corsJson(*r.cors);
  }
  if (r.error_pages) {
    route["error_pages"] = errorPagesJson(*r.error_pages);
  }
  if (r.compress) {
    route["compress"] = compressJson(*r.compress);
  }
  if (r.cache) {
    route["cache"] = cacheJson(*r.cache);
  }
}

json listenerJson(const Listener& l) {
  json j = {{"name", l.name},
            {"bind", l.bind.toString()},
            {"protocol", protocolName(l.protocol)},
            {"pool", l.pool},
            {"timeouts",
             {{"connect_s", seconds(l.timeouts.connect)}, {"idle_s", seconds(l.timeouts.idle)}}},
            {"limits",
             {{"max_connections", l.limits.max_connections},
              {"max_flows", l.limits.max_flows},
              {"buffer_bytes", l.limits.buffer_bytes}}}};
  if (l.protocol == Protocol::kTlsPassthrough) {
    json sni = json::array();
    for (const auto& r : l.sni) {
      sni.push_back({{"names", r.names}, {"pool", r.pool}});
    }
    j["tls"] = {{"sni", sni}, {"timeouts", {{"client_hello_s", seconds(l.timeouts.client_hello)}}}};
  }
  if (isHttp(l.protocol)) {
    json routes = json::array();
    for (const auto& r : l.http.routes) {
      json route = {{"name", r.name},
                    {"pool", r.pool},
                    {"host", r.match.host},
                    {"path", r.match.path},
                    {"methods", r.match.methods}};
      if (!r.acl.allow.empty() || !r.acl.deny.empty() || !r.acl.files.empty()) {
        route["acl"] = aclJson(r.acl);
      }
      if (r.deny_status != 0) {
        route["deny"] = r.deny_status;
      }
      if (!r.rate_limits.empty()) {
        route["rate_limits"] = rateLimitsJson(r.rate_limits);
      }
      if (r.jwt) {
        route["jwt"] = jwtJson(*r.jwt);
      }
      if (r.basic_auth) {
        route["basic_auth"] = basicAuthJson(*r.basic_auth);
      }
      if (r.forward_auth) {
        route["forward_auth"] = forwardAuthJson(*r.forward_auth);
      }
      contentRulesJson(r, route);
      routes.push_back(std::move(route));
    }
    j["http"] = {{"routes", routes},
                 {"trusted_proxies", cidrs(l.http.trusted_proxies)},
                 {"forwarded_rfc7239", l.http.forwarded_rfc7239},
                 {"http2", l.http.http2},
                 {"access_log", l.http.access_log},
                 {"timeouts",
                  {{"header_s", seconds(l.http.timeouts.header)},
                   {"keep_alive_s", seconds(l.http.timeouts.keep_alive)},
                   {"response_header_s", seconds(l.http.timeouts.response_header)},
                   {"body_idle_s", seconds(l.http.timeouts.body_idle)}}},
                 {"limits",
                  {{"max_request_line", l.http.limits.max_request_line},
                   {"max_header_bytes", l.http.limits.max_header_bytes},
                   {"max_headers", l.http.limits.max_headers},
                   {"max_body", l.http.limits.max_body}}},
                 {"rate_limits", rateLimitsJson(l.http.rate_limits)},
                 {"jwt", jwtJson(l.http.jwt)},
                 {"basic_auth", basicAuthJson(l.http.basic_auth)},
                 {"forward_auth", forwardAuthJson(l.http.forward_auth)},
                 {"cors", corsJson(l.http.cors)},
                 {"error_pages", errorPagesJson(l.http.error_pages)},
                 {"compress", compressJson(l.http.compress)},
                 {"cache", cacheJson(l.http.cache)}};
  }
  if (!l.acl.allow.empty() || !l.acl.deny.empty() || !l.acl.files.empty()) {
    j["acl"] = aclJson(l.acl);
  }
  if (l.protocol == Protocol::kHttps) {
    json certs = json::array();
    for (const auto& c : l.tls.certificates) {
      certs.push_back({{"cert", c.cert}, {"key", c.key}});  // paths only, never the key
    }
    j["tls"] = {{"certificates", certs},
                {"min_version", l.tls.min_version == TlsVersion::k13 ? "1.3" : "1.2"},
                {"ciphers", l.tls.ciphers},
                {"ciphersuites", l.tls.ciphersuites},
                {"alpn", l.tls.alpn},
                {"session_tickets", l.tls.session_tickets}};
  }
  return j;
}

json poolJson(const Pool& p) {
  json backends = json::array();
  for (const auto& b : p.backends) {
    json backend = {{"address", b.address.toString()}, {"weight", b.weight}};
    if (b.health_check) {
      // The effective check after this backend's overrides: what tells it apart.
      json own = {{"type", healthCheckTypeName(b.health_check->type)},
                  {"interval_s", seconds(b.health_check->interval)}};
      if (b.health_check->address) {
        std::string ip = b.health_check->address->toString();
        ip.resize(ip.rfind(':'));  // no port of its own: "127.0.0.2:0" → "127.0.0.2"
        own["address"] = ip;
      }
      if (b.health_check->port != 0) {
        own["port"] = b.health_check->port;
      }
      backend["health_check"] = std::move(own);
    }
    if (b.max_connections != 0) {
      backend["max_connections"] = b.max_connections;
    }
    if (b.backup) {
      backend["backup"] = true;
    }
    backends.push_back(std::move(backend));
  }
  const auto& hc = p.health_check;
  json check = {{"type", healthCheckTypeName(hc.type)},
                {"interval_s", seconds(hc.interval)},
                {"timeout_s", seconds(hc.timeout)},
                {"rise", hc.rise},
                {"fall", hc.fall}};
  if (hc.type == HealthCheckType::kHttp) {
    check["path"] = hc.path;
    check["method"] = hc.method;
    check["expect_status"] = {hc.expect_status_min, hc.expect_status_max};
  }
  if (hc.type == HealthCheckType::kGrpc) {
    check["service"] = hc.service;
  }
  if (hc.backoff_max.count() > 0) {
    check["backoff_max_s"] = seconds(hc.backoff_max);
  }
  if (hc.port != 0) {
    check["port"] = hc.port;
  }
  json j = {{"name", p.name},
            {"algorithm", balance::algorithmName(p.algorithm)},
            {"hash_key", hashKeyName(p.hash_key)},
            {"connect_retries", p.connect_retries},
            {"backends", backends},
            {"health_check", check},
            {"keepalive",
             {{"max_idle", p.keepalive.max_idle},
              {"idle_timeout_s", seconds(p.keepalive.idle_timeout)},
              {"max_requests", p.keepalive.max_requests}}}};
  if (p.retries.enabled) {
    j["retries"] = {{"attempts", p.retries.attempts},
                    {"on_mask", p.retries.on},
                    {"per_try_timeout_ms", p.retries.per_try_timeout.count()},
                    {"backoff_ms", {p.retries.backoff_base.count(), p.retries.backoff_max.count()}},
                    {"budget_percent", p.retries.budget_percent},
                    {"min_concurrency", p.retries.min_concurrency},
                    {"retry_non_idempotent", p.retries.non_idempotent},
                    {"retry_buffer", p.retries.buffer_bytes}};
  }
  if (p.circuit_breaker.enabled) {
    const CircuitBreaker& cb = p.circuit_breaker;
    j["circuit_breaker"] = {{"max_connections", cb.max_connections},
                            {"max_requests", cb.max_requests},
                            {"max_pending", cb.max_pending},
                            {"queue_timeout_ms", cb.queue_timeout.count()},
                            {"max_retries", cb.max_retries},
                            {"failure_threshold", cb.failure_threshold},
                            {"recovery_timeout_ms", cb.recovery_timeout.count()},
                            {"half_open_requests", cb.half_open_requests}};
  }
  if (p.all_backups) {
    j["allbackups"] = true;
  }
  if (!p.groups.empty()) {
    json groups = json::array();
    for (const auto& g : p.groups) {
      json members = json::array();
      for (const uint32_t i : g.backends) {
        members.push_back(p.backends[i].address.toString());
      }
      groups.push_back({{"name", g.name},
                        {"priority", g.priority},
                        {"min_healthy", g.min_healthy},
                        {"backends", members}});
    }
    j["groups"] = groups;
    j["failback"] = p.failback == Failback::kAuto ? "auto" : "manual";
  }
  if (p.slow_start.count() > 0) {
    j["slow_start_ms"] = p.slow_start.count();
  }
  if (!p.hash_key_name.empty()) {
    j["hash_key_name"] = p.hash_key_name;
  }
  if (p.upstream_protocol != UpstreamProtocol::kHttp1) {
    j["upstream_protocol"] = p.upstream_protocol == UpstreamProtocol::kH2 ? "h2" : "h2c";
    j["max_streams_per_connection"] = p.max_streams_per_connection;
  }
  if (!p.sticky_cookie.empty()) {
    j["sticky"] = {{"cookie", p.sticky_cookie}, {"ttl_s", seconds(p.sticky_ttl)}};
    if (!p.sticky_key_file.empty()) {
      j["sticky"]["key_file"] = p.sticky_key_file;  // the path only: the key stays out of the API
    }
    if (p.sticky_store.enabled()) {
      j["sticky"]["store"] = p.sticky_store.url();
    }
  }
  if (p.discovery.hasFile()) {
    j["discovery"] = {{"file", p.discovery.file}};  // backends: the file's set in force
  }
  if (p.discovery.hasKubernetes()) {
    const auto& k = p.discovery.kubernetes;
    j["discovery"] = {{"kubernetes",
                       {{"namespace", k.namespace_name},
                        {"service", k.service},
                        {"port", k.port},
                        {"kubeconfig", k.kubeconfig},
                        {"in_cluster", k.in_cluster}}}};
  }
  return j;
}

json serverJson(const ServerLimits& l, const ServerTimeouts& t, bool admin) {
  json limits = {{"max_connections", l.max_connections},
                 {"max_connections_per_peer", l.max_connections_per_peer}};
  json timeouts = {{"header_s", seconds(t.header)}, {"idle_s", seconds(t.idle)}};
  if (admin) {
    limits["unix_connections"] = l.unix_connections;
    limits["max_event_streams"] = l.max_event_streams;
    timeouts["handshake_s"] = seconds(t.handshake);
  }
  return {{"limits", limits}, {"timeouts", timeouts}};
}

}  // namespace

std::string_view healthCheckTypeName(HealthCheckType t) {
  switch (t) {
    case HealthCheckType::kTcp:
      return "tcp";
    case HealthCheckType::kHttp:
      return "http";
    case HealthCheckType::kTls:
      return "tls";
    case HealthCheckType::kPostgres:
      return "postgres";
    case HealthCheckType::kMysql:
      return "mysql";
    case HealthCheckType::kRedis:
      return "redis";
    case HealthCheckType::kSendExpect:
      return "send_expect";
    case HealthCheckType::kDns:
      return "dns";
    case HealthCheckType::kExec:
      return "exec";
    case HealthCheckType::kGrpc:
      return "grpc";
    default:
      return "none";
  }
}

json toJson(const Config& config) {
  json listeners = json::array();
  for (const auto& l : config.listeners) {
    listeners.push_back(listenerJson(l));
  }
  json pools = json::array();
  for (const auto& p : config.pools) {
    pools.push_back(poolJson(p));
  }
  json admin = {{"socket", config.admin.socket},
                {"insecure", config.admin.insecure},
                {"audit_log", config.admin.audit_log},
                {"auth",
                 {{"tokens_file", config.admin.auth.tokens_file},
                  {"jwt_hs256_secret_file", config.admin.auth.jwt_hs256_secret_file},
                  {"jwt_rs256_public_key_file", config.admin.auth.jwt_rs256_public_key_file},
                  {"allow", cidrs(config.admin.auth.allow)},
                  {"rate_limit_per_sec", config.admin.auth.rate_limit_per_sec},
                  {"audience", config.admin.auth.audience},
                  {"issuer", config.admin.auth.issuer}}}};
  admin.update(serverJson(config.admin.limits, config.admin.timeouts, true));
  if (config.admin.bind) {
    admin["bind"] = config.admin.bind->toString();
  }
  json metrics = {{"path", config.metrics.path}};
  metrics.update(serverJson(config.metrics.limits, config.metrics.timeouts, false));
  if (config.metrics.bind) {
    metrics["bind"] = config.metrics.bind->toString();
  }
  json uplinks = json::array();
  for (const auto& u : config.uplinks) {
    uplinks.push_back({{"interface", u.interface}});
  }
  json services = json::array();
  for (const auto& v : config.virtual_services) {
    services.push_back({{"name", v.name}});
  }
  json bgp = nullptr;
  if (config.bgp.present) {
    json peers = json::array();
    for (const auto& p : config.bgp.peers) {
      peers.push_back({{"address", p.address.hostString()}, {"asn", p.asn}});
    }
    bgp = {{"daemon", config.bgp.daemon == BgpDaemon::kBird ? "bird" : "frr"},
           {"asn", config.bgp.asn},
           {"router_id", config.bgp.router_id.hostString()},
           {"peers", peers},
           {"vips", cidrs(config.bgp.vips)},
           {"announce_when",
            config.bgp.announce_when == BgpAnnounceWhen::kHealthy ? "healthy" : "always"},
           {"hold_time_s", config.bgp.hold_time.count()},
           {"state_dir", config.bgp.state_dir}};
  }
  return {{"workers", config.workers},
          {"shutdown_timeout_s", seconds(config.shutdown_timeout)},
          {"listeners", listeners},
          {"pools", pools},
          {"admin", admin},
          {"metrics", metrics},
          {"reload", {{"watch", config.reload.watch}}},
          {"virtual_services", services},
          {"uplinks", uplinks},
          {"lan_interfaces", config.lan_interfaces},
          {"bgp", bgp}};
}

std::string_view protocolName(Protocol p) {
  switch (p) {
    case Protocol::kTcp:
      return "tcp";
    case Protocol::kUdp:
      return "udp";
    case Protocol::kHttps:
      return "https";
    case Protocol::kTlsPassthrough:
      return "tls_passthrough";
    default:
      return "http";
  }
}

}  // namespace ballast::config
