// src/acme/storage.h — where ACME keeps its files under tls.acme.storage, and how they are
// written: private (mode 0600), whole (a temporary file renamed over the old one), so a
// reader never sees half a key and a crash never leaves a broken certificate behind.
#pragma once

#include <string>

#include "config/config_types.h"

namespace ballast::acme {

struct StoragePaths {
  std::string account_key;  // <storage>/account.key
  std::string dir;          // <storage>/<first domain>/
  std::string cert;         // <dir>/cert.pem: the chain the directory issued
  std::string key;          // <dir>/key.pem
  std::string placeholder_cert;
  std::string placeholder_key;
};

StoragePaths storagePaths(const config::AcmeSettings& acme);

// The files to serve now: the issued certificate when both files exist, else the placeholder.
config::TlsCertificate servingCertificate(const config::AcmeSettings& acme);
bool hasIssuedCertificate(const config::AcmeSettings& acme);

// Creates the storage directories (mode 0700) and, when no certificate was issued yet, a
// self-signed placeholder for the domains, so the listener can start (and answer
// tls-alpn-01) before the first order completes. False and *error when it cannot.
bool preparePlaceholder(const config::AcmeSettings& acme, std::string* error);

// Writes `content` to `path` with mode 0600 through a temporary file and rename.
bool writePrivateFile(const std::string& path, const std::string& content, std::string* error);

}  // namespace ballast::acme
