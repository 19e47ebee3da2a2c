// tests/unit/config/env_expand_test.cpp — ${VAR} substitution with an injected environment.
#include "config/env_expand.h"

#include <gtest/gtest.h>

#include <map>

namespace ballast::config {
namespace {

EnvLookup fakeEnv(std::map<std::string, std::string> vars) {
  return [vars = std::move(vars)](const std::string& name) -> std::optional<std::string> {
    const auto it = vars.find(name);
    if (it == vars.end()) {
      return std::nullopt;
    }
    return it->second;
  };
}

TEST(ExpandEnvTest, SubstitutesAndFallsBack) {
  const auto env = fakeEnv({{"HOST", "10.0.0.1"}, {"PORT", "8080"}, {"EMPTY", ""}});
  const std::pair<const char*, const char*> cases[] = {
      {"plain", "plain"},
      {"${HOST}:${PORT}", "10.0.0.1:8080"},
      {"${MISSING:-9000}", "9000"},
      {"${PORT:-9000}", "8080"},
      {"${EMPTY:-fallback}", "fallback"},
      {"${EMPTY}", ""},
      {"${MISSING:-}", ""},
      {"${MISSING:-a:-b}", "a:-b"},
      {"$${HOST}", "${HOST}"},
      {"$$${HOST}", "$${HOST}"},  // left to right: a lone "$", then the escape
      {"cost $5", "cost $5"},
      {"$", "$"},
      {"${HOST}$", "10.0.0.1$"},
      {"x${HOST}y", "x10.0.0.1y"},
  };
  for (const auto& [in, out] : cases) {
    const auto r = expandEnv(in, env);
    ASSERT_TRUE(r.ok()) << in << ": " << r.error;
    EXPECT_EQ(r.text, out) << in;
  }
}

TEST(ExpandEnvTest, ReportsErrors) {
  const auto env = fakeEnv({});
  EXPECT_EQ(expandEnv("${MISSING}", env).error,
            "environment variable \"MISSING\" is not set and has no default");
  EXPECT_EQ(expandEnv("${1X}", env).error, "invalid environment variable name \"1X\"");
  EXPECT_EQ(expandEnv("${}", env).error, "invalid environment variable name \"\"");
  EXPECT_EQ(expandEnv("${A-B}", env).error, "invalid environment variable name \"A-B\"");
  EXPECT_EQ(expandEnv("abc ${HOST", env).error,
            "unterminated \"${\" (write \"$${\" for a literal \"${\")");
}

TEST(ExpandEnvTest, ReadsProcessEnvironmentByDefault) {
  ASSERT_EQ(setenv("BALLAST_EXPAND_TEST", "hello", 1), 0);
  EXPECT_EQ(expandEnv("${BALLAST_EXPAND_TEST} world").text, "hello world");
  ASSERT_EQ(unsetenv("BALLAST_EXPAND_TEST"), 0);
  EXPECT_FALSE(expandEnv("${BALLAST_EXPAND_TEST}").ok());
}

}  // namespace
}  // namespace ballast::config
