// tests/unit/acme/challenge_table_test.cpp — http-01 answers by path, published and withdrawn;
// tls-alpn-01 certificates that OpenSSL must accept before they are published.
#include "acme/challenge_table.h"

#include <gtest/gtest.h>

#include "acme/jws.h"
#include "acme/x509_build.h"

namespace ballast::acme {
namespace {

TEST(ChallengeTableTest, Http01AnswersOnlyItsOwnPath) {
  publishHttp01("tok-1", "tok-1.thumb");
  EXPECT_EQ(http01Answer("/.well-known/acme-challenge/tok-1"), "tok-1.thumb");
  EXPECT_FALSE(http01Answer("/.well-known/acme-challenge/tok-2"));
  EXPECT_FALSE(http01Answer("/.well-known/acme-challenge/"));
  EXPECT_FALSE(http01Answer("/tok-1"));
  EXPECT_FALSE(http01Answer("/x/.well-known/acme-challenge/tok-1"));
  withdrawHttp01("tok-1");
  EXPECT_FALSE(http01Answer("/.well-known/acme-challenge/tok-1"));
}

TEST(ChallengeTableTest, TlsAlpn01NeedsAMatchingPair) {
  auto key = newP256Key();
  const std::string cert = selfSignedPem(key.get(), {"a.test"}, 1, std::string(32, 'x'));
  EXPECT_TRUE(publishTlsAlpn01("a.test", cert, privateKeyPem(key.get())));
  EXPECT_FALSE(publishTlsAlpn01("a.test", cert, privateKeyPem(newP256Key().get())));
  EXPECT_FALSE(publishTlsAlpn01("a.test", "not a certificate", privateKeyPem(key.get())));
  withdrawTlsAlpn01("a.test");
}

}  // namespace
}  // namespace ballast::acme
