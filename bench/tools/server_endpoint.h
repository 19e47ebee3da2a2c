// bench/tools/server_endpoint.h — the server side of one TLS connection over memory buffers, as
// the handshake-cost bench drives it. Library-neutral on purpose: the wolfSSL server lives in a
// translation unit of its own (its OpenSSL-compatible names must not meet OpenSSL's headers), so
// this interface carries bytes and strings only.
#pragma once

#include <memory>
#include <string>

namespace ballast::bench {

class ServerConnection {
 public:
  virtual ~ServerConnection() = default;
  // Takes the client's bytes, advances the handshake and then reads application data: new
  // plaintext is appended to *plain, bytes for the client to *wire. False on a TLS failure.
  virtual bool receive(const std::string& from_client, std::string* wire, std::string* plain) = 0;
  // Encrypts `plain` as application data; the records are appended to *wire.
  virtual bool send(const std::string& plain, std::string* wire) = 0;
  virtual bool handshakeDone() const = 0;
  // What the server negotiated, to check that every case ran the handshake it claims.
  virtual std::string version() const = 0;
  virtual std::string cipher() const = 0;
  virtual bool resumed() const = 0;
  // The library's reason for the last failure.
  virtual std::string error() const = 0;
};

// One configured server (a listener's contexts): makes connections.
class ServerFactory {
 public:
  virtual ~ServerFactory() = default;
  virtual std::unique_ptr<ServerConnection> accept() = 0;
};

// The certificate every server presents: an ECDSA P-256 key and its self-signed certificate for
// kBenchHost, both PEM, plus the same as files for servers that load from paths.
struct BenchIdentity {
  std::string cert_pem;
  std::string key_pem;
  std::string cert_path;
  std::string key_path;
};

inline constexpr const char* kBenchHost = "bench.test";

}  // namespace ballast::bench
