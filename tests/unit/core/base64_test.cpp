// tests/unit/core/base64_test.cpp — one decoder, both alphabets, padding optional or demanded.
#include "core/base64.h"

#include <gtest/gtest.h>

namespace ballast::core {
namespace {

TEST(Base64, DecodesWithAndWithoutPadding) {
  EXPECT_EQ(base64Decode("aGVsbG8gd29ybGQ=").value_or("?"), "hello world");
  EXPECT_EQ(base64Decode("aGVsbG8gd29ybGQ").value_or("?"), "hello world");
  EXPECT_EQ(base64Decode("YQ==").value_or("?"), "a");
  EXPECT_EQ(base64Decode("").value_or("?"), "");
}

TEST(Base64, AlphabetsDoNotMix) {
  EXPECT_EQ(base64Decode("+/+/").value_or("?"), std::string("\xfb\xff\xbf"));
  EXPECT_EQ(base64Decode("-_-_", Base64Alphabet::kUrl).value_or("?"), std::string("\xfb\xff\xbf"));
  EXPECT_FALSE(base64Decode("-_-_"));
  EXPECT_FALSE(base64Decode("+/+/", Base64Alphabet::kUrl));
}

TEST(Base64, RefusesWhatEncodesNothing) {
  EXPECT_FALSE(base64Decode("Y"));       // a lone letter: under 8 bits
  EXPECT_FALSE(base64Decode("YQ==YQ"));  // data after padding
  EXPECT_FALSE(base64Decode("YQ==="));   // three pads
  EXPECT_FALSE(base64Decode("YQ\n=="));  // whitespace is the caller's to strip
  EXPECT_FALSE(base64Decode("Zm9", Base64Alphabet::kStandard, /*padded=*/true));
  EXPECT_EQ(base64Decode("Zm9vYg==", Base64Alphabet::kStandard, true).value_or("?"), "foob");
}

}  // namespace
}  // namespace ballast::core
