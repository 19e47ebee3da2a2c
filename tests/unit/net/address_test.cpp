// tests/unit/net/address_test.cpp — SocketAddress parsing, printing and equality.
#include "net/address.h"

#include <gtest/gtest.h>

#include <string>
#include <unordered_set>

namespace ballast::net {
namespace {

struct Accepted {
  const char* text;
  bool allow_no_port;
  const char* printed;
};

TEST(SocketAddressTest, ParsesAcceptedForms) {
  const Accepted cases[] = {
      {"1.2.3.4:80", false, "1.2.3.4:80"},
      {"127.0.0.1:65535", false, "127.0.0.1:65535"},
      {"[::1]:80", false, "[::1]:80"},
      {"[::]:80", false, "[::]:80"},
      {"*:80", false, "0.0.0.0:80"},
      {":80", false, "0.0.0.0:80"},
      {"[2001:db8::1]:443", false, "[2001:db8::1]:443"},
      {"[::ffff:10.0.0.1]:8080", false, "[::ffff:10.0.0.1]:8080"},
      {"1.2.3.4", true, "1.2.3.4:0"},
      {"::1", true, "[::1]:0"},
      {"[::1]", true, "[::1]:0"},
      {"1.2.3.4:80", true, "1.2.3.4:80"},
      {"[::1]:80", true, "[::1]:80"},
  };
  for (const auto& c : cases) {
    const auto a = SocketAddress::parse(c.text, c.allow_no_port);
    ASSERT_TRUE(a.has_value()) << c.text;
    EXPECT_EQ(a->toString(), c.printed) << c.text;
  }
}

TEST(SocketAddressTest, RejectsEverythingElse) {
  const char* const cases[] = {
      "",
      "localhost:80",
      "example.com:80",
      "1.2.3.4",
      "1.2.3.4:",
      "1.2.3.4:0",
      "1.2.3.4:65536",
      "1.2.3.4:-1",
      "1.2.3.4:+80",
      "1.2.3.4:80x",
      "1.2.3.4:80 ",
      " 1.2.3.4:80",
      "1.2.3:80",
      "1.2.3.4.5:80",
      "01.2.3.4:80",
      "[::1",
      "[::1]:",
      "[::1]80",
      "[::1]:0",
      "[::1]:80x",
      "::1:80",
      "::1",
      "[1.2.3.4]:80",
      "[]:80",
      "*",
      ":",
      "*:",
      "1.2.3.4:000000080",
      "[fe80::1%eth0]:80",
      "1.2.3.4:0x50",
  };
  for (const char* c : cases) {
    EXPECT_FALSE(SocketAddress::parse(c).has_value()) << c;
  }
}

TEST(SocketAddressTest, RejectsWithoutPortEvenWhenAllowed) {
  const char* const cases[] = {"1.2.3.4:", "[::1", "[::1]:", "host", "1.2.3.4:0", ""};
  for (const char* c : cases) {
    EXPECT_FALSE(SocketAddress::parse(c, /*allow_no_port=*/true).has_value()) << c;
  }
}

TEST(SocketAddressTest, RejectsEmbeddedNul) {
  const std::string text("1.2.3.4\0junk:80", 15);
  EXPECT_FALSE(SocketAddress::parse(text).has_value());
  const std::string bare("1.2.3.4\0", 8);
  EXPECT_FALSE(SocketAddress::parse(bare, true).has_value());
}

TEST(SocketAddressTest, AccessorsReportFamilyPortAndBytes) {
  const auto v4 = *SocketAddress::parse("10.1.2.3:8080");
  EXPECT_EQ(v4.family(), AF_INET);
  EXPECT_FALSE(v4.isV6());
  EXPECT_EQ(v4.port(), 8080);
  EXPECT_EQ(v4.length(), sizeof(sockaddr_in));
  EXPECT_EQ(v4.hostString(), "10.1.2.3");
  EXPECT_EQ(v4.addressBytes(), std::string_view("\x0a\x01\x02\x03", 4));

  const auto v6 = *SocketAddress::parse("[2001:db8::1]:443");
  EXPECT_TRUE(v6.isV6());
  EXPECT_EQ(v6.port(), 443);
  EXPECT_EQ(v6.length(), sizeof(sockaddr_in6));
  EXPECT_EQ(v6.hostString(), "2001:db8::1");
  ASSERT_EQ(v6.addressBytes().size(), 16U);
  EXPECT_EQ(static_cast<uint8_t>(v6.addressBytes()[0]), 0x20);
  EXPECT_EQ(static_cast<uint8_t>(v6.addressBytes()[15]), 0x01);
}

TEST(SocketAddressTest, SetPortChangesOnlyThePort) {
  auto a = *SocketAddress::parse("[::1]:80");
  a.setPort(9090);
  EXPECT_EQ(a.toString(), "[::1]:9090");
}

TEST(SocketAddressTest, DefaultIsEmpty) {
  const SocketAddress a;
  EXPECT_EQ(a.family(), AF_UNSPEC);
  EXPECT_EQ(a.port(), 0);
  EXPECT_EQ(a.toString(), "");
  EXPECT_EQ(a.hostString(), "");
  EXPECT_TRUE(a.addressBytes().empty());
}

TEST(SocketAddressTest, FromSockaddrRoundTrips) {
  const auto a = *SocketAddress::parse("[::1]:53");
  const auto b = SocketAddress::fromSockaddr(a.sockaddrPtr(), a.length());
  EXPECT_EQ(a, b);
  EXPECT_EQ(b.toString(), "[::1]:53");
  EXPECT_EQ(SocketAddress::fromSockaddr(nullptr, 0).family(), AF_UNSPEC);
}

TEST(SocketAddressTest, EqualityComparesFamilyAddressAndPort) {
  EXPECT_EQ(*SocketAddress::parse("1.2.3.4:80"), *SocketAddress::parse("1.2.3.4:80"));
  EXPECT_EQ(*SocketAddress::parse("*:80"), *SocketAddress::parse("0.0.0.0:80"));
  EXPECT_NE(*SocketAddress::parse("1.2.3.4:80"), *SocketAddress::parse("1.2.3.4:81"));
  EXPECT_NE(*SocketAddress::parse("1.2.3.4:80"), *SocketAddress::parse("1.2.3.5:80"));
  EXPECT_NE(*SocketAddress::parse("[::]:80"), *SocketAddress::parse("0.0.0.0:80"));
  EXPECT_NE(*SocketAddress::parse("[::ffff:1.2.3.4]:80"), *SocketAddress::parse("1.2.3.4:80"));
}

TEST(SocketAddressTest, HashAgreesWithEquality) {
  std::unordered_set<SocketAddress, SocketAddressHash> set;
  set.insert(*SocketAddress::parse("1.2.3.4:80"));
  set.insert(*SocketAddress::parse("1.2.3.4:80"));
  set.insert(*SocketAddress::parse("1.2.3.4:81"));
  set.insert(*SocketAddress::parse("[::1]:80"));
  EXPECT_EQ(set.size(), 3U);
  EXPECT_EQ(set.count(*SocketAddress::parse("[::1]:80")), 1U);
  EXPECT_EQ(SocketAddressHash{}(*SocketAddress::parse("10.0.0.1:1")),
            SocketAddressHash{}(*SocketAddress::parse("10.0.0.1:1")));
}

}  // namespace
}  // namespace ballast::net
