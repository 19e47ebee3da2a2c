// tests/unit/net/prefix_set_test.cpp — membership over merged ranges: both families, v4-mapped
// addresses both ways, edges of each range, /0 and /32, overlaps and adjacency merged.
#include "net/prefix_set.h"

#include <gtest/gtest.h>

#include <string>

namespace ballast::net {
namespace {

SocketAddress at(const std::string& ip) {
  return *SocketAddress::parse(ip.find(':') != std::string::npos ? "[" + ip + "]:1" : ip + ":1");
}

PrefixSet setOf(std::initializer_list<const char*> prefixes) {
  PrefixSet s;
  for (const char* p : prefixes) {
    s.add(*Cidr::parse(p));
  }
  s.seal();
  return s;
}

TEST(PrefixSetTest, MatchesInsideAndNotOutsideEachRange) {
  const PrefixSet s = setOf({"10.0.0.0/8", "192.168.1.0/24", "2001:db8::/32", "198.18.0.7"});
  EXPECT_TRUE(s.contains(at("10.0.0.0")));
  EXPECT_TRUE(s.contains(at("10.255.255.255")));
  EXPECT_FALSE(s.contains(at("11.0.0.0")));
  EXPECT_FALSE(s.contains(at("9.255.255.255")));
  EXPECT_TRUE(s.contains(at("192.168.1.200")));
  EXPECT_FALSE(s.contains(at("192.168.2.1")));
  EXPECT_TRUE(s.contains(at("198.18.0.7")));
  EXPECT_FALSE(s.contains(at("198.18.0.8")));
  EXPECT_TRUE(s.contains(at("2001:db8:ffff::1")));
  EXPECT_FALSE(s.contains(at("2001:db9::1")));
}

TEST(PrefixSetTest, V4MappedAddressesMatchBothWays) {
  const PrefixSet v4 = setOf({"10.0.0.0/8"});
  EXPECT_TRUE(v4.contains(at("::ffff:10.1.2.3")));
  EXPECT_FALSE(v4.contains(at("::ffff:11.1.2.3")));
  const PrefixSet v6 = setOf({"::ffff:10.0.0.0/104"});
  EXPECT_TRUE(v6.contains(at("10.9.9.9")));
  EXPECT_FALSE(v6.contains(at("11.9.9.9")));
}

TEST(PrefixSetTest, EverythingAndMerging) {
  const PrefixSet all = setOf({"0.0.0.0/0", "::/0"});
  EXPECT_TRUE(all.contains(at("255.255.255.255")));
  EXPECT_TRUE(all.contains(at("ffff::1")));
  const PrefixSet merged = setOf({"10.0.0.0/25", "10.0.0.128/25", "10.0.0.64/26", "10.0.2.0/24"});
  EXPECT_EQ(merged.ranges(), 2U);  // the two /25 halves and what they cover become one
  EXPECT_TRUE(merged.contains(at("10.0.0.255")));
  EXPECT_FALSE(merged.contains(at("10.0.1.0")));
  EXPECT_TRUE(PrefixSet().empty());
  EXPECT_FALSE(PrefixSet().contains(at("10.0.0.1")));
}

}  // namespace
}  // namespace ballast::net
