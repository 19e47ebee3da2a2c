// src/config/config_types.h — the configuration as plain immutable values.
// The loader produces one Config per load; the planes read it and never change it.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "balance/algorithm.h"
#include "config/control_types.h"
#include "config/kernel_types.h"
#include "config/uplink_types.h"
#include "net/address.h"
#include "net/cidr.h"

namespace ballast::config {

using Duration = std::chrono::milliseconds;

enum class IoBackend : uint8_t { kAuto, kIoUring, kEpoll };
// kTlsPassthrough is TCP proxying that first reads the client's TLS ClientHello (never
// terminating TLS) to pick the pool by server name.
enum class Protocol : uint8_t { kTcp, kUdp, kHttp, kHttps, kTlsPassthrough };
// HTTP over cleartext or TLS: the same proxy, the same keys.
inline bool isHttp(Protocol p) { return p == Protocol::kHttp || p == Protocol::kHttps; }
enum class TlsVersion : uint8_t { k12, k13 };
enum class ProxyProtocolVersion : uint8_t { kNone, kV1, kV2 };
enum class LogLevel : uint8_t { kDebug, kInfo, kWarn, kError };
enum class LogFormat : uint8_t { kJson, kText };
// L4 keys work everywhere; the L7 ones (header:NAME, cookie:NAME, path, query:NAME) only for
// pools used by HTTP listeners, with Pool::hash_key_name naming the header, cookie or parameter.
enum class HashKey : uint8_t { kSourceIp, kSourceIpPort, kHeader, kCookie, kPath, kQuery };
enum class HealthCheckType : uint8_t { kNone, kTcp, kHttp };

// Defaults follow what HAProxy and NGINX users expect; each is overridable in the file.
struct ListenerTimeouts {
  Duration connect{std::chrono::seconds(5)};  // backend TCP connect, per attempt
  Duration idle{std::chrono::minutes(5)};     // TCP: no bytes either way; UDP: flow idle
  // tls_passthrough: the whole ClientHello, first byte to last (like HTTP's header timeout).
  Duration client_hello{std::chrono::seconds(10)};
};

struct ListenerLimits {
  uint32_t max_connections = 8192;    // TCP: accepted client connections at once, per listener
  uint32_t max_flows = 16384;         // UDP: flow table size per listener
  uint32_t buffer_bytes = 64 * 1024;  // TCP: bytes queued per direction before reading pauses
};

struct ProxyProtocolConfig {
  ProxyProtocolVersion send = ProxyProtocolVersion::kNone;  // header sent to backends
  bool accept = false;  // require a PROXY header (v1 or v2) from clients
};

// HTTP listeners (protocol: http). Defaults follow NGINX/HAProxy practice.
struct HttpTimeouts {
  Duration header{std::chrono::seconds(10)};           // whole request head (slowloris) → 408
  Duration keep_alive{std::chrono::seconds(60)};       // idle client between requests → close
  Duration response_header{std::chrono::seconds(30)};  // upstream's response head → 504
  Duration body_idle{std::chrono::seconds(60)};        // no body bytes either way → close
};

struct HttpLimits {
  uint32_t max_request_line = 8 * 1024;   // → 414
  uint32_t max_header_bytes = 64 * 1024;  // → 431
  uint32_t max_headers = 100;             // → 431
  uint64_t max_body = 0;                  // 0 = unlimited; → 413
};

// A condition on one request header or query parameter: present with this exact value, or
// matching this RE2 regex (whole value), or merely present when both are empty.
struct ValueMatch {
  std::string name;  // header names compare case-insensitively; query names exactly
  std::string exact;
  std::string regex;  // RE2 syntax, matched against the whole value
};

// One route: every condition given must hold; the first matching route wins.
struct RouteMatch {
  std::string host;  // "" any; "api.example.com" exact; "*.example.com" any subdomain (not apex)
  enum class PathKind : uint8_t { kAny, kPrefix, kExact, kRegex } path_kind = PathKind::kAny;
  std::string path;  // the prefix, the exact path, or an RE2 regex matched against the whole path
  std::vector<std::string> methods;  // empty: any
  std::vector<ValueMatch> headers;
  std::vector<ValueMatch> query;
};

// Header edits a route applies: remove first, then set (replace), then add (append).
struct HeaderOps {
  std::vector<std::string> remove;
  std::vector<std::pair<std::string, std::string>> set;
  std::vector<std::pair<std::string, std::string>> add;
  bool empty() const { return remove.empty() && set.empty() && add.empty(); }
};

struct Route {
  std::string name;
  RouteMatch match;
  std::string pool;
  HeaderOps request_headers;   // applied to the request sent upstream
  HeaderOps response_headers;  // applied to the response sent to the client
};

struct HttpSettings {
  HttpTimeouts timeouts;
  HttpLimits limits;
  std::vector<Route> routes;
  // Peers whose X-Forwarded-For/-Proto/-Host, Forwarded and X-Real-IP are believed (and whose
  // PROXY header names the client). From anyone else those fields are replaced.
  std::vector<net::Cidr> trusted_proxies;
  bool forwarded_rfc7239 = false;  // also send `Forwarded: for=…;proto=…;host=…`
  // Cleartext listeners: a client opening with the HTTP/2 preface speaks h2c (prior knowledge).
  // TLS listeners choose HTTP/2 by ALPN (tls.alpn) instead.
  bool http2 = false;
  // Where the access log goes: "" = the application log (stderr), "stdout", or a file path.
  std::string access_log;
};

struct TlsCertificate {
  std::string cert;  // PEM chain, leaf first
  std::string key;   // PEM private key
};

// protocol: https — TLS termination (tls.*).
struct TlsServerSettings {
  // The certificate is chosen by SNI: exact name, then wildcard, then the first as default.
  // Certificates with the same names (an RSA and an ECDSA one) serve together; the handshake
  // picks what the client supports.
  std::vector<TlsCertificate> certificates;
  TlsVersion min_version = TlsVersion::k12;
  std::string ciphers;       // TLS 1.2 cipher list; empty: a safe default (ECDHE + AEAD only)
  std::string ciphersuites;  // TLS 1.3 suites; empty: OpenSSL's default
  std::vector<std::string> alpn{"http/1.1"};
  bool session_tickets = true;
};

// tls_passthrough: connections whose ClientHello names one of `names` go to `pool`. Names are
// stored lowercase; "*.example.com" matches exactly one label before ".example.com".
struct SniRoute {
  std::vector<std::string> names;
  std::string pool;
};

struct Listener {
  std::string name;
  net::SocketAddress bind;
  Protocol protocol = Protocol::kTcp;
  std::string pool;
  ListenerTimeouts timeouts;
  ListenerLimits limits;
  ProxyProtocolConfig proxy_protocol;
  TlsServerSettings tls;  // protocol: https only
  HttpSettings http;  // protocol: http and https. `pool` is then the default when no route matches
                      // (empty: answer 404).
  std::vector<SniRoute> sni;  // protocol: tls_passthrough only. `pool` is then the default for
                              // hellos no entry matches (empty: close and count).
};

struct HealthCheck {
  HealthCheckType type = HealthCheckType::kNone;  // kNone: backends are always up
  Duration interval{std::chrono::seconds(2)};
  Duration timeout{std::chrono::seconds(1)};
  uint32_t rise = 2;    // consecutive successes to come back
  uint32_t fall = 3;    // consecutive failures to go out
  double jitter = 0.1;  // each interval is stretched or shrunk by up to this fraction
  // type: http — a request per check; healthy when the status is in range (and the body holds
  // expect_body, when set).
  std::string path = "/";
  std::string method = "GET";
  std::string host;  // Host header; empty: the backend's address
  uint16_t expect_status_min = 200;
  uint16_t expect_status_max = 399;
  std::string expect_body;
};

struct Backend {
  net::SocketAddress address;
  uint32_t weight = 1;  // 0..kMaxWeight; 0 takes no new connections
};

constexpr uint32_t kMaxWeight = 1000;

// HTTP: how a worker keeps connections to one backend of the pool open between requests.
struct UpstreamKeepalive {
  uint32_t max_idle = 64;                          // idle connections per backend per worker
  Duration idle_timeout{std::chrono::seconds(4)};  // below common server keep-alive timeouts
  uint32_t max_requests = 1000;                    // then the connection is retired (NGINX default)
};

struct Pool {
  std::string name;
  balance::Algorithm algorithm = balance::Algorithm::kRoundRobin;
  HashKey hash_key = HashKey::kSourceIp;  // for source_hash and consistent_hash
  std::string hash_key_name;              // kHeader, kCookie, kQuery: which one
  uint32_t connect_retries = 2;           // further backends tried after a failed connect
  std::vector<Backend> backends;
  HealthCheck health_check;
  // HTTP sticky sessions: a cookie naming the backend (opaquely) is set on responses and
  // honoured on requests while that backend is up. Empty cookie: off.
  std::string sticky_cookie;
  Duration sticky_ttl{std::chrono::hours(1)};
  UpstreamKeepalive keepalive;
};

struct Logging {
  LogLevel level = LogLevel::kInfo;
  LogFormat format = LogFormat::kJson;
  std::string file;                        // "" = stderr; else appended to, reopened on SIGUSR1
  std::optional<net::SocketAddress> gelf;  // also ship each line as GELF over UDP
  // Per event kind a peer can cause at will (refusals, failed connects): lines per interval,
  // then one `log.suppressed` summary line per interval.
  uint32_t repeat_burst = kDefaultLogRepeatBurst;
  Duration repeat_interval{std::chrono::milliseconds(kDefaultLogRepeatIntervalMs)};
};

struct Config {
  uint32_t workers = 0;  // 0 = auto: one per online CPU
  IoBackend io = IoBackend::kAuto;
  Duration shutdown_timeout{std::chrono::seconds(30)};
  std::vector<Listener> listeners;
  std::vector<Pool> pools;
  Logging logging;
  // Control plane.
  AdminSettings admin;
  MetricsSettings metrics;
  ReloadSettings reload;
  // Kernel plane.
  KernelSettings kernel;
  std::vector<VirtualService> virtual_services;
  // Uplink plane.
  std::vector<Uplink> uplinks;
  UplinkPolicy uplink_policy;
  std::vector<std::string> lan_interfaces;

  const Pool* findPool(const std::string& name) const {
    for (const auto& p : pools) {
      if (p.name == name) {
        return &p;
      }
    }
    return nullptr;
  }
};

using ConfigPtr = std::shared_ptr<const Config>;

}  // namespace ballast::config
