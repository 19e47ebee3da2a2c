// src/acme/acme_client.cpp — the RFC 8555 order flow over libcurl and OpenSSL.
#include "acme/acme_client.h"

#include <openssl/sha.h>

#include <array>
#include <chrono>
#include <nlohmann/json.hpp>
#include <thread>

#include "acme/challenge_table.h"
#include "acme/jws.h"
#include "acme/x509_build.h"
#include "core/log.h"

namespace ballast::acme {
namespace {

using nlohmann::json;

constexpr int kPollIntervalMs = 250;
constexpr int kMaxPolls = 240;  // a minute at kPollIntervalMs
constexpr long kHttpErrorFloor = 400;
constexpr int kTlsAlpnCertDays = 7;  // only ever shown to the validating directory

std::optional<json> parseJson(const std::string& body) {
  auto j = json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    return std::nullopt;
  }
  return j;
}

std::string problem(const HttpReply& r) {
  if (r.status == 0) {
    return r.error;
  }
  std::string out = "HTTP " + std::to_string(r.status);
  if (auto j = parseJson(r.body)) {
    out += ": " + j->value("type", std::string()) + " " + j->value("detail", std::string());
  }
  return out;
}

std::string stringField(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

std::string sha256(const std::string& in) {
  std::array<unsigned char, SHA256_DIGEST_LENGTH> d{};
  SHA256(reinterpret_cast<const unsigned char*>(in.data()), in.size(), d.data());
  return std::string(reinterpret_cast<const char*>(d.data()), d.size());
}

// The validation error of an invalid authorization's challenge, for the log.
std::string challengeError(const json& authz) {
  if (auto it = authz.find("challenges"); it != authz.end() && it->is_array()) {
    for (const auto& c : *it) {
      if (auto e = c.find("error"); e != c.end() && e->is_object()) {
        return stringField(*e, "type") + " " + stringField(*e, "detail");
      }
    }
  }
  return "no detail";
}

}  // namespace

AcmeClient::AcmeClient(const config::AcmeSettings& settings, EVP_PKEY* account_key,
                       const std::atomic<bool>& stop)
    : settings_(settings), account_key_(account_key), stop_(stop), http_(settings.ca) {}

bool AcmeClient::sleepFor(int ms) const {
  constexpr int kSliceMs = 50;
  for (int waited = 0; waited < ms; waited += kSliceMs) {
    if (stop_.load(std::memory_order_relaxed)) {
      return false;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(kSliceMs));
  }
  return true;
}

bool AcmeClient::loadDirectory(std::string* error) {
  const HttpReply r = http_.get(settings_.directory);
  auto j = r.status == 200 ? parseJson(r.body) : std::nullopt;
  if (!j) {
    *error = "directory " + settings_.directory + ": " + problem(r);
    return false;
  }
  new_nonce_url_ = stringField(*j, "newNonce");
  new_account_url_ = stringField(*j, "newAccount");
  new_order_url_ = stringField(*j, "newOrder");
  if (new_nonce_url_.empty() || new_account_url_.empty() || new_order_url_.empty()) {
    *error = "directory " + settings_.directory + ": newNonce, newAccount or newOrder missing";
    return false;
  }
  return true;
}

bool AcmeClient::post(const std::string& url, const std::string& payload, HttpReply* reply,
                      std::string* error, bool use_jwk) {
  for (int attempt = 0; attempt < 2; ++attempt) {
    if (nonce_.empty()) {
      const HttpReply n = http_.head(new_nonce_url_);
      if (n.nonce.empty()) {
        *error = "newNonce: " + problem(n);
        return false;
      }
      nonce_ = n.nonce;
    }
    const std::string body =
        signJws(account_key_, use_jwk ? std::string() : kid_, nonce_, url, payload);
    if (body.empty()) {
      *error = "cannot sign a request with the account key";
      return false;
    }
    *reply = http_.postJose(url, body);
    nonce_ = reply->nonce;  // every reply carries the next one
    if (reply->status >= kHttpErrorFloor) {
      auto j = parseJson(reply->body);
      if (attempt == 0 && j && stringField(*j, "type") == "urn:ietf:params:acme:error:badNonce") {
        continue;  // RFC 8555 section 6.5: retry with the fresh nonce
      }
      *error = url + ": " + problem(*reply);
      return false;
    }
    if (reply->status == 0) {
      *error = url + ": " + reply->error;
      return false;
    }
    return true;
  }
  return false;
}

bool AcmeClient::ensureAccount(std::string* error) {
  json payload = {{"termsOfServiceAgreed", true}};
  if (!settings_.email.empty()) {
    payload["contact"] = json::array({"mailto:" + settings_.email});
  }
  HttpReply r;
  if (!post(new_account_url_, payload.dump(), &r, error, /*use_jwk=*/true)) {
    *error = "newAccount: " + *error;
    return false;
  }
  kid_ = r.location;  // 201 for a new account, 200 for the one this key already has
  if (kid_.empty()) {
    *error = "newAccount: no account URL in the reply";
    return false;
  }
  return true;
}

bool AcmeClient::pollUntil(const std::string& url, const char* done_status, HttpReply* reply,
                           std::string* error) {
  for (int i = 0; i < kMaxPolls; ++i) {
    if (!post(url, "", reply, error)) {
      return false;
    }
    auto j = parseJson(reply->body);
    const std::string status = j ? stringField(*j, "status") : std::string();
    if (status == done_status) {
      return true;
    }
    if (status == "invalid") {
      *error = url + " is invalid: " + (j ? challengeError(*j) : std::string());
      return false;
    }
    if (!sleepFor(kPollIntervalMs)) {
      *error = "stopping";
      return false;
    }
  }
  *error = url + ": still not " + done_status + " after polling";
  return false;
}

bool AcmeClient::authorize(const std::string& authz_url, std::string* error) {
  HttpReply r;
  if (!post(authz_url, "", &r, error)) {
    return false;
  }
  auto authz = parseJson(r.body);
  if (!authz) {
    *error = authz_url + ": not a JSON object";
    return false;
  }
  if (stringField(*authz, "status") == "valid") {
    return true;  // reused from an earlier order
  }
  const std::string domain =
      authz->contains("identifier") ? stringField((*authz)["identifier"], "value") : "";
  const char* wanted =
      settings_.challenge == config::AcmeChallenge::kHttp01 ? "http-01" : "tls-alpn-01";
  const json* challenge = nullptr;
  if (auto it = authz->find("challenges"); it != authz->end() && it->is_array()) {
    for (const auto& c : *it) {
      if (c.is_object() && stringField(c, "type") == wanted) {
        challenge = &c;
      }
    }
  }
  if (challenge == nullptr) {
    *error = authz_url + ": the directory offers no " + wanted + " challenge for " + domain;
    return false;
  }
  const std::string token = stringField(*challenge, "token");
  const std::string url = stringField(*challenge, "url");
  const std::string key_authorization = token + "." + thumbprint(account_key_);
  if (settings_.challenge == config::AcmeChallenge::kHttp01) {
    publishHttp01(token, key_authorization);
  } else {
    auto key = newP256Key();
    const std::string cert =
        selfSignedPem(key.get(), {domain}, kTlsAlpnCertDays, sha256(key_authorization));
    if (cert.empty() || !publishTlsAlpn01(domain, cert, privateKeyPem(key.get()))) {
      *error = "cannot make the tls-alpn-01 certificate for " + domain;
      return false;
    }
  }
  core::LogLine(core::LogLevel::kInfo, "acme.challenge_ready")
      .str("domain", domain)
      .str("type", wanted);
  HttpReply answered;
  bool ok = post(url, "{}", &answered, error) && pollUntil(authz_url, "valid", &answered, error);
  if (settings_.challenge == config::AcmeChallenge::kHttp01) {
    withdrawHttp01(token);
  } else {
    withdrawTlsAlpn01(domain);
  }
  if (!ok) {
    *error = "challenge " + std::string(wanted) + " for " + domain + ": " + *error;
  }
  return ok;
}

OrderResult AcmeClient::order() {
  OrderResult out;
  std::string& error = out.error;
  if (!loadDirectory(&error) || !ensureAccount(&error)) {
    return out;
  }
  json identifiers = json::array();
  for (const auto& d : settings_.domains) {
    identifiers.push_back({{"type", "dns"}, {"value", d}});
  }
  HttpReply r;
  if (!post(new_order_url_, json{{"identifiers", identifiers}}.dump(), &r, &error)) {
    error = "newOrder: " + error;
    return out;
  }
  const std::string order_url = r.location;
  auto order = parseJson(r.body);
  if (!order || order_url.empty()) {
    error = "newOrder: no order in the reply";
    return out;
  }
  if (auto it = order->find("authorizations"); it != order->end() && it->is_array()) {
    for (const auto& a : *it) {
      if (!a.is_string() || !authorize(a.get<std::string>(), &error)) {
        return out;
      }
    }
  }
  auto key = newP256Key();
  const std::string csr = certificateRequestDer(key.get(), settings_.domains);
  if (!key || csr.empty()) {
    error = "cannot make the certificate key or request";
    return out;
  }
  const std::string finalize = stringField(*order, "finalize");
  if (!post(finalize, json{{"csr", base64url(csr)}}.dump(), &r, &error) ||
      !pollUntil(order_url, "valid", &r, &error)) {
    error = "finalize: " + error;
    return out;
  }
  order = parseJson(r.body);
  const std::string cert_url = order ? stringField(*order, "certificate") : std::string();
  if (cert_url.empty() || !post(cert_url, "", &r, &error)) {
    error = "certificate download: " + (cert_url.empty() ? "no certificate URL" : error);
    return out;
  }
  if (r.body.find("-----BEGIN CERTIFICATE-----") == std::string::npos) {
    error = "certificate download: not a PEM chain";
    return out;
  }
  out.issued.chain_pem = r.body;
  out.issued.key_pem = privateKeyPem(key.get());
  out.ok = true;
  return out;
}

}  // namespace ballast::acme
