// tests/unit/upstream/checks/mysql_check_test.cpp — a MariaDB greeting, an error packet and
// strangers.
#include "upstream/checks/mysql_check.h"

#include <gtest/gtest.h>

namespace ballast::upstream::checks {
namespace {

std::string packet(const std::string& payload, char seq = 0) {
  std::string out;
  out.push_back(static_cast<char>(payload.size() & 0xff));
  out.push_back(static_cast<char>((payload.size() >> 8) & 0xff));
  out.push_back('\0');
  out.push_back(seq);
  return out + payload;
}

std::span<const uint8_t> bytes(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

const std::string kGreeting =
    packet(std::string("\x0a") + "10.11.6-MariaDB" +
           std::string("\0\1\0\0\0abcdefgh\0\xfe\xf7", 17) + std::string(20, 'x'));

TEST(MysqlCheck, ProtocolTenGreetingIsHealthy) {
  const auto j = judgeMysqlGreeting(bytes(kGreeting));
  EXPECT_EQ(j.verdict, Verdict::kHealthy);
  EXPECT_EQ(j.reason, "greeting from 10.11.6-MariaDB");
  EXPECT_EQ(judgeMysqlGreeting(bytes(kGreeting.substr(0, 10))).verdict, Verdict::kNeedMore);
}

TEST(MysqlCheck, ErrorPacketIsUnhealthy) {
  const auto j = judgeMysqlGreeting(bytes(packet("\xff\x10\x04Too many connections")));
  EXPECT_EQ(j.verdict, Verdict::kUnhealthy);
  EXPECT_EQ(j.reason, "error 1040: Too many connections");
}

TEST(MysqlCheck, OtherBytesAreUnhealthy) {
  EXPECT_EQ(judgeMysqlGreeting(bytes("SSH-2.0-OpenSSH\r\n")).verdict, Verdict::kUnhealthy);
  EXPECT_EQ(judgeMysqlGreeting(bytes(packet("\x09old"))).reason, "unsupported protocol version 9");
  EXPECT_EQ(judgeMysqlGreeting(bytes(packet(std::string("\x0a"
                                                        "10.0\0abc",
                                                        9))))
                .reason,
            "truncated greeting");
}

TEST(MysqlCheck, LoginAnswersTheGreetingThenQuits) {
  const auto m = mysqlLoginAndQuit("mon");
  // Header: length 36 (4 caps + 4 max packet + 1 charset + 23 reserved + "mon\0" + 0), seq 1.
  ASSERT_EQ(m.size(), 4U + 37U + 5U);
  EXPECT_EQ(m.substr(0, 4), std::string("\x25\0\0\x01", 4));
  EXPECT_EQ(m.substr(4 + 32, 5), std::string("mon\0\0", 5));
  EXPECT_EQ(m.substr(m.size() - 5), std::string("\x01\0\0\0\x01", 5));
}

TEST(MysqlCheck, WithAUserTheVerdictWaitsForTheSessionToEnd) {
  config::HealthCheck c;
  c.type = config::HealthCheckType::kMysql;
  c.user = "mon";
  auto conv = makeMysqlConversation(c);
  std::string out;
  EXPECT_EQ(conv->start(out).verdict, Verdict::kNeedMore);
  EXPECT_EQ(conv->onBytes(bytes(kGreeting), out).verdict, Verdict::kNeedMore);
  EXPECT_EQ(out, mysqlLoginAndQuit("mon"));
  const auto j = conv->onEnd(0);
  EXPECT_EQ(j.verdict, Verdict::kHealthy);
  EXPECT_EQ(j.reason, "greeting from 10.11.6-MariaDB");
}

}  // namespace
}  // namespace ballast::upstream::checks
