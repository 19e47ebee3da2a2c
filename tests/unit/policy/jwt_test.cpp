// tests/unit/policy/jwt_test.cpp — policy/jwt and policy/jwks with keys made at test time:
// base64url, a good EdDSA and HS256 token, time checks with the injected clock and skew,
// alg none, an algorithm the policy does not allow, and HS256 keyed with a public key.
#include "policy/jwt.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <array>
#include <memory>
#include <string>

#include "policy/jwks.h"

namespace ballast::policy {
namespace {

constexpr int64_t kNow = 1'700'000'000;

std::string b64(std::string_view bytes) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (const char c : bytes) {
    acc = (acc << 8) | static_cast<uint8_t>(c);
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out.push_back(kAlphabet[(acc >> bits) & 63]);
    }
  }
  if (bits > 0) {
    out.push_back(kAlphabet[(acc << (6 - bits)) & 63]);
  }
  return out;
}

struct Ed {
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key{
      EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"), EVP_PKEY_free};
  std::string publicRaw() const {
    std::array<unsigned char, 32> raw{};
    size_t len = raw.size();
    EVP_PKEY_get_raw_public_key(key.get(), raw.data(), &len);
    return {reinterpret_cast<const char*>(raw.data()), len};
  }
  std::string sign(std::string_view input) const {
    std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
    EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr, key.get());
    std::array<unsigned char, 64> sig{};
    size_t len = sig.size();
    EVP_DigestSign(ctx.get(), sig.data(), &len,
                   reinterpret_cast<const unsigned char*>(input.data()), input.size());
    return {reinterpret_cast<const char*>(sig.data()), len};
  }
};

std::string hs256(std::string_view key, std::string_view input) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> mac{};
  unsigned len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(input.data()), input.size(), mac.data(), &len);
  return {reinterpret_cast<const char*>(mac.data()), len};
}

const std::string kSecret(32, 's');

class JwtTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string jwks = R"({"keys":[{"kty":"OKP","crv":"Ed25519","kid":"ed","x":")" +
                             b64(ed_.publicRaw()) + R"("},{"kty":"oct","kid":"hs","k":")" +
                             b64(kSecret) + R"("},{"kty":"XYZ"}]})";
    parsed_ = parseJwks(jwks);
    ASSERT_TRUE(parsed_.jwks) << parsed_.error;
    policy_.issuer = "iss";
    policy_.audiences = {"api"};
    policy_.algorithms = (1U << static_cast<unsigned>(JwtAlg::kEdDsa)) |
                         (1U << static_cast<unsigned>(JwtAlg::kHs256));
    policy_.clock_skew_s = 60;
  }
  std::string payload(int64_t exp, int64_t nbf, std::string_view aud = "api") const {
    return R"({"iss":"iss","aud":")" + std::string(aud) + R"(","sub":"alice","exp":)" +
           std::to_string(exp) + R"(,"nbf":)" + std::to_string(nbf) + "}";
  }
  std::string edToken(std::string_view claims) const {
    const std::string input = b64(R"({"alg":"EdDSA","kid":"ed"})") + "." + b64(claims);
    return input + "." + b64(ed_.sign(input));
  }
  JwtResult check(const std::string& token) const {
    return verifyJwt(token, policy_, *parsed_.jwks, kNow).result;
  }

  Ed ed_;
  JwksParse parsed_;
  JwtPolicy policy_;
};

TEST(Base64Url, DecodesAndRefuses) {
  EXPECT_EQ(base64UrlDecode("aGk"), "hi");
  EXPECT_EQ(base64UrlDecode("aGk="), "hi");
  EXPECT_FALSE(base64UrlDecode("a+b/"));
  EXPECT_FALSE(base64UrlDecode("a"));
}

TEST(Jwks, RefusesSetsWithoutUsableKeys) {
  EXPECT_FALSE(parseJwks("nope").jwks);
  EXPECT_FALSE(parseJwks(R"({"keys":[{"kty":"oct","k":"c2hvcnQ"}]})").jwks);
  EXPECT_FALSE(parseJwks(R"({"keys":[{"kty":"EC","crv":"P-384","x":"AA","y":"AA"}]})").jwks);
}

TEST_F(JwtTest, GoodTokensPass) {
  EXPECT_EQ(parsed_.skipped.size(), 1U);
  const auto ok = verifyJwt(edToken(payload(kNow + 10, kNow - 10)), policy_, *parsed_.jwks, kNow);
  ASSERT_EQ(ok.result, JwtResult::kOk) << ok.description;
  EXPECT_EQ(ok.claims["sub"], "alice");
  const std::string input = b64(R"({"alg":"HS256"})") + "." + b64(payload(kNow + 10, kNow));
  EXPECT_EQ(check(input + "." + b64(hs256(kSecret, input))), JwtResult::kOk);
}

TEST_F(JwtTest, TimeAudienceAndSignature) {
  EXPECT_EQ(check(edToken(payload(kNow - 61, kNow - 100))), JwtResult::kExpired);
  EXPECT_EQ(check(edToken(payload(kNow - 30, kNow - 100))), JwtResult::kOk);  // within skew
  EXPECT_EQ(check(edToken(payload(kNow + 100, kNow + 61))), JwtResult::kNotYetValid);
  EXPECT_EQ(check(edToken(payload(kNow + 100, kNow, "other"))), JwtResult::kBadAudience);
  std::string t = edToken(payload(kNow + 100, kNow));
  t[t.size() - 3] = t[t.size() - 3] == 'A' ? 'B' : 'A';
  EXPECT_EQ(check(t), JwtResult::kInvalidSignature);
  EXPECT_EQ(check("a.b"), JwtResult::kMalformed);
  EXPECT_EQ(check(std::string(kMaxTokenBytes + 1, 'a')), JwtResult::kMalformed);
}

TEST_F(JwtTest, AlgorithmComesFromTheConfiguration) {
  const std::string claims = b64(payload(kNow + 100, kNow));
  EXPECT_EQ(check(b64(R"({"alg":"none"})") + "." + claims + "."), JwtResult::kBadAlgorithm);
  const std::string rs = b64(R"({"alg":"RS256"})") + "." + claims;
  EXPECT_EQ(check(rs + ".AAAA"), JwtResult::kBadAlgorithm);
  // HS256 keyed with the Ed25519 public key: the oct key is the only HMAC key, so it fails.
  const std::string hs = b64(R"({"alg":"HS256","kid":"ed"})") + "." + claims;
  EXPECT_EQ(check(hs + "." + b64(hs256(ed_.publicRaw(), hs))), JwtResult::kInvalidSignature);
}

}  // namespace
}  // namespace ballast::policy
