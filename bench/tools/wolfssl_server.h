// bench/tools/wolfssl_server.h — a wolfSSL 5.5 server set up like Ballast's OpenSSL one (see
// wolfssl_server.cpp for the mapping), for the handshake-cost bench.
#pragma once

#include <memory>
#include <string>

#include "server_endpoint.h"

namespace ballast::bench {

struct WolfServerOptions {
  bool tickets = true;
};

// nullptr and *error when the library refuses the certificate or a setting.
std::unique_ptr<ServerFactory> makeWolfServer(const BenchIdentity& id,
                                              const WolfServerOptions& options, std::string* error);
// "wolfSSL 5.5.4", from the library itself.
std::string wolfVersion();

}  // namespace ballast::bench
