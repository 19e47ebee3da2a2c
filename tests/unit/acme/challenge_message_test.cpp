// tests/unit/acme/challenge_message_test.cpp — the challenge answers shared between nodes, and
// the store's key names (the same on every node with the same settings).
#include "acme/challenge_message.h"

#include <gtest/gtest.h>

#include "acme/acme_store.h"

namespace ballast::acme {
namespace {

ChallengeMessage http01() {
  ChallengeMessage m;
  m.kind = ChallengeMessage::Kind::kHttp01;
  m.name = "tok_En-1";
  m.key_authorization = "tok_En-1.thumb_Print-2";
  return m;
}

TEST(ChallengeMessage, Http01RoundTrips) {
  const std::string text = formatChallengeMessage(http01());
  EXPECT_EQ(text, "http-01 tok_En-1\ntok_En-1.thumb_Print-2");
  const auto back = parseChallengeMessage(text);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->kind, ChallengeMessage::Kind::kHttp01);
  EXPECT_EQ(back->name, "tok_En-1");
  EXPECT_EQ(back->key_authorization, "tok_En-1.thumb_Print-2");
}

TEST(ChallengeMessage, TlsAlpn01CarriesCertificateAndKeyApart) {
  ChallengeMessage m;
  m.kind = ChallengeMessage::Kind::kTlsAlpn01;
  m.name = "www.a.test";
  m.cert_pem = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
  m.key_pem = "-----BEGIN PRIVATE KEY-----\nBBBB\n-----END PRIVATE KEY-----\n";
  const auto back = parseChallengeMessage(formatChallengeMessage(m));
  ASSERT_TRUE(back);
  EXPECT_EQ(back->kind, ChallengeMessage::Kind::kTlsAlpn01);
  EXPECT_EQ(back->name, "www.a.test");
  EXPECT_EQ(back->cert_pem, m.cert_pem);
  EXPECT_EQ(back->key_pem, m.key_pem);
}

TEST(ChallengeMessage, WithdrawalsRoundTrip) {
  for (const auto kind :
       {ChallengeMessage::Kind::kHttp01Done, ChallengeMessage::Kind::kTlsAlpn01Done}) {
    ChallengeMessage m;
    m.kind = kind;
    m.name = kind == ChallengeMessage::Kind::kHttp01Done ? "tok" : "a.test";
    const auto back = parseChallengeMessage(formatChallengeMessage(m));
    ASSERT_TRUE(back);
    EXPECT_EQ(back->kind, kind);
    EXPECT_EQ(back->name, m.name);
  }
}

TEST(ChallengeMessage, RefusesWhatIsNotOurs) {
  for (const char* text : {
           "",
           "http-01 tok",                      // no body line
           "http-01 tok\nother.thumb",         // key authorization for another token
           "http-01 tok\ntok.",                // no thumbprint
           "http-01 tok\ntok.th umb",          // not base64url
           "http-01 t/k\nt/k.thumb",           // token with a slash: a path elsewhere
           "http-01-done tok\nextra",          // a withdrawal has no body
           "tls-alpn-01 a.test 10\nshort",     // certificate length past the end
           "tls-alpn-01 a.test 05\nCERT!KEY",  // a length with a leading zero
           "tls-alpn-01 a.test 5\nCERT!",      // no key after the certificate
           "tls-alpn-01 A.TEST 5\nCERT!KEY",   // names are lower case
           "tls-alpn-01 a_test 5\nCERT!KEY",   // not a DNS name
           "tls-alpn-01-done a.test\nx",       // a withdrawal has no body
           "dns-01 tok\ntok.thumb",            // a kind we do not share
       }) {
    EXPECT_FALSE(parseChallengeMessage(text)) << text;
  }
  EXPECT_FALSE(parseChallengeMessage(std::string(kMaxChallengeMessageBytes + 1, 'a')));
}

TEST(AcmeStoreKeys, SameSettingsSameKeysOnEveryNode) {
  config::AcmeSettings a;
  a.directory = "https://127.0.0.1:14000/dir";
  a.domains = {"a.test", "www.a.test"};
  a.storage = "/var/lib/ballast/acme-node1";
  config::AcmeSettings b = a;
  b.storage = "/var/lib/ballast/acme-node2";  // local: not part of the shared name
  EXPECT_EQ(AcmeStore::baseKey(a), AcmeStore::baseKey(b));
  EXPECT_TRUE(AcmeStore::baseKey(a).starts_with("ballast:acme:a.test:"));
  b.domains.push_back("api.a.test");
  EXPECT_NE(AcmeStore::baseKey(a), AcmeStore::baseKey(b));
  b = a;
  b.directory = "https://127.0.0.1:14001/dir";
  EXPECT_NE(AcmeStore::baseKey(a), AcmeStore::baseKey(b));
  EXPECT_NE(AcmeStore::accountKeyName(a), AcmeStore::accountKeyName(b));
}

}  // namespace
}  // namespace ballast::acme
