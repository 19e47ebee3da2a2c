// tests/unit/policy/url_template_test.cpp — redirect and rewrite templates: what load accepts and
// refuses (with the message a user reads), and what each variable expands to.
#include "policy/url_template.h"

#include <gtest/gtest.h>

#include <array>
#include <string>

namespace ballast::policy {
namespace {

std::string expand(std::string_view text, const TemplateValues& v) {
  std::string out;
  expandTemplate(text, v, out);
  return out;
}

TEST(UrlTemplate, AcceptsKnownVariablesAndCapturesWithinTheRegex) {
  EXPECT_EQ(checkTemplate("https://$host$request_uri", 0), std::nullopt);
  EXPECT_EQ(checkTemplate("/new/$1/$2?q=$query&p=$path&s=$scheme", 2), std::nullopt);
  EXPECT_EQ(checkTemplate("/price/$$5", 0), std::nullopt);
}

TEST(UrlTemplate, RefusesUnknownVariablesCapturesBeyondTheRegexAndSpaces) {
  EXPECT_EQ(checkTemplate("https://$hostname/", 0).value_or(""),
            "unknown variable $hostname (known: $scheme, $host, $path, $query, $request_uri, "
            "$1…$9)");
  EXPECT_EQ(checkTemplate("/x/$1", 0).value_or(""), "$1 needs a regex with captures");
  EXPECT_EQ(checkTemplate("/x/$3", 2).value_or(""), "$3: the regex has only 2 capture group(s)");
  EXPECT_EQ(checkTemplate("/x/$", 0).value_or(""),
            "'$' at offset 3 names no variable (write $$ for a dollar sign)");
  EXPECT_EQ(checkTemplate("/a b", 0).value_or(""),
            "a template has no spaces or control characters");
}

TEST(UrlTemplate, ExpandsEachVariable) {
  const std::array<std::string_view, 2> caps = {"shoes", "red/42"};
  TemplateValues v;
  v.scheme = "https";
  v.host = "shop.example";
  v.path = "/old/shoes/red/42";
  v.query = "size=9";
  v.captures = caps;
  EXPECT_EQ(expand("$scheme://$host/new/$2?from=$1&$query", v),
            "https://shop.example/new/red/42?from=shoes&size=9");
  EXPECT_EQ(expand("$request_uri", v), "/old/shoes/red/42?size=9");
  EXPECT_EQ(expand("$$$1", v), "$shoes");
  // "$10" is capture 1 then a zero, as in NGINX.
  EXPECT_EQ(expand("/$10", v), "/shoes0");
  v.query = {};
  EXPECT_EQ(expand("$request_uri", v), "/old/shoes/red/42");
  // A capture the match left unfilled expands to nothing.
  v.captures = {};
  EXPECT_EQ(expand("/a/$1/b", v), "/a//b");
}

}  // namespace
}  // namespace ballast::policy
