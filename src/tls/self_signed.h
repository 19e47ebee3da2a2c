// src/tls/self_signed.h — a throwaway ECDSA P-256 certificate made at start, for `ballast demo
// --tls` (a new user has no domain and no certificate yet).
#pragma once

#include <string>
#include <vector>

namespace ballast::tls {

struct PemPair {
  std::string cert;
  std::string key;
};

// A self-signed certificate for `names` (DNS names; "127.0.0.1"-style entries become IP
// addresses), valid `days` from now. Empty strings when OpenSSL fails.
PemPair makeSelfSigned(const std::vector<std::string>& names, int days);

}  // namespace ballast::tls
