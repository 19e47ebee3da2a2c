// bench/tools/gnutls_server.h — a GnuTLS 3.7 server set up like Ballast's OpenSSL one (see
// gnutls_server.cpp for the mapping), for the handshake-cost bench.
#pragma once

#include <memory>
#include <string>

#include "server_endpoint.h"

namespace ballast::bench {

struct GnutlsServerOptions {
  bool tickets = true;
  // P-256 before X25519 in the server's group order. Under server precedence GnuTLS answers a
  // P-256 key share with a HelloRetryRequest for X25519 when X25519 comes first (OpenSSL takes
  // the share), so the P-256 case needs this to measure a P-256 exchange at all.
  bool prefer_p256 = false;
};

// nullptr and *error when the library refuses the certificate or a setting.
std::unique_ptr<ServerFactory> makeGnutlsServer(const BenchIdentity& id,
                                                const GnutlsServerOptions& options,
                                                std::string* error);
// "GnuTLS 3.7.9", from the library itself.
std::string gnutlsVersion();

}  // namespace ballast::bench
