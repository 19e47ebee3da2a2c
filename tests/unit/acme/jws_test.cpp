// tests/unit/acme/jws_test.cpp — base64url against RFC 4648 vectors, the JWK's shape, and an
// ES256 signature that OpenSSL verifies once turned back into DER.
#include "acme/jws.h"

#include <gtest/gtest.h>
#include <openssl/bn.h>
#include <openssl/ec.h>

#include <nlohmann/json.hpp>

namespace ballast::acme {
namespace {

using nlohmann::json;

std::string decode64url(std::string s) {
  for (char& c : s) {
    c = c == '-' ? '+' : c == '_' ? '/' : c;
  }
  while (s.size() % 4 != 0) {
    s.push_back('=');
  }
  std::string out(s.size(), '\0');
  const int n =
      EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                      reinterpret_cast<const unsigned char*>(s.data()), static_cast<int>(s.size()));
  out.resize(static_cast<size_t>(n) - std::count(s.begin(), s.end(), '='));
  return out;
}

TEST(JwsTest, Base64urlMatchesRfc4648WithoutPadding) {
  EXPECT_EQ(base64url(""), "");
  EXPECT_EQ(base64url("f"), "Zg");
  EXPECT_EQ(base64url("fo"), "Zm8");
  EXPECT_EQ(base64url("foo"), "Zm9v");
  EXPECT_EQ(base64url("foob"), "Zm9vYg");
  EXPECT_EQ(base64url("fooba"), "Zm9vYmE");
  EXPECT_EQ(base64url("foobar"), "Zm9vYmFy");
  EXPECT_EQ(base64url("\xfb\xff"), "-_8");  // the two letters that differ from base64
}

TEST(JwsTest, JwkHasSortedMembersAndThumbprintIsStable) {
  auto key = newP256Key();
  ASSERT_TRUE(key);
  const std::string j = jwk(key.get());
  EXPECT_TRUE(j.starts_with(R"({"crv":"P-256","kty":"EC","x":")")) << j;
  const auto parsed = json::parse(j);
  EXPECT_EQ(parsed["x"].get<std::string>().size(), 43U);  // 32 bytes
  EXPECT_EQ(parsed["y"].get<std::string>().size(), 43U);
  EXPECT_EQ(thumbprint(key.get()), thumbprint(key.get()));
  EXPECT_EQ(thumbprint(key.get()).size(), 43U);  // SHA-256
  EXPECT_NE(thumbprint(key.get()), thumbprint(newP256Key().get()));
}

TEST(JwsTest, KeyRoundTripsThroughPem) {
  auto key = newP256Key();
  const std::string pem = privateKeyPem(key.get());
  char path[] = "/tmp/ballast-jws-XXXXXX";
  const int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(write(fd, pem.data(), pem.size()), static_cast<ssize_t>(pem.size()));
  close(fd);
  auto loaded = loadP256Key(path);
  unlink(path);
  ASSERT_TRUE(loaded);
  EXPECT_EQ(jwk(loaded.get()), jwk(key.get()));
  EXPECT_FALSE(loadP256Key("/nonexistent/key.pem"));
}

TEST(JwsTest, SignatureVerifiesAndHeaderCarriesKidOrJwk) {
  auto key = newP256Key();
  const auto with_jwk = json::parse(signJws(key.get(), "", "n1", "https://a/acct", "{}"));
  const auto header = json::parse(decode64url(with_jwk["protected"]));
  EXPECT_EQ(header["alg"], "ES256");
  EXPECT_EQ(header["nonce"], "n1");
  EXPECT_EQ(header["url"], "https://a/acct");
  EXPECT_TRUE(header.contains("jwk"));
  EXPECT_FALSE(header.contains("kid"));

  const auto with_kid =
      json::parse(signJws(key.get(), "https://a/acct/1", "n2", "https://a/o", ""));
  const auto header2 = json::parse(decode64url(with_kid["protected"]));
  EXPECT_EQ(header2["kid"], "https://a/acct/1");
  EXPECT_FALSE(header2.contains("jwk"));
  EXPECT_EQ(with_kid["payload"], "") << "POST-as-GET has an empty payload";

  // r||s back to DER, then verify over "protected.payload".
  const std::string raw = decode64url(with_kid["signature"]);
  ASSERT_EQ(raw.size(), 64U);
  ECDSA_SIG* sig = ECDSA_SIG_new();
  ECDSA_SIG_set0(sig, BN_bin2bn(reinterpret_cast<const unsigned char*>(raw.data()), 32, nullptr),
                 BN_bin2bn(reinterpret_cast<const unsigned char*>(raw.data()) + 32, 32, nullptr));
  unsigned char* der = nullptr;
  const int der_len = i2d_ECDSA_SIG(sig, &der);
  ECDSA_SIG_free(sig);
  const std::string input =
      with_kid["protected"].get<std::string>() + "." + with_kid["payload"].get<std::string>();
  EVP_MD_CTX* md = EVP_MD_CTX_new();
  ASSERT_EQ(EVP_DigestVerifyInit(md, nullptr, EVP_sha256(), nullptr, key.get()), 1);
  EXPECT_EQ(EVP_DigestVerify(md, der, static_cast<size_t>(der_len),
                             reinterpret_cast<const unsigned char*>(input.data()), input.size()),
            1);
  EVP_MD_CTX_free(md);
  OPENSSL_free(der);
}

}  // namespace
}  // namespace ballast::acme
