// src/control/admin_auth.cpp — allowlist, token bucket and bearer-token checks.
#include "control/admin_auth.h"

#include <jwt.h>
#include <openssl/crypto.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>

namespace ballast::control {
namespace {

constexpr size_t kMaxRateBuckets = 4096;  // distinct peers remembered; oldest dropped past it
constexpr double kMsPerSecond = 1000.0;

std::optional<std::string> readFile(const std::string& path, std::string* error) {
  std::ifstream in(path);
  if (!in) {
    *error = "cannot read " + path;
    return std::nullopt;
  }
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string trim(std::string s) {
  const auto start = s.find_first_not_of(" \t\r\n");
  if (start == std::string::npos) {
    return {};
  }
  const auto end = s.find_last_not_of(" \t\r\n");
  return s.substr(start, end - start + 1);
}

bool equalConstantTime(const std::string& a, const std::string& b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

struct JwtFree {
  void operator()(jwt_t* j) const { jwt_free(j); }
};

AdminResponse unauthorized(std::string_view why) {
  auto r = AdminResponse::error(401, "unauthorized", why);
  r.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"ballast\"");
  return r;
}

}  // namespace

std::optional<AdminAuth> AdminAuth::load(const config::AdminAuth& settings, std::string* error) {
  AdminAuth auth;
  auth.allow_ = settings.allow;
  auth.rate_per_sec_ = settings.rate_limit_per_sec;
  auth.audience_ = settings.audience;
  auth.issuer_ = settings.issuer;
  if (!settings.tokens_file.empty()) {
    auto text = readFile(settings.tokens_file, error);
    if (!text) {
      return std::nullopt;
    }
    std::istringstream lines(*text);
    std::string line;
    while (std::getline(lines, line)) {
      line = trim(line);
      if (!line.empty() && line[0] != '#') {
        auth.static_tokens_.push_back(line);
      }
    }
  }
  if (!settings.jwt_hs256_secret_file.empty()) {
    auto text = readFile(settings.jwt_hs256_secret_file, error);
    if (!text) {
      return std::nullopt;
    }
    auth.hs256_secret_ = trim(*text);
  }
  if (!settings.jwt_rs256_public_key_file.empty()) {
    auto text = readFile(settings.jwt_rs256_public_key_file, error);
    if (!text) {
      return std::nullopt;
    }
    auth.rs256_public_key_ = *text;
  }
  return auth;
}

bool AdminAuth::allowRate(const std::string& peer, uint64_t now_ms) {
  if (rate_per_sec_ == 0) {
    return true;
  }
  if (buckets_.size() >= kMaxRateBuckets && !buckets_.contains(peer)) {
    buckets_.clear();  // a flood of distinct peers: forget them all rather than grow
  }
  auto [it, fresh] = buckets_.try_emplace(peer);
  auto& b = it->second;
  const auto burst = static_cast<double>(rate_per_sec_);
  if (fresh) {
    b.tokens = burst;
  } else {
    b.tokens =
        std::min(burst, b.tokens + static_cast<double>(now_ms - b.last_ms) * burst / kMsPerSecond);
  }
  b.last_ms = now_ms;
  if (b.tokens < 1.0) {
    return false;
  }
  b.tokens -= 1.0;
  return true;
}

// The signature held; now the claims. exp and nbf are NumericDates, which RFC 7519 §2 lets be
// non-integer, so they are read as JSON numbers rather than with jwt_get_grant_int (which
// reads 0 for 1800000000.5).
std::optional<std::string> AdminAuth::checkClaims(jwt_t* jwt, uint64_t now_ms,
                                                  std::string* why) const {
  std::unique_ptr<char, decltype(&std::free)> text(jwt_get_grants_json(jwt, nullptr), &std::free);
  const auto grants = nlohmann::json::parse(text ? text.get() : "", nullptr, false);
  if (!grants.is_object()) {
    *why = "invalid token";
    return std::nullopt;
  }
  const double now_s = static_cast<double>(now_ms) / kMsPerSecond;
  const auto exp = grants.find("exp");
  if (exp == grants.end() || !exp->is_number()) {
    *why = "token has no exp";
    return std::nullopt;
  }
  if (exp->get<double>() <= now_s) {
    *why = "token expired";
    return std::nullopt;
  }
  const auto nbf = grants.find("nbf");
  if (nbf != grants.end() && (!nbf->is_number() || nbf->get<double>() > now_s)) {
    *why = "token not valid yet (nbf)";
    return std::nullopt;
  }
  if (!issuer_.empty()) {
    const auto iss = grants.find("iss");
    if (iss == grants.end() || !iss->is_string() || iss->get<std::string>() != issuer_) {
      *why = "token issuer (iss) is not admin.auth.issuer";
      return std::nullopt;
    }
  }
  if (!audience_.empty()) {
    // `aud` is one string or an array of them (RFC 7519 §4.1.3); ours must be among them.
    const auto aud = grants.find("aud");
    bool ours = false;
    if (aud != grants.end() && aud->is_string()) {
      ours = aud->get<std::string>() == audience_;
    } else if (aud != grants.end() && aud->is_array()) {
      ours = std::any_of(aud->begin(), aud->end(), [&](const auto& a) {
        return a.is_string() && a.template get<std::string>() == audience_;
      });
    }
    if (!ours) {
      *why = "token audience (aud) does not name admin.auth.audience";
      return std::nullopt;
    }
  }
  const auto sub = grants.find("sub");
  return std::string("jwt:") +
         (sub != grants.end() && sub->is_string() ? sub->get<std::string>() : std::string("?"));
}

std::optional<std::string> AdminAuth::verify(const std::string& token, uint64_t now_ms,
                                             std::string* why) const {
  for (const auto& t : static_tokens_) {
    if (equalConstantTime(t, token)) {
      return std::string("static");
    }
  }
  if (std::count(token.begin(), token.end(), '.') != 2) {
    *why = "unknown token";
    return std::nullopt;
  }
  // Try each configured key with the algorithm it is for; the token's own header never
  // chooses the key type (no alg confusion between the HS secret and the RSA key).
  struct Key {
    const std::string* material;
    jwt_alg_t alg;
  };
  const Key keys[] = {{&hs256_secret_, JWT_ALG_HS256}, {&rs256_public_key_, JWT_ALG_RS256}};
  for (const auto& key : keys) {
    if (key.material->empty()) {
      continue;
    }
    jwt_t* raw = nullptr;
    const int rc = jwt_decode(&raw, token.c_str(),
                              reinterpret_cast<const unsigned char*>(key.material->data()),
                              static_cast<int>(key.material->size()));
    std::unique_ptr<jwt_t, JwtFree> jwt(raw);
    if (rc != 0 || !jwt || jwt_get_alg(jwt.get()) != key.alg) {
      continue;
    }
    return checkClaims(jwt.get(), now_ms, why);
  }
  *why = "invalid token";
  return std::nullopt;
}

std::optional<AdminResponse> AdminAuth::check(AdminRequest& request, uint64_t now_ms) {
  if (request.peer.unix_socket) {
    request.actor = "admin:" + request.peer.describe();
    return std::nullopt;
  }
  const std::string& peer = request.peer.address;
  if (!allow_.empty()) {
    const auto addr = net::SocketAddress::parse(peer, /*allow_no_port=*/true);
    bool allowed = false;
    for (const auto& c : allow_) {
      if (addr && c.contains(*addr)) {
        allowed = true;
        break;
      }
    }
    if (!allowed) {
      return AdminResponse::error(403, "forbidden", "address not in admin.auth.allow");
    }
  }
  if (!allowRate(peer, now_ms)) {
    auto r = AdminResponse::error(429, "rate_limited", "too many admin requests from this peer");
    r.headers.emplace_back("Retry-After", "1");
    return r;
  }
  if (!tokensConfigured()) {
    return unauthorized("no admin tokens are configured: use the unix socket");
  }
  std::string_view authz = request.header("authorization");
  // The scheme is case-insensitive (RFC 9110 §11.1); one or more spaces follow it.
  constexpr std::string_view kBearer = "bearer";
  const bool bearer =
      authz.size() > kBearer.size() &&
      std::equal(kBearer.begin(), kBearer.end(), authz.begin(),
                 [](char a, char b) { return a == std::tolower(static_cast<unsigned char>(b)); }) &&
      authz[kBearer.size()] == ' ';
  if (!bearer) {
    return unauthorized("missing bearer token");
  }
  authz.remove_prefix(kBearer.size());
  while (!authz.empty() && authz.front() == ' ') {
    authz.remove_prefix(1);
  }
  std::string why;
  auto subject = verify(std::string(authz), now_ms, &why);
  if (!subject) {
    return unauthorized(why);
  }
  request.actor = "admin:" + *subject + "@" + peer;
  return std::nullopt;
}

}  // namespace ballast::control
