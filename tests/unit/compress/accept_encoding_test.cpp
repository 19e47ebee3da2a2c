// tests/unit/compress/accept_encoding_test.cpp — negotiation on Accept-Encoding: q-values,
// ties, the wildcard, refusals and malformed elements.
#include "compress/accept_encoding.h"

#include <gtest/gtest.h>

#include <array>
#include <string_view>
#include <vector>

namespace ballast::compress {
namespace {

constexpr std::array kOffered = {Encoding::kZstd, Encoding::kBrotli, Encoding::kGzip};

Encoding choose(std::vector<std::string_view> fields) { return chooseEncoding(fields, kOffered); }

TEST(AcceptEncoding, HighestQWinsAndTiesGoToOurOrder) {
  EXPECT_EQ(choose({"gzip;q=0.5, br;q=0.9"}), Encoding::kBrotli);
  EXPECT_EQ(choose({"gzip, deflate, br, zstd"}), Encoding::kZstd);
  EXPECT_EQ(choose({"gzip, deflate, br"}), Encoding::kBrotli);
  EXPECT_EQ(choose({"gzip;q=1.000, br;q=0.999"}), Encoding::kGzip);
  EXPECT_EQ(choose({"GZip ; Q=0.3"}), Encoding::kGzip);
  EXPECT_EQ(choose({"x-gzip"}), Encoding::kGzip);
}

TEST(AcceptEncoding, SeveralFieldsAreOneList) {
  EXPECT_EQ(choose({"gzip;q=0.2", "br;q=0.4"}), Encoding::kBrotli);
}

TEST(AcceptEncoding, WildcardCoversOnlyUnnamedCodingsAndQZeroRefuses) {
  EXPECT_EQ(choose({"*;q=0.1, zstd;q=0"}), Encoding::kBrotli);
  EXPECT_EQ(choose({"*"}), Encoding::kZstd);
  EXPECT_EQ(choose({"*;q=0"}), Encoding::kNone);
  EXPECT_EQ(choose({"zstd;q=0, br;q=0, gzip;q=0.000"}), Encoding::kNone);
  EXPECT_EQ(choose({"identity"}), Encoding::kNone);
  EXPECT_EQ(choose({"deflate, compress"}), Encoding::kNone);
  EXPECT_EQ(choose({}), Encoding::kNone);
  EXPECT_EQ(choose({""}), Encoding::kNone);
}

TEST(AcceptEncoding, MalformedElementsAreIgnoredAlone) {
  EXPECT_EQ(choose({"gzip;q=2, br;q=0.1"}), Encoding::kBrotli);
  EXPECT_EQ(choose({"gzip;q=0.1234, br;q=x"}), Encoding::kNone);
  EXPECT_EQ(choose({",,, ;q=1, gzip"}), Encoding::kGzip);
  EXPECT_EQ(choose({"gzip;q=1.5"}), Encoding::kNone);
  EXPECT_EQ(choose({"gzip;foo=bar"}), Encoding::kGzip);
}

TEST(AcceptEncoding, OnlyWhatWeOffer) {
  const std::array only_gzip = {Encoding::kGzip};
  const std::vector<std::string_view> fields = {"br, zstd"};
  EXPECT_EQ(chooseEncoding(fields, only_gzip), Encoding::kNone);
}

}  // namespace
}  // namespace ballast::compress
