// tests/unit/net/cidr_test.cpp — prefix parsing, printing and matching.
#include "net/cidr.h"

#include <gtest/gtest.h>

namespace ballast::net {
namespace {

SocketAddress addr(const char* text) { return *SocketAddress::parse(text, true); }

TEST(CidrTest, ParsesAndPrints) {
  const std::pair<const char*, const char*> cases[] = {
      {"10.0.0.0/8", "10.0.0.0/8"},
      {"10.1.2.3/8", "10.0.0.0/8"},
      {"1.2.3.4", "1.2.3.4/32"},
      {"0.0.0.0/0", "0.0.0.0/0"},
      {"192.168.1.129/25", "192.168.1.128/25"},
      {"::1/128", "::1/128"},
      {"::1", "::1/128"},
      {"2001:db8::ff/32", "2001:db8::/32"},
      {"::/0", "::/0"},
      {"fe80::1/10", "fe80::/10"},
  };
  for (const auto& [text, printed] : cases) {
    const auto c = Cidr::parse(text);
    ASSERT_TRUE(c.has_value()) << text;
    EXPECT_EQ(c->toString(), printed) << text;
  }
  EXPECT_EQ(Cidr::parse("10.0.0.0/8")->family(), AF_INET);
  EXPECT_EQ(Cidr::parse("::/0")->family(), AF_INET6);
  EXPECT_EQ(Cidr::parse("10.0.0.0/8")->prefixLength(), 8U);
}

TEST(CidrTest, RejectsMalformed) {
  const char* const cases[] = {"",
                               "10.0.0.0/",
                               "10.0.0.0/33",
                               "::/129",
                               "10.0.0.0/-1",
                               "10.0.0.0/8x",
                               "10.0.0/8",
                               "host/8",
                               "[::1]/128",
                               "1.2.3.4:80",
                               "10.0.0.0/8/8",
                               "/8",
                               "10.0.0.0/0008",
                               " 10.0.0.0/8"};
  for (const char* c : cases) {
    EXPECT_FALSE(Cidr::parse(c).has_value()) << c;
  }
}

TEST(CidrTest, MatchesV4) {
  const auto c = *Cidr::parse("10.0.0.0/8");
  EXPECT_TRUE(c.contains(addr("10.0.0.0")));
  EXPECT_TRUE(c.contains(addr("10.255.255.255:80")));
  EXPECT_FALSE(c.contains(addr("11.0.0.0")));
  EXPECT_FALSE(c.contains(addr("9.255.255.255")));
  const auto odd = *Cidr::parse("192.168.1.128/25");
  EXPECT_TRUE(odd.contains(addr("192.168.1.200")));
  EXPECT_FALSE(odd.contains(addr("192.168.1.127")));
  EXPECT_TRUE(Cidr::parse("0.0.0.0/0")->contains(addr("8.8.8.8")));
  EXPECT_TRUE(Cidr::parse("1.2.3.4")->contains(addr("1.2.3.4:9")));
  EXPECT_FALSE(Cidr::parse("1.2.3.4")->contains(addr("1.2.3.5")));
}

TEST(CidrTest, MatchesV6) {
  const auto c = *Cidr::parse("2001:db8::/32");
  EXPECT_TRUE(c.contains(addr("2001:db8:1::1")));
  EXPECT_FALSE(c.contains(addr("2001:db9::1")));
  EXPECT_TRUE(Cidr::parse("::1/128")->contains(addr("[::1]:443")));
  EXPECT_FALSE(Cidr::parse("::1/128")->contains(addr("::2")));
  EXPECT_FALSE(c.contains(addr("32.1.13.184")));  // same leading bytes, other family
}

TEST(CidrTest, V4MappedAddressesMatchV4Prefixes) {
  const auto v4 = *Cidr::parse("10.0.0.0/8");
  EXPECT_TRUE(v4.contains(addr("::ffff:10.1.2.3")));
  EXPECT_FALSE(v4.contains(addr("::ffff:11.1.2.3")));
  EXPECT_FALSE(v4.contains(addr("::10.1.2.3")));  // IPv4-compatible, not mapped
  const auto mapped = *Cidr::parse("::ffff:10.0.0.0/104");
  EXPECT_TRUE(mapped.contains(addr("10.9.9.9")));
  EXPECT_FALSE(mapped.contains(addr("11.9.9.9")));
  EXPECT_FALSE(Cidr::parse("::/0")->contains(SocketAddress{}));
}

}  // namespace
}  // namespace ballast::net
