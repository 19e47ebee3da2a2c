// src/config/tls_sections.cpp — reads and checks a listener's `tls:` block.
#include "config/tls_sections.h"

#include <array>
#include <utility>

#include "config/acme_sections.h"
#include "config/host_names.h"
#include "config/http_fields.h"
#include "config/tls_files.h"

namespace ballast::config {
namespace {

using namespace std::string_view_literals;

constexpr std::array kTlsKeys = {"certificates"sv,
                                 "min_version"sv,
                                 "ciphers"sv,
                                 "ciphersuites"sv,
                                 "alpn"sv,
                                 "session_tickets"sv,
                                 "session_ticket_rotation"sv,
                                 "ocsp_staple"sv,
                                 "client_auth"sv,
                                 "acme"sv};
constexpr std::array kCertificateKeys = {"cert"sv, "key"sv, "ocsp_staple"sv};
constexpr std::array kClientCertKeys = {"cert"sv, "key"sv};
constexpr std::array kUpstreamTlsKeys = {"verify"sv,      "ca"sv,          "sni"sv,
                                         "client_cert"sv, "min_version"sv, "session_reuse"sv};
constexpr std::array kClientAuthKeys = {"ca"sv, "mode"sv, "subject_header"sv,
                                        "fingerprint_header"sv};
constexpr std::array<Choice<ClientAuthMode>, 2> kClientAuthModes = {{
    {"require", ClientAuthMode::kRequire},
    {"optional", ClientAuthMode::kOptional},
}};
// A certificate this close to its end gets a warning, as certbot and Caddy renew well before.
constexpr int64_t kExpiryWarningSeconds = 7 * 24 * 3600;
constexpr auto kMinTicketRotation = std::chrono::seconds(1);
constexpr std::array<Choice<TlsVersion>, 2> kVersions = {{
    {"1.2", TlsVersion::k12},
    {"1.3", TlsVersion::k13},
}};

void warnAboutExpiry(FileReader& file, const Field& field, const std::string& cert_path) {
  const auto validity = leafValidity(cert_path);
  if (!validity) {
    return;
  }
  if (validity->seconds_left <= 0) {
    file.warning(field.valueMark(),
                 "tls.certificates: " + cert_path + " expired on " + validity->not_after);
  } else if (validity->seconds_left < kExpiryWarningSeconds) {
    file.warning(field.valueMark(), "tls.certificates: " + cert_path + " expires on " +
                                        validity->not_after + ", within 7 days");
  }
}

std::optional<std::string> readStaple(FileReader& file, const Field& field,
                                      const std::string& cert_path) {
  auto path = readFilePath(file, field, false);
  if (!path) {
    return std::nullopt;
  }
  bool stale = false;
  if (const std::string why = checkOcspResponse(*path, cert_path, &stale); !why.empty()) {
    file.error(field.valueMark(), "ocsp_staple: " + why);
    return std::nullopt;
  }
  if (stale) {
    file.warning(field.valueMark(),
                 "ocsp_staple: " + *path + " is past its nextUpdate; clients will ignore it");
  }
  return path;
}

void readClientAuth(FileReader& file, const Field& field, TlsClientAuth& auth) {
  const MapReader map(file, field, "client_auth", kClientAuthKeys);
  if (!map.ok()) {
    return;
  }
  if (const Field* f = map.require(file, "ca")) {
    if (auto path = readFilePath(file, *f, false)) {
      if (const std::string why = checkCaBundle(*path); !why.empty()) {
        file.error(f->valueMark(), "client_auth.ca: " + why);
      } else {
        auth.ca = *path;
      }
    }
  }
  auth.mode = ClientAuthMode::kRequire;
  if (const Field* f = map.find("mode")) {
    assign(auth.mode, readChoice<ClientAuthMode>(file, *f, kClientAuthModes));
  }
  for (auto [key, target] : {std::pair{"subject_header", &auth.subject_header},
                             std::pair{"fingerprint_header", &auth.fingerprint_header}}) {
    if (const Field* f = map.find(key)) {
      auto name = readScalar(file, *f, "a header field name");
      if (name && !isToken(*name)) {
        file.error(f->valueMark(), std::string(key) + ": " + quote(*name) +
                                       " is not a header field name (RFC 9110 token)");
      } else {
        assign(*target, name);
      }
    }
  }
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
    // The order first: a chain that starts with its CA also fails the key check, and "out of
    // order" is the message that says what to fix.
    if (const std::string why = checkChainOrder(c.cert); !why.empty()) {
      file.error(cert->valueMark(), "tls.certificates: " + why);
      continue;
    }
    if (const std::string why = checkCertificatePair(c); !why.empty()) {
      file.error(cert->valueMark(), "tls.certificates: " + why);
      continue;
    }
    warnAboutExpiry(file, *cert, c.cert);
    if (const Field* f = map.find("ocsp_staple")) {
      assign(c.ocsp_staple, readStaple(file, *f, c.cert));
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
  if (const Field* f = map.find("acme")) {
    tls.acme.emplace();
    readAcme(file, *f, *tls.acme);
  }
  // With ACME the certificate comes from the directory; listed ones serve beside it.
  const Field* certificates =
      tls.acme ? map.find("certificates") : map.require(file, "certificates");
  if (const Field* f = certificates) {
    readCertificates(file, *f, tls);
    if (!tls.acme && tls.certificates.empty() && listItems(file, *f, "certificate").empty()) {
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
  if (const Field* f = map.find("session_ticket_rotation")) {
    const auto d = readDuration(file, *f, /*positive=*/true);
    if (d && *d < kMinTicketRotation) {
      file.error(f->valueMark(), "session_ticket_rotation: at least 1s");
    } else {
      assign(tls.session_ticket_rotation, d);
    }
  }
  if (const Field* f = map.find("ocsp_staple")) {
    // Shorthand for the first (default) certificate's staple.
    if (tls.certificates.empty()) {
      file.error(f->key_mark, "ocsp_staple: needs a certificate to staple for");
    } else if (!tls.certificates.front().ocsp_staple.empty()) {
      file.error(f->key_mark, "ocsp_staple: the first certificate has its own ocsp_staple");
    } else {
      assign(tls.certificates.front().ocsp_staple,
             readStaple(file, *f, tls.certificates.front().cert));
    }
  }
  if (const Field* f = map.find("client_auth")) {
    readClientAuth(file, *f, tls.client_auth);
  }
}

void readUpstreamTls(FileReader& file, const Field& field, UpstreamTls& tls) {
  const MapReader map(file, field, "tls", kUpstreamTlsKeys);
  if (!map.ok()) {
    return;
  }
  tls.enabled = true;
  if (const Field* f = map.find("verify")) {
    assign(tls.verify, readBool(file, *f));
  }
  if (const Field* f = map.find("ca")) {
    if (auto path = readFilePath(file, *f, false)) {
      if (const std::string why = checkCaBundle(*path); !why.empty()) {
        file.error(f->valueMark(), "tls.ca: " + why);
      } else {
        tls.ca = *path;
      }
    }
  }
  if (const Field* f = map.find("sni")) {
    auto name = readScalar(file, *f, "a host name");
    if (name && !isDottedName(*name)) {
      file.error(f->valueMark(), "tls.sni: " + quote(*name) + " is not a host name");
    } else {
      assign(tls.sni, name);
    }
  }
  if (const Field* f = map.find("client_cert")) {
    const MapReader cert_map(file, *f, "client_cert", kClientCertKeys);
    const Field* cert = cert_map.ok() ? cert_map.require(file, "cert") : nullptr;
    const Field* key = cert_map.ok() ? cert_map.require(file, "key") : nullptr;
    if (cert != nullptr && key != nullptr) {
      auto cert_path = readFilePath(file, *cert, false);
      auto key_path = readFilePath(file, *key, false);
      if (cert_path && key_path) {
        TlsCertificate c{*cert_path, *key_path, {}};
        if (const std::string why = checkCertificatePair(c); !why.empty()) {
          file.error(cert->valueMark(), "tls.client_cert: " + why);
        } else {
          warnAboutExpiry(file, *cert, c.cert);
          tls.client_cert = std::move(c);
        }
      }
    }
  }
  if (const Field* f = map.find("min_version")) {
    assign(tls.min_version, readChoice<TlsVersion>(file, *f, kVersions));
  }
  if (const Field* f = map.find("session_reuse")) {
    assign(tls.session_reuse, readBool(file, *f));
  }
}

}  // namespace ballast::config
