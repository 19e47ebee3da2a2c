// src/acme/acme_client.cpp — the RFC 8555 order flow over libcurl and OpenSSL.
#include "acme/acme_client.h"

#include <openssl/sha.h>

#include <array>
#include <chrono>
#include <nlohmann/json.hpp>
#include <thread>

#include "acme/acme_replies.h"
#include "acme/challenge_message.h"
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
constexpr long kHttpOk = 200;
constexpr int kTlsAlpnCertDays = 7;  // only ever shown to the validating directory

std::string describe(const HttpReply& r) {
  if (r.status == 0) {
    return r.error;
  }
  const std::string detail = problemText(r.body);
  return "HTTP " + std::to_string(r.status) + (detail.empty() ? "" : ": " + detail);
}

std::string sha256(const std::string& in) {
  std::array<unsigned char, SHA256_DIGEST_LENGTH> d{};
  SHA256(reinterpret_cast<const unsigned char*>(in.data()), in.size(), d.data());
  return {reinterpret_cast<const char*>(d.data()), d.size()};
}

}  // namespace

AcmeClient::AcmeClient(const config::AcmeSettings& settings, EVP_PKEY* account_key,
                       const std::atomic<bool>& stop, ChallengeRelay relay)
    : settings_(settings),
      account_key_(account_key),
      stop_(stop),
      relay_(std::move(relay)),
      http_(settings.ca, stop) {}

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
  auto d = r.status == kHttpOk ? parseDirectory(r.body) : std::nullopt;
  if (!d) {
    *error = "directory " + settings_.directory + ": " +
             (r.status == kHttpOk ? "newNonce, newAccount or newOrder missing" : describe(r));
    return false;
  }
  new_nonce_url_ = d->new_nonce;
  new_account_url_ = d->new_account;
  new_order_url_ = d->new_order;
  return true;
}

bool AcmeClient::post(const std::string& url, const std::string& payload, HttpReply* reply,
                      std::string* error, bool use_jwk) {
  for (int attempt = 0; attempt < 2; ++attempt) {
    if (nonce_.empty()) {
      const HttpReply n = http_.head(new_nonce_url_);
      if (n.nonce.empty()) {
        *error = "newNonce: " + describe(n);
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
    if (reply->status == 0) {
      *error = url + ": " + reply->error;
      return false;
    }
    if (reply->status >= kHttpErrorFloor) {
      if (attempt == 0 && isBadNonce(reply->body)) {
        continue;  // RFC 8555 section 6.5: retry with the fresh nonce
      }
      *error = url + ": " + describe(*reply);
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
    // Orders and authorizations both carry "status"; an invalid authorization says why.
    const auto authz = parseAuthorization(reply->body, "");
    const std::string status = authz ? authz->status : std::string();
    if (status == done_status) {
      return true;
    }
    if (status == "invalid") {
      *error = url + " is invalid" + (authz->error.empty() ? "" : ": " + authz->error);
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
  const char* wanted =
      settings_.challenge == config::AcmeChallenge::kHttp01 ? "http-01" : "tls-alpn-01";
  HttpReply r;
  if (!post(authz_url, "", &r, error)) {
    return false;
  }
  const auto authz = parseAuthorization(r.body, wanted);
  if (!authz) {
    *error = authz_url + ": not a JSON object";
    return false;
  }
  if (authz->status == "valid") {
    return true;  // reused from an earlier order
  }
  const std::string& domain = authz->domain;
  if (authz->challenge_url.empty() || !isToken(authz->token)) {
    *error = authz_url + ": the directory offers no usable " + wanted + " challenge for " + domain;
    return false;
  }
  const std::string key_authorization = authz->token + "." + thumbprint(account_key_);
  ChallengeMessage shared;
  shared.name = settings_.challenge == config::AcmeChallenge::kHttp01 ? authz->token : domain;
  if (settings_.challenge == config::AcmeChallenge::kHttp01) {
    publishHttp01(authz->token, key_authorization);
    shared.kind = ChallengeMessage::Kind::kHttp01;
    shared.key_authorization = key_authorization;
  } else {
    auto key = newP256Key();
    const std::string cert =
        selfSignedPem(key.get(), {domain}, kTlsAlpnCertDays, sha256(key_authorization));
    shared.kind = ChallengeMessage::Kind::kTlsAlpn01;
    shared.cert_pem = cert;
    shared.key_pem = key ? privateKeyPem(key.get()) : std::string();
    if (cert.empty() || !publishTlsAlpn01(domain, cert, shared.key_pem)) {
      *error = "cannot make the tls-alpn-01 certificate for " + domain;
      return false;
    }
  }
  // Published to the other nodes before the CA is told to look: it may ask any of them.
  if (relay_) {
    relay_(shared);
  }
  core::LogLine(core::LogLevel::kInfo, "acme.challenge_ready")
      .str("domain", domain)
      .str("type", wanted);
  HttpReply answered;
  const bool ok = post(authz->challenge_url, "{}", &answered, error) &&
                  pollUntil(authz_url, "valid", &answered, error);
  if (settings_.challenge == config::AcmeChallenge::kHttp01) {
    withdrawHttp01(authz->token);
    shared.kind = ChallengeMessage::Kind::kHttp01Done;
  } else {
    withdrawTlsAlpn01(domain);
    shared.kind = ChallengeMessage::Kind::kTlsAlpn01Done;
  }
  if (relay_) {
    shared.key_authorization.clear();
    shared.cert_pem.clear();
    shared.key_pem.clear();
    relay_(shared);
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
  auto order = parseOrder(r.body);
  if (!order || order_url.empty() || order->finalize.empty()) {
    error = "newOrder: no order in the reply";
    return out;
  }
  for (const auto& a : order->authorizations) {
    if (!authorize(a, &error)) {
      return out;
    }
  }
  auto key = newP256Key();
  const std::string csr = key ? certificateRequestDer(key.get(), settings_.domains) : "";
  if (csr.empty()) {
    error = "cannot make the certificate key or request";
    return out;
  }
  if (!post(order->finalize, json{{"csr", base64url(csr)}}.dump(), &r, &error) ||
      !pollUntil(order_url, "valid", &r, &error)) {
    error = "finalize: " + error;
    return out;
  }
  order = parseOrder(r.body);
  const std::string cert_url = order ? order->certificate : std::string();
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
