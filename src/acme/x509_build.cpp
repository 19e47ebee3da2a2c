// src/acme/x509_build.cpp — CSRs, self-signed and acmeIdentifier certificates with OpenSSL 3.
#include "acme/x509_build.h"

#include <arpa/inet.h>
#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <array>
#include <ctime>
#include <memory>

namespace ballast::acme {
namespace {

constexpr long kSecondsPerDay = 86'400;
constexpr int kSerialBytes = 16;
constexpr int kSha256Bytes = 32;
constexpr unsigned char kDerOctetString = 0x04;
constexpr unsigned kPositiveMask = 0x7FU;  // clears the sign bit of a DER INTEGER
constexpr size_t kMaxIssuerText = 256;
// id-pe-acmeIdentifier (RFC 8737 section 6.1).
constexpr const char* kAcmeIdentifierOid = "1.3.6.1.5.5.7.1.31";

struct X509Free {
  void operator()(X509* x) const { X509_free(x); }
};
struct ReqFree {
  void operator()(X509_REQ* r) const { X509_REQ_free(r); }
};
struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};
struct ExtStackFree {
  void operator()(STACK_OF(X509_EXTENSION) * s) const {
    sk_X509_EXTENSION_pop_free(s, X509_EXTENSION_free);
  }
};
struct ExtFree {
  void operator()(X509_EXTENSION* e) const { X509_EXTENSION_free(e); }
};
struct ObjFree {
  void operator()(ASN1_OBJECT* o) const { ASN1_OBJECT_free(o); }
};
struct OctetFree {
  void operator()(ASN1_OCTET_STRING* o) const { ASN1_OCTET_STRING_free(o); }
};
struct BnFree {
  void operator()(BIGNUM* b) const { BN_free(b); }
};

bool isIpAddress(const std::string& name) {
  std::array<unsigned char, sizeof(in6_addr)> buf{};
  return inet_pton(AF_INET, name.c_str(), buf.data()) == 1 ||
         inet_pton(AF_INET6, name.c_str(), buf.data()) == 1;
}

// ACME names are DNS names; the demo's certificate also names 127.0.0.1 and ::1.
std::string sanList(const std::vector<std::string>& domains) {
  std::string out;
  for (const auto& d : domains) {
    out += (out.empty() ? "" : ",") + std::string(isIpAddress(d) ? "IP:" : "DNS:") + d;
  }
  return out;
}

std::unique_ptr<X509_EXTENSION, ExtFree> sanExtension(const std::vector<std::string>& domains) {
  return std::unique_ptr<X509_EXTENSION, ExtFree>(
      X509V3_EXT_conf_nid(nullptr, nullptr, NID_subject_alt_name, sanList(domains).c_str()));
}

bool setCommonName(X509_NAME* name, const std::string& cn) {
  return X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                                    reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1,
                                    0) == 1;
}

std::unique_ptr<X509_EXTENSION, ExtFree> acmeIdentifierExtension(const std::string& digest) {
  std::unique_ptr<ASN1_OBJECT, ObjFree> oid(OBJ_txt2obj(kAcmeIdentifierOid, 1));
  // extnValue holds the DER of an OCTET STRING of the digest.
  std::string der;
  der.push_back(static_cast<char>(kDerOctetString));
  der.push_back(static_cast<char>(kSha256Bytes));
  der += digest;
  std::unique_ptr<ASN1_OCTET_STRING, OctetFree> value(ASN1_OCTET_STRING_new());
  if (!oid || !value ||
      ASN1_OCTET_STRING_set(value.get(), reinterpret_cast<const unsigned char*>(der.data()),
                            static_cast<int>(der.size())) != 1) {
    return nullptr;
  }
  return std::unique_ptr<X509_EXTENSION, ExtFree>(
      X509_EXTENSION_create_by_OBJ(nullptr, oid.get(), 1, value.get()));
}

int64_t asn1ToUnix(const ASN1_TIME* t) {
  tm parsed{};
  if (ASN1_TIME_to_tm(t, &parsed) != 1) {
    return 0;
  }
  return static_cast<int64_t>(timegm(&parsed));
}

}  // namespace

std::string certificateRequestDer(EVP_PKEY* key, const std::vector<std::string>& domains) {
  std::unique_ptr<X509_REQ, ReqFree> req(X509_REQ_new());
  std::unique_ptr<STACK_OF(X509_EXTENSION), ExtStackFree> exts(sk_X509_EXTENSION_new_null());
  auto san = sanExtension(domains);
  if (!req || !exts || !san || domains.empty() ||
      !setCommonName(X509_REQ_get_subject_name(req.get()), domains.front())) {
    return {};
  }
  sk_X509_EXTENSION_push(exts.get(), san.release());
  if (X509_REQ_set_version(req.get(), 0) != 1 || X509_REQ_set_pubkey(req.get(), key) != 1 ||
      X509_REQ_add_extensions(req.get(), exts.get()) != 1 ||
      X509_REQ_sign(req.get(), key, EVP_sha256()) <= 0) {
    return {};
  }
  const int len = i2d_X509_REQ(req.get(), nullptr);
  if (len <= 0) {
    return {};
  }
  std::string der(static_cast<size_t>(len), '\0');
  auto* p = reinterpret_cast<unsigned char*>(der.data());
  i2d_X509_REQ(req.get(), &p);
  return der;
}

std::string selfSignedPem(EVP_PKEY* key, const std::vector<std::string>& domains, int days,
                          const std::string& acme_identifier) {
  std::unique_ptr<X509, X509Free> cert(X509_new());
  std::array<unsigned char, kSerialBytes> serial{};
  if (!cert || domains.empty() || RAND_bytes(serial.data(), kSerialBytes) != 1) {
    return {};
  }
  serial[0] &= kPositiveMask;
  std::unique_ptr<BIGNUM, BnFree> bn(BN_bin2bn(serial.data(), kSerialBytes, nullptr));
  X509_set_version(cert.get(), 2);
  BN_to_ASN1_INTEGER(bn.get(), X509_get_serialNumber(cert.get()));
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), 0);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), kSecondsPerDay * days);
  X509_NAME* name = X509_get_subject_name(cert.get());
  if (!setCommonName(name, domains.front()) || X509_set_issuer_name(cert.get(), name) != 1 ||
      X509_set_pubkey(cert.get(), key) != 1) {
    return {};
  }
  auto san = sanExtension(domains);
  if (!san || X509_add_ext(cert.get(), san.get(), -1) != 1) {
    return {};
  }
  if (!acme_identifier.empty()) {
    auto ext = acmeIdentifierExtension(acme_identifier);
    if (!ext || X509_add_ext(cert.get(), ext.get(), -1) != 1) {
      return {};
    }
  }
  if (X509_sign(cert.get(), key, EVP_sha256()) <= 0) {
    return {};
  }
  std::unique_ptr<BIO, BioFree> bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_X509(bio.get(), cert.get()) != 1) {
    return {};
  }
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio.get(), &data);
  return {data, static_cast<size_t>(len)};
}

bool chainMatchesKey(const std::string& chain_pem, const std::string& key_pem) {
  std::unique_ptr<BIO, BioFree> cert_bio(
      BIO_new_mem_buf(chain_pem.data(), static_cast<int>(chain_pem.size())));
  std::unique_ptr<BIO, BioFree> key_bio(
      BIO_new_mem_buf(key_pem.data(), static_cast<int>(key_pem.size())));
  if (!cert_bio || !key_bio) {
    return false;
  }
  std::unique_ptr<X509, X509Free> cert(
      PEM_read_bio_X509(cert_bio.get(), nullptr, nullptr, nullptr));
  EVP_PKEY* key = PEM_read_bio_PrivateKey(key_bio.get(), nullptr, nullptr, nullptr);
  const bool ok = cert && key != nullptr && X509_check_private_key(cert.get(), key) == 1;
  EVP_PKEY_free(key);
  ERR_clear_error();
  return ok;
}

namespace {

std::optional<Validity> leafValidityFrom(BIO* bio) {
  if (bio == nullptr) {
    return std::nullopt;
  }
  std::unique_ptr<X509, X509Free> cert(PEM_read_bio_X509(bio, nullptr, nullptr, nullptr));
  if (!cert) {
    return std::nullopt;
  }
  Validity v;
  v.not_before = asn1ToUnix(X509_get0_notBefore(cert.get()));
  v.not_after = asn1ToUnix(X509_get0_notAfter(cert.get()));
  auto* sans = static_cast<GENERAL_NAMES*>(
      X509_get_ext_d2i(cert.get(), NID_subject_alt_name, nullptr, nullptr));
  if (sans != nullptr) {
    for (int i = 0; i < sk_GENERAL_NAME_num(sans); ++i) {
      const GENERAL_NAME* gn = sk_GENERAL_NAME_value(sans, i);
      if (gn->type == GEN_DNS) {
        const auto* s = gn->d.dNSName;
        v.names.emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                             static_cast<size_t>(ASN1_STRING_length(s)));
      }
    }
    GENERAL_NAMES_free(sans);
  }
  std::array<char, kMaxIssuerText> issuer{};
  X509_NAME_oneline(X509_get_issuer_name(cert.get()), issuer.data(),
                    static_cast<int>(issuer.size()));
  v.issuer = issuer.data();
  return v;
}

}  // namespace

std::optional<Validity> readLeafValidity(const std::string& pem_path) {
  std::unique_ptr<BIO, BioFree> bio(BIO_new_file(pem_path.c_str(), "r"));
  return leafValidityFrom(bio.get());
}

std::optional<Validity> leafValidity(const std::string& chain_pem) {
  std::unique_ptr<BIO, BioFree> bio(
      BIO_new_mem_buf(chain_pem.data(), static_cast<int>(chain_pem.size())));
  return leafValidityFrom(bio.get());
}

}  // namespace ballast::acme
