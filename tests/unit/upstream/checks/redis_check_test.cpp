// tests/unit/upstream/checks/redis_check_test.cpp — the commands sent and the verdicts on the
// replies, including those split across reads.
#include "upstream/checks/redis_check.h"

#include <gtest/gtest.h>

namespace ballast::upstream::checks {
namespace {

std::span<const uint8_t> bytes(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

TEST(RedisCheck, CommandsAreRespArrays) {
  EXPECT_EQ(redisCommands("p w", true, true),
            "*2\r\n$4\r\nAUTH\r\n$3\r\np w\r\n*1\r\n$4\r\nPING\r\n*1\r\n$4\r\nROLE\r\n");
}

TEST(RedisCheck, PongIsHealthyAndSplitRepliesWait) {
  EXPECT_EQ(judgeRedisReplies(bytes("+PONG\r\n"), false, false).verdict, Verdict::kHealthy);
  EXPECT_EQ(judgeRedisReplies(bytes("+PON"), false, false).verdict, Verdict::kNeedMore);
  EXPECT_EQ(judgeRedisReplies(bytes("+OK\r\n+PONG\r\n"), true, false).verdict, Verdict::kHealthy);
}

TEST(RedisCheck, AuthAndNoauthErrorsAreUnhealthy) {
  EXPECT_EQ(judgeRedisReplies(bytes("-WRONGPASS invalid password\r\n"), true, false).reason,
            "AUTH: WRONGPASS invalid password");
  EXPECT_EQ(judgeRedisReplies(bytes("-NOAUTH Authentication required.\r\n"), false, false).reason,
            "PING: NOAUTH Authentication required.");
}

TEST(RedisCheck, RoleMustBeMaster) {
  const std::string master = "+PONG\r\n*3\r\n$6\r\nmaster\r\n:0\r\n*0\r\n";
  EXPECT_EQ(judgeRedisReplies(bytes(master), false, true).verdict, Verdict::kHealthy);
  EXPECT_EQ(judgeRedisReplies(bytes(master.substr(0, 20)), false, true).verdict,
            Verdict::kNeedMore);
  const std::string replica =
      "+PONG\r\n*5\r\n$5\r\nslave\r\n$9\r\n127.0.0.1\r\n:6379\r\n$9\r\nconnected\r\n:14\r\n";
  EXPECT_EQ(judgeRedisReplies(bytes(replica), false, true).reason, "role is slave");
}

TEST(RedisCheck, GarbageIsUnhealthy) {
  EXPECT_EQ(judgeRedisReplies(bytes("HTTP/1.1 400\r\n"), false, false).reason, "not RESP");
  EXPECT_EQ(judgeRedisReplies(bytes("+PONG\r\n*99999999\r\n"), false, true).reason, "not RESP");
  EXPECT_EQ(judgeRedisReplies(bytes("+PONG\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n"), false, true).reason,
            "not RESP");
}

}  // namespace
}  // namespace ballast::upstream::checks
