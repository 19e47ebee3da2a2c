// src/tls/self_signed.cpp — key generation and a minimal X.509 v3 certificate with OpenSSL 3.
#include "tls/self_signed.h"

#include <arpa/inet.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include <array>
#include <memory>

namespace ballast::tls {
namespace {

struct Freer {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
  void operator()(X509* p) const { X509_free(p); }
  void operator()(BIO* p) const { BIO_free(p); }
};
template <typename T>
using Owned = std::unique_ptr<T, Freer>;

constexpr long kSecondsPerDay = 86400;
constexpr int kSerialBytes = 16;

std::string pemOf(BIO* bio) {
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<size_t>(len));
}

bool isIpAddress(const std::string& name) {
  std::array<unsigned char, sizeof(in6_addr)> buf{};
  return inet_pton(AF_INET, name.c_str(), buf.data()) == 1 ||
         inet_pton(AF_INET6, name.c_str(), buf.data()) == 1;
}

}  // namespace

PemPair makeSelfSigned(const std::vector<std::string>& names, int days) {
  Owned<EVP_PKEY> key(EVP_EC_gen("P-256"));
  Owned<X509> cert(X509_new());
  if (!key || !cert || names.empty()) {
    return {};
  }
  X509_set_version(cert.get(), 2);  // v3
  std::array<unsigned char, kSerialBytes> serial{};
  RAND_bytes(serial.data(), static_cast<int>(serial.size()));
  serial[0] &= 0x7f;  // a positive INTEGER
  BIGNUM* bn = BN_bin2bn(serial.data(), static_cast<int>(serial.size()), nullptr);
  BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert.get()));
  BN_free(bn);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -kSecondsPerDay);  // clocks disagree a little
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), kSecondsPerDay * days);
  X509_set_pubkey(cert.get(), key.get());
  X509_NAME* subject = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(names.front().c_str()), -1, -1,
                             0);
  X509_set_issuer_name(cert.get(), subject);
  std::string sans;
  for (const auto& n : names) {
    sans += (sans.empty() ? "" : ",") + std::string(isIpAddress(n) ? "IP:" : "DNS:") + n;
  }
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, cert.get(), cert.get(), nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, NID_subject_alt_name, sans.c_str());
  if (ext == nullptr) {
    return {};
  }
  X509_add_ext(cert.get(), ext, -1);
  X509_EXTENSION_free(ext);
  if (X509_sign(cert.get(), key.get(), EVP_sha256()) == 0) {
    return {};
  }
  Owned<BIO> cert_pem(BIO_new(BIO_s_mem()));
  Owned<BIO> key_pem(BIO_new(BIO_s_mem()));
  if (PEM_write_bio_X509(cert_pem.get(), cert.get()) != 1 ||
      PEM_write_bio_PrivateKey(key_pem.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr) !=
          1) {
    return {};
  }
  return {pemOf(cert_pem.get()), pemOf(key_pem.get())};
}

}  // namespace ballast::tls
