// tests/unit/proto/http1/syntax_test.cpp — the lexical helpers: tokens, lists, numbers,
// versions and authorities.
#include "proto/http1/syntax.h"

#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <vector>

namespace ballast::proto::http1 {
namespace {

std::vector<std::string> elements(std::string_view list) {
  std::vector<std::string> out;
  ListCursor cursor(list);
  std::string_view element;
  while (cursor.next(&element)) {
    out.emplace_back(element);
  }
  return out;
}

TEST(Http1Syntax, Tokens) {
  EXPECT_TRUE(isToken("GET"));
  EXPECT_TRUE(isToken("x-custom_1.2~!#$%&'*+^`|"));
  EXPECT_FALSE(isToken(""));
  for (const std::string_view bad : {"a b", "a:b", "a\"", "a(", "a,", "a;", "a=", "a\x7f",
                                     "a\xC3\xA9", "a\t", "a/", "a[", "a{", "a@", "a?", "a\\"}) {
    EXPECT_FALSE(isToken(bad)) << bad;
  }
}

TEST(Http1Syntax, ListElementsAreTrimmedAndEmptiesReported) {
  EXPECT_EQ(elements("a, b ,\tc"), (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(elements("a,,b"), (std::vector<std::string>{"a", "", "b"}));
  EXPECT_EQ(elements(""), (std::vector<std::string>{""}));
  EXPECT_EQ(elements("a,"), (std::vector<std::string>{"a", ""}));
}

TEST(Http1Syntax, Decimal) {
  EXPECT_EQ(*parseDecimal("0"), 0U);
  EXPECT_EQ(*parseDecimal("0042"), 42U);
  EXPECT_EQ(*parseDecimal("18446744073709551615"), UINT64_MAX);
  for (const std::string_view bad :
       {"", "18446744073709551616", "+1", "-1", " 1", "1 ", "1e3", "0x1", "\xD9\xA1"}) {
    EXPECT_FALSE(parseDecimal(bad).has_value()) << bad;
  }
}

TEST(Http1Syntax, Versions) {
  const auto v = parseVersion("HTTP/1.1");
  ASSERT_TRUE(v.has_value());
  EXPECT_EQ(v->major, 1);
  EXPECT_EQ(v->minor, 1);
  EXPECT_TRUE(parseVersion("HTTP/2.0").has_value());  // callers decide what they speak
  for (const std::string_view bad :
       {"HTTP/1", "HTTP/1.10", "http/1.1", "HTTP/1,1", "HTTP 1.1", "HTTP/x.1", " HTTP/1.1", ""}) {
    EXPECT_FALSE(parseVersion(bad).has_value()) << bad;
  }
}

TEST(Http1Syntax, Authorities) {
  for (const std::string_view good : {"a", "a.b:1", "[::1]", "[::1]:443", "1.2.3.4:65535", "[v1.x]",
                                      "a%20b", "sub-delims!$&'()*+,;="}) {
    EXPECT_TRUE(isValidAuthority(good, false)) << good;
  }
  EXPECT_TRUE(isValidAuthority("", false));
  for (const std::string_view bad : {"a:65536", "a:", ":1", "a b", "a@b", "[::1", "[::1]1", "[]",
                                     "a:1:2", "%2", "%zz", "a/b", "a\x01"}) {
    EXPECT_FALSE(isValidAuthority(bad, false)) << bad;
  }
  EXPECT_TRUE(isValidAuthority("a:443", true));
  EXPECT_FALSE(isValidAuthority("a", true));
  EXPECT_FALSE(isValidAuthority("", true));
}

}  // namespace
}  // namespace ballast::proto::http1
