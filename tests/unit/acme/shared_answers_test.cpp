// tests/unit/acme/shared_answers_test.cpp — deadlines, the bound, and the own-message filter
// of the answers other nodes share through the ACME store.
#include "acme/shared_answers.h"

#include <gtest/gtest.h>

#include <string>

namespace ballast::acme {
namespace {

using Kind = SharedAnswers::Kind;

TEST(SharedAnswers, AnAnswerWithoutDoneExpires) {
  SharedAnswers a;
  ASSERT_TRUE(a.admit(Kind::kHttp01, "tok", 1000));
  ASSERT_TRUE(a.admit(Kind::kTlsAlpn01, "a.test", 2000));
  EXPECT_TRUE(a.expire(1000 + kSharedAnswerTtlMs - 1).empty());
  const auto gone = a.expire(1000 + kSharedAnswerTtlMs);
  ASSERT_EQ(gone.size(), 1U);
  EXPECT_EQ(gone[0], (SharedAnswers::Key{Kind::kHttp01, "tok"}));
  EXPECT_EQ(a.size(), 1U);
}

TEST(SharedAnswers, DoneAndRetriesMoveTheDeadline) {
  SharedAnswers a;
  ASSERT_TRUE(a.admit(Kind::kHttp01, "tok", 0));
  ASSERT_TRUE(a.admit(Kind::kHttp01, "tok", 5000));  // the same answer again: a new deadline
  EXPECT_TRUE(a.expire(kSharedAnswerTtlMs).empty());
  a.done(Kind::kHttp01, "tok");
  EXPECT_EQ(a.size(), 0U);
  // http-01's token and tls-alpn-01's name are different keys even when spelled alike.
  ASSERT_TRUE(a.admit(Kind::kHttp01, "x", 0));
  a.done(Kind::kTlsAlpn01, "x");
  EXPECT_EQ(a.size(), 1U);
}

TEST(SharedAnswers, AFloodIsBounded) {
  SharedAnswers a;
  for (size_t i = 0; i < kMaxSharedAnswers; ++i) {
    ASSERT_TRUE(a.admit(Kind::kHttp01, "t" + std::to_string(i), 0));
  }
  EXPECT_FALSE(a.admit(Kind::kHttp01, "one-more", 0));
  EXPECT_TRUE(a.admit(Kind::kHttp01, "t0", 1));  // one already there is renewed, not refused
  a.done(Kind::kHttp01, "t1");
  EXPECT_TRUE(a.admit(Kind::kHttp01, "one-more", 2));
}

TEST(SharedAnswers, OwnMessagesAreRecognizedOnce) {
  SharedAnswers a;
  a.published("http-01 tok\ntok.thumb", 100);
  EXPECT_FALSE(a.ours("http-01 other\nother.thumb", 200));
  EXPECT_TRUE(a.ours("http-01 tok\ntok.thumb", 200));
  EXPECT_FALSE(a.ours("http-01 tok\ntok.thumb", 300));  // a second copy is another node's
  a.published("http-01-done tok\n", 0);
  EXPECT_FALSE(a.ours("http-01-done tok\n", kSharedAnswerTtlMs));  // too old to be an echo
}

}  // namespace
}  // namespace ballast::acme
