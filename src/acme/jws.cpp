// src/acme/jws.cpp — base64url, JWK, thumbprint and ES256 signatures with OpenSSL 3.
#include "acme/jws.h"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/pem.h>
#include <openssl/sha.h>

#include <array>
#include <nlohmann/json.hpp>

namespace ballast::acme {
namespace {

constexpr int kCoordinateBytes = 32;  // P-256 field elements and ES256's r and s
constexpr int kP256Bits = 256;
constexpr unsigned kByteBits = 8;
constexpr unsigned kSextetBits = 6;  // one base64 letter
constexpr size_t kBase64InBytes = 3;
constexpr size_t kBase64OutLetters = 4;

struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};
struct BnFree {
  void operator()(BIGNUM* b) const { BN_free(b); }
};
struct MdCtxFree {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};
struct SigFree {
  void operator()(ECDSA_SIG* s) const { ECDSA_SIG_free(s); }
};

std::string coordinate(EVP_PKEY* key, const char* param) {
  BIGNUM* raw = nullptr;
  if (EVP_PKEY_get_bn_param(key, param, &raw) != 1) {
    return {};
  }
  std::unique_ptr<BIGNUM, BnFree> bn(raw);
  std::array<unsigned char, kCoordinateBytes> buf{};
  BN_bn2binpad(bn.get(), buf.data(), kCoordinateBytes);
  return base64url(std::string_view(reinterpret_cast<const char*>(buf.data()), buf.size()));
}

// ES256 wants r||s, each 32 bytes big-endian; OpenSSL signs in DER.
std::string sign(EVP_PKEY* key, std::string_view input) {
  std::unique_ptr<EVP_MD_CTX, MdCtxFree> md(EVP_MD_CTX_new());
  if (!md || EVP_DigestSignInit(md.get(), nullptr, EVP_sha256(), nullptr, key) != 1) {
    return {};
  }
  size_t len = 0;
  const auto* in = reinterpret_cast<const unsigned char*>(input.data());
  if (EVP_DigestSign(md.get(), nullptr, &len, in, input.size()) != 1) {
    return {};
  }
  std::string der(len, '\0');
  auto* out = reinterpret_cast<unsigned char*>(der.data());
  if (EVP_DigestSign(md.get(), out, &len, in, input.size()) != 1) {
    return {};
  }
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  std::unique_ptr<ECDSA_SIG, SigFree> sig(d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(len)));
  if (!sig) {
    return {};
  }
  std::array<unsigned char, static_cast<size_t>(2) * kCoordinateBytes> raw{};
  BN_bn2binpad(ECDSA_SIG_get0_r(sig.get()), raw.data(), kCoordinateBytes);
  BN_bn2binpad(ECDSA_SIG_get0_s(sig.get()), raw.data() + kCoordinateBytes, kCoordinateBytes);
  return {reinterpret_cast<const char*>(raw.data()), raw.size()};
}

}  // namespace

std::string base64url(std::string_view bytes) {
  static constexpr std::string_view kAlphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  constexpr unsigned kSextet = 0x3F;
  std::string out;
  out.reserve((bytes.size() + kBase64InBytes - 1) / kBase64InBytes * kBase64OutLetters);
  uint32_t acc = 0;
  unsigned bits = 0;
  for (unsigned char c : bytes) {
    acc = (acc << kByteBits) | c;
    bits += kByteBits;
    while (bits >= kSextetBits) {
      bits -= kSextetBits;
      out.push_back(kAlphabet[(acc >> bits) & kSextet]);
    }
  }
  if (bits > 0) {
    out.push_back(kAlphabet[(acc << (kSextetBits - bits)) & kSextet]);
  }
  return out;  // no padding, as RFC 7515 says
}

PkeyPtr newP256Key() { return PkeyPtr(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256")); }

std::string privateKeyPem(EVP_PKEY* key) {
  std::unique_ptr<BIO, BioFree> bio(BIO_new(BIO_s_mem()));
  if (!bio ||
      PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    return {};
  }
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio.get(), &data);
  return {data, static_cast<size_t>(len)};
}

namespace {

PkeyPtr p256KeyFrom(BIO* bio) {
  if (bio == nullptr) {
    return nullptr;
  }
  PkeyPtr key(PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr));
  if (!key || !EVP_PKEY_is_a(key.get(), "EC") || EVP_PKEY_get_bits(key.get()) != kP256Bits) {
    return nullptr;
  }
  return key;
}

}  // namespace

PkeyPtr loadP256Key(const std::string& path) {
  std::unique_ptr<BIO, BioFree> bio(BIO_new_file(path.c_str(), "r"));
  return p256KeyFrom(bio.get());
}

PkeyPtr parseP256Key(const std::string& pem) {
  std::unique_ptr<BIO, BioFree> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  return p256KeyFrom(bio.get());
}

std::string jwk(EVP_PKEY* key) {
  return R"({"crv":"P-256","kty":"EC","x":")" + coordinate(key, OSSL_PKEY_PARAM_EC_PUB_X) +
         R"(","y":")" + coordinate(key, OSSL_PKEY_PARAM_EC_PUB_Y) + "\"}";
}

std::string thumbprint(EVP_PKEY* key) {
  const std::string j = jwk(key);
  std::array<unsigned char, SHA256_DIGEST_LENGTH> digest{};
  SHA256(reinterpret_cast<const unsigned char*>(j.data()), j.size(), digest.data());
  return base64url(std::string_view(reinterpret_cast<const char*>(digest.data()), digest.size()));
}

std::string signJws(EVP_PKEY* key, std::string_view kid, std::string_view nonce,
                    std::string_view url, std::string_view payload) {
  nlohmann::json header = {{"alg", "ES256"}, {"nonce", nonce}, {"url", url}};
  if (kid.empty()) {
    header["jwk"] = nlohmann::json::parse(jwk(key));
  } else {
    header["kid"] = kid;
  }
  const std::string protected64 = base64url(header.dump());
  const std::string payload64 = base64url(payload);
  const std::string signature = sign(key, protected64 + "." + payload64);
  if (signature.empty()) {
    return {};
  }
  return nlohmann::json{
      {"protected", protected64}, {"payload", payload64}, {"signature", base64url(signature)}}
      .dump();
}

}  // namespace ballast::acme
