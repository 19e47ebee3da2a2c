// src/acme/x509_build.h — the X.509 objects ACME needs that OpenSSL builds for us: the CSR sent
// at finalize, the self-signed placeholder served until the first certificate arrives, and the
// RFC 8737 acmeIdentifier certificate answering tls-alpn-01. Plus reading a chain's validity.
#pragma once

#include <openssl/evp.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace ballast::acme {

// DER of a PKCS#10 request for `domains` (CN the first, every one a SAN), signed by `key`.
std::string certificateRequestDer(EVP_PKEY* key, const std::vector<std::string>& domains);

// PEM of a self-signed certificate for `domains` (IP literals become IP subjectAltNames), valid
// `days`. Also `ballast demo --tls`'s certificate. With `acme_identifier` (the
// SHA-256 of a key authorization) it carries RFC 8737's critical id-pe-acmeIdentifier.
std::string selfSignedPem(EVP_PKEY* key, const std::vector<std::string>& domains, int days,
                          const std::string& acme_identifier = {});

// True when the PEM chain's first certificate belongs to the PEM key (checked before a
// downloaded chain replaces the one on disk).
bool chainMatchesKey(const std::string& chain_pem, const std::string& key_pem);

struct Validity {
  int64_t not_before = 0;  // Unix seconds
  int64_t not_after = 0;
  std::vector<std::string> names;  // DNS subjectAltNames
  std::string issuer;              // one line, as `openssl x509 -issuer` prints it
};
// The first certificate of a PEM file; nullopt when unreadable.
std::optional<Validity> readLeafValidity(const std::string& pem_path);
// The same for a PEM chain held in memory (one taken from the shared store).
std::optional<Validity> leafValidity(const std::string& chain_pem);

}  // namespace ballast::acme
