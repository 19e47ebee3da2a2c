// tests/unit/policy/htpasswd_test.cpp — users files: accepted schemes (bcrypt, sha512-crypt,
// sha256-crypt) check passwords, weak or broken ones are refused at their line:column, duplicate
// users and bad lines are reported, and lookups find users by exact name.
#include "policy/htpasswd.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>

namespace ballast::policy {
namespace {

constexpr const char* kBcrypt = "$2y$04$v/DkC9WnVm.2lidYxsnS.OQT7LPV6jkFPhH92ouR8hHe9Bbeydmqa";
constexpr const char* kSha512 =
    "$6$saltsalt$8iYtNHxjWRl.NF6oNZ5tF.iKFlQREaXBLlSmZKP6dy9l5z3vsooWNW0/GZ6Nej73/"
    "TFug6pIPSqbJoCT6dfnj.";
constexpr const char* kSha256 = "$5$saltsalt$OIdfjX.u4Y3SJ4I2bX8w5BMf1VAUhHABNUirScDzZi3";

TEST(HtpasswdTest, AcceptedSchemesCheckPasswords) {
  const std::string text = std::string("# users\n\nalice:") + kBcrypt + "\nbob:" + kSha512 +
                           "\r\ncarol:" + kSha256 + ":a comment\n";
  std::vector<HtpasswdError> errors;
  const HtpasswdUsers users = parseHtpasswd(text, &errors);
  EXPECT_TRUE(errors.empty()) << errors[0].message;
  ASSERT_EQ(users.entries.size(), 3U);
  auto scratch = std::make_unique<CryptScratch>();
  ASSERT_NE(users.find("alice"), nullptr);
  EXPECT_TRUE(checkPassword("wonderland", *users.find("alice"), *scratch));
  EXPECT_FALSE(checkPassword("wonderlanD", *users.find("alice"), *scratch));
  EXPECT_TRUE(checkPassword("hunter2", *users.find("bob"), *scratch));
  EXPECT_FALSE(checkPassword("hunter3", *users.find("bob"), *scratch));
  EXPECT_TRUE(checkPassword("hunter2", *users.find("carol"), *scratch));
  EXPECT_FALSE(checkPassword(std::string("hunter2\0x", 9), *users.find("carol"), *scratch));
  EXPECT_FALSE(checkPassword("", *users.find("carol"), *scratch));
  EXPECT_EQ(users.find("Alice"), nullptr);  // names are exact
  EXPECT_EQ(users.find("dave"), nullptr);
}

TEST(HtpasswdTest, WeakAndBrokenEntriesAreRefusedWithPositions) {
  const std::string text = std::string("old:$apr1$HZnKTaln$zcuUvkVKWgbvW3dXL5AXR1\n") +
                           "sha:{SHA}GpHWL3ymc5liWkNopqtdSjuqYHM=\n" + "plain:pw\n" +
                           "md5:$1$abc$def\n" + "nocolon\n" + "bad:$2y$99$xx\n" +
                           "alice:" + kBcrypt + "\n" + "alice:" + kSha256 + "\n";
  std::vector<HtpasswdError> errors;
  const HtpasswdUsers users = parseHtpasswd(text, &errors);
  ASSERT_EQ(errors.size(), 7U);
  EXPECT_EQ(errors[0].line, 1);
  EXPECT_EQ(errors[0].column, 5);
  EXPECT_NE(errors[0].message.find("MD5-apr1"), std::string::npos) << errors[0].message;
  EXPECT_EQ(errors[1].line, 2);
  EXPECT_NE(errors[1].message.find("SHA-1"), std::string::npos);
  EXPECT_EQ(errors[2].line, 3);
  EXPECT_NE(errors[2].message.find("plain text"), std::string::npos);
  EXPECT_EQ(errors[3].line, 4);
  EXPECT_NE(errors[3].message.find("MD5-crypt"), std::string::npos);
  EXPECT_EQ(errors[4].line, 5);
  EXPECT_EQ(errors[4].message, "expected user:hash");
  EXPECT_EQ(errors[5].line, 6);
  EXPECT_NE(errors[5].message.find("malformed"), std::string::npos);
  EXPECT_EQ(errors[6].line, 8);
  EXPECT_NE(errors[6].message.find("listed twice"), std::string::npos);
  ASSERT_EQ(users.entries.size(), 1U);  // the first alice is kept
  EXPECT_EQ(*users.find("alice"), kBcrypt);
}

TEST(HtpasswdTest, ErrorsAreCapped) {
  std::string text;
  for (size_t i = 0; i < kMaxHtpasswdErrors * 2; ++i) {
    text += "x\n";
  }
  std::vector<HtpasswdError> errors;
  EXPECT_TRUE(parseHtpasswd(text, &errors).entries.empty());
  EXPECT_EQ(errors.size(), kMaxHtpasswdErrors);
}

}  // namespace
}  // namespace ballast::policy
