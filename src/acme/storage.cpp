// src/acme/storage.cpp — ACME's files on disk.
#include "acme/storage.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "acme/jws.h"
#include "acme/x509_build.h"

namespace ballast::acme {
namespace {

constexpr mode_t kPrivateDirMode = 0700;
constexpr mode_t kPrivateFileMode = 0600;
constexpr int kPlaceholderDays = 90;

bool exists(const std::string& path) { return ::access(path.c_str(), F_OK) == 0; }

bool makeDir(const std::string& path, std::string* error) {
  if (::mkdir(path.c_str(), kPrivateDirMode) != 0 && errno != EEXIST) {
    *error = "cannot create " + path + ": " + std::strerror(errno);
    return false;
  }
  return true;
}

}  // namespace

StoragePaths storagePaths(const config::AcmeSettings& acme) {
  StoragePaths p;
  const std::string root = acme.storage.ends_with('/') ? acme.storage : acme.storage + "/";
  p.account_key = root + "account.key";
  p.dir = root + (acme.domains.empty() ? std::string("default") : acme.domains.front()) + "/";
  p.cert = p.dir + "cert.pem";
  p.key = p.dir + "key.pem";
  p.placeholder_cert = p.dir + "placeholder.pem";
  p.placeholder_key = p.dir + "placeholder.key";
  return p;
}

bool hasIssuedCertificate(const config::AcmeSettings& acme) {
  const StoragePaths p = storagePaths(acme);
  return exists(p.cert) && exists(p.key);
}

config::TlsCertificate servingCertificate(const config::AcmeSettings& acme) {
  const StoragePaths p = storagePaths(acme);
  if (hasIssuedCertificate(acme)) {
    return {p.cert, p.key};
  }
  return {p.placeholder_cert, p.placeholder_key};
}

bool writePrivateFile(const std::string& path, const std::string& content, std::string* error) {
  const std::string tmp = path + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, kPrivateFileMode);
  if (fd < 0) {
    *error = "cannot write " + tmp + ": " + std::strerror(errno);
    return false;
  }
  size_t done = 0;
  while (done < content.size()) {
    const ssize_t n = ::write(fd, content.data() + done, content.size() - done);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      *error = "cannot write " + tmp + ": " + std::strerror(errno);
      ::close(fd);
      ::unlink(tmp.c_str());
      return false;
    }
    done += static_cast<size_t>(n);
  }
  // A file left by an older run may be wider than 0600; open() does not narrow it.
  const bool ok = ::fchmod(fd, kPrivateFileMode) == 0 && ::fsync(fd) == 0;
  ::close(fd);
  if (!ok || ::rename(tmp.c_str(), path.c_str()) != 0) {
    *error = "cannot replace " + path + ": " + std::strerror(errno);
    ::unlink(tmp.c_str());
    return false;
  }
  return true;
}

bool preparePlaceholder(const config::AcmeSettings& acme, std::string* error) {
  const StoragePaths p = storagePaths(acme);
  if (!makeDir(acme.storage, error) || !makeDir(p.dir, error)) {
    return false;
  }
  if (hasIssuedCertificate(acme) || (exists(p.placeholder_cert) && exists(p.placeholder_key))) {
    return true;
  }
  auto key = newP256Key();
  const std::string cert = key ? selfSignedPem(key.get(), acme.domains, kPlaceholderDays) : "";
  if (cert.empty()) {
    *error = "cannot make a placeholder certificate for " + acme.domains.front();
    return false;
  }
  // Key first: a certificate never exists without its key.
  return writePrivateFile(p.placeholder_key, privateKeyPem(key.get()), error) &&
         writePrivateFile(p.placeholder_cert, cert, error);
}

}  // namespace ballast::acme
