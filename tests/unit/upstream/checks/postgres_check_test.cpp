// tests/unit/upstream/checks/postgres_check_test.cpp — the startup message's bytes and the
// verdict on each first message a server can send.
#include "upstream/checks/postgres_check.h"

#include <gtest/gtest.h>

namespace ballast::upstream::checks {
namespace {

std::span<const uint8_t> bytes(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

TEST(PostgresCheck, StartupMessageCarriesLengthVersionAndUser) {
  const auto m = postgresStartupMessage("app", "orders");
  ASSERT_GE(m.size(), 8U);
  EXPECT_EQ(static_cast<size_t>(static_cast<uint8_t>(m[3])), m.size());
  EXPECT_EQ(m.substr(4, 4), std::string("\0\3\0\0", 4));
  EXPECT_NE(m.find(std::string("user\0app\0", 9)), std::string::npos);
  EXPECT_NE(m.find(std::string("database\0orders\0", 16)), std::string::npos);
  EXPECT_EQ(m.back(), '\0');
}

TEST(PostgresCheck, AuthenticationRequestIsHealthy) {
  const std::string md5("R\0\0\0\x0c\0\0\0\x05salt", 13);
  EXPECT_EQ(judgePostgresReply(bytes(md5)).verdict, Verdict::kHealthy);
  EXPECT_EQ(judgePostgresReply(bytes(md5)).reason, "MD5 password requested");
  EXPECT_EQ(judgePostgresReply(bytes(md5.substr(0, 6))).verdict, Verdict::kNeedMore);
}

TEST(PostgresCheck, ErrorResponseIsUnhealthyWithItsMessage) {
  const std::string body = std::string("SFATAL\0C28000\0Mrole \"x\" does not exist\0\0", 40);
  std::string msg = "E";
  const auto len = static_cast<char>(body.size() + 4);
  msg += std::string("\0\0\0", 3) + len + body;
  const auto j = judgePostgresReply(bytes(msg));
  EXPECT_EQ(j.verdict, Verdict::kUnhealthy);
  EXPECT_EQ(j.reason, "error 28000: role \"x\" does not exist");
  EXPECT_EQ(judgePostgresReply(bytes(msg.substr(0, 10))).verdict, Verdict::kNeedMore);
}

TEST(PostgresCheck, GarbageIsUnhealthy) {
  EXPECT_EQ(judgePostgresReply(bytes("HTTP/1.1 400 Bad Request\r\n")).reason,
            "not PostgreSQL: first byte 0x48");
  EXPECT_EQ(judgePostgresReply(bytes(std::string("R\xff\xff\xff\xff", 5))).verdict,
            Verdict::kUnhealthy);
}

}  // namespace
}  // namespace ballast::upstream::checks
