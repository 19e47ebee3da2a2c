// tests/unit/control/admin_auth_test.cpp — who may use the admin API: unix peers always, TCP
// peers through the CIDR allowlist, the per-peer token bucket (clock injected) and a bearer
// token — static from a file, or a JWT (HS256, RS256) built here with libjwt.
#include "control/admin_auth.h"

#include <gtest/gtest.h>
#include <jwt.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

namespace ballast::control {
namespace {

namespace fs = std::filesystem;

constexpr uint64_t kNowMs = 1'800'000'000'000;  // a fixed "now" (2027), injected
constexpr long kNowS = static_cast<long>(kNowMs / 1000);
constexpr const char* kSecret = "unit-test-hs256-secret-0123456789abcdef";

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "ballast-auth-XXXXXX").string();
    path_ = mkdtemp(tmpl.data());
  }
  ~TempDir() { fs::remove_all(path_); }
  std::string write(const std::string& name, const std::string& text) const {
    const auto p = path_ / name;
    std::ofstream(p) << text;
    return p.string();
  }

 private:
  fs::path path_;
};

AdminRequest tcpRequest(const std::string& peer, const std::string& authorization = "") {
  AdminRequest r;
  r.method = "GET";
  r.path = "/api/v1/status";
  r.peer.address = peer;
  if (!authorization.empty()) {
    r.headers.emplace_back("authorization", authorization);
  }
  return r;
}

struct JwtFree {
  void operator()(jwt_t* j) const { jwt_free(j); }
};

struct Claims {
  const char* sub = "alice";
  std::optional<long> exp = kNowS + 300;
  std::optional<long> nbf;
  const char* extra_json = nullptr;  // more grants as JSON (non-integer dates, aud, iss)
};

std::string makeJwt(jwt_alg_t alg, const std::string& key, const Claims& c) {
  jwt_t* raw = nullptr;
  EXPECT_EQ(jwt_new(&raw), 0);
  std::unique_ptr<jwt_t, JwtFree> jwt(raw);
  if (c.sub != nullptr) {
    jwt_add_grant(jwt.get(), "sub", c.sub);
  }
  if (c.exp) {
    jwt_add_grant_int(jwt.get(), "exp", *c.exp);
  }
  if (c.nbf) {
    jwt_add_grant_int(jwt.get(), "nbf", *c.nbf);
  }
  if (c.extra_json != nullptr) {
    EXPECT_EQ(jwt_add_grants_json(jwt.get(), c.extra_json), 0);
  }
  EXPECT_EQ(jwt_set_alg(jwt.get(), alg,
                        key.empty() ? nullptr : reinterpret_cast<const unsigned char*>(key.data()),
                        static_cast<int>(key.size())),
            0);
  char* text = jwt_encode_str(jwt.get());
  EXPECT_NE(text, nullptr);
  std::string out = text != nullptr ? text : "";
  std::free(text);  // NOLINT(cppcoreguidelines-no-malloc): libjwt 1.10 returns malloc memory
  return out;
}

// An RSA key pair as PEM: private (PKCS#8) and public (SubjectPublicKeyInfo).
std::pair<std::string, std::string> rsaPair() {
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(EVP_RSA_gen(2048), EVP_PKEY_free);
  EXPECT_NE(key, nullptr);
  const auto pem = [](auto write) {
    std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), BIO_free);
    write(bio.get());
    char* data = nullptr;
    const long n = BIO_get_mem_data(bio.get(), &data);
    return std::string(data, static_cast<size_t>(n));
  };
  return {pem([&](BIO* b) {
            PEM_write_bio_PrivateKey(b, key.get(), nullptr, nullptr, 0, nullptr, nullptr);
          }),
          pem([&](BIO* b) { PEM_write_bio_PUBKEY(b, key.get()); })};
}

class AdminAuthTest : public ::testing::Test {
 protected:
  AdminAuth load(const config::AdminAuth& settings) {
    std::string error;
    auto auth = AdminAuth::load(settings, &error);
    EXPECT_TRUE(auth.has_value()) << error;
    return std::move(*auth);
  }
  config::AdminAuth withTokens() {
    config::AdminAuth s;
    s.tokens_file = dir_.write("tokens", "# operators\n  tok-one  \n\ntok-two\n# tok-commented\n");
    s.jwt_hs256_secret_file = dir_.write("hs256", std::string(kSecret) + "\n");
    s.rate_limit_per_sec = 0;
    return s;
  }
  static std::string message(const AdminResponse& r) {
    return nlohmann::json::parse(r.body)["error"]["message"].get<std::string>();
  }
  static std::string code(const AdminResponse& r) {
    return nlohmann::json::parse(r.body)["error"]["code"].get<std::string>();
  }
  static std::string header(const AdminResponse& r, const std::string& name) {
    for (const auto& [k, v] : r.headers) {
      if (k == name) {
        return v;
      }
    }
    return "";
  }

  TempDir dir_;
};

TEST_F(AdminAuthTest, UnixPeersPassWithoutTokensAndAreNamed) {
  config::AdminAuth s;
  s.allow.push_back(*net::Cidr::parse("198.18.0.0/15"));
  s.rate_limit_per_sec = 1;
  auto auth = load(s);
  for (int i = 0; i < 5; ++i) {  // neither allowlist nor rate limit applies
    AdminRequest r;
    r.peer.unix_socket = true;
    r.peer.uid = 1000;
    r.peer.pid = 42;
    EXPECT_FALSE(auth.check(r, kNowMs).has_value());
    EXPECT_EQ(r.actor, "admin:unix:uid=1000,pid=42");
  }
}

TEST_F(AdminAuthTest, TcpWithoutConfiguredTokensIsUnauthorized) {
  auto auth = load(config::AdminAuth{});
  EXPECT_FALSE(auth.tokensConfigured());
  auto r = tcpRequest("127.0.0.1", "Bearer anything");
  const auto denied = auth.check(r, kNowMs);
  ASSERT_TRUE(denied.has_value());
  EXPECT_EQ(denied->status, 401);
  EXPECT_EQ(code(*denied), "unauthorized");
  EXPECT_EQ(header(*denied, "WWW-Authenticate"), "Bearer realm=\"ballast\"");
}

TEST_F(AdminAuthTest, AllowlistRefusesOtherAddressesWith403) {
  auto s = withTokens();
  s.allow = {*net::Cidr::parse("198.18.0.0/15"), *net::Cidr::parse("2001:db8::/32")};
  auto auth = load(s);
  for (const char* peer : {"127.0.0.1", "198.20.0.1", "10.0.0.1", "2001:db9::1"}) {
    auto r = tcpRequest(peer, "Bearer tok-one");
    const auto denied = auth.check(r, kNowMs);
    ASSERT_TRUE(denied.has_value()) << peer;
    EXPECT_EQ(denied->status, 403) << peer;
    EXPECT_EQ(code(*denied), "forbidden");
  }
  for (const char* peer : {"198.18.0.1", "198.19.255.254", "2001:db8::7"}) {
    auto r = tcpRequest(peer, "Bearer tok-one");
    EXPECT_FALSE(auth.check(r, kNowMs).has_value()) << peer;
  }
}

TEST_F(AdminAuthTest, RateBucketEmptiesAndRefillsWithTheInjectedClock) {
  auto s = withTokens();
  s.rate_limit_per_sec = 4;
  auto auth = load(s);
  const auto pass = [&](const char* peer, uint64_t now) {
    auto r = tcpRequest(peer, "Bearer tok-one");
    const auto denied = auth.check(r, now);
    if (denied) {
      EXPECT_EQ(denied->status, 429);
      EXPECT_EQ(code(*denied), "rate_limited");
      EXPECT_EQ(header(*denied, "Retry-After"), "1");
    }
    return !denied.has_value();
  };
  for (int i = 0; i < 4; ++i) {
    EXPECT_TRUE(pass("127.0.0.1", kNowMs)) << i;  // the burst is the per-second rate
  }
  EXPECT_FALSE(pass("127.0.0.1", kNowMs));
  EXPECT_TRUE(pass("127.0.0.2", kNowMs));         // another peer has its own bucket
  EXPECT_FALSE(pass("127.0.0.1", kNowMs + 200));  // 0.8 tokens: not yet
  EXPECT_TRUE(pass("127.0.0.1", kNowMs + 250));   // 1 token after 250 ms at 4/s
  EXPECT_FALSE(pass("127.0.0.1", kNowMs + 250));
  // A long pause refills only up to the burst.
  int passed = 0;
  for (int i = 0; i < 10; ++i) {
    passed += pass("127.0.0.1", kNowMs + 60'000) ? 1 : 0;
  }
  EXPECT_EQ(passed, 4);
}

TEST_F(AdminAuthTest, RateLimitZeroIsOff) {
  auto auth = load(withTokens());
  for (int i = 0; i < 1000; ++i) {
    auto r = tcpRequest("127.0.0.1", "Bearer tok-two");
    ASSERT_FALSE(auth.check(r, kNowMs).has_value()) << i;
  }
}

TEST_F(AdminAuthTest, StaticTokensFromTheFile) {
  auto auth = load(withTokens());
  EXPECT_TRUE(auth.tokensConfigured());
  for (const char* token : {"tok-one", "tok-two"}) {
    auto r = tcpRequest("198.18.0.9", std::string("Bearer ") + token);
    EXPECT_FALSE(auth.check(r, kNowMs).has_value()) << token;
    EXPECT_EQ(r.actor, "admin:static@198.18.0.9");
  }
  // The scheme is case-insensitive and may be followed by more than one space (RFC 9110).
  for (const char* authz : {"bearer tok-one", "BEARER tok-one", "Bearer  tok-one"}) {
    auto r = tcpRequest("198.18.0.9", authz);
    EXPECT_FALSE(auth.check(r, kNowMs).has_value()) << authz;
  }
  for (const char* authz :
       {"", "Bearer ", "Bearer tok-on", "Bearer tok-one2", "Bearertok-one", "Basic tok-one",
        "tok-one", "Bearer # operators", "Bearer tok-commented", "Bearer # tok-commented"}) {
    auto r = tcpRequest("127.0.0.1", authz);
    const auto denied = auth.check(r, kNowMs);
    ASSERT_TRUE(denied.has_value()) << authz;
    EXPECT_EQ(denied->status, 401) << authz;
    EXPECT_EQ(header(*denied, "WWW-Authenticate"), "Bearer realm=\"ballast\"");
  }
}

TEST_F(AdminAuthTest, JwtHs256ValidExpiredNotYetValidAndUnsigned) {
  auto auth = load(withTokens());
  const auto verdict = [&](const std::string& token) -> std::optional<AdminResponse> {
    auto r = tcpRequest("127.0.0.1", "Bearer " + token);
    auto denied = auth.check(r, kNowMs);
    if (!denied) {
      EXPECT_EQ(r.actor, "admin:jwt:alice@127.0.0.1");
    }
    return denied;
  };
  EXPECT_FALSE(verdict(makeJwt(JWT_ALG_HS256, kSecret, {})).has_value());
  EXPECT_FALSE(verdict(makeJwt(JWT_ALG_HS256, kSecret, {.nbf = kNowS})).has_value());
  EXPECT_FALSE(verdict(makeJwt(JWT_ALG_HS256, kSecret, {.exp = kNowS + 1})).has_value());

  struct Bad {
    const char* name;
    std::string token;
    const char* why;
  };
  const Bad bad[] = {
      {"expired", makeJwt(JWT_ALG_HS256, kSecret, {.exp = kNowS - 1}), "expired"},
      {"exp is now", makeJwt(JWT_ALG_HS256, kSecret, {.exp = kNowS}), "expired"},
      {"no exp", makeJwt(JWT_ALG_HS256, kSecret, {.exp = std::nullopt}), "exp"},
      {"nbf ahead", makeJwt(JWT_ALG_HS256, kSecret, {.nbf = kNowS + 60}), "nbf"},
      {"wrong secret", makeJwt(JWT_ALG_HS256, "another-secret", {}), "invalid token"},
      {"alg none", makeJwt(JWT_ALG_NONE, "", {}), "invalid token"},
      {"hs384", makeJwt(JWT_ALG_HS384, kSecret, {}), "invalid token"},
      {"hs512", makeJwt(JWT_ALG_HS512, kSecret, {}), "invalid token"},
      {"garbage", "a.b.c", "invalid token"},
  };
  for (const auto& b : bad) {
    const auto denied = verdict(b.token);
    ASSERT_TRUE(denied.has_value()) << b.name;
    EXPECT_EQ(denied->status, 401) << b.name;
    EXPECT_NE(message(*denied).find(b.why), std::string::npos)
        << b.name << ": " << message(*denied);
  }
}

// RFC 7519 §2: a NumericDate may be non-integer. Such dates are compared as numbers, not read
// as 0 (which made every such token "expired").
TEST_F(AdminAuthTest, JwtNonIntegerNumericDates) {
  auto auth = load(withTokens());
  const auto denied = [&](const std::string& extra) {
    auto r = tcpRequest("127.0.0.1",
                        "Bearer " + makeJwt(JWT_ALG_HS256, kSecret,
                                            {.exp = std::nullopt, .extra_json = extra.c_str()}));
    return auth.check(r, kNowMs);
  };
  EXPECT_FALSE(denied("{\"exp\": " + std::to_string(kNowS + 300) + ".5}").has_value());
  EXPECT_FALSE(denied("{\"exp\": " + std::to_string(kNowS + 300) +
                      ".5, \"nbf\": " + std::to_string(kNowS - 1) + ".25}")
                   .has_value());
  const auto expired = denied("{\"exp\": " + std::to_string(kNowS - 1) + ".5}");
  ASSERT_TRUE(expired.has_value());
  EXPECT_NE(message(*expired).find("expired"), std::string::npos);
  const auto early = denied("{\"exp\": " + std::to_string(kNowS + 300) +
                            ".5, \"nbf\": " + std::to_string(kNowS + 10) + ".5}");
  ASSERT_TRUE(early.has_value());
  EXPECT_NE(message(*early).find("nbf"), std::string::npos);
  const auto text_exp = denied("{\"exp\": \"" + std::to_string(kNowS + 300) + "\"}");
  ASSERT_TRUE(text_exp.has_value());
  EXPECT_NE(message(*text_exp).find("no exp"), std::string::npos);
}

TEST_F(AdminAuthTest, JwtAudienceAndIssuerWhenConfigured) {
  auto s = withTokens();
  s.audience = "ballast-admin";
  s.issuer = "https://idp.example";
  auto auth = load(s);
  const auto denied = [&](const char* extra) {
    auto r =
        tcpRequest("127.0.0.1", "Bearer " + makeJwt(JWT_ALG_HS256, kSecret, {.extra_json = extra}));
    return auth.check(r, kNowMs);
  };
  EXPECT_FALSE(denied(R"({"aud": "ballast-admin", "iss": "https://idp.example"})").has_value());
  EXPECT_FALSE(
      denied(R"({"aud": ["other", "ballast-admin"], "iss": "https://idp.example"})").has_value());
  const char* refused[] = {
      R"({"iss": "https://idp.example"})",
      R"({"aud": "other", "iss": "https://idp.example"})",
      R"({"aud": ["other"], "iss": "https://idp.example"})",
      R"({"aud": "ballast-admin"})",
      R"({"aud": "ballast-admin", "iss": "https://evil.example"})",
  };
  for (const char* extra : refused) {
    const auto d = denied(extra);
    ASSERT_TRUE(d.has_value()) << extra;
    EXPECT_EQ(d->status, 401) << extra;
  }
  // Unset, neither is checked (the other tests' tokens carry neither).
  auto plain = load(withTokens());
  auto r = tcpRequest(
      "127.0.0.1", "Bearer " + makeJwt(JWT_ALG_HS256, kSecret, {.extra_json = R"({"aud": "x"})"}));
  EXPECT_FALSE(plain.check(r, kNowMs).has_value());
}

TEST_F(AdminAuthTest, JwtRs256AndNoKeyConfusion) {
  const auto [priv, pub] = rsaPair();
  const auto [other_priv, other_pub] = rsaPair();
  config::AdminAuth s;
  s.jwt_rs256_public_key_file = dir_.write("rs256.pub", pub);
  s.rate_limit_per_sec = 0;
  auto auth = load(s);
  const auto denied = [&](const std::string& token) {
    auto r = tcpRequest("127.0.0.1", "Bearer " + token);
    return auth.check(r, kNowMs);
  };
  EXPECT_FALSE(denied(makeJwt(JWT_ALG_RS256, priv, {})).has_value());
  EXPECT_TRUE(denied(makeJwt(JWT_ALG_RS256, priv, {.exp = kNowS - 5})).has_value());
  EXPECT_TRUE(denied(makeJwt(JWT_ALG_RS256, other_priv, {})).has_value());
  // HS256 keyed with the public key text must not pass for RS256.
  EXPECT_TRUE(denied(makeJwt(JWT_ALG_HS256, pub, {})).has_value());
}

TEST_F(AdminAuthTest, LoadNamesAMissingFile) {
  config::AdminAuth s;
  s.tokens_file = "/nonexistent/ballast/tokens";
  std::string error;
  EXPECT_FALSE(AdminAuth::load(s, &error).has_value());
  EXPECT_NE(error.find("/nonexistent/ballast/tokens"), std::string::npos) << error;
  s = {};
  s.jwt_hs256_secret_file = "/nonexistent/hs";
  EXPECT_FALSE(AdminAuth::load(s, &error).has_value());
  EXPECT_NE(error.find("/nonexistent/hs"), std::string::npos) << error;
}

}  // namespace
}  // namespace ballast::control
