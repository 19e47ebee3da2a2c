// tests/unit/policy/jwt_rfc_vectors_test.cpp — the published examples of RFC 7515 Appendix A
// (HS256 A.1, RS256 A.2, ES256 A.3) verify with their published keys: keys and tokens made by
// someone else, so a verifier that only agrees with our own test signer cannot pass. The
// headers and payloads keep the RFC's CRLF and indentation, which a verifier that re-serialises
// the JSON would break. RFC 8037's Ed25519 example signs a payload that is not JSON, so it is no
// JWT and stays out; EdDSA is covered by jwt_test.cpp and the integration test.
#include <gtest/gtest.h>

#include <string>

#include "policy/jwks.h"
#include "policy/jwt.h"

namespace ballast::policy {
namespace {

// {"iss":"joe",\r\n "exp":1300819380,\r\n "http://example.com/is_root":true}
constexpr char kPayload[] =
    "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVl"
    "fQ";
constexpr int64_t kExp = 1'300'819'380;
constexpr int64_t kBeforeExp = kExp - 3600;

// A.1: {"typ":"JWT",\r\n "alg":"HS256"}
constexpr char kHs256Token[] =
    "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9."
    "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVl"
    "fQ.dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
constexpr char kHs256Jwks[] = R"({"keys":[{"kty":"oct",
  "k":"AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow"}]})";

// A.2: {"alg":"RS256"}
constexpr char kRs256Signature[] =
    "cC4hiUPoj9Eetdgtv3hF80EGrhuB__dzERat0XF9g2VtQgr9PJbu3XOiZj5RZmh7AAuHIm4Bh-0Qc_lF5YKt_O8W2Fp5"
    "jujGbds9uJdbF9CUAr7t1dnZcAcQjbKBYNX4BAynRFdiuB--f_nZLgrnbyTyWzO75vRK5h6xBArLIARNPvkSjtQBMHlb"
    "1L07Qe7K0GarZRmB_eSN9383LcOLn6_dO--xi12jzDwusC-eOkHWEsqtFZESc6BfI7noOPqvhJ1phCnvWh6IeYI2w9QO"
    "YEUipUTI8np6LbgGY9Fs98rqVt5AXLIhWkWywlVmtVrBp0igcN_IoypGlUPQGe77Rw";
constexpr char kRsaJwks[] = R"({"keys":[{"kty":"RSA","e":"AQAB",
  "n":"ofgWCuLjybRlzo0tZWJjNiuSfb4p4fAkd_wWJcyQoTbji9k0l8W26mPddxHmfHQp-Vaw-4qPCJrcS2mJPMEzP1Pt0Bm4d4QlL-yRT-SFd2lZS-pCgNMsD1W_YpRPEwOWvG6b32690r2jZ47soMZo9wGzjb_7OMg0LOL-bSf63kpaSHSXndS5z5rexMdbBYUsLA9e-KXBdQOS-UTo7WTBEMa2R2CapHg665xsmtdVMTBQY4uDZlxvb3qCo5ZwKh9kG4LT6_I5IhlJH7aGhyxXFvUK-DWNmoudF8NAco9_h9iaGNj8q2ethFkMLs91kzk2PAcDTW9gb54h4FRWyuXpoQ"}]})";

// A.3: {"alg":"ES256"}; the signature is R || S, 64 bytes, as JWS wants it (not DER).
constexpr char kEs256Signature[] =
    "DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSApmWQxfKTUJqPP3-Kg6NU1Q";
constexpr char kEcJwks[] = R"({"keys":[{"kty":"EC","crv":"P-256",
  "x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
  "y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}]})";

std::string token(std::string_view header64, std::string_view signature64) {
  return std::string(header64) + "." + kPayload + "." + std::string(signature64);
}

std::string rs256Token() { return token("eyJhbGciOiJSUzI1NiJ9", kRs256Signature); }
std::string es256Token() { return token("eyJhbGciOiJFUzI1NiJ9", kEs256Signature); }

JwtPolicy policyFor(JwtAlg alg) {
  JwtPolicy p;
  p.issuer = "joe";
  p.algorithms = static_cast<uint8_t>(1U << static_cast<unsigned>(alg));
  return p;
}

std::shared_ptr<const Jwks> keys(std::string_view json) {
  JwksParse parsed = parseJwks(json);
  EXPECT_TRUE(parsed.jwks) << parsed.error;
  return parsed.jwks;
}

// The last signature character flipped: same length, other bits.
std::string tampered(std::string t) {
  t.back() = t.back() == 'A' ? 'B' : 'A';
  return t;
}

struct Vector {
  const char* name;
  JwtAlg alg;
  std::string token;
  const char* jwks;
};

class RfcVectors : public ::testing::TestWithParam<int> {
 protected:
  static Vector vector(int i) {
    switch (i) {
      case 0:
        return {"A.1 HS256", JwtAlg::kHs256, kHs256Token, kHs256Jwks};
      case 1:
        return {"A.2 RS256", JwtAlg::kRs256, rs256Token(), kRsaJwks};
      default:
        return {"A.3 ES256", JwtAlg::kEs256, es256Token(), kEcJwks};
    }
  }
};

TEST_P(RfcVectors, VerifyWithThePublishedKeyAndCarryTheClaims) {
  const Vector v = vector(GetParam());
  const JwtCheck check = verifyJwt(v.token, policyFor(v.alg), *keys(v.jwks), kBeforeExp);
  ASSERT_EQ(check.result, JwtResult::kOk) << v.name << ": " << check.description;
  EXPECT_EQ(check.claims.value("iss", ""), "joe");
  EXPECT_EQ(check.claims.value("exp", int64_t{0}), kExp);
  EXPECT_EQ(check.claims.value("http://example.com/is_root", false), true);
}

TEST_P(RfcVectors, AreExpiredOnceTheSkewHasPassed) {
  const Vector v = vector(GetParam());
  const JwtPolicy policy = policyFor(v.alg);
  EXPECT_EQ(verifyJwt(v.token, policy, *keys(v.jwks), kExp + policy.clock_skew_s - 1).result,
            JwtResult::kOk)
      << v.name;
  EXPECT_EQ(verifyJwt(v.token, policy, *keys(v.jwks), kExp + policy.clock_skew_s + 1).result,
            JwtResult::kExpired)
      << v.name;
}

TEST_P(RfcVectors, FailWithAnAlteredSignature) {
  const Vector v = vector(GetParam());
  EXPECT_EQ(verifyJwt(tampered(v.token), policyFor(v.alg), *keys(v.jwks), kBeforeExp).result,
            JwtResult::kInvalidSignature)
      << v.name;
}

TEST_P(RfcVectors, AreRefusedWhenThePolicyAllowsAnotherAlgorithm) {
  const Vector v = vector(GetParam());
  const JwtAlg other = v.alg == JwtAlg::kHs256 ? JwtAlg::kRs256 : JwtAlg::kHs256;
  EXPECT_EQ(verifyJwt(v.token, policyFor(other), *keys(v.jwks), kBeforeExp).result,
            JwtResult::kBadAlgorithm)
      << v.name;
}

TEST_P(RfcVectors, AreRefusedForAnotherIssuer) {
  const Vector v = vector(GetParam());
  JwtPolicy policy = policyFor(v.alg);
  policy.issuer = "jane";
  EXPECT_EQ(verifyJwt(v.token, policy, *keys(v.jwks), kBeforeExp).result, JwtResult::kBadIssuer)
      << v.name;
}

INSTANTIATE_TEST_SUITE_P(Rfc7515, RfcVectors, ::testing::Values(0, 1, 2));

// Each key set verifies only its own example: the RSA example's signature under the EC key (and
// the EC one under the RSA key) fails, whatever the token's header claims.
TEST(RfcVectorKeys, DoNotVerifyEachOthersExamples) {
  JwtPolicy both = policyFor(JwtAlg::kRs256);
  both.algorithms |= static_cast<uint8_t>(1U << static_cast<unsigned>(JwtAlg::kEs256));
  EXPECT_EQ(verifyJwt(rs256Token(), both, *keys(kEcJwks), kBeforeExp).result,
            JwtResult::kInvalidSignature);
  EXPECT_EQ(verifyJwt(es256Token(), both, *keys(kRsaJwks), kBeforeExp).result,
            JwtResult::kInvalidSignature);
}

}  // namespace
}  // namespace ballast::policy
