// tests/unit/config/acme_sections_test.cpp — the `tls.acme:` block: a full block read back, and
// each rule's "file:line:col: message" (https directory, DNS names, challenge type, a storage
// directory that can be written, a readable CA file).
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

#include "config/loader.h"

namespace ballast::config {
namespace {

constexpr std::string_view kPools = R"(pools:
  - name: app
    backends:
      - {address: "127.0.0.1:9001"}
)";

class AcmeSectionsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/ballast-acme-cfg-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { std::system(("rm -rf " + dir_).c_str()); }

  // A listener whose tls block is `acme` (indented under "      acme:").
  LoadResult load(const std::string& acme) {
    const std::string yaml = R"(listeners:
  - name: web
    bind: "127.0.0.1:8443"
    protocol: https
    pool: app
    tls:
      acme:
)" + acme + std::string(kPools);
    return loadConfigText(yaml, "a.yaml");
  }

  std::string errors(const LoadResult& r) {
    std::string out;
    for (const auto& e : r.errors) {
      out += e.format() + "\n";
    }
    return out;
  }

  std::string dir_;
};

TEST_F(AcmeSectionsTest, FullBlockReadsBack) {
  const auto r = load(R"(        directory: "https://127.0.0.1:14000/dir"
        email: ops@a.test
        domains: [A.test, www.a.test]
        challenge: tls-alpn-01
        storage: )" + dir_ +
                      R"(/store
        retry_backoff: 5s
)");
  ASSERT_TRUE(r.errors.empty()) << errors(r);
  const auto& tls = r.config->listeners.at(0).tls;
  ASSERT_TRUE(tls.acme.has_value());
  EXPECT_TRUE(tls.certificates.empty()) << "with acme, certificates are optional";
  EXPECT_EQ(tls.acme->directory, "https://127.0.0.1:14000/dir");
  EXPECT_EQ(tls.acme->email, "ops@a.test");
  EXPECT_EQ(tls.acme->domains, (std::vector<std::string>{"a.test", "www.a.test"}));
  EXPECT_EQ(tls.acme->challenge, AcmeChallenge::kTlsAlpn01);
  EXPECT_EQ(tls.acme->storage, dir_ + "/store");
  EXPECT_EQ(tls.acme->retry_backoff, std::chrono::seconds(5));
  EXPECT_TRUE(tls.acme->ca.empty());
}

TEST_F(AcmeSectionsTest, EachRuleIsReportedAtItsValue) {
  const auto r = load(R"(        directory: "http://acme.test/dir"
        email: "not an address"
        domains: [a.test, "*.a.test", "bad..name"]
        challenge: dns-01
        storage: /nonexistent/dir/store
        ca: /nonexistent/ca.pem
)");
  EXPECT_EQ(errors(r),
            "a.yaml:8:20: directory: expected an https URL, got \"http://acme.test/dir\"\n"
            "a.yaml:9:16: email: expected an email address, got \"not an address\"\n"
            "a.yaml:10:27: tls.acme.domains: \"*.a.test\" is not a DNS name\n"
            "a.yaml:10:39: tls.acme.domains: \"bad..name\" is not a DNS name\n"
            "a.yaml:11:20: challenge: expected one of http-01, tls-alpn-01, got \"dns-01\"\n"
            "a.yaml:12:18: tls.acme.storage: /nonexistent/dir/store does not exist and cannot "
            "be created in /nonexistent/dir: No such file or directory\n"
            "a.yaml:13:13: tls.acme.ca: cannot read /nonexistent/ca.pem: No such file or "
            "directory\n");
}

TEST_F(AcmeSectionsTest, ADomainListedTwiceIsAnError) {
  const auto r = load("        domains: [a.test, www.a.test, A.test]\n");
  EXPECT_NE(errors(r).find("a.yaml:8:39: tls.acme.domains: \"A.test\" is listed twice\n"),
            std::string::npos)
      << errors(r);
}

TEST_F(AcmeSectionsTest, RequiredKeysAndEmptyDomains) {
  const auto r = load("        domains: []\n");
  EXPECT_EQ(errors(r),
            "a.yaml:8:9: tls.acme is missing required key \"directory\"\n"
            "a.yaml:8:9: tls.acme is missing required key \"storage\"\n"
            "a.yaml:8:18: tls.acme.domains: at least one name is needed\n");
}

TEST_F(AcmeSectionsTest, WithoutAcmeCertificatesStayRequired) {
  const auto r = loadConfigText(R"(listeners:
  - name: web
    bind: "127.0.0.1:8443"
    protocol: https
    pool: app
    tls: {min_version: "1.2"}
)" + std::string(kPools),
                                "a.yaml");
  EXPECT_EQ(errors(r), "a.yaml:6:10: tls is missing required key \"certificates\"\n");
}

}  // namespace
}  // namespace ballast::config
