// src/acme/jws.h — the JSON Web Signature pieces ACME needs (RFC 7515/7518/7638): base64url,
// the ES256 account key as a JWK and its thumbprint, and flattened JWS request bodies.
// OpenSSL does the cryptography; this file only arranges bytes.
#pragma once

#include <openssl/evp.h>

#include <memory>
#include <string>
#include <string_view>

namespace ballast::acme {

struct PkeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;

std::string base64url(std::string_view bytes);

// A new ECDSA P-256 key (account keys and certificate keys alike).
PkeyPtr newP256Key();
// The key's PEM (PKCS#8), for storage.
std::string privateKeyPem(EVP_PKEY* key);
// Reads a PEM private key; nullptr when the file is missing or not a P-256 key.
PkeyPtr loadP256Key(const std::string& path);
// The same for PEM text (an account key taken from the shared store).
PkeyPtr parseP256Key(const std::string& pem);

// {"crv":"P-256","kty":"EC","x":…,"y":…}: members in lexical order, as RFC 7638 hashes them.
std::string jwk(EVP_PKEY* key);
// base64url(SHA-256(jwk)): the account's part of every key authorization.
std::string thumbprint(EVP_PKEY* key);

// A flattened JWS: {"protected","payload","signature"}. `kid` empty: the JWK goes in the
// header (newAccount). An empty payload is ACME's POST-as-GET. Empty string on a signing
// failure.
std::string signJws(EVP_PKEY* key, std::string_view kid, std::string_view nonce,
                    std::string_view url, std::string_view payload);

}  // namespace ballast::acme
