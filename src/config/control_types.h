// src/config/control_types.h — settings of the control plane: admin API, metrics endpoint and
// reload behaviour.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "config/limits.h"
#include "net/address.h"
#include "net/cidr.h"

namespace ballast::config {

struct AdminTls {
  std::string cert;  // PEM file paths; both empty: plain TCP (loopback only unless insecure)
  std::string key;
};

// Connection budgets of one control-plane server (admin API or /metrics).
struct ServerLimits {
  uint32_t max_connections = kDefaultAdminMaxConnections;                  // TCP peers together
  uint32_t max_connections_per_peer = kDefaultAdminMaxConnectionsPerPeer;  // one TCP address
  uint32_t unix_connections = kDefaultAdminUnixConnections;   // admin: the unix socket's own
  uint32_t max_event_streams = kDefaultAdminMaxEventStreams;  // admin: SSE, both sockets
};

// Deadlines of one control-plane server; bytes never extend them (slow clients cannot).
struct ServerTimeouts {
  // The whole request (head and an admin body), from accept or from its first byte.
  std::chrono::milliseconds header{kDefaultControlHeaderTimeoutMs};
  // From a response being queued to the next request's first byte.
  std::chrono::milliseconds idle{kDefaultControlIdleTimeoutMs};
  // The TLS handshake, from accept (admin.tls only).
  std::chrono::milliseconds handshake{kDefaultAdminHandshakeTimeoutMs};
};

struct AdminAuth {
  std::string tokens_file;  // one static bearer token per line ('#' comments)
  std::string jwt_hs256_secret_file;
  std::string jwt_rs256_public_key_file;
  std::vector<net::Cidr> allow;      // empty: any peer (tokens still required over TCP)
  uint32_t rate_limit_per_sec = 50;  // requests per second per peer address; 0 = off
  std::string audience;              // JWTs must name it in `aud` when set
  std::string issuer;                // JWTs must carry it as `iss` when set
};

struct AdminSettings {
  bool present = false;  // an `admin:` section was given (one file may set it)
  std::string socket = "/run/ballast/admin.sock";  // "" = no unix socket
  std::optional<net::SocketAddress> bind;          // optional TCP listener
  AdminTls tls;
  bool insecure = false;  // allow plain TCP on a non-loopback address
  AdminAuth auth;
  std::string audit_log;  // file the audit records are appended to; "" = none
  ServerLimits limits;
  ServerTimeouts timeouts;
};

struct MetricsSettings {
  bool present = false;
  std::optional<net::SocketAddress> bind;  // Prometheus endpoint; unset = only via admin API
  std::string path = "/metrics";
  ServerLimits limits{kDefaultMetricsMaxConnections, kDefaultMetricsMaxConnectionsPerPeer, 0, 0};
  ServerTimeouts timeouts;
};

struct ReloadSettings {
  bool present = false;
  bool watch = false;  // reload when the config file (or an include) changes (inotify)
};

}  // namespace ballast::config
