// tests/unit/upstream/checks/dns_check_test.cpp — the query's wire form and the header checks.
#include "upstream/checks/dns_check.h"

#include <gtest/gtest.h>

namespace ballast::upstream::checks {
namespace {

std::span<const uint8_t> bytes(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

std::string answer(uint16_t id, uint8_t flags2, uint8_t rcode, uint8_t answers) {
  return std::string{static_cast<char>(id >> 8),
                     static_cast<char>(id & 0xff),
                     static_cast<char>(flags2),
                     static_cast<char>(rcode),
                     0,
                     1,
                     0,
                     static_cast<char>(answers),
                     0,
                     0,
                     0,
                     0};
}

TEST(DnsCheck, QueryIsRfc1035) {
  EXPECT_EQ(dnsQuery("svc.test", 1, 0x1234),
            std::string("\x12\x34\x01\x00\0\1\0\0\0\0\0\0\3svc\4test\0\0\1\0\1", 26));
}

TEST(DnsCheck, NoerrorWithTheIdIsHealthy) {
  const auto j = judgeDnsAnswer(bytes(answer(7, 0x81, 0x80, 1)), 7);
  EXPECT_EQ(j.verdict, Verdict::kHealthy);
  EXPECT_EQ(j.reason, "NOERROR, 1 answer(s)");
}

TEST(DnsCheck, WrongIdRcodeOrShapeIsUnhealthy) {
  EXPECT_EQ(judgeDnsAnswer(bytes(answer(8, 0x81, 0x80, 1)), 7).reason, "answer id 8, asked 7");
  EXPECT_EQ(judgeDnsAnswer(bytes(answer(7, 0x81, 0x83, 0)), 7).reason, "NXDOMAIN");
  EXPECT_EQ(judgeDnsAnswer(bytes(answer(7, 0x01, 0x00, 0)), 7).reason, "not a DNS answer");
  EXPECT_EQ(judgeDnsAnswer(bytes("short"), 7).verdict, Verdict::kUnhealthy);
}

}  // namespace
}  // namespace ballast::upstream::checks
