// tests/unit/acme/storage_test.cpp — ACME's files: mode 0600 even over a wider old file, the
// placeholder until a certificate is issued, and the tls-alpn-01 and CSR objects.
#include "acme/storage.h"

#include <gtest/gtest.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>

#include <cstdlib>
#include <fstream>

#include "acme/jws.h"
#include "acme/x509_build.h"

namespace ballast::acme {
namespace {

class AcmeStorageTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/ballast-acme-store-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    settings_.storage = dir_ + "/acme";
    settings_.domains = {"a.test", "www.a.test"};
  }
  void TearDown() override { std::system(("rm -rf " + dir_).c_str()); }

  static mode_t mode(const std::string& path) {
    struct stat st {};
    EXPECT_EQ(stat(path.c_str(), &st), 0) << path;
    return st.st_mode & 0777;
  }

  std::string dir_;
  config::AcmeSettings settings_;
};

TEST_F(AcmeStorageTest, PrivateFilesAreNarrowedTo0600) {
  const std::string path = dir_ + "/k.pem";
  std::ofstream(path) << "old";
  chmod(path.c_str(), 0644);
  std::string error;
  ASSERT_TRUE(writePrivateFile(path, "new", &error)) << error;
  EXPECT_EQ(mode(path), 0600U);
  std::ifstream in(path);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(text, "new");
  EXPECT_FALSE(writePrivateFile("/nonexistent/dir/k.pem", "x", &error));
  EXPECT_NE(error.find("/nonexistent/dir/k.pem"), std::string::npos) << error;
}

TEST_F(AcmeStorageTest, PlaceholderServesUntilACertificateIsStored) {
  std::string error;
  ASSERT_TRUE(preparePlaceholder(settings_, &error)) << error;
  const StoragePaths p = storagePaths(settings_);
  EXPECT_EQ(mode(settings_.storage), 0700U);
  EXPECT_EQ(mode(p.placeholder_key), 0600U);
  EXPECT_FALSE(hasIssuedCertificate(settings_));
  EXPECT_EQ(servingCertificate(settings_).cert, p.placeholder_cert);
  const auto v = readLeafValidity(p.placeholder_cert);
  ASSERT_TRUE(v);
  EXPECT_EQ(v->names, (std::vector<std::string>{"a.test", "www.a.test"}));
  EXPECT_EQ(v->issuer, "/CN=a.test");

  const auto before = readLeafValidity(p.placeholder_cert);
  ASSERT_TRUE(preparePlaceholder(settings_, &error));
  EXPECT_EQ(readLeafValidity(p.placeholder_cert)->not_before, before->not_before);

  ASSERT_TRUE(writePrivateFile(p.key, "k", &error) && writePrivateFile(p.cert, "c", &error));
  EXPECT_TRUE(hasIssuedCertificate(settings_));
  EXPECT_EQ(servingCertificate(settings_).cert, p.cert);
}

TEST_F(AcmeStorageTest, TlsAlpnCertificateCarriesTheCriticalAcmeIdentifier) {
  auto key = newP256Key();
  const std::string digest(32, '\x5a');
  const std::string pem = selfSignedPem(key.get(), {"a.test"}, 1, digest);
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  X509* cert = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  ASSERT_NE(cert, nullptr);
  ASN1_OBJECT* oid = OBJ_txt2obj("1.3.6.1.5.5.7.1.31", 1);
  const int at = X509_get_ext_by_OBJ(cert, oid, -1);
  ASN1_OBJECT_free(oid);
  ASSERT_GE(at, 0);
  X509_EXTENSION* ext = X509_get_ext(cert, at);
  EXPECT_EQ(X509_EXTENSION_get_critical(ext), 1);
  const ASN1_OCTET_STRING* value = X509_EXTENSION_get_data(ext);
  const std::string der(reinterpret_cast<const char*>(ASN1_STRING_get0_data(value)),
                        static_cast<size_t>(ASN1_STRING_length(value)));
  EXPECT_EQ(der, std::string("\x04\x20", 2) + digest);
  X509_free(cert);
}

TEST_F(AcmeStorageTest, RequestNamesEveryDomainAndChainMustMatchItsKey) {
  auto key = newP256Key();
  const std::string der = certificateRequestDer(key.get(), {"a.test", "www.a.test"});
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  X509_REQ* req = d2i_X509_REQ(nullptr, &p, static_cast<long>(der.size()));
  ASSERT_NE(req, nullptr);
  EXPECT_EQ(X509_REQ_verify(req, key.get()), 1);
  STACK_OF(X509_EXTENSION)* exts = X509_REQ_get_extensions(req);
  ASSERT_NE(exts, nullptr);
  auto* sans =
      static_cast<GENERAL_NAMES*>(X509V3_get_d2i(exts, NID_subject_alt_name, nullptr, nullptr));
  ASSERT_NE(sans, nullptr);
  EXPECT_EQ(sk_GENERAL_NAME_num(sans), 2);
  GENERAL_NAMES_free(sans);
  sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
  X509_REQ_free(req);

  const std::string cert = selfSignedPem(key.get(), {"a.test"}, 1);
  EXPECT_TRUE(chainMatchesKey(cert, privateKeyPem(key.get())));
  EXPECT_FALSE(chainMatchesKey(cert, privateKeyPem(newP256Key().get())));
  EXPECT_FALSE(chainMatchesKey("garbage", privateKeyPem(key.get())));
}

}  // namespace
}  // namespace ballast::acme
