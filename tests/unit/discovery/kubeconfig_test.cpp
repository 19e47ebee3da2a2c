// tests/unit/discovery/kubeconfig_test.cpp — kubeconfig credentials: current-context, *-data
// (base64) against file fields (relative to the kubeconfig), token and tokenFile, mistakes.
#include "discovery/kubeconfig.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <string>

namespace ballast::discovery {
namespace {

class KubeconfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("ballast-kubeconfig-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  void write(const std::string& name, const std::string& text) {
    std::ofstream(dir_ / name) << text;
  }
  std::filesystem::path dir_;
};

// Two contexts, so the test shows current-context chooses.
constexpr const char* kTwoContexts = R"(apiVersion: v1
kind: Config
current-context: dev
clusters:
  - name: prod
    cluster: {server: "https://prod.invalid:6443"}
  - name: local
    cluster:
      server: https://127.0.0.1:6443/
      certificate-authority-data: UEVNIENB
contexts:
  - name: other
    context: {cluster: prod, user: nobody}
  - name: dev
    context: {cluster: local, user: dev, namespace: shop}
users:
  - name: dev
    user:
      token: abc.def
      client-certificate-data: Q0VSVA==
      client-key-data: S0VZ
)";

TEST_F(KubeconfigTest, DataFieldsAndTheTokenOfTheCurrentContext) {
  std::string error;
  const auto c = parseKubeconfig(kTwoContexts, dir_.string(), &error);
  ASSERT_TRUE(c) << error;
  EXPECT_EQ(c->server, "https://127.0.0.1:6443");
  EXPECT_EQ(c->ca_pem, "PEM CA");
  EXPECT_EQ(c->token, "abc.def");
  EXPECT_EQ(c->client_cert_pem, "CERT");
  EXPECT_EQ(c->client_key_pem, "KEY");
}

TEST_F(KubeconfigTest, FileFieldsAreReadRelativeToTheKubeconfig) {
  write("ca.crt", "CA FROM FILE");
  write("client.crt", "CERT FROM FILE");
  write("client.key", "KEY FROM FILE");
  write("token", "tok-from-file\n");
  write("config", R"(current-context: c
clusters: [{name: k, cluster: {server: "https://127.0.0.1:1", certificate-authority: ca.crt}}]
contexts: [{name: c, context: {cluster: k, user: u}}]
users:
  - name: u
    user: {client-certificate: client.crt, client-key: )" +
                      (dir_ / "client.key").string() + R"(, tokenFile: token}
)");
  std::string error;
  const auto c = readKubeconfig((dir_ / "config").string(), &error);
  ASSERT_TRUE(c) << error;
  EXPECT_EQ(c->ca_pem, "CA FROM FILE");
  EXPECT_EQ(c->client_cert_pem, "CERT FROM FILE");
  EXPECT_EQ(c->client_key_pem, "KEY FROM FILE");
  EXPECT_EQ(c->token, "tok-from-file");
}

TEST_F(KubeconfigTest, MistakesSayWhatIsMissing) {
  struct Case {
    const char* text;
    const char* says;
  };
  for (const Case& c : {
           Case{"clusters: []", "current-context"},
           Case{"current-context: x\ncontexts: []", "no context named x"},
           Case{"current-context: x\ncontexts: [{name: x, context: {cluster: k}}]",
                "no cluster named k"},
           Case{"current-context: x\ncontexts: [{name: x, context: {cluster: k}}]\n"
                "clusters: [{name: k, cluster: {server: 'http://127.0.0.1:1'}}]",
                "https"},
           Case{"current-context: x\ncontexts: [{name: x, context: {cluster: k}}]\n"
                "clusters: [{name: k, cluster: {server: 'https://127.0.0.1:1', "
                "certificate-authority-data: '%%%'}}]",
                "base64"},
           Case{"current-context: x\ncontexts: [{name: x, context: {cluster: k, user: u}}]\n"
                "clusters: [{name: k, cluster: {server: 'https://127.0.0.1:1'}}]\n"
                "users: [{name: u, user: {client-certificate-data: Q0VSVA==}}]",
                "needs its key"},
           Case{"current-context: x\ncontexts: [{name: x, context: {cluster: k}}]\n"
                "clusters: [{name: k, cluster: {server: 'https://127.0.0.1:1', "
                "certificate-authority: /nonexistent/ca.crt}}]",
                "cannot read"},
           Case{"{[", "kubeconfig"},
       }) {
    std::string error;
    EXPECT_FALSE(parseKubeconfig(c.text, dir_.string(), &error)) << c.text;
    EXPECT_NE(error.find(c.says), std::string::npos) << c.text << " -> " << error;
  }
}

TEST_F(KubeconfigTest, InClusterReadsTheServiceAccountAndTheEnvironment) {
  write("token", "sa-token\n");
  write("ca.crt", "SA CA");
  ::setenv("KUBERNETES_SERVICE_HOST", "10.96.0.1", 1);
  ::setenv("KUBERNETES_SERVICE_PORT", "443", 1);
  std::string error;
  const auto c = inClusterCredentials(dir_.string(), &error);
  ASSERT_TRUE(c) << error;
  EXPECT_EQ(c->server, "https://10.96.0.1:443");
  EXPECT_EQ(c->token, "sa-token");
  EXPECT_EQ(c->ca_pem, "SA CA");
  ::unsetenv("KUBERNETES_SERVICE_HOST");
  EXPECT_FALSE(inClusterCredentials(dir_.string(), &error));
  EXPECT_NE(error.find("KUBERNETES_SERVICE_HOST"), std::string::npos);
  ::unsetenv("KUBERNETES_SERVICE_PORT");
}

TEST(Base64Test, DecodesStandardAlphabetAndRefusesOthers) {
  EXPECT_EQ(base64Decode("aGVsbG8gd29ybGQ=").value_or("?"), "hello world");
  EXPECT_EQ(base64Decode("YQ==").value_or("?"), "a");
  EXPECT_EQ(base64Decode("+/+/").value_or("?"), std::string("\xfb\xff\xbf"));
  EXPECT_FALSE(base64Decode("a-_b"));
  EXPECT_FALSE(base64Decode("YQ==YQ"));
  EXPECT_FALSE(base64Decode("Y"));
}

}  // namespace
}  // namespace ballast::discovery
