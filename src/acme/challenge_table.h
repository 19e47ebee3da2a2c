// src/acme/challenge_table.h — the answers to pending ACME challenges, published by the ACME
// thread and read by workers: http-01 key authorizations by token, and tls-alpn-01
// certificates by server name. Read-mostly: every change publishes a new immutable table
// through an atomic shared_ptr, and readers look only when a request or handshake asks for
// a challenge, so ordinary traffic never touches it. No dependency above core and OpenSSL.
#pragma once

#include <openssl/ssl.h>

#include <optional>
#include <string>
#include <string_view>

namespace ballast::acme {

inline constexpr std::string_view kHttp01Prefix = "/.well-known/acme-challenge/";
inline constexpr std::string_view kAcmeTlsAlpn = "acme-tls/1";

// ACME thread: http-01. The key authorization is served as the body for the token's path.
void publishHttp01(const std::string& token, const std::string& key_authorization);
void withdrawHttp01(const std::string& token);
// Any thread: the answer for a request path, when it is a pending challenge's.
std::optional<std::string> http01Answer(std::string_view path);

// ACME thread: tls-alpn-01. `cert_pem`/`key_pem` are the acmeIdentifier certificate for
// `name` (lower case). False when OpenSSL refuses them.
bool publishTlsAlpn01(const std::string& name, const std::string& cert_pem,
                      const std::string& key_pem);
void withdrawTlsAlpn01(const std::string& name);

// OpenSSL client-hello callback for listeners with tls.acme: a hello offering only the ALPN
// protocol "acme-tls/1" for a name with a pending challenge is moved to that challenge's
// context (its certificate, and an ALPN choice of acme-tls/1); any other hello goes on as
// usual.
int onClientHello(SSL* ssl, int* alert, void* arg);

}  // namespace ballast::acme
