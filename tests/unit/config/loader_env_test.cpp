// tests/unit/config/loader_env_test.cpp — ${VAR} expansion as the loader applies it: before
// typing, with errors at the scalar that names the variable.
#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

#include "config/loader.h"

namespace ballast::config {
namespace {

LoadResult load(std::string_view yaml) { return loadConfigText(yaml, "t.yaml"); }

// Exactly one error, starting with `expected`.
void expectOnlyError(std::string_view yaml, const std::string& expected) {
  const LoadResult r = load(yaml);
  EXPECT_EQ(r.config, nullptr);
  ASSERT_EQ(r.errors.size(), 1U);
  EXPECT_EQ(r.errors[0].format().substr(0, expected.size()), expected);
}

TEST(LoaderEnvTest, EnvironmentVariablesAreExpandedBeforeTyping) {
  ASSERT_EQ(setenv("BALLAST_T_WORKERS", "6", 1), 0);
  ASSERT_EQ(setenv("BALLAST_T_BACKEND", "10.1.1.1", 1), 0);
  unsetenv("BALLAST_T_UNSET");
  const LoadResult r = load(R"(workers: ${BALLAST_T_WORKERS}
shutdown_timeout: ${BALLAST_T_UNSET:-45s}
pools:
  - name: "pool-${BALLAST_T_UNSET:-a}"
    backends:
      - address: "${BALLAST_T_BACKEND}:9001"
)");
  ASSERT_TRUE(r.errors.empty()) << r.errors[0].format();
  EXPECT_EQ(r.config->workers, 6U);
  EXPECT_EQ(r.config->shutdown_timeout, std::chrono::seconds(45));
  EXPECT_EQ(r.config->pools[0].name, "pool-a");
  EXPECT_EQ(r.config->pools[0].backends[0].address.toString(), "10.1.1.1:9001");
  unsetenv("BALLAST_T_WORKERS");
  unsetenv("BALLAST_T_BACKEND");
}

TEST(LoaderEnvTest, UnsetEnvironmentVariableIsAnErrorAtItsScalar) {
  unsetenv("BALLAST_T_UNSET");
  expectOnlyError("workers: 2\nshutdown_timeout: \"${BALLAST_T_UNSET}\"\n",
                  "t.yaml:2:19: shutdown_timeout: environment variable \"BALLAST_T_UNSET\" is "
                  "not set and has no default");
}

TEST(LoaderEnvTest, DoubleDollarEscapesExpansion) {
  const LoadResult r = load(R"(pools:
  - name: app
    backends: [{address: "127.0.0.1:1"}]
    health_check: {type: "$${X}"}
)");
  ASSERT_EQ(r.errors.size(), 1U);
  EXPECT_EQ(r.errors[0].format(),
            "t.yaml:4:26: type: expected one of tcp, http, tls, postgres, mysql, redis, "
            "send_expect, dns, exec, grpc, none, got \"${X}\"");
}

TEST(LoaderEnvTest, ExpandedValueIsTypedAfterExpansion) {
  ASSERT_EQ(setenv("BALLAST_T_BAD", "lots", 1), 0);
  expectOnlyError("workers: ${BALLAST_T_BAD}\n",
                  "t.yaml:1:10: workers: expected auto or an integer from 0 to 1024, got "
                  "\"lots\"");
  unsetenv("BALLAST_T_BAD");
}

}  // namespace
}  // namespace ballast::config
