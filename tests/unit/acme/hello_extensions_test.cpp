// tests/unit/acme/hello_extensions_test.cpp — ALPN and server_name bodies, well formed and not.
#include "acme/hello_extensions.h"

#include <gtest/gtest.h>

#include <vector>

namespace ballast::acme {
namespace {

std::vector<uint8_t> bytes(std::string_view s) { return {s.begin(), s.end()}; }

TEST(HelloExtensionsTest, AlpnListIsSearchedWithinItsLengths) {
  const auto both =
      bytes(std::string("\x00\x14\x08http/1.1\x0a"
                        "acme-tls/1",
                        22));
  EXPECT_TRUE(alpnOffers(both, "acme-tls/1"));
  EXPECT_TRUE(alpnOffers(both, "http/1.1"));
  EXPECT_FALSE(alpnOffers(both, "h2"));
  // The list length disagrees with the body; a name runs past the end; a zero-length name.
  EXPECT_FALSE(alpnOffers(bytes(std::string("\x00\x15\x08http/1.1\x0a"
                                            "acme-tls/1",
                                            22)),
                          "acme-tls/1"));
  EXPECT_FALSE(alpnOffers(bytes(std::string("\x00\x05\x09http/", 7)), "http/"));
  EXPECT_FALSE(alpnOffers(bytes(std::string("\x00\x01\x00", 3)), ""));
  EXPECT_FALSE(alpnOffers({}, "acme-tls/1"));
}

TEST(HelloExtensionsTest, ServerNameIsTheFirstHostNameLowerCased) {
  EXPECT_EQ(serverNameOf(bytes(std::string("\x00\x09\x00\x00\x06"
                                           "A.Test",
                                           11))),
            "a.test");
  EXPECT_EQ(serverNameOf(bytes(std::string("\x00\x09\x01\x00\x06"
                                           "a.test",
                                           11))),
            "");
  EXPECT_EQ(serverNameOf(bytes(std::string("\x00\x09\x00\x00\x07"
                                           "a.test",
                                           11))),
            "");
  EXPECT_EQ(serverNameOf(bytes(std::string("\x00\x03\x00\x00\x00", 5))), "");
  EXPECT_EQ(serverNameOf({}), "");
}

}  // namespace
}  // namespace ballast::acme
