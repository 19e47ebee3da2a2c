// src/policy/jwt.cpp — compact JWS decoding, signature checks with OpenSSL 3 EVP (libjwt 1.10
// has neither JWKS nor EdDSA), and the registered claims.
#include "policy/jwt.h"

#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/ecdsa.h>
#include <openssl/hmac.h>

#include <array>
#include <memory>

namespace ballast::policy {
namespace {

constexpr size_t kEs256CoordinateBytes = 32;  // a JWS ES256 signature is r||s, 64 bytes
constexpr size_t kHs256Bytes = 32;

struct MdCtxFree {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};
struct SigFree {
  void operator()(ECDSA_SIG* s) const { ECDSA_SIG_free(s); }
};

constexpr std::array<std::string_view, kJwtAlgCount> kAlgNames = {"RS256", "ES256", "EdDSA",
                                                                  "HS256"};

std::optional<nlohmann::json> decodeObject(std::string_view part) {
  const auto bytes = base64UrlDecode(part);
  if (!bytes) {
    return std::nullopt;
  }
  nlohmann::json j = nlohmann::json::parse(*bytes, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    return std::nullopt;
  }
  return j;
}

// r||s (RFC 7518 §3.4) to the DER ECDSA-Sig-Value OpenSSL verifies.
std::optional<std::string> es256Der(std::string_view raw) {
  if (raw.size() != 2 * kEs256CoordinateBytes) {
    return std::nullopt;
  }
  const auto* p = reinterpret_cast<const unsigned char*>(raw.data());
  std::unique_ptr<ECDSA_SIG, SigFree> sig(ECDSA_SIG_new());
  BIGNUM* r = BN_bin2bn(p, kEs256CoordinateBytes, nullptr);
  BIGNUM* s = BN_bin2bn(p + kEs256CoordinateBytes, kEs256CoordinateBytes, nullptr);
  if (!sig || r == nullptr || s == nullptr || ECDSA_SIG_set0(sig.get(), r, s) != 1) {
    BN_free(r);
    BN_free(s);
    return std::nullopt;
  }
  const int len = i2d_ECDSA_SIG(sig.get(), nullptr);
  if (len <= 0) {
    return std::nullopt;
  }
  std::string der(static_cast<size_t>(len), '\0');
  auto* out = reinterpret_cast<unsigned char*>(der.data());
  i2d_ECDSA_SIG(sig.get(), &out);
  return der;
}

bool verifyWithKey(EVP_PKEY* key, const EVP_MD* md, std::string_view input, std::string_view sig) {
  std::unique_ptr<EVP_MD_CTX, MdCtxFree> ctx(EVP_MD_CTX_new());
  if (!ctx || EVP_DigestVerifyInit(ctx.get(), nullptr, md, nullptr, key) != 1) {
    return false;
  }
  return EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(sig.data()), sig.size(),
                          reinterpret_cast<const unsigned char*>(input.data()), input.size()) == 1;
}

bool keyFits(const Jwk& k, JwtAlg alg) {
  if (!k.alg.empty() && k.alg != jwtAlgName(alg)) {
    return false;  // a key pinned to another algorithm is never used for this one
  }
  switch (alg) {
    case JwtAlg::kRs256:
      return k.type == JwkType::kRsa;
    case JwtAlg::kEs256:
      return k.type == JwkType::kEc;
    case JwtAlg::kEdDsa:
      return k.type == JwkType::kOkp;
    case JwtAlg::kHs256:
      return k.type == JwkType::kOct;
  }
  return false;
}

bool verifySignature(const Jwk& k, JwtAlg alg, std::string_view input, std::string_view sig) {
  switch (alg) {
    case JwtAlg::kRs256:
      return verifyWithKey(k.public_key.get(), EVP_sha256(), input, sig);
    case JwtAlg::kEs256: {
      const auto der = es256Der(sig);
      return der && verifyWithKey(k.public_key.get(), EVP_sha256(), input, *der);
    }
    case JwtAlg::kEdDsa:
      return verifyWithKey(k.public_key.get(), nullptr, input, sig);
    case JwtAlg::kHs256: {
      std::array<unsigned char, EVP_MAX_MD_SIZE> mac{};
      unsigned mac_len = 0;
      if (HMAC(EVP_sha256(), k.secret.data(), static_cast<int>(k.secret.size()),
               reinterpret_cast<const unsigned char*>(input.data()), input.size(), mac.data(),
               &mac_len) == nullptr ||
          mac_len != kHs256Bytes || sig.size() != kHs256Bytes) {
        return false;
      }
      return CRYPTO_memcmp(mac.data(), sig.data(), kHs256Bytes) == 0;
    }
  }
  return false;
}

// A NumericDate (RFC 7519 §2): a JSON number, possibly fractional.
std::optional<int64_t> numericDate(const nlohmann::json& payload, const char* name, bool& bad) {
  const auto it = payload.find(name);
  if (it == payload.end()) {
    return std::nullopt;
  }
  if (!it->is_number()) {
    bad = true;
    return std::nullopt;
  }
  constexpr double kMaxSeconds = 1e15;  // keeps the cast defined
  const double v = it->get<double>();
  if (!(v > -kMaxSeconds && v < kMaxSeconds)) {
    bad = true;
    return std::nullopt;
  }
  return static_cast<int64_t>(v);
}

bool audienceMatches(const nlohmann::json& payload, const std::vector<std::string>& allowed) {
  const auto it = payload.find("aud");
  if (it == payload.end()) {
    return false;
  }
  const auto one = [&allowed](const nlohmann::json& a) {
    if (!a.is_string()) {
      return false;
    }
    for (const auto& want : allowed) {
      if (a.get_ref<const std::string&>() == want) {
        return true;
      }
    }
    return false;
  };
  if (it->is_array()) {
    for (const auto& a : *it) {
      if (one(a)) {
        return true;
      }
    }
    return false;
  }
  return one(*it);
}

}  // namespace

std::string_view jwtResultName(JwtResult r) {
  constexpr std::array<std::string_view, kJwtResultCount> kNames = {
      "ok",      "missing",       "malformed",  "bad_algorithm", "invalid_signature",
      "expired", "not_yet_valid", "bad_issuer", "bad_audience"};
  return kNames[static_cast<size_t>(r)];
}

std::optional<JwtAlg> jwtAlgFromName(std::string_view name) {
  for (size_t i = 0; i < kAlgNames.size(); ++i) {
    if (kAlgNames[i] == name) {
      return static_cast<JwtAlg>(i);
    }
  }
  return std::nullopt;
}

std::string_view jwtAlgName(JwtAlg a) { return kAlgNames[static_cast<size_t>(a)]; }

std::optional<JwtParts> decodeJwt(std::string_view token) {
  if (token.size() > kMaxTokenBytes) {
    return std::nullopt;
  }
  const size_t dot1 = token.find('.');
  const size_t dot2 = dot1 == std::string_view::npos ? dot1 : token.find('.', dot1 + 1);
  if (dot2 == std::string_view::npos || token.find('.', dot2 + 1) != std::string_view::npos) {
    return std::nullopt;
  }
  auto header = decodeObject(token.substr(0, dot1));
  auto payload = header ? decodeObject(token.substr(dot1 + 1, dot2 - dot1 - 1)) : std::nullopt;
  auto signature = payload ? base64UrlDecode(token.substr(dot2 + 1)) : std::nullopt;
  if (!signature) {
    return std::nullopt;
  }
  return JwtParts{std::move(*header), std::move(*payload), token.substr(0, dot2),
                  std::move(*signature)};
}

JwtCheck verifyJwt(std::string_view token, const JwtPolicy& policy, const Jwks& keys,
                   int64_t now_s) {
  JwtCheck out;
  auto parts = decodeJwt(token);
  if (!parts) {
    out.description = "the token is not a compact JWS";
    return out;
  }
  const auto alg_it = parts->header.find("alg");
  const auto alg = alg_it != parts->header.end() && alg_it->is_string()
                       ? jwtAlgFromName(alg_it->get_ref<const std::string&>())
                       : std::nullopt;
  if (!alg || !policy.allows(*alg)) {
    out.result = JwtResult::kBadAlgorithm;
    out.description = "the token's algorithm is not allowed";
    return out;
  }
  // JWE, or a header that asks for processing we do not do (RFC 7515 §4.1.11).
  if (parts->header.contains("crit") || parts->header.contains("enc")) {
    out.description = "the token's header is not supported";
    return out;
  }
  const auto kid_it = parts->header.find("kid");
  const bool has_kid = kid_it != parts->header.end() && kid_it->is_string();
  bool verified = false;
  for (const auto& k : keys.keys) {
    if (has_kid && k.kid != kid_it->get_ref<const std::string&>()) {
      continue;
    }
    if (keyFits(k, *alg) && verifySignature(k, *alg, parts->signing_input, parts->signature)) {
      verified = true;
      break;
    }
  }
  if (!verified) {
    out.result = JwtResult::kInvalidSignature;
    out.description = "the signature does not verify";
    return out;
  }
  bool bad = false;
  const auto exp = numericDate(parts->payload, "exp", bad);
  const auto nbf = numericDate(parts->payload, "nbf", bad);
  if (bad) {
    out.description = "exp or nbf is not a number";
    return out;
  }
  if (exp && now_s >= *exp + policy.clock_skew_s) {
    out.result = JwtResult::kExpired;
    out.description = "the token expired";
    return out;
  }
  if (nbf && now_s + policy.clock_skew_s < *nbf) {
    out.result = JwtResult::kNotYetValid;
    out.description = "the token is not valid yet";
    return out;
  }
  if (!policy.issuer.empty()) {
    const auto iss = parts->payload.find("iss");
    if (iss == parts->payload.end() || *iss != policy.issuer) {
      out.result = JwtResult::kBadIssuer;
      out.description = "the token's issuer is not accepted";
      return out;
    }
  }
  if (!policy.audiences.empty() && !audienceMatches(parts->payload, policy.audiences)) {
    out.result = JwtResult::kBadAudience;
    out.description = "the token's audience is not accepted";
    return out;
  }
  out.result = JwtResult::kOk;
  out.description = "";
  out.claims = std::move(parts->payload);
  return out;
}

}  // namespace ballast::policy
