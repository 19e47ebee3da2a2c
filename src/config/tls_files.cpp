// src/config/tls_files.cpp — OpenSSL-based checks of certificates, keys, chains and staples.
#include "config/tls_files.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ocsp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509err.h>
#include <openssl/x509v3.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <memory>
#include <vector>

namespace ballast::config {
namespace {

struct Freer {
  void operator()(SSL_CTX* p) const { SSL_CTX_free(p); }
  void operator()(BIO* p) const { BIO_free(p); }
  void operator()(X509* p) const { X509_free(p); }
  void operator()(OCSP_RESPONSE* p) const { OCSP_RESPONSE_free(p); }
  void operator()(OCSP_BASICRESP* p) const { OCSP_BASICRESP_free(p); }
  void operator()(OCSP_CERTID* p) const { OCSP_CERTID_free(p); }
};
template <typename T>
using Owned = std::unique_ptr<T, Freer>;

std::string opensslReason() {
  const unsigned long code = ERR_peek_last_error();
  ERR_clear_error();
  std::array<char, 256> buf{};
  ERR_error_string_n(code, buf.data(), buf.size());
  return code == 0 ? "unreadable" : buf.data();
}

std::string unreadable(const std::string& path) {
  if (::access(path.c_str(), R_OK) != 0) {
    return "cannot read " + path + ": " + std::strerror(errno);
  }
  return {};
}

// Every certificate of a PEM file, in file order.
std::vector<Owned<X509>> readChain(const std::string& path) {
  std::vector<Owned<X509>> chain;
  Owned<BIO> bio(BIO_new_file(path.c_str(), "r"));
  if (!bio) {
    ERR_clear_error();
    return chain;
  }
  while (X509* x = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) {
    chain.emplace_back(x);
  }
  ERR_clear_error();  // the read that ends the loop leaves "no start line" behind
  return chain;
}

std::string subjectOf(X509* cert) {
  std::array<char, 256> buf{};
  X509_NAME_oneline(X509_get_subject_name(cert), buf.data(), static_cast<int>(buf.size()));
  return buf.data();
}

}  // namespace

std::string checkCertificatePair(const TlsCertificate& c) {
  for (const std::string* path : {&c.cert, &c.key}) {
    if (std::string why = unreadable(*path); !why.empty()) {
      return why;
    }
  }
  Owned<SSL_CTX> ctx(SSL_CTX_new(TLS_server_method()));
  if (SSL_CTX_use_certificate_chain_file(ctx.get(), c.cert.c_str()) != 1) {
    return "cannot load certificate " + c.cert + ": " + opensslReason();
  }
  if (SSL_CTX_use_PrivateKey_file(ctx.get(), c.key.c_str(), SSL_FILETYPE_PEM) != 1) {
    if (ERR_GET_REASON(ERR_peek_last_error()) == X509_R_KEY_VALUES_MISMATCH) {
      ERR_clear_error();
      return "key " + c.key + " does not match certificate " + c.cert;
    }
    return "cannot load key " + c.key + ": " + opensslReason();
  }
  if (SSL_CTX_check_private_key(ctx.get()) != 1) {
    ERR_clear_error();
    return "key " + c.key + " does not match certificate " + c.cert;
  }
  return {};
}

std::string checkChainOrder(const std::string& cert_path) {
  const auto chain = readChain(cert_path);
  for (size_t i = 1; i < chain.size(); ++i) {
    if (X509_check_issued(chain[i].get(), chain[i - 1].get()) != X509_V_OK) {
      return "chain out of order in " + cert_path + ": certificate " + std::to_string(i + 1) +
             " (" + subjectOf(chain[i].get()) + ") did not issue certificate " + std::to_string(i) +
             " (" + subjectOf(chain[i - 1].get()) + "); list the leaf first, then each issuer";
    }
  }
  return {};
}

std::optional<CertificateValidity> leafValidity(const std::string& cert_path) {
  const auto chain = readChain(cert_path);
  if (chain.empty()) {
    return std::nullopt;
  }
  const ASN1_TIME* not_after = X509_get0_notAfter(chain.front().get());
  int days = 0;
  int seconds = 0;
  if (ASN1_TIME_diff(&days, &seconds, nullptr, not_after) != 1) {
    return std::nullopt;
  }
  CertificateValidity v;
  v.seconds_left = static_cast<int64_t>(days) * 86400 + seconds;
  Owned<BIO> out(BIO_new(BIO_s_mem()));
  ASN1_TIME_print(out.get(), not_after);
  char* text = nullptr;
  const long len = BIO_get_mem_data(out.get(), &text);
  v.not_after.assign(text, static_cast<size_t>(len));
  return v;
}

std::string checkOcspResponse(const std::string& ocsp_path, const std::string& cert_path,
                              bool* stale) {
  *stale = false;
  if (std::string why = unreadable(ocsp_path); !why.empty()) {
    return why;
  }
  Owned<BIO> bio(BIO_new_file(ocsp_path.c_str(), "rb"));
  Owned<OCSP_RESPONSE> resp(bio ? d2i_OCSP_RESPONSE_bio(bio.get(), nullptr) : nullptr);
  if (!resp) {
    ERR_clear_error();
    return ocsp_path + " is not a DER OCSP response";
  }
  if (OCSP_response_status(resp.get()) != OCSP_RESPONSE_STATUS_SUCCESSFUL) {
    return ocsp_path + ": the OCSP responder answered " +
           OCSP_response_status_str(OCSP_response_status(resp.get()));
  }
  Owned<OCSP_BASICRESP> basic(OCSP_response_get1_basic(resp.get()));
  const auto chain = readChain(cert_path);
  if (!basic || chain.size() < 2) {
    ERR_clear_error();
    return chain.size() < 2 ? "ocsp_staple needs the issuer after the leaf in " + cert_path
                            : ocsp_path + ": no basic OCSP response inside";
  }
  Owned<OCSP_CERTID> id(OCSP_cert_to_id(nullptr, chain[0].get(), chain[1].get()));
  int status = 0;
  int reason = 0;
  ASN1_GENERALIZEDTIME* this_update = nullptr;
  ASN1_GENERALIZEDTIME* next_update = nullptr;
  if (!id || OCSP_resp_find_status(basic.get(), id.get(), &status, &reason, nullptr, &this_update,
                                   &next_update) != 1) {
    ERR_clear_error();
    return ocsp_path + " is not about the certificate in " + cert_path;
  }
  if (status == V_OCSP_CERTSTATUS_REVOKED) {
    return ocsp_path + ": the certificate in " + cert_path + " is revoked";
  }
  if (OCSP_check_validity(this_update, next_update, 300, -1) != 1) {
    ERR_clear_error();
    *stale = true;
  }
  return {};
}

std::string checkCaBundle(const std::string& path) {
  if (std::string why = unreadable(path); !why.empty()) {
    return why;
  }
  if (readChain(path).empty()) {
    return path + " holds no PEM certificate";
  }
  return {};
}

}  // namespace ballast::config
