// src/config/tls_files.h — checks on the PEM and DER files a `tls:` block names, so that
// `ballast validate` and a reload refuse bad material before any listener uses it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "config/config_types.h"

namespace ballast::config {

// Empty when the pair loads and the key matches the certificate; else what is wrong.
std::string checkCertificatePair(const TlsCertificate& c);

// Empty when each certificate after the first in the PEM file issued the one before it (leaf
// first, then its issuer, and so on, as TLS sends them); else which one is out of place.
std::string checkChainOrder(const std::string& cert_path);

// How long the file's leaf certificate has left; nullopt when it cannot be read.
struct CertificateValidity {
  int64_t seconds_left = 0;  // negative once expired
  std::string not_after;     // as OpenSSL prints it, for messages
};
std::optional<CertificateValidity> leafValidity(const std::string& cert_path);

// Empty when `ocsp_path` holds a successful DER OCSP response about the leaf of `cert_path`
// (its issuer must follow it in the chain); else what is wrong. `*stale` is set when the
// response's nextUpdate has passed (it still loads; clients will ignore it).
std::string checkOcspResponse(const std::string& ocsp_path, const std::string& cert_path,
                              bool* stale);

// Empty when the PEM bundle holds at least one CA certificate.
std::string checkCaBundle(const std::string& path);

}  // namespace ballast::config
