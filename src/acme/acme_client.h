// src/acme/acme_client.h — one certificate order against an ACME directory (RFC 8555): the
// account (created or found by its key), newOrder, each authorization's challenge answered
// through the challenge table, finalize with a CSR, and the chain's download. Blocking: runs
// on the ACME thread only.
#pragma once

#include <openssl/evp.h>

#include <atomic>
#include <functional>
#include <string>

#include "acme/http_client.h"
#include "config/config_types.h"

namespace ballast::acme {

struct ChallengeMessage;
// Hears each challenge answer this node publishes and withdraws, to share it with other nodes.
using ChallengeRelay = std::function<void(const ChallengeMessage&)>;

struct Issued {
  std::string chain_pem;  // leaf first, as the directory sent it
  std::string key_pem;    // the new certificate's ECDSA P-256 key
};

struct OrderResult {
  bool ok = false;
  std::string error;  // what failed, with the directory's problem detail when it sent one
  Issued issued;
};

class AcmeClient {
 public:
  // `stop` is polled while waiting, so a shutdown does not wait for a slow directory.
  AcmeClient(const config::AcmeSettings& settings, EVP_PKEY* account_key,
             const std::atomic<bool>& stop, ChallengeRelay relay = nullptr);
  OrderResult order();

 private:
  bool loadDirectory(std::string* error);
  bool ensureAccount(std::string* error);
  // POSTs a JWS (kid from the account, or the JWK before there is one); retries once on
  // badNonce. A 4xx/5xx reply turns into *error.
  bool post(const std::string& url, const std::string& payload, HttpReply* reply,
            std::string* error, bool use_jwk = false);
  bool authorize(const std::string& authz_url, std::string* error);
  bool pollUntil(const std::string& url, const char* done_status, HttpReply* reply,
                 std::string* error);
  bool sleepFor(int ms) const;

  const config::AcmeSettings& settings_;
  EVP_PKEY* account_key_;
  const std::atomic<bool>& stop_;
  ChallengeRelay relay_;
  HttpClient http_;
  std::string new_nonce_url_, new_account_url_, new_order_url_;
  std::string nonce_;
  std::string kid_;
};

}  // namespace ballast::acme
