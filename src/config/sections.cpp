// src/config/sections.cpp — the listener and pool schema: keys, types and ranges.
#include "config/sections.h"

#include <array>
#include <string_view>
#include <unordered_map>

#include "config/limits.h"
#include "config/units.h"

namespace ballast::config {
namespace {

using namespace std::string_view_literals;

constexpr std::array kListenerKeys = {"name"sv,     "bind"sv,   "protocol"sv,      "pool"sv,
                                      "timeouts"sv, "limits"sv, "proxy_protocol"sv};
constexpr std::array kTimeoutKeys = {"connect"sv, "idle"sv};
constexpr std::array kLimitKeys = {"max_connections"sv, "max_flows"sv, "buffer_bytes"sv};
constexpr std::array kProxyProtocolKeys = {"send"sv, "accept"sv};
constexpr std::array kPoolKeys = {"name"sv,     "algorithm"sv,   "hash_key"sv, "connect_retries"sv,
                                  "backends"sv, "health_check"sv};
constexpr std::array kBackendKeys = {"address"sv, "weight"sv};
constexpr std::array kHealthCheckKeys = {"type"sv, "interval"sv, "timeout"sv,
                                         "rise"sv, "fall"sv,     "jitter"sv};

constexpr std::array<Choice<Protocol>, 2> kProtocols = {{
    {"tcp", Protocol::kTcp},
    {"udp", Protocol::kUdp},
}};
constexpr std::array<Choice<ProxyProtocolVersion>, 3> kProxyVersions = {{
    {"none", ProxyProtocolVersion::kNone},
    {"v1", ProxyProtocolVersion::kV1},
    {"v2", ProxyProtocolVersion::kV2},
}};
constexpr std::array<Choice<HashKey>, 2> kHashKeys = {{
    {"source_ip", HashKey::kSourceIp},
    {"source_ip_port", HashKey::kSourceIpPort},
}};
constexpr std::array<Choice<HealthCheckType>, 2> kHealthCheckTypes = {{
    {"tcp", HealthCheckType::kTcp},
    {"none", HealthCheckType::kNone},
}};

// Assigns when the read succeeded; a failed read was reported and the default stays.
template <typename T, typename U>
void assign(T& target, const std::optional<U>& value) {
  if (value) {
    target = static_cast<T>(*value);
  }
}

void readTimeouts(FileReader& file, const Field& field, ListenerTimeouts& timeouts) {
  const MapReader map(file, field, "timeouts", kTimeoutKeys);
  if (const Field* f = map.find("connect")) {
    assign(timeouts.connect, readDuration(file, *f, /*positive=*/true));
  }
  if (const Field* f = map.find("idle")) {
    assign(timeouts.idle, readDuration(file, *f, /*positive=*/true));
  }
}

void readLimits(FileReader& file, const Field& field, ListenerLimits& limits) {
  const MapReader map(file, field, "limits", kLimitKeys);
  if (const Field* f = map.find("max_connections")) {
    assign(limits.max_connections, readUnsigned(file, *f, 1, kMaxListenerConnections));
  }
  if (const Field* f = map.find("max_flows")) {
    assign(limits.max_flows, readUnsigned(file, *f, 1, kMaxListenerFlows));
  }
  if (const Field* f = map.find("buffer_bytes")) {
    assign(limits.buffer_bytes, readSize(file, *f, kMinBufferBytes, kMaxBufferBytes));
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
  if (const Field* f = map.find("protocol")) {
    assign(listener.protocol, readChoice<Protocol>(file, *f, kProtocols));
  }
  if (const Field* f = map.require(file, "pool")) {
    assign(listener.pool, readName(file, *f));
    source.pool = file.at(f->valueMark());
  }
  if (const Field* f = map.find("timeouts")) {
    readTimeouts(file, *f, listener.timeouts);
  }
  if (const Field* f = map.find("limits")) {
    readLimits(file, *f, listener.limits);
  }
  if (const Field* f = map.find("proxy_protocol")) {
    readProxyProtocol(file, *f, listener.proxy_protocol);
  }
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

// Backend address → line of its first entry; hashed, as pools may be generated and large.
using SeenBackends = std::unordered_map<net::SocketAddress, int, net::SocketAddressHash>;

void readBackend(FileReader& file, const Field& item, const std::string& pool_name, Pool& pool,
                 SeenBackends& seen) {
  const MapReader map(file, item, "backend", kBackendKeys);
  if (!map.ok()) {
    return;
  }
  Backend backend;
  std::optional<net::SocketAddress> address;
  const Field* address_field = map.require(file, "address");
  if (address_field != nullptr) {
    address = readAddress(file, *address_field);
  }
  if (const Field* f = map.find("weight")) {
    assign(backend.weight, readUnsigned(file, *f, 0, kMaxWeight));
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

void readBackends(FileReader& file, const Field& field, Pool& pool) {
  const auto items = listItems(file, field, "backend");
  SeenBackends seen;
  for (const auto& item : items) {
    readBackend(file, item, pool.name, pool, seen);
  }
  // A list with only broken entries was reported entry by entry already.
  if (items.empty() && (field.value.IsNull() || field.value.IsSequence())) {
    file.error(field.valueMark(), "pool \"" + pool.name + "\" has no backends");
  }
}

void readHealthCheck(FileReader& file, const Field& field, HealthCheck& hc) {
  const MapReader map(file, field, "health_check", kHealthCheckKeys);
  if (const Field* f = map.find("type")) {
    assign(hc.type, readChoice<HealthCheckType>(file, *f, kHealthCheckTypes));
  }
  bool interval_ok = true;
  if (const Field* f = map.find("interval")) {
    const auto interval = readDuration(file, *f, /*positive=*/true);
    assign(hc.interval, interval);
    interval_ok = interval.has_value();
  }
  const Field* timeout_field = map.find("timeout");
  std::optional<Duration> timeout;
  if (timeout_field != nullptr) {
    timeout = readDuration(file, *timeout_field, /*positive=*/true);
  }
  if (timeout && interval_ok && *timeout > hc.interval) {
    file.error(timeout_field->valueMark(),
               "timeout: health check timeout " + formatDuration(*timeout) +
                   " must not exceed interval " + formatDuration(hc.interval));
  } else if (timeout) {
    hc.timeout = *timeout;
  } else if (timeout_field == nullptr && hc.timeout > hc.interval) {
    // A short interval with the default timeout would otherwise be an error about a value
    // the user never wrote; a probe cannot outlive its interval, so cap it there.
    hc.timeout = hc.interval;
  }
  if (const Field* f = map.find("rise")) {
    assign(hc.rise, readUnsigned(file, *f, 1, kMaxHealthCheckCount));
  }
  if (const Field* f = map.find("fall")) {
    assign(hc.fall, readUnsigned(file, *f, 1, kMaxHealthCheckCount));
  }
  if (const Field* f = map.find("jitter")) {
    assign(hc.jitter, readFraction(file, *f, kMaxHealthCheckJitter));
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
    assign(pool.hash_key, readChoice<HashKey>(file, *f, kHashKeys));
  }
  if (const Field* f = map.find("connect_retries")) {
    assign(pool.connect_retries, readUnsigned(file, *f, 0, kMaxConnectRetries));
  }
  if (const Field* f = map.find("backends")) {
    readBackends(file, *f, pool);
  } else {
    file.error(map.mark(), "pool \"" + pool.name + "\" has no backends");
  }
  if (const Field* f = map.find("health_check")) {
    readHealthCheck(file, *f, pool.health_check);
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

void readPools(FileReader& file, const Field& field, Config& config, SourceMap& sources) {
  for (const auto& item : listItems(file, field, "pool")) {
    readPool(file, item, config, sources);
  }
}

}  // namespace ballast::config
