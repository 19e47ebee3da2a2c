// src/policy/jwks.cpp — JWK members to EVP_PKEYs with OpenSSL 3's fromdata API.
#include "policy/jwks.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/param_build.h>

#include <array>
#include <nlohmann/json.hpp>

#include "core/base64.h"

namespace ballast::policy {
namespace {

constexpr size_t kP256CoordinateBytes = 32;
constexpr size_t kEd25519KeyBytes = 32;
constexpr size_t kMinRsaModulusBytes = 2048 / 8;  // RFC 7518 §3.3: 2048 bits or more
constexpr size_t kMinHmacSecretBytes = 32;        // RFC 7518 §3.2: at least the hash size
constexpr uint8_t kUncompressedPoint = 0x04;

struct BnFree {
  void operator()(BIGNUM* b) const { BN_free(b); }
};
struct BldFree {
  void operator()(OSSL_PARAM_BLD* b) const { OSSL_PARAM_BLD_free(b); }
};
struct ParamFree {
  void operator()(OSSL_PARAM* p) const { OSSL_PARAM_free(p); }
};
struct CtxFree {
  void operator()(EVP_PKEY_CTX* c) const { EVP_PKEY_CTX_free(c); }
};

std::shared_ptr<EVP_PKEY> own(EVP_PKEY* key) {
  if (key == nullptr) {
    return nullptr;
  }
  return {key, EVP_PKEY_free};
}

EVP_PKEY* fromData(const char* type, OSSL_PARAM* params) {
  std::unique_ptr<EVP_PKEY_CTX, CtxFree> ctx(EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr));
  EVP_PKEY* key = nullptr;
  if (!ctx || EVP_PKEY_fromdata_init(ctx.get()) <= 0 ||
      EVP_PKEY_fromdata(ctx.get(), &key, EVP_PKEY_PUBLIC_KEY, params) <= 0) {
    return nullptr;
  }
  return key;
}

std::optional<std::string> member(const nlohmann::json& k, const char* name) {
  const auto it = k.find(name);
  if (it == k.end() || !it->is_string()) {
    return std::nullopt;
  }
  return base64UrlDecode(it->get_ref<const std::string&>());
}

std::shared_ptr<EVP_PKEY> rsaKey(const nlohmann::json& k, std::string& why) {
  const auto n = member(k, "n");
  const auto e = member(k, "e");
  if (!n || !e || e->empty()) {
    why = "RSA key without base64url n and e";
    return nullptr;
  }
  if (n->size() < kMinRsaModulusBytes) {
    why = "RSA modulus under 2048 bits";
    return nullptr;
  }
  const auto* nb = reinterpret_cast<const unsigned char*>(n->data());
  const auto* eb = reinterpret_cast<const unsigned char*>(e->data());
  std::unique_ptr<BIGNUM, BnFree> bn_n(BN_bin2bn(nb, static_cast<int>(n->size()), nullptr));
  std::unique_ptr<BIGNUM, BnFree> bn_e(BN_bin2bn(eb, static_cast<int>(e->size()), nullptr));
  std::unique_ptr<OSSL_PARAM_BLD, BldFree> bld(OSSL_PARAM_BLD_new());
  if (!bn_n || !bn_e || !bld ||
      OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_N, bn_n.get()) != 1 ||
      OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_E, bn_e.get()) != 1) {
    why = "RSA key not accepted by OpenSSL";
    return nullptr;
  }
  std::unique_ptr<OSSL_PARAM, ParamFree> params(OSSL_PARAM_BLD_to_param(bld.get()));
  auto key = own(params ? fromData("RSA", params.get()) : nullptr);
  if (!key) {
    why = "RSA key not accepted by OpenSSL";
  }
  return key;
}

std::shared_ptr<EVP_PKEY> ecKey(const nlohmann::json& k, std::string& why) {
  const auto crv = k.find("crv");
  if (crv == k.end() || *crv != "P-256") {
    why = "EC key on a curve other than P-256";
    return nullptr;
  }
  const auto x = member(k, "x");
  const auto y = member(k, "y");
  if (!x || !y || x->size() != kP256CoordinateBytes || y->size() != kP256CoordinateBytes) {
    why = "EC key without 32-byte x and y";
    return nullptr;
  }
  std::string point(1, static_cast<char>(kUncompressedPoint));
  point += *x;
  point += *y;
  std::array<char, 16> group{"prime256v1"};
  std::array<OSSL_PARAM, 3> params = {
      OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, group.data(), 0),
      OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, point.data(), point.size()),
      OSSL_PARAM_construct_end()};
  auto key = own(fromData("EC", params.data()));
  if (!key) {
    why = "EC point not on P-256";
  }
  return key;
}

std::shared_ptr<EVP_PKEY> okpKey(const nlohmann::json& k, std::string& why) {
  const auto crv = k.find("crv");
  if (crv == k.end() || *crv != "Ed25519") {
    why = "OKP key on a curve other than Ed25519";
    return nullptr;
  }
  const auto x = member(k, "x");
  if (!x || x->size() != kEd25519KeyBytes) {
    why = "Ed25519 key without a 32-byte x";
    return nullptr;
  }
  auto key = own(EVP_PKEY_new_raw_public_key(
      EVP_PKEY_ED25519, nullptr, reinterpret_cast<const unsigned char*>(x->data()), x->size()));
  if (!key) {
    why = "Ed25519 key not accepted by OpenSSL";
  }
  return key;
}

// One key; nullopt with `why` when it is skipped.
std::optional<Jwk> readKey(const nlohmann::json& k, std::string& why) {
  if (!k.is_object()) {
    why = "not an object";
    return std::nullopt;
  }
  Jwk jwk;
  if (const auto kid = k.find("kid"); kid != k.end() && kid->is_string()) {
    jwk.kid = kid->get<std::string>();
  }
  if (const auto alg = k.find("alg"); alg != k.end() && alg->is_string()) {
    jwk.alg = alg->get<std::string>();
  }
  if (const auto use = k.find("use"); use != k.end() && *use != "sig") {
    why = "use is not sig";
    return std::nullopt;
  }
  const auto kty = k.find("kty");
  if (kty == k.end() || !kty->is_string()) {
    why = "no kty";
    return std::nullopt;
  }
  if (*kty == "RSA") {
    jwk.type = JwkType::kRsa;
    jwk.public_key = rsaKey(k, why);
  } else if (*kty == "EC") {
    jwk.type = JwkType::kEc;
    jwk.public_key = ecKey(k, why);
  } else if (*kty == "OKP") {
    jwk.type = JwkType::kOkp;
    jwk.public_key = okpKey(k, why);
  } else if (*kty == "oct") {
    jwk.type = JwkType::kOct;
    auto secret = member(k, "k");
    if (!secret || secret->size() < kMinHmacSecretBytes) {
      why = "oct key without a base64url k of 32 bytes or more";
      return std::nullopt;
    }
    jwk.secret = std::move(*secret);
    return jwk;
  } else {
    why = "unsupported kty " + kty->get<std::string>();
    return std::nullopt;
  }
  if (!jwk.public_key) {
    return std::nullopt;
  }
  return jwk;
}

}  // namespace

std::optional<std::string> base64UrlDecode(std::string_view text) {
  return core::base64Decode(text, core::Base64Alphabet::kUrl);
}

JwksParse parseJwks(std::string_view json) {
  JwksParse out;
  if (json.size() > kMaxJwksBytes) {
    out.error = "larger than 1 MiB";
    return out;
  }
  const nlohmann::json doc = nlohmann::json::parse(json, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) {
    out.error = "not JSON";
    return out;
  }
  const auto keys = doc.is_object() ? doc.find("keys") : doc.end();
  if (!doc.is_object() || keys == doc.end() || !keys->is_array()) {
    out.error = "expected an object with a \"keys\" array";
    return out;
  }
  auto set = std::make_shared<Jwks>();
  size_t index = 0;
  for (const auto& k : *keys) {
    std::string why;
    if (auto jwk = readKey(k, why)) {
      set->keys.push_back(std::move(*jwk));
    } else {
      out.skipped.push_back("key " + std::to_string(index) + ": " + why);
    }
    ++index;
  }
  if (set->keys.empty()) {
    out.error = "no usable key (RSA, EC P-256, Ed25519 or oct)";
    return out;
  }
  out.jwks = std::move(set);
  return out;
}

}  // namespace ballast::policy
