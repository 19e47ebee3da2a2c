// src/config/sections.cpp — the listener and pool schema: keys, types and ranges. What only an
// http listener has is read by http_sections.cpp.
#include "config/sections.h"

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <optional>
#include <span>
#include <string_view>
#include <unordered_map>

#include "config/acl_sections.h"
#include "config/discovery_file.h"
#include "config/discovery_kubernetes_section.h"
#include "config/edge_sections.h"
#include "config/file_text.h"
#include "config/forward_auth_sections.h"
#include "config/host_names.h"
#include "config/http_fields.h"
#include "config/http_sections.h"
#include "config/limits.h"
#include "config/rate_limit_sections.h"
#include "config/sni_sections.h"
#include "config/tls_sections.h"
#include "config/units.h"

namespace ballast::config {
namespace {

using namespace std::string_view_literals;

// `routes` and the other http keys are listed for every protocol: they are listener keys, and a
// tcp listener that has one is told it needs protocol: http rather than that the key does not
// exist.
constexpr std::array kListenerKeys = {"name"sv,
                                      "bind"sv,
                                      "protocol"sv,
                                      "pool"sv,
                                      "timeouts"sv,
                                      "limits"sv,
                                      "proxy_protocol"sv,
                                      "acl"sv,
                                      "rate_limit"sv,
                                      "jwt"sv,
                                      "basic_auth"sv,
                                      "forward_auth"sv,
                                      "routes"sv,
                                      "trusted_proxies"sv,
                                      "forwarded"sv,
                                      "access_log"sv,
                                      "http2"sv,
                                      "http2_limits"sv,
                                      "redirect_https"sv,
                                      "hsts"sv,
                                      "security_headers"sv,
                                      "cors"sv,
                                      "error_pages"sv,
                                      "compress"sv,
                                      "cache"sv,
                                      "tls"sv,
                                      "sni"sv};
constexpr std::array kTimeoutKeys = {"connect"sv, "idle"sv};
constexpr std::array kLimitKeys = {"max_connections"sv,        "max_flows"sv,
                                   "buffer_bytes"sv,           "max_connections_per_ip"sv,
                                   "connection_rate_per_ip"sv, "connection_burst_per_ip"sv,
                                   "per_ip_prefix"sv};
constexpr std::array kPerIpPrefixKeys = {"ipv4"sv, "ipv6"sv};
constexpr uint64_t kIpv4Bits = 32;
constexpr uint64_t kIpv6Bits = 128;
// As for rate_limit rules: the shared GCRA table keeps times in 48 bits of µs.
constexpr uint64_t kMaxRateBurst = 1'000'000;
constexpr uint64_t kMaxRefillSeconds = 7 * 24 * 3600;

template <size_t N, size_t M>
constexpr std::array<std::string_view, N + M> concat(const std::array<std::string_view, N>& a,
                                                     const std::array<std::string_view, M>& b) {
  std::array<std::string_view, N + M> out{};
  std::copy(a.begin(), a.end(), out.begin());
  std::copy(b.begin(), b.end(), out.begin() + N);
  return out;
}

constexpr auto kHttpTimeoutKeys = concat(kTimeoutKeys, kHttpOnlyTimeoutKeys);
constexpr auto kTlsTimeoutKeys = concat(kTimeoutKeys, kTlsOnlyTimeoutKeys);
constexpr auto kAnyTimeoutKeys = concat(kHttpTimeoutKeys, kTlsOnlyTimeoutKeys);
constexpr auto kNotL4TimeoutKeys = concat(kHttpOnlyTimeoutKeys, kTlsOnlyTimeoutKeys);
constexpr auto kHttpLimitKeys = concat(kLimitKeys, kHttpOnlyLimitKeys);
constexpr std::array kProxyProtocolKeys = {"send"sv, "accept"sv};
constexpr std::array kPoolKeys = {"name"sv,
                                  "algorithm"sv,
                                  "hash_key"sv,
                                  "connect_retries"sv,
                                  "backends"sv,
                                  "health_check"sv,
                                  "sticky"sv,
                                  "keepalive"sv,
                                  "tls"sv,
                                  "retries"sv,
                                  "outlier_detection"sv,
                                  "discovery"sv,
                                  "upstream_protocol"sv,
                                  "max_streams_per_connection"sv,
                                  "circuit_breaker"sv,
                                  "slow_start"sv,
                                  "allbackups"sv,
                                  "groups"sv,
                                  "failback"sv};
constexpr std::array kDiscoveryKeys = {"file"sv, "dns_srv"sv, "kubernetes"sv};
constexpr std::array kKeepaliveKeys = {"max_idle"sv, "idle_timeout"sv, "max_requests"sv};
constexpr std::array kStickyKeys = {"cookie"sv, "ttl"sv, "key_file"sv, "store"sv};
// A signing key shorter than this is refused: 32 characters (`openssl rand -hex 16`, 128 bits)
// are the least that keeps a forged cookie out of reach.
constexpr size_t kMinStickyKeyBytes = 32;
constexpr std::chrono::seconds kStickyTtlUnit{1};  // the unit of a cookie's Max-Age
constexpr std::array kBackendKeys = {"address"sv, "weight"sv, "health_check"sv, "max_connections"sv,
                                     "backup"sv};

constexpr std::array<Choice<Protocol>, 5> kProtocols = {{
    {"tcp", Protocol::kTcp},
    {"udp", Protocol::kUdp},
    {"http", Protocol::kHttp},
    {"https", Protocol::kHttps},
    {"tls_passthrough", Protocol::kTlsPassthrough},
}};
constexpr std::array<Choice<UpstreamProtocol>, 3> kUpstreamProtocols = {{
    {"http1", UpstreamProtocol::kHttp1},
    {"h2", UpstreamProtocol::kH2},
    {"h2c", UpstreamProtocol::kH2c},
}};
constexpr std::array<Choice<ProxyProtocolVersion>, 3> kProxyVersions = {{
    {"none", ProxyProtocolVersion::kNone},
    {"v1", ProxyProtocolVersion::kV1},
    {"v2", ProxyProtocolVersion::kV2},
}};
// Keys that are one word, and those that name a header, cookie or query parameter after a prefix.
constexpr std::array<Choice<HashKey>, 3> kPlainHashKeys = {{
    {"source_ip", HashKey::kSourceIp},
    {"source_ip_port", HashKey::kSourceIpPort},
    {"path", HashKey::kPath},
}};
constexpr std::array<Choice<HashKey>, 3> kNamedHashKeys = {{
    {"header:", HashKey::kHeader},
    {"cookie:", HashKey::kCookie},
    {"query:", HashKey::kQuery},
}};
constexpr std::string_view kHashKeyExpected =
    "one of source_ip, source_ip_port, path, header:NAME, cookie:NAME, query:NAME";

// Which keys a listener accepts follows its protocol. kAny when the protocol could not be read:
// every key is then read for its own errors but none is blamed on the protocol, so one typo in
// `protocol:` does not bring a cascade of errors. kTls is L4 with the tls_passthrough keys.
enum class Schema : uint8_t { kL4, kTls, kHttp, kAny };

std::string_view protocolName(Protocol p) {
  for (const auto& c : kProtocols) {
    if (c.value == p) {
      return c.name;
    }
  }
  return "?";
}

void reportHttpOnly(FileReader& file, const Field& field, Protocol protocol) {
  file.error(field.key_mark,
             field.key + ": only for protocol: http, not " + std::string(protocolName(protocol)));
}

void reportHttpOnlyKeys(FileReader& file, const MapReader& map,
                        std::span<const std::string_view> keys, Protocol protocol) {
  for (const auto key : keys) {
    if (const Field* f = map.find(key)) {
      reportHttpOnly(file, *f, protocol);
    }
  }
}

void reportTlsOnlyKeys(FileReader& file, const MapReader& map,
                       std::span<const std::string_view> keys, Protocol protocol) {
  for (const auto key : keys) {
    if (const Field* f = map.find(key)) {
      file.error(f->key_mark, f->key + ": only for protocol: tls_passthrough, not " +
                                  std::string(protocolName(protocol)));
    }
  }
}

MapReader timeoutsMap(FileReader& file, const Field& field, Schema schema) {
  switch (schema) {
    case Schema::kL4:
      return {file, field, "timeouts", kTimeoutKeys, kNotL4TimeoutKeys};
    case Schema::kTls:
      return {file, field, "timeouts", kTlsTimeoutKeys, kHttpOnlyTimeoutKeys};
    case Schema::kHttp:
      return {file, field, "timeouts", kHttpTimeoutKeys, kTlsOnlyTimeoutKeys};
    case Schema::kAny:
      break;
  }
  return {file, field, "timeouts", kAnyTimeoutKeys};
}

void readTimeouts(FileReader& file, const Field& field, Schema schema, Listener& listener) {
  const bool l4 = schema == Schema::kL4 || schema == Schema::kTls;
  const MapReader map = timeoutsMap(file, field, schema);
  ListenerTimeouts& timeouts = listener.timeouts;
  if (const Field* f = map.find("connect")) {
    assign(timeouts.connect, readDuration(file, *f, /*positive=*/true));
  }
  if (const Field* f = map.find("idle")) {
    assign(timeouts.idle, readDuration(file, *f, /*positive=*/true));
  }
  if (l4) {
    reportHttpOnlyKeys(file, map, kHttpOnlyTimeoutKeys, listener.protocol);
  } else {
    readHttpTimeouts(file, map, listener.http.timeouts);
  }
  if (schema == Schema::kTls || schema == Schema::kAny) {
    readTlsTimeouts(file, map, timeouts);
  } else {
    reportTlsOnlyKeys(file, map, kTlsOnlyTimeoutKeys, listener.protocol);
  }
}

// Per client address, at accept: concurrent connections and a GCRA rate of new ones.
void readPerIpLimits(FileReader& file, const MapReader& map, Listener& listener) {
  ListenerLimits& limits = listener.limits;
  const Field* per_ip = nullptr;
  if (const Field* f = map.find("max_connections_per_ip")) {
    assign(limits.max_connections_per_ip, readUnsigned(file, *f, 0, kMaxListenerConnections));
    per_ip = f;
  }
  if (const Field* f = map.find("connection_rate_per_ip")) {
    if (const auto rate = readRateValue(file, *f)) {
      limits.connection_rate_per_ip = rate->count;
      limits.connection_rate_period_s = rate->period_s;
    }
    per_ip = f;
  }
  if (const Field* f = map.find("connection_burst_per_ip")) {
    assign(limits.connection_burst_per_ip, readUnsigned(file, *f, 1, kMaxRateBurst));
    if (map.find("connection_rate_per_ip") == nullptr) {
      file.error(f->key_mark, "connection_burst_per_ip: needs connection_rate_per_ip");
    }
  }
  if (limits.connection_burst_per_ip == 0) {
    limits.connection_burst_per_ip = std::min(limits.connection_rate_per_ip, kMaxRateBurst);
  }
  if (limits.connection_rate_per_ip > 0 && limits.connection_burst_per_ip *
                                                   limits.connection_rate_period_s /
                                                   limits.connection_rate_per_ip >
                                               kMaxRefillSeconds) {
    file.error(map.mark(), "limits: connection_burst_per_ip takes more than 7 days to refill");
  }
  if (const Field* f = map.find("per_ip_prefix")) {
    const MapReader prefixes(file, *f, "per_ip_prefix", kPerIpPrefixKeys);
    if (const Field* v4 = prefixes.find("ipv4")) {
      assign(limits.per_ip_ipv4_prefix, readUnsigned(file, *v4, 1, kIpv4Bits));
    }
    if (const Field* v6 = prefixes.find("ipv6")) {
      assign(limits.per_ip_ipv6_prefix, readUnsigned(file, *v6, 1, kIpv6Bits));
    }
  }
  if (per_ip != nullptr && listener.protocol == Protocol::kUdp) {
    file.error(per_ip->key_mark,
               "limits: per-IP connection limits apply to tcp, tls_passthrough, "
               "http and https listeners, not udp");
  }
}

void readLimits(FileReader& file, const Field& field, Schema schema, Listener& listener) {
  const bool l4 = schema == Schema::kL4 || schema == Schema::kTls;
  const MapReader map = l4 ? MapReader(file, field, "limits", kLimitKeys, kHttpOnlyLimitKeys)
                           : MapReader(file, field, "limits", kHttpLimitKeys);
  ListenerLimits& limits = listener.limits;
  if (const Field* f = map.find("max_connections")) {
    assign(limits.max_connections, readUnsigned(file, *f, 1, kMaxListenerConnections));
  }
  if (const Field* f = map.find("max_flows")) {
    assign(limits.max_flows, readUnsigned(file, *f, 1, kMaxListenerFlows));
  }
  if (const Field* f = map.find("buffer_bytes")) {
    assign(limits.buffer_bytes, readSize(file, *f, kMinBufferBytes, kMaxBufferBytes));
  }
  readPerIpLimits(file, map, listener);
  if (l4) {
    reportHttpOnlyKeys(file, map, kHttpOnlyLimitKeys, listener.protocol);
  } else {
    readHttpLimits(file, map, listener.http.limits);
  }
}

// An http listener's default pool is optional, but without one it must have a route to send
// anything anywhere.
void checkHttpTarget(FileReader& file, const MapReader& map, const Field* routes,
                     size_t route_items, const Listener& listener) {
  if (!listener.pool.empty() || route_items > 0 || listener.http.redirect.enabled) {
    return;  // a listener that redirects everything to https forwards nothing
  }
  const std::string who = "http listener \"" + listener.name + "\"";
  if (routes == nullptr) {
    file.error(map.mark(), who + " needs a default \"pool\" or at least one route");
  } else if (routes->value.IsNull() || routes->value.IsSequence()) {
    // A list with only broken entries was reported entry by entry already.
    file.error(routes->valueMark(),
               "routes: " + who + " has no pool, so it needs at least one route");
  }
}

// Likewise a tls_passthrough listener: a default pool, or an sni entry.
void checkTlsTarget(FileReader& file, const MapReader& map, const Field* sni, size_t sni_items,
                    const Listener& listener) {
  if (!listener.pool.empty() || sni_items > 0) {
    return;
  }
  const std::string who = "tls_passthrough listener \"" + listener.name + "\"";
  if (sni == nullptr) {
    file.error(map.mark(), who + " needs a default \"pool\" or at least one sni entry");
  } else if (sni->value.IsNull() || sni->value.IsSequence()) {
    file.error(sni->valueMark(), "sni: " + who + " has no pool, so it needs at least one entry");
  }
}

void readProxyProtocol(FileReader& file, const Field& field, ProxyProtocolConfig& pp) {
  const MapReader map(file, field, "proxy_protocol", kProxyProtocolKeys);
  if (const Field* f = map.find("send")) {
    assign(pp.send, readChoice<ProxyProtocolVersion>(file, *f, kProxyVersions));
  }
  if (const Field* f = map.find("accept")) {
    assign(pp.accept, readBool(file, *f));
  }
}

void readListener(FileReader& file, const Field& item, Config& config, SourceMap& sources) {
  const MapReader map(file, item, "listener", kListenerKeys);
  if (!map.ok()) {
    return;
  }
  Listener listener;
  ListenerSource source;
  if (const Field* f = map.require(file, "name")) {
    assign(listener.name, readName(file, *f));
    source.name = file.at(f->valueMark());
  }
  if (const Field* f = map.require(file, "bind")) {
    assign(listener.bind, readAddress(file, *f));
    source.bind = file.at(f->valueMark());
  }
  std::optional<Protocol> protocol = listener.protocol;
  if (const Field* f = map.find("protocol")) {
    protocol = readChoice<Protocol>(file, *f, kProtocols);
    assign(listener.protocol, protocol);
  }
  Schema schema = Schema::kAny;
  if (protocol) {
    schema = isHttp(*protocol)                        ? Schema::kHttp
             : *protocol == Protocol::kTlsPassthrough ? Schema::kTls
                                                      : Schema::kL4;
  }
  const bool l4 = schema == Schema::kL4 || schema == Schema::kTls;
  // tcp and udp proxy everything to one pool; http may instead route every request.
  const Field* pool = schema == Schema::kL4 ? map.require(file, "pool") : map.find("pool");
  bool pool_ok = true;
  if (pool != nullptr) {
    const auto name = readName(file, *pool);
    assign(listener.pool, name);
    pool_ok = name.has_value();
    source.pool = file.at(pool->valueMark());
  }
  if (const Field* f = map.find("timeouts")) {
    readTimeouts(file, *f, schema, listener);
  }
  if (const Field* f = map.find("limits")) {
    readLimits(file, *f, schema, listener);
  }
  if (const Field* f = map.find("proxy_protocol")) {
    readProxyProtocol(file, *f, listener.proxy_protocol);
  }
  if (const Field* f = map.find("acl")) {
    readAcl(file, *f, listener.acl);
  }
  if (protocol == Protocol::kHttps) {
    if (const Field* f = map.require(file, "tls")) {
      readTlsServer(file, *f, listener.tls);
    }
  } else if (const Field* f = map.find("tls"); f != nullptr && protocol) {
    file.error(f->key_mark,
               "tls: only for protocol: https, not " + std::string(protocolName(*protocol)));
  }
  const Field* routes = map.find("routes");
  size_t route_items = 0;
  if (routes != nullptr && l4) {
    reportHttpOnly(file, *routes, listener.protocol);
  } else if (routes != nullptr) {
    route_items = readRoutes(file, *routes, listener.name, listener.http.routes, source.routes);
  }
  if (l4) {
    reportHttpOnlyKeys(file, map, kHttpOnlyListenerKeys, listener.protocol);
  } else {
    readHttpSettings(file, map, listener.http);
    if (const Field* f = map.find("forward_auth")) {
      source.forward_auth = readForwardAuth(file, *f, listener.http.forward_auth);
    }
    checkEdgePolicy(file, map, listener);
    resolveEdgePolicy(listener);
    finishRateLimits(listener);
  }
  if (schema == Schema::kHttp && pool_ok) {
    checkHttpTarget(file, map, routes, route_items, listener);
  }
  const Field* sni = map.find("sni");
  size_t sni_items = 0;
  if (sni != nullptr && (schema == Schema::kTls || schema == Schema::kAny)) {
    sni_items = readSni(file, *sni, listener.sni, source.sni_pools);
  } else if (sni != nullptr) {
    file.error(sni->key_mark, "sni: only for protocol: tls_passthrough, not " +
                                  std::string(protocolName(listener.protocol)));
  }
  if (schema == Schema::kTls && pool_ok) {
    checkTlsTarget(file, map, sni, sni_items, listener);
  }
  source.protocol_known = schema != Schema::kAny;
  config.listeners.push_back(std::move(listener));
  sources.listeners.push_back(std::move(source));
}

std::optional<balance::Algorithm> readAlgorithm(FileReader& file, const Field& field) {
  // Listed from the enum so a new algorithm shows up in the message by itself.
  std::string names;
  for (auto a = static_cast<int>(balance::Algorithm::kRoundRobin);
       a <= static_cast<int>(balance::Algorithm::kConsistentHash); ++a) {
    names += (names.empty() ? "" : ", ") +
             std::string(balance::algorithmName(static_cast<balance::Algorithm>(a)));
  }
  const std::string expected = "one of " + names;
  const auto text = readScalar(file, field, expected);
  if (!text) {
    return std::nullopt;
  }
  const auto algorithm = balance::algorithmFromName(*text);
  if (!algorithm) {
    reportExpected(file, field, expected, quote(*text));
  }
  return algorithm;
}

// `NAME:port` with a DNS name (not an IP literal): a backend to resolve. Anything else is read
// as an IP address, whose errors say what is expected.
std::optional<DnsBackend> readNamedAddress(const Field& field) {
  if (!field.value.IsScalar()) {
    return std::nullopt;
  }
  const std::string text = field.value.Scalar();
  const size_t colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0 || text.find(':') != colon) {
    return std::nullopt;  // no port, or an IPv6 literal
  }
  const std::string_view host = std::string_view(text).substr(0, colon);
  const std::string_view port = std::string_view(text).substr(colon + 1);
  const bool has_letter = std::any_of(host.begin(), host.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
  });
  uint32_t n = 0;
  if (!has_letter || !isDottedName(host) || host.size() > kMaxDnsNameLength || port.empty() ||
      port.size() > kMaxPortDigits ||
      !std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return std::nullopt;
  }
  for (const char c : port) {
    n = n * 10 + static_cast<uint32_t>(c - '0');  // NOLINT(readability-magic-numbers)
  }
  if (n == 0 || n > UINT16_MAX) {
    return std::nullopt;
  }
  DnsBackend b;
  b.host = std::string(host);
  b.port = static_cast<uint16_t>(n);
  return b;
}

// Backend address → line of its first entry; hashed, as pools may be generated and large.
using SeenBackends = std::unordered_map<net::SocketAddress, int, net::SocketAddressHash>;

void readBackend(FileReader& file, const Field& item, const std::string& pool_name, Pool& pool,
                 SeenBackends& seen, bool allow_exec) {
  const MapReader map(file, item, "backend", kBackendKeys);
  if (!map.ok()) {
    return;
  }
  Backend backend;
  std::optional<net::SocketAddress> address;
  std::optional<DnsBackend> named;
  const Field* address_field = map.require(file, "address");
  if (address_field != nullptr) {
    named = readNamedAddress(*address_field);
    if (!named) {
      address = readAddress(file, *address_field);
    }
  }
  if (const Field* f = map.find("weight")) {
    assign(backend.weight, readUnsigned(file, *f, 0, kMaxWeight));
  }
  const Field* max_connections = map.find("max_connections");
  if (max_connections != nullptr) {
    assign(backend.max_connections, readUnsigned(file, *max_connections, 0, kMaxCircuitLimit));
  }
  if (const Field* f = map.find("health_check")) {
    auto check = std::make_shared<HealthCheck>(pool.health_check);
    readHealthCheck(file, *f, *check, {.allow_exec = allow_exec, .per_backend = true});
    backend.health_check = std::move(check);
  }
  if (const Field* f = map.find("backup")) {
    assign(backend.backup, readBool(file, *f));
    if (backend.backup && named) {
      // A name may resolve to several addresses; which would be "the first" backup is unclear.
      file.error(f->valueMark(), "backup: true needs a backend given by IP address");
    }
  }
  if (named) {
    if (max_connections != nullptr) {
      // Each resolved address would get its own share: not what the number reads as.
      file.error(max_connections->key_mark,
                 "max_connections: a backend given by name takes the pool's circuit_breaker "
                 "limits only");
      return;
    }
    named->weight = backend.weight;
    named->health_check = backend.health_check;
    pool.dns_backends.push_back(std::move(*named));
    return;
  }
  if (!address) {
    return;
  }
  const Location at = file.at(address_field->valueMark());
  const auto [it, inserted] = seen.emplace(*address, at.line);
  if (!inserted) {
    file.diagnostics().add(at, "address: duplicate backend " + address->toString() + " in pool \"" +
                                   pool_name + "\" (first at line " + std::to_string(it->second) +
                                   ")");
    return;
  }
  backend.address = *address;
  pool.backends.push_back(backend);
}

}  // namespace

// HTTP and gRPC checks of a pool that speaks TLS to its backends speak it too, with the same
// settings: a backend that only answers TLS would otherwise always look down.
void checkOverTls(Pool& pool) {
  const auto wrap = [&pool](HealthCheck& c) {
    if (c.type != HealthCheckType::kHttp && c.type != HealthCheckType::kGrpc) {
      return;
    }
    c.over_tls = true;
    c.sni = pool.tls.sni;
    c.verify = pool.tls.verify;
    c.ca = pool.tls.ca;
    c.client_cert = pool.tls.client_cert.cert;
    c.client_key = pool.tls.client_cert.key;
  };
  wrap(pool.health_check);
  for (auto& b : pool.backends) {
    if (b.health_check) {
      auto copy = std::make_shared<HealthCheck>(*b.health_check);
      wrap(*copy);
      b.health_check = std::move(copy);
    }
  }
}

void readBackends(FileReader& file, const Field& field, Pool& pool, bool allow_exec,
                  bool allow_empty) {
  const auto items = listItems(file, field, "backend");
  SeenBackends seen;
  for (const auto& item : items) {
    readBackend(file, item, pool.name, pool, seen, allow_exec);
  }
  // A list with only broken entries was reported entry by entry already.
  if (!allow_empty && items.empty() && (field.value.IsNull() || field.value.IsSequence())) {
    file.error(field.valueMark(), "pool \"" + pool.name + "\" has no backends");
  }
}

namespace {

// `discovery: {file}`: the backends come from that file, read now (so `validate` and a reload
// see what the pool will serve) and again whenever it changes.
void readDiscovery(FileReader& file, const Field& field, Pool& pool, bool allow_exec) {
  const MapReader map(file, field, "discovery", kDiscoveryKeys);
  if (!map.ok()) {
    return;
  }
  const Field* srv = map.find("dns_srv");
  const Field* f = map.find("file");
  if (const Field* k = map.find("kubernetes")) {
    if (srv != nullptr || f != nullptr) {
      file.error(k->key_mark, "discovery: kubernetes, file and dns_srv are exclusive");
      return;
    }
    readKubernetesDiscovery(file, *k, pool);
    return;
  }
  if (srv != nullptr && f != nullptr) {
    file.error(srv->key_mark, "discovery: file and dns_srv are exclusive");
    return;
  }
  if (srv != nullptr) {
    const auto name = readScalar(file, *srv, "a DNS SRV name such as _http._tcp.app.internal");
    if (name && isDottedName(*name) && name->size() <= kMaxDnsNameLength) {
      pool.discovery.dns_srv = *name;
    } else if (name) {
      reportExpected(file, *srv, "a DNS SRV name such as _http._tcp.app.internal", quote(*name));
    }
    return;
  }
  if (f == nullptr) {
    file.error(map.mark(), "discovery needs file, dns_srv or kubernetes");
    return;
  }
  auto path = readFilePath(file, *f, false);
  if (!path) {
    return;
  }
  pool.discovery.file = *path;
  readDiscoveryFile(pool, allow_exec, file.diagnostics());
}

void readKeepalive(FileReader& file, const Field& field, UpstreamKeepalive& k) {
  const MapReader map(file, field, "keepalive", kKeepaliveKeys);
  if (const Field* f = map.find("max_idle")) {
    assign(k.max_idle, readUnsigned(file, *f, 0, kMaxKeepaliveIdle));
  }
  if (const Field* f = map.find("idle_timeout")) {
    assign(k.idle_timeout, readDuration(file, *f, /*positive=*/true));
  }
  if (const Field* f = map.find("max_requests")) {
    assign(k.max_requests, readUnsigned(file, *f, 1, kMaxKeepaliveRequests));
  }
}

// Sets hash_key and hash_key_name, or reports why not and leaves them.
void readHashKey(FileReader& file, const Field& field, Pool& pool) {
  const auto text = readScalar(file, field, kHashKeyExpected);
  if (!text) {
    return;
  }
  for (const auto& c : kPlainHashKeys) {
    if (*text == c.name) {
      pool.hash_key = c.value;
      pool.hash_key_name.clear();
      return;
    }
  }
  for (const auto& c : kNamedHashKeys) {
    if (!text->starts_with(c.name)) {
      continue;
    }
    const std::string name = text->substr(c.name.size());
    const bool query = c.value == HashKey::kQuery;
    if (query ? !isQueryName(name) : !isToken(name)) {
      const std::string_view expected = query                         ? kQueryNameExpected
                                        : c.value == HashKey::kCookie ? kCookieNameExpected
                                                                      : kHeaderNameExpected;
      file.error(field.valueMark(), field.key + ": expected " + std::string(expected) +
                                        " after \"" + std::string(c.name) + "\", got " +
                                        quote(name));
      return;
    }
    pool.hash_key = c.value;
    pool.hash_key_name = name;
    return;
  }
  reportExpected(file, field, kHashKeyExpected, quote(*text));
}

void readSticky(FileReader& file, const Field& field, Pool& pool) {
  const MapReader map(file, field, "sticky", kStickyKeys);
  if (!map.ok()) {
    return;
  }
  if (const Field* f = map.require(file, "cookie")) {
    const auto text = readScalar(file, *f, kCookieNameExpected);
    if (text && isToken(*text)) {
      pool.sticky_cookie = *text;
    } else if (text) {
      reportExpected(file, *f, kCookieNameExpected, quote(*text));
    }
  }
  if (const Field* f = map.find("ttl")) {
    const auto ttl = readDuration(file, *f, /*positive=*/true);
    if (ttl && *ttl % kStickyTtlUnit != Duration::zero()) {
      // Rounding would change what was asked for, and below a second the cookie would expire
      // at once.
      file.error(f->valueMark(), "ttl: " + formatDuration(*ttl) +
                                     " is not a whole number of seconds, which the cookie's "
                                     "Max-Age counts in");
    } else {
      assign(pool.sticky_ttl, ttl);
    }
  }
  if (const Field* f = map.find("store")) {
    const auto text = readScalar(file, *f, "redis://HOST:PORT");
    if (!text) {
      return;
    }
    auto endpoint = parseRedisUrl(*text);
    if (!endpoint) {
      reportExpected(file, *f, "redis://HOST:PORT", quote(*text));
    } else if (map.find("key_file") != nullptr) {
      // A stored session id names nothing by itself: there is nothing for a key to sign.
      file.error(f->key_mark,
                 "store: the session id it issues is random and looked up in the "
                 "store, so key_file (signed cookies without a store) cannot be "
                 "given beside it");
      return;  // the key file is not read: it is not used
    } else {
      pool.sticky_store = std::move(*endpoint);
    }
  }
  if (const Field* f = map.find("key_file")) {
    const auto path = readFilePath(file, *f, false);
    std::string key;
    if (path) {
      if (const auto why = readWholeFile(*path, key)) {
        file.error(f->valueMark(), "key_file: cannot read " + *path + ": " + *why);
        return;
      }
      // `openssl rand -hex 32 > FILE` ends in a newline that is not part of the key.
      while (!key.empty() && (key.back() == '\n' || key.back() == '\r' || key.back() == ' ')) {
        key.pop_back();
      }
      if (key.size() < kMinStickyKeyBytes) {
        file.error(f->valueMark(), "key_file: " + *path + " holds " + std::to_string(key.size()) +
                                       " bytes; a signing key needs at least " +
                                       std::to_string(kMinStickyKeyBytes) +
                                       " (make one with `openssl rand -hex 32`)");
        return;
      }
      pool.sticky_key_file = *path;
      pool.sticky_key = std::move(key);
    }
  }
}

// h2 needs the pool's `tls:` (HTTP/2 is chosen by ALPN), h2c a cleartext pool.
void readUpstreamProtocol(FileReader& file, const MapReader& map, Pool& pool) {
  if (const Field* f = map.find("upstream_protocol")) {
    assign(pool.upstream_protocol, readChoice<UpstreamProtocol>(file, *f, kUpstreamProtocols));
    if (pool.upstream_protocol == UpstreamProtocol::kH2 && !pool.tls.enabled) {
      file.error(f->valueMark(),
                 "upstream_protocol: h2 needs the pool's tls (use h2c in cleartext)");
    } else if (pool.upstream_protocol == UpstreamProtocol::kH2c && pool.tls.enabled) {
      file.error(f->valueMark(), "upstream_protocol: h2c is cleartext; with tls use h2");
    }
    pool.tls.alpn_h2 = pool.upstream_protocol == UpstreamProtocol::kH2;
  }
  if (const Field* f = map.find("max_streams_per_connection")) {
    assign(pool.max_streams_per_connection,
           readUnsigned(file, *f, 1, kMaxStreamsPerConnectionLimit));
  }
}

void readPool(FileReader& file, const Field& item, Config& config, SourceMap& sources) {
  const MapReader map(file, item, "pool", kPoolKeys);
  if (!map.ok()) {
    return;
  }
  Pool pool;
  PoolSource source;
  if (const Field* f = map.require(file, "name")) {
    assign(pool.name, readName(file, *f));
    source.name = file.at(f->valueMark());
  }
  if (const Field* f = map.find("algorithm")) {
    assign(pool.algorithm, readAlgorithm(file, *f));
  }
  if (const Field* f = map.find("hash_key")) {
    readHashKey(file, *f, pool);
    source.hash_key = file.at(f->valueMark());
  }
  if (const Field* f = map.find("connect_retries")) {
    assign(pool.connect_retries, readUnsigned(file, *f, 0, kMaxConnectRetries));
  }
  // The pool's check first: each backend's overrides start from it.
  if (const Field* f = map.find("health_check")) {
    readHealthCheck(file, *f, pool.health_check, {.allow_exec = config.allow_exec_checks});
  }
  const Field* discovery = map.find("discovery");
  if (const Field* f = map.find("backends")) {
    if (discovery != nullptr) {
      file.error(f->key_mark,
                 "pool \"" + pool.name +
                     "\": backends and discovery are exclusive (discovery supplies the "
                     "backends)");
    } else {
      readBackends(file, *f, pool, config.allow_exec_checks, /*allow_empty=*/false);
    }
  } else if (discovery == nullptr) {
    file.error(map.mark(), "pool \"" + pool.name + "\" has no backends");
  }
  if (const Field* f = map.find("sticky")) {
    readSticky(file, *f, pool);
    source.sticky = file.at(f->key_mark);
  }
  if (const Field* f = map.find("keepalive")) {
    readKeepalive(file, *f, pool.keepalive);
  }
  if (const Field* f = map.find("tls")) {
    readUpstreamTls(file, *f, pool.tls);
    source.tls = file.at(f->key_mark);
    checkOverTls(pool);
  }
  readUpstreamProtocol(file, map, pool);
  if (const Field* f = map.find("retries")) {
    readRetries(file, *f, pool.retries);
    source.retries = file.at(f->key_mark);
  }
  if (const Field* f = map.find("outlier_detection")) {
    readOutlierDetection(file, *f, pool.outlier);
  }
  if (const Field* f = map.find("circuit_breaker")) {
    readCircuitBreaker(file, *f, pool.circuit_breaker);
  }
  if (const Field* f = map.find("slow_start")) {
    assign(pool.slow_start, readDuration(file, *f, /*positive=*/false));
  }
  if (const Field* f = map.find("allbackups")) {
    assign(pool.all_backups, readBool(file, *f));
  }
  if (discovery != nullptr) {
    // After `tls:`: a discovered backend's HTTP check speaks TLS like the pool's.
    readDiscovery(file, *discovery, pool, config.allow_exec_checks);
  }
  if (const Field* f = map.find("groups")) {
    readGroups(file, *f, map.find("failback"), pool);
  } else if (const Field* f = map.find("failback")) {
    file.error(f->key_mark, "pool \"" + pool.name + "\": failback needs groups");
  }
  config.pools.push_back(std::move(pool));
  sources.pools.push_back(std::move(source));
}

}  // namespace

void readListeners(FileReader& file, const Field& field, Config& config, SourceMap& sources) {
  for (const auto& item : listItems(file, field, "listener")) {
    readListener(file, item, config, sources);
  }
}

void readDiscoverySettings(FileReader& file, const Field& field, DiscoverySettings& out) {
  static constexpr std::array kKeys = {"resolvers"sv, "min_ttl"sv, "max_ttl"sv};
  const MapReader map(file, field, "discovery", kKeys);
  if (!map.ok()) {
    return;
  }
  if (const Field* f = map.find("resolvers")) {
    for (const auto& item : listItems(file, *f, "resolver")) {
      if (auto a = readAddress(file, item)) {
        out.resolvers.push_back(*a);
      }
    }
  }
  if (const Field* f = map.find("min_ttl")) {
    assign(out.min_ttl, readDuration(file, *f, /*positive=*/true));
  }
  if (const Field* f = map.find("max_ttl")) {
    assign(out.max_ttl, readDuration(file, *f, /*positive=*/true));
    if (out.max_ttl < out.min_ttl) {
      file.error(f->valueMark(), "discovery.max_ttl is below min_ttl");
    }
  }
}

void readPools(FileReader& file, const Field& field, Config& config, SourceMap& sources) {
  for (const auto& item : listItems(file, field, "pool")) {
    readPool(file, item, config, sources);
  }
}

}  // namespace ballast::config
