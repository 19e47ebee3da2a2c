// src/config/tls_sections.cpp — reads and checks a listener's `tls:` block.
#include "config/tls_sections.h"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <memory>

namespace ballast::config {
namespace {

using namespace std::string_view_literals;

constexpr std::array kTlsKeys = {"certificates"sv, "min_version"sv, "ciphers"sv,
                                 "ciphersuites"sv, "alpn"sv,        "session_tickets"sv};
constexpr std::array kCertificateKeys = {"cert"sv, "key"sv};
constexpr std::array<Choice<TlsVersion>, 2> kVersions = {{
    {"1.2", TlsVersion::k12},
    {"1.3", TlsVersion::k13},
}};

std::string opensslReason() {
  const unsigned long code = ERR_peek_last_error();
  ERR_clear_error();
  std::array<char, 256> buf{};
  ERR_error_string_n(code, buf.data(), buf.size());
  return code == 0 ? "unreadable" : buf.data();
}

// Empty when the pair loads and matches; else what is wrong with it.
std::string checkPair(const TlsCertificate& c) {
  struct CtxFree {
    void operator()(SSL_CTX* ctx) const { SSL_CTX_free(ctx); }
  };
  for (const std::string* path : {&c.cert, &c.key}) {
    if (::access(path->c_str(), R_OK) != 0) {
      return "cannot read " + *path + ": " + std::strerror(errno);
    }
  }
  std::unique_ptr<SSL_CTX, CtxFree> ctx(SSL_CTX_new(TLS_server_method()));
  if (SSL_CTX_use_certificate_chain_file(ctx.get(), c.cert.c_str()) != 1) {
    return "cannot load certificate " + c.cert + ": " + opensslReason();
  }
  if (SSL_CTX_use_PrivateKey_file(ctx.get(), c.key.c_str(), SSL_FILETYPE_PEM) != 1) {
    return "cannot load key " + c.key + ": " + opensslReason();
  }
  if (SSL_CTX_check_private_key(ctx.get()) != 1) {
    ERR_clear_error();
    return "key " + c.key + " does not match certificate " + c.cert;
  }
  return {};
}

void readCertificates(FileReader& file, const Field& field, TlsServerSettings& tls) {
  for (const Field& item : listItems(file, field, "certificate")) {
    const MapReader map(file, item, "certificate", kCertificateKeys);
    if (!map.ok()) {
      continue;
    }
    TlsCertificate c;
    const Field* cert = map.require(file, "cert");
    const Field* key = map.require(file, "key");
    if (cert == nullptr || key == nullptr) {
      continue;
    }
    auto cert_path = readFilePath(file, *cert, false);
    auto key_path = readFilePath(file, *key, false);
    if (!cert_path || !key_path) {
      continue;
    }
    c.cert = *cert_path;
    c.key = *key_path;
    if (const std::string why = checkPair(c); !why.empty()) {
      file.error(cert->valueMark(), "tls.certificates: " + why);
      continue;
    }
    tls.certificates.push_back(std::move(c));
  }
}

}  // namespace

void readTlsServer(FileReader& file, const Field& field, TlsServerSettings& tls) {
  const MapReader map(file, field, "tls", kTlsKeys);
  if (!map.ok()) {
    return;
  }
  if (const Field* f = map.require(file, "certificates")) {
    readCertificates(file, *f, tls);
    if (tls.certificates.empty() && listItems(file, *f, "certificate").empty()) {
      file.error(f->valueMark(), "tls.certificates: at least one {cert, key} is needed");
    }
  }
  if (const Field* f = map.find("min_version")) {
    assign(tls.min_version, readChoice<TlsVersion>(file, *f, kVersions));
  }
  if (const Field* f = map.find("ciphers")) {
    assign(tls.ciphers, readScalar(file, *f, "an OpenSSL cipher list"));
  }
  if (const Field* f = map.find("ciphersuites")) {
    assign(tls.ciphersuites, readScalar(file, *f, "an OpenSSL TLS 1.3 ciphersuite list"));
  }
  if (const Field* f = map.find("alpn")) {
    tls.alpn.clear();
    for (const Field& item : listItems(file, *f, "protocol")) {
      auto name = readScalar(file, item, "a protocol name");
      if (!name) {
        continue;
      }
      if (*name != "http/1.1" && *name != "h2") {
        file.error(item.valueMark(),
                   "tls.alpn: \"h2\" and \"http/1.1\" are spoken, not " + quote(*name));
        continue;
      }
      tls.alpn.push_back(*name);
    }
  }
  if (const Field* f = map.find("session_tickets")) {
    assign(tls.session_tickets, readBool(file, *f));
  }
}

}  // namespace ballast::config
