// tests/unit/acme/acme_replies_test.cpp — ACME JSON of the right and the wrong shape: fields of
// another type read as absent, and nothing throws.
#include "acme/acme_replies.h"

#include <gtest/gtest.h>

namespace ballast::acme {
namespace {

TEST(AcmeRepliesTest, DirectoryNeedsItsThreeUrls) {
  const auto d = parseDirectory(
      R"({"newNonce":"https://d/n","newAccount":"https://d/a","newOrder":"https://d/o"})");
  ASSERT_TRUE(d);
  EXPECT_EQ(d->new_order, "https://d/o");
  EXPECT_FALSE(parseDirectory(R"({"newNonce":"https://d/n","newAccount":"https://d/a"})"));
  EXPECT_FALSE(parseDirectory(R"({"newNonce":1,"newAccount":[],"newOrder":{}})"));
  EXPECT_FALSE(parseDirectory("[1,2]"));
  EXPECT_FALSE(parseDirectory("not json"));
}

TEST(AcmeRepliesTest, AuthorizationPicksTheWantedChallenge) {
  const auto a = parseAuthorization(R"({"status":"pending","identifier":{"type":"dns",
      "value":"a.test"},"challenges":[{"type":"dns-01","url":"https://d/c/1","token":"t1"},
      {"type":"http-01","url":"https://d/c/2","token":"t2"}]})",
                                    "http-01");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->status, "pending");
  EXPECT_EQ(a->domain, "a.test");
  EXPECT_EQ(a->challenge_url, "https://d/c/2");
  EXPECT_EQ(a->token, "t2");
  const auto none = parseAuthorization(R"({"status":"pending","challenges":[]})", "tls-alpn-01");
  ASSERT_TRUE(none);
  EXPECT_TRUE(none->challenge_url.empty());
}

TEST(AcmeRepliesTest, InvalidAuthorizationSaysWhy) {
  const auto a = parseAuthorization(R"({"status":"invalid","challenges":[{"type":"http-01",
      "status":"invalid","error":{"type":"urn:ietf:params:acme:error:connection",
      "detail":"refused"}}]})",
                                    "");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->error, "urn:ietf:params:acme:error:connection refused");
}

TEST(AcmeRepliesTest, WrongTypesReadAsAbsent) {
  const auto a =
      parseAuthorization(R"({"status":5,"identifier":"a.test","challenges":{"x":1}})", "http-01");
  ASSERT_TRUE(a);
  EXPECT_TRUE(a->status.empty());
  EXPECT_TRUE(a->domain.empty());
  const auto b =
      parseAuthorization(R"({"challenges":[1,"x",null,{"error":"e","type":7}]})", "http-01");
  ASSERT_TRUE(b);
  const auto o = parseOrder(R"({"status":"ready","authorizations":["https://d/z/1",2],
      "finalize":{}})");
  ASSERT_TRUE(o);
  EXPECT_EQ(o->authorizations, std::vector<std::string>{"https://d/z/1"});
  EXPECT_TRUE(o->finalize.empty());
  EXPECT_EQ(problemText(R"({"type":5,"detail":"x"})"), " x");
  EXPECT_EQ(problemText("<html>"), "");
}

TEST(AcmeRepliesTest, BadNonceAndTokens) {
  EXPECT_TRUE(isBadNonce(R"({"type":"urn:ietf:params:acme:error:badNonce"})"));
  EXPECT_FALSE(isBadNonce(R"({"type":"urn:ietf:params:acme:error:malformed"})"));
  EXPECT_TRUE(isToken("u779YfVDmX5dQkc5WB8gZPS6y-J0seSSoxq2lpB2qfM"));
  EXPECT_FALSE(isToken(""));
  EXPECT_FALSE(isToken("../../etc/passwd"));
  EXPECT_FALSE(isToken("a b"));
  EXPECT_FALSE(isToken(std::string(300, 'a')));
}

}  // namespace
}  // namespace ballast::acme
