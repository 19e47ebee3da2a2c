// tests/unit/config/config_source_test.cpp — the bootstrap file's config_source, and the
// documents of an etcd prefix joined into one configuration.
#include "config/config_source.h"

#include <gtest/gtest.h>

namespace ballast::config {
namespace {

std::string allErrors(const std::vector<ConfigError>& errors) {
  std::string out;
  for (const auto& e : errors) {
    out += e.format() + "\n";
  }
  return out;
}

constexpr std::string_view kPools = R"(pools:
  - name: app
    backends:
      - {address: "127.0.0.1:9001"}
)";
constexpr std::string_view kListeners = R"(listeners:
  - {name: web, bind: "127.0.0.1:8080", protocol: http, pool: app}
)";

TEST(ConfigSource, AFileWithoutItIsTheConfiguration) {
  const auto r = readConfigSourceText(std::string(kPools), "b.yaml");
  EXPECT_FALSE(r.etcd);
  EXPECT_TRUE(r.errors.empty());
}

// The text is only parsed when it can name config_source; an escaped key still can.
TEST(ConfigSource, AnEscapedKeyIsStillFound) {
  const auto r = readConfigSourceText(
      "\"config\\x5fsource\": {etcd: {endpoints: [http://127.0.0.1:2379], prefix: /b/}}\n",
      "b.yaml");
  ASSERT_TRUE(r.etcd) << allErrors(r.errors);
  EXPECT_EQ(r.etcd->prefix, "/b/");
}

TEST(ConfigSource, ReadsEtcdSettings) {
  const auto r = readConfigSourceText(R"(config_source:
  etcd:
    endpoints: [http://127.0.0.1:2379, "https://127.0.0.1:2380"]
    prefix: /ballast/prod/
    tls: {ca: /etc/ca.pem, cert: /etc/c.pem, key: /etc/k.pem}
)",
                                      "b.yaml");
  ASSERT_TRUE(r.etcd) << allErrors(r.errors);
  EXPECT_TRUE(r.errors.empty()) << allErrors(r.errors);
  EXPECT_EQ(r.etcd->endpoints.size(), 2U);
  EXPECT_EQ(r.etcd->prefix, "/ballast/prod/");
  EXPECT_EQ(r.etcd->ca, "/etc/ca.pem");
  EXPECT_EQ(r.etcd->key, "/etc/k.pem");
}

TEST(ConfigSource, ReportsBadSettingsAtTheirPosition) {
  const auto r = readConfigSourceText(R"(admin: {socket: /run/a.sock}
config_source:
  etcd: {endpoints: [ftp://x], prefix: /p/, tls: {cert: /c.pem}}
)",
                                      "b.yaml");
  const std::string errors = allErrors(r.errors);
  EXPECT_NE(errors.find("b.yaml:3:22: "), std::string::npos) << errors;  // ftp://x
  EXPECT_NE(errors.find("cert and key go together"), std::string::npos) << errors;
  EXPECT_EQ(r.errors.size(), 2U) << errors;  // admin: is the loader's to read
}

TEST(ConfigSource, NeedsAnEndpoint) {
  for (const char* endpoints : {"endpoints:", "endpoints: []"}) {
    const auto r = readConfigSourceText(
        "config_source:\n  etcd:\n    prefix: /p/\n    " + std::string(endpoints) + "\n", "b.yaml");
    ASSERT_EQ(r.errors.size(), 1U) << endpoints;
    EXPECT_NE(r.errors[0].message.find("needs at least one URL"), std::string::npos);
  }
}

TEST(ConfigDocuments, TheBootstrapIsTheFirstDocument) {
  auto r = loadConfigDocuments({{"b.yaml", "config_source: {etcd: {}}\nadmin: {socket: /a.sock}\n"},
                                {"etcd:/p/a", std::string(kListeners) + std::string(kPools)}});
  ASSERT_TRUE(r.config) << allErrors(r.errors);
  EXPECT_EQ(r.config->listeners.size(), 1U);
  r = loadConfigDocuments({{"b.yaml", "admin: {socket: /a.sock}\n"},
                           {"etcd:/p/a", "config_source: {}\n" + std::string(kPools)}});
  ASSERT_FALSE(r.errors.empty());
  EXPECT_EQ(r.errors[0].format(),
            "etcd:/p/a:1:1: config_source belongs in the bootstrap file only");
}

TEST(ConfigDocuments, JoinsDocumentsInOrder) {
  const auto r = loadConfigDocuments(
      {{"etcd:/p/a", std::string(kListeners)}, {"etcd:/p/b", std::string(kPools)}});
  ASSERT_TRUE(r.config) << allErrors(r.errors);
  EXPECT_EQ(r.config->listeners.size(), 1U);
  EXPECT_EQ(r.config->pools.size(), 1U);
}

TEST(ConfigDocuments, ErrorsNameTheKey) {
  const auto r =
      loadConfigDocuments({{"etcd:/p/a", std::string(kPools)}, {"etcd:/p/b", "workers: many\n"}});
  EXPECT_FALSE(r.config);
  ASSERT_FALSE(r.errors.empty());
  EXPECT_EQ(r.errors[0].format().rfind("etcd:/p/b:1:10: ", 0), 0U) << allErrors(r.errors);
}

TEST(ConfigDocuments, ASectionInTwoKeysIsAnError) {
  const auto r =
      loadConfigDocuments({{"etcd:/p/a", std::string(kPools)}, {"etcd:/p/b", std::string(kPools)}});
  EXPECT_FALSE(r.config);
  ASSERT_FALSE(r.errors.empty());
  EXPECT_EQ(r.errors[0].format(), "etcd:/p/b:1:1: section \"pools\" is also set by etcd:/p/a");
}

TEST(ConfigDocuments, RefusesIncludesAndNothing) {
  auto r = loadConfigDocuments({{"etcd:/p/a", "include: conf.d/*.yaml\n"}});
  EXPECT_FALSE(r.config);
  EXPECT_NE(allErrors(r.errors).find("includes are disabled"), std::string::npos);
  r = loadConfigDocuments({});
  EXPECT_FALSE(r.config);
  EXPECT_EQ(allErrors(r.errors), "etcd: no key under the prefix holds a document\n");
}

}  // namespace
}  // namespace ballast::config
