// src/config/config_types.h — the configuration as plain immutable values.
// The loader produces one Config per load; the planes read it and never change it.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "balance/algorithm.h"
#include "config/bgp_types.h"
#include "config/circuit_types.h"
#include "config/content_types.h"
#include "config/control_types.h"
#include "config/kernel_types.h"
#include "config/outlier_types.h"
#include "config/retry_types.h"
#include "config/uplink_types.h"
#include "net/address.h"
#include "net/cidr.h"
#include "net/prefix_set.h"

namespace ballast::policy {
struct Jwks;
class JwksSource;
struct HtpasswdUsers;
}  // namespace ballast::policy

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
enum class HealthCheckType : uint8_t {
  kNone,
  kTcp,
  kHttp,
  kTls,
  kPostgres,
  kMysql,
  kRedis,
  kSendExpect,
  kDns,
  kExec,
  kGrpc,
};
enum class CheckTransport : uint8_t { kTcp, kUdp };

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
  // TCP and HTTP: per client address (cut to the prefixes below), checked at accept, across all
  // workers. 0: off.
  uint32_t max_connections_per_ip = 0;
  uint64_t connection_rate_per_ip = 0;  // new connections per period; 0: off
  uint64_t connection_rate_period_s = 1;
  uint64_t connection_burst_per_ip = 0;  // resolved to the rate's count when left out
  uint8_t per_ip_ipv4_prefix = 32;
  uint8_t per_ip_ipv6_prefix = 64;

  bool perIpLimited() const { return max_connections_per_ip != 0 || connection_rate_per_ip != 0; }
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

// Header edits a route applies: remove first, then set (replace), then add (append), then the
// defaults, each only where the message has no field of that name (security headers a backend
// may already state more strictly).
struct HeaderOps {
  std::vector<std::string> remove;
  std::vector<std::pair<std::string, std::string>> set;
  std::vector<std::pair<std::string, std::string>> add;
  std::vector<std::pair<std::string, std::string>> defaults;
  bool empty() const { return remove.empty() && set.empty() && add.empty() && defaults.empty(); }
};

// acl: which client addresses may connect (a listener, checked at accept) or send a request (a
// route). Deny wins; then, when any allow entry exists, only those pass.
struct AclRules {
  std::vector<net::Cidr> allow;
  std::vector<net::Cidr> deny;
  // Files of one entry per line: `allow CIDR`, `deny CIDR`, or a bare CIDR, which denies (block
  // lists). Re-read on reload and when they change.
  std::vector<std::string> files;
  // Everything above merged, built at load; null when there is nothing of that kind.
  std::shared_ptr<const net::PrefixSet> allow_set;
  std::shared_ptr<const net::PrefixSet> deny_set;

  bool enabled() const { return allow_set != nullptr || deny_set != nullptr; }
  bool admits(const net::SocketAddress& peer) const {
    if (deny_set && deny_set->contains(peer)) {
      return false;
    }
    return !allow_set || allow_set->contains(peer);
  }
};

// rate_limit: one rule of a listener's or a route's list, run in the order written. The key is
// one part or a tuple of parts; a request lacking a header or cookie part is not counted by the
// rule (as NGINX does with an empty key). A jwt_claim part keys on a claim of a token the jwt
// filter verified, so such rules run after it; without one it keys on the client's address.
enum class RateKeyKind : uint8_t { kSourceIp, kHeader, kCookie, kPath, kJwtClaim };
struct RateKeyPart {
  RateKeyKind kind = RateKeyKind::kSourceIp;
  std::string name;  // header (lower case), cookie or claim name
};
// Refusals of one rule, from every worker (shared: only refusals write here, so allowed
// requests never touch this line).
struct RateLimitStats {
  std::atomic<uint64_t> limited_total{0};  // answered 429
  std::atomic<uint64_t> dry_run_total{0};  // would have been refused (mode: dry_run)
  // `store:` rules: requests the store could not answer, decided by on_store_error; and the
  // store outage (RedisStore::outages) the `l7.rate_limit_store_fallback` line was last written
  // for: one line per rule and outage.
  std::atomic<uint64_t> store_errors_total{0};
  std::atomic<uint64_t> store_outage_logged{0};
};
// What a `store:` rule does with a request its local share cannot cover while the store is
// unreachable.
enum class StoreFallback : uint8_t { kAllow, kDeny, kLocal };
// `store: redis://HOST:PORT` of a rule; empty host: no store (the process-wide table alone).
struct StoreEndpoint {
  std::string host;
  uint16_t port = 0;
  bool enabled() const { return !host.empty(); }
  bool operator==(const StoreEndpoint&) const = default;
  std::string url() const {
    const bool v6 = host.find(':') != std::string::npos;
    return "redis://" + (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
  }
};
struct RateLimitRule {
  std::string name;  // `name:`, else "<listener>[/<route>]#<n>"; metrics and headers
  std::vector<RateKeyPart> key;
  uint64_t rate = 0;         // requests per period
  uint64_t period_s = 1;     // 1 (/s), 60 (/m) or 3600 (/h)
  uint64_t burst = 0;        // a full bucket; resolved to `rate` when left out
  bool dry_run = false;      // count, never refuse
  uint8_t ipv4_prefix = 32;  // source_ip groups clients by these prefixes
  uint8_t ipv6_prefix = 64;
  uint64_t id = 0;  // seeds the key hash: same rule (scope, name, limit) keeps its state on reload
  StoreEndpoint store;  // shared across nodes through Redis when set
  StoreFallback on_store_error = StoreFallback::kLocal;
  std::shared_ptr<RateLimitStats> stats = std::make_shared<RateLimitStats>();

  bool keyedOnClaim() const {
    for (const auto& part : key) {
      if (part.kind == RateKeyKind::kJwtClaim) {
        return true;
      }
    }
    return false;
  }
};

// jwt: bearer tokens checked at the edge (policy/jwt). Per listener; a route's own `jwt:`
// replaces the listener's for its requests.
enum class JwtSource : uint8_t { kBearer, kHeader, kCookie, kQuery };
struct JwtAuth {
  bool enabled = false;
  std::string issuer;                  // "" = any
  std::vector<std::string> audiences;  // empty = any
  uint8_t algorithms = 0;              // bit (1 << policy::JwtAlg) per allowed algorithm
  Duration clock_skew{std::chrono::seconds(60)};
  std::string jwks_file;                     // watched: a change reloads the config
  std::shared_ptr<const policy::Jwks> jwks;  // read at load; immutable
  // jwks_url instead of jwks_file: fetched (server/jwks_fetcher) every jwks_refresh, trusting
  // jwks_ca (a PEM file) or the system's CAs; the keys live in the shared source.
  std::string jwks_url;
  std::string jwks_ca;
  Duration jwks_refresh{std::chrono::minutes(10)};
  std::shared_ptr<policy::JwksSource> jwks_source;
  JwtSource from = JwtSource::kBearer;  // `header` = Authorization: Bearer
  std::string from_name;                // the header (lower case), cookie or query name
  bool optional = false;                // no token: forwarded without claims
  std::string realm = "ballast";
  // claim → header sent upstream; a client's own copies of these headers are always removed.
  std::vector<std::pair<std::string, std::string>> forward_claims;
};

// basic_auth: user names and passwords (RFC 7617) checked against an htpasswd file with
// crypt(3). Per listener; a route's own `basic_auth:` replaces the listener's for its requests.
struct BasicAuth {
  bool enabled = false;
  std::string realm = "ballast";
  std::string users_file;                              // watched: a change reloads the config
  std::shared_ptr<const policy::HtpasswdUsers> users;  // read at load; immutable
  bool forward_credentials = false;                    // false: Authorization is not sent upstream
};

// forward_auth: a subrequest to an auth service decides about each request, as NGINX's
// auth_request and Traefik's ForwardAuth do: a 2xx lets it through (with fields copied from the
// answer), any other answer goes back to the client as it is. Per listener; a route's own
// `forward_auth:` replaces the listener's (`forward_auth: off` turns it off there).
struct ForwardAuth {
  bool enabled = false;
  // The auth service: a pool (health checks, keep-alive and TLS as for any pool), or one
  // `address` the loader turns into a pool of its own named `forward_auth.<listener>[.<route>]`.
  std::string pool;
  net::SocketAddress address;                      // unset (AF_UNSPEC): `pool` is given
  int pool_index = -1;                             // into Config::pools, resolved at load
  std::string path = "/";                          // the subrequest's target (GET, no body)
  std::vector<std::string> copy_request_headers;   // lower case: request → auth service
  std::vector<std::string> copy_response_headers;  // lower case: its 2xx → the backend
  Duration cache_ttl{0};                           // 0: every request asks
  Duration timeout{std::chrono::seconds(5)};       // no complete answer by then: 503
};

// redirect_https: answer every request with a redirect to the same URL over https, as NGINX's
// `return 308 https://$host$request_uri` does. Per listener or per route.
struct HttpsRedirect {
  bool enabled = false;
  uint16_t status = 308;  // 301, 302, 307 or 308; 308 keeps the method and body
  uint16_t port = 443;    // left out of the Location when 443
};

// Strict-Transport-Security (RFC 6797), sent only on https listeners.
struct Hsts {
  bool enabled = false;
  Duration max_age{std::chrono::hours(24 * 365)};
  bool include_subdomains = false;
  bool preload = false;
};

// Per listener, overridable per route: the edge's own answers and response fields.
struct EdgePolicy {
  std::optional<HttpsRedirect> redirect_https;
  std::optional<Hsts> hsts;
  // X-Content-Type-Options: nosniff, X-Frame-Options: SAMEORIGIN and Referrer-Policy:
  // strict-origin-when-cross-origin, each unless the backend sent its own.
  std::optional<bool> security_headers;
};

struct Route {
  std::string name;
  RouteMatch match;
  std::string pool;
  HeaderOps request_headers;   // applied to the request sent upstream
  HeaderOps response_headers;  // applied to the response sent to the client (with `edge`'s)
  EdgePolicy edge;             // unset fields follow the listener's
  AclRules acl;                // a client it does not admit gets 403
  uint16_t deny_status = 0;    // `deny:` — answer every matching request with this status
  std::vector<RateLimitRule> rate_limits;   // after the listener's
  std::optional<JwtAuth> jwt;               // unset: the listener's
  std::optional<BasicAuth> basic_auth;      // unset: the listener's
  std::optional<ForwardAuth> forward_auth;  // unset: the listener's
  // Content rules (config/content_types.h): answered at the edge, or edits of what goes upstream.
  std::optional<RouteRedirect> redirect_to;  // `redirect:`
  std::optional<PathRewrite> rewrite;
  std::optional<DirectResponse> respond;
  std::optional<CorsPolicy> cors;          // unset: the listener's
  std::optional<ErrorPages> error_pages;   // unset: the listener's
  std::optional<CompressPolicy> compress;  // unset: the listener's
  std::optional<CachePolicy> cache;        // unset: the listener's
  // The effective https redirect (the route's, else the listener's); resolved at load.
  HttpsRedirect redirect;
};

// http2_limits: what one HTTP/2 client connection may make us hold or do. Defaults follow
// nghttp2's and the other proxies' choices after the 2023–2024 HTTP/2 attacks.
struct Http2Limits {
  uint32_t max_concurrent_streams = 100;     // SETTINGS_MAX_CONCURRENT_STREAMS
  uint32_t stream_buffer_bytes = 64 * 1024;  // response bytes held per stream
  uint32_t max_frame_size = 16 * 1024;       // SETTINGS_MAX_FRAME_SIZE we accept
  uint32_t header_table_size = 4096;         // HPACK dynamic table the client may fill
  uint32_t reset_burst = 1000;               // RST_STREAM token bucket (rapid reset)
  uint32_t resets_per_second = 33;
  uint32_t max_continuations = 8;  // CONTINUATION frames after one HEADERS
  // SETTINGS, PING, PRIORITY and WINDOW_UPDATE frames from the client: a token bucket of this
  // many per second (burst twice that); an empty bucket ends the connection.
  uint32_t control_frames_per_second = 500;
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
  Http2Limits http2_limits;
  // Where the access log goes: "" = the application log (stderr), "stdout", or a file path.
  std::string access_log;
  EdgePolicy edge;
  std::vector<RateLimitRule> rate_limits;  // every request, before its route's
  JwtAuth jwt;
  BasicAuth basic_auth;
  ForwardAuth forward_auth;
  CorsPolicy cors;
  ErrorPages error_pages;
  CompressPolicy compress;
  CachePolicy cache;
  // Resolved at load from `edge`: what requests no route matched get.
  HttpsRedirect redirect;
  HeaderOps response_headers;
};

struct TlsCertificate {
  std::string cert;         // PEM chain, leaf first
  std::string key;          // PEM private key
  std::string ocsp_staple;  // DER OCSP response for this certificate; "" = none
};

enum class ClientAuthMode : uint8_t { kNone, kOptional, kRequire };

// mTLS: client certificates verified against `ca`. The verified subject and the certificate's
// SHA-256 fingerprint go to the backend in the named fields; a client's own copies of those
// fields are always removed, so the backend can trust them.
struct TlsClientAuth {
  ClientAuthMode mode = ClientAuthMode::kNone;
  std::string ca;  // PEM bundle of the CAs that may issue client certificates
  std::string subject_header = "X-Client-Subject";
  std::string fingerprint_header = "X-Client-Cert-Sha256";
};

enum class AcmeChallenge : uint8_t { kHttp01, kTlsAlpn01 };

// tls.acme — a certificate obtained and renewed from an ACME (RFC 8555) directory. The
// challenges are answered on this process's own listeners.
struct AcmeSettings {
  std::string directory;             // https URL of the directory resource
  std::string email;                 // account contact; may be empty
  std::vector<std::string> domains;  // lower case; the first is the certificate's subject
  AcmeChallenge challenge = AcmeChallenge::kHttp01;
  std::string storage;  // directory for the account key, certificates and keys (mode 0600)
  std::string ca;       // PEM file trusted for the directory's HTTPS; empty: the system's
  // The first wait after a failed order; each further failure doubles it (up to a day).
  Duration retry_backoff{std::chrono::seconds(60)};
  // `store: redis://HOST:PORT`: nodes with the same directory and domains share one account,
  // one order at a time (a lock) and the issued certificate; empty host: this node alone.
  StoreEndpoint store;
  bool operator==(const AcmeSettings&) const = default;
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
  // Ticket keys are made by the process and kept across reloads; a new one encrypts tickets
  // each period and the one before still decrypts them (then the client gets a fresh ticket).
  Duration session_ticket_rotation{std::chrono::hours(1)};
  TlsClientAuth client_auth;
  // tls.acme: the certificate comes from ACME (then `certificates` is optional; the ACME one
  // is the default, served first). Until it exists a self-signed placeholder serves.
  std::optional<AcmeSettings> acme;
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
  AclRules acl;       // checked at accept (UDP: when a new flow starts), before any byte is read
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
  // Where the check connects: the backend's address unless set (per backend only), and the
  // backend's port unless `port` is set (0: the backend's).
  std::optional<net::SocketAddress> address;
  uint16_t port = 0;
  // While a backend stays down its interval doubles up to this; 0: no backoff.
  Duration backoff_max{0};
  // type: tls — a handshake, naming `sni`; with `verify` the chain must check out against `ca`
  // (a PEM file; empty: the system's store) and the name against `sni`.
  std::string sni;
  bool verify = false;
  std::string ca;
  // type: http on a pool with `tls:` — the request goes over TLS with the pool's settings
  // (sni, verify and ca above, and its client certificate), as the proxied requests do.
  bool over_tls = false;
  std::string client_cert;
  std::string client_key;
  // type: postgres — a StartupMessage for this user (empty: "postgres") and database.
  // type: mysql — when set, the greeting is answered with a login as this user (empty password)
  // and COM_QUIT, so the server does not count the check as a handshake error.
  std::string user;
  std::string database;
  // type: redis — AUTH first when a password is set; role_master also asks ROLE.
  std::string password;
  bool role_master = false;
  // type: send_expect — `send` (escapes already decoded), then a reply that contains `expect`
  // or matches `expect_regex` (RE2, anywhere in the reply).
  CheckTransport transport = CheckTransport::kTcp;
  std::string send;
  std::string expect;
  std::string expect_regex;
  // type: dns — a UDP query for this name and type (1 = A, 28 = AAAA).
  std::string query;
  uint16_t query_type = 1;
  // type: exec — argv; healthy on exit status 0 (needs allow_exec_checks: true).
  std::vector<std::string> command;
  // type: grpc — grpc.health.v1.Health/Check for this service over h2c (empty: the server as a
  // whole); healthy when it answers SERVING.
  std::string service;
};

struct Backend {
  net::SocketAddress address;
  uint32_t weight = 1;  // 0..kMaxWeight; 0 takes no new connections
  // The pool's check with this backend's overrides applied; unset: the pool's as is.
  std::shared_ptr<const HealthCheck> health_check;
  // A backend found by DNS: the name (or SRV name) it came from; empty for one the file lists.
  std::string resolved_from;
  uint32_t max_connections = 0;  // upstream connections to this backend, all workers; 0: none
  // Serves only while no primary (non-backup) backend of the pool is up, as HAProxy's backup.
  bool backup = false;
  // A backend found by SRV (`discovery: {dns_srv}`): its record's priority, which makes it a
  // member of that priority's failover group (discovery/srv_groups.h); -1 for any other backend.
  int32_t srv_priority = -1;
};

// A backend given by name (`address: "app.internal:8080"`): resolved for A and AAAA on the
// control thread, re-resolved at the answer's TTL, each address becoming a Backend.
struct DnsBackend {
  std::string host;
  uint16_t port = 0;
  uint32_t weight = 1;
  std::shared_ptr<const HealthCheck> health_check;
};

constexpr uint32_t kMaxWeight = 1000;

// HTTP: how a worker keeps connections to one backend of the pool open between requests.
struct UpstreamKeepalive {
  uint32_t max_idle = 64;                          // idle connections per backend per worker
  Duration idle_timeout{std::chrono::seconds(4)};  // below common server keep-alive timeouts
  uint32_t max_requests = 1000;                    // then the connection is retired (NGINX default)
};

// pools[].tls: TLS towards the pool's backends.
struct UpstreamTls {
  bool enabled = false;
  bool verify = true;  // the backend's certificate must chain to `ca` and name `sni`
  std::string ca;      // PEM bundle; "" = the system trust store
  // Sent as SNI and checked against the certificate; "" = none sent, and the certificate must
  // then name the backend's IP address.
  std::string sni;
  TlsCertificate client_cert;  // presented when the backend asks (mTLS); empty: none
  TlsVersion min_version = TlsVersion::k12;
  bool session_reuse = true;  // resume sessions per worker and backend
  bool alpn_h2 = false;       // offer only "h2" by ALPN (set for `upstream_protocol: h2`)
};

// pools[].discovery: where the pool's backends come from instead of `backends:`.
struct PoolDiscovery {
  // A YAML or JSON list of backends (the entries `backends:` takes), re-read when it changes
  // and applied in place: no reload, backends that stay keep their state and connections.
  std::string file;
  // A DNS SRV name (`_http._tcp.app.internal`): its targets and ports become backends, SRV
  // weights their weights; only the best (lowest) priority is used.
  std::string dns_srv;
  // `kubernetes:` a Service's EndpointSlices, listed then watched (discovery/kubernetes_*.h).
  struct Kubernetes {
    std::string namespace_name;
    std::string service;
    std::string port;         // the slice port's name or number; "": the slice's only port
    std::string kubeconfig;   // a kubeconfig file, or:
    bool in_cluster = false;  // the pod's service account and KUBERNETES_SERVICE_HOST/PORT
  } kubernetes;
  bool hasFile() const { return !file.empty(); }
  bool hasKubernetes() const { return !kubernetes.service.empty(); }
};

// How a pool's HTTP exchanges travel to its backends: HTTP/1.1 keep-alive connections, or
// HTTP/2 streams multiplexed over few connections (h2 over `tls:` with ALPN, h2c in cleartext).
enum class UpstreamProtocol : uint8_t { kHttp1, kH2, kH2c };
inline constexpr uint32_t kDefaultMaxStreamsPerConnection = 100;
inline constexpr uint32_t kMaxStreamsPerConnectionLimit = 10000;

// pools[].groups: active–passive failover groups. One group serves at a time: the one of
// lowest `priority` with at least `min_healthy` backends healthy.
struct FailoverGroup {
  std::string name;
  uint32_t priority = 0;  // lower is preferred; unique within the pool
  uint32_t min_healthy = 1;
  std::vector<uint32_t> backends;  // indices into Pool::backends
};
// Whether traffic returns to a better group by itself once it is healthy again, or only on
// the admin API's failback call.
enum class Failback : uint8_t { kAuto, kManual };

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
  // With a key (sticky.key_file, read at load), the cookie is signed and expires with its TTL:
  // any node holding the key trusts it, and a client cannot forge one (l7/sticky.h).
  std::string sticky_key_file;
  std::string sticky_key;
  // sticky.store: the session table lives in Redis (policy/sticky_store.h) and the cookie is an
  // opaque random session id; nodes sharing the store follow each other's pins and re-pins.
  StoreEndpoint sticky_store;
  UpstreamKeepalive keepalive;
  UpstreamTls tls;
  UpstreamProtocol upstream_protocol = UpstreamProtocol::kHttp1;
  uint32_t max_streams_per_connection = kDefaultMaxStreamsPerConnection;  // h2 and h2c
  RetryPolicy retries;             // HTTP pools; see docs/resilience.md
  OutlierDetection outlier;        // passive health; see docs/resilience.md
  CircuitBreaker circuit_breaker;  // admission limits and per-backend breaker; docs/resilience.md
  PoolDiscovery discovery;
  std::vector<DnsBackend> dns_backends;  // backends given by name; resolved ones join `backends`
  // A backend that comes up (recovers, or is added) gets a share of its weight growing with
  // the time it has been up, full after this; 0 = off. See docs/resilience.md.
  Duration slow_start{0};
  // With backups: while no primary is up, all up backups serve instead of the first one.
  bool all_backups = false;
  std::vector<FailoverGroup> groups;  // sorted by priority; empty: no groups
  Failback failback = Failback::kAuto;
  bool resolvesNames() const { return !dns_backends.empty() || !discovery.dns_srv.empty(); }
};

// The top-level `discovery:` settings, for the DNS lookups of every pool.
struct DiscoverySettings {
  std::vector<net::SocketAddress> resolvers;  // empty: those of /etc/resolv.conf
  Duration min_ttl{std::chrono::seconds(1)};  // re-resolve no more often than this
  Duration max_ttl{std::chrono::seconds(300)};
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
  // type: exec health checks run commands as Ballast's user, so they are refused unless asked.
  bool allow_exec_checks = false;
  std::vector<Listener> listeners;
  std::vector<Pool> pools;
  DiscoverySettings discovery;
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
  // Announcement of VIPs over BGP.
  BgpSettings bgp;

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
