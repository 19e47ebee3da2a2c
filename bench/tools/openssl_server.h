// bench/tools/openssl_server.h — OpenSSL 3.0 servers for the handshake-cost bench: Ballast's own
// tls::ServerContext, and a mirror of its settings built in a dedicated OSSL_LIB_CTX.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "server_endpoint.h"

namespace ballast::bench {

enum class Tickets : uint8_t {
  kStateless,  // Ballast's default: tickets sealed by its ticket key ring
  kStateful,   // Ballast's `session_tickets: false`: OpenSSL then sends TLS 1.3 tickets that
               // name an entry of the server's session cache
  kNone,       // SSL_CTX_set_num_tickets(0): no ticket at all
};

struct OpensslServerOptions {
  Tickets tickets = Tickets::kStateless;
  // A mirror of Ballast's settings in an OSSL_LIB_CTX of its own (SSL_CTX_new_ex) instead of
  // tls::ServerContext itself in the default one.
  bool own_libctx = false;
};

std::unique_ptr<ServerFactory> makeOpensslServer(const BenchIdentity& id,
                                                 const OpensslServerOptions& options,
                                                 std::string* error);

}  // namespace ballast::bench
