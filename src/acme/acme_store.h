// src/acme/acme_store.h — ACME across nodes (`tls.acme.store: redis://HOST:PORT`). Every node
// with the same directory and domains shares, in Redis:
//   ballast:acme:account:<directory id>   the account key (PEM): the first node's, SET NX
//   <base>:lock                           who is ordering: a random node token, PX
//   <base>:cert                           the issued chain and its key (a hash: chain, key)
// where <base> is `ballast:acme:<first domain>:<id of directory and domains>`, and the channel
// `ballast:acme:challenges` carries pending challenge answers to every node (challenge_message).
//
// Two connections: one for commands, used by the ACME thread only (blocking, 1 s timeouts), and
// one subscribed, read by a thread of the store's own that installs other nodes' challenge
// answers in this node's challenge table. The private keys are in Redis: it must be as private
// as the storage directory (see docs/scale-out.md).
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>

#include "acme/shared_answers.h"
#include "config/config_types.h"
#include "redis/redis_conn.h"

namespace ballast::acme {

struct ChallengeMessage;

struct StoredCertificate {
  std::string chain_pem;
  std::string key_pem;
};

// What a store call found: done, nothing there (or someone else holds the lock), or the store
// could not be reached (then the caller falls back to this node alone).
enum class StoreOutcome : uint8_t { kOk, kAbsent, kDown };

class AcmeStore {
 public:
  AcmeStore(std::string host, uint16_t port);  // starts the subscriber thread
  ~AcmeStore();
  AcmeStore(const AcmeStore&) = delete;
  AcmeStore& operator=(const AcmeStore&) = delete;

  // The key prefix of one certificate: the same on every node with the same settings.
  static std::string baseKey(const config::AcmeSettings& acme);
  static std::string accountKeyName(const config::AcmeSettings& acme);

  // ACME thread only.
  StoreOutcome loadCertificate(const std::string& base, StoredCertificate* out);
  bool saveCertificate(const std::string& base, const StoredCertificate& cert);
  // kOk: this node holds the lock now (taken, or already its own and extended); kAbsent:
  // another node does.
  StoreOutcome lock(const std::string& base, const std::string& token, uint64_t ttl_ms);
  // Both only act while `token` still holds the lock.
  void unlock(const std::string& base, const std::string& token);
  void holdLock(const std::string& base, const std::string& token, uint64_t ttl_ms);
  // The shared account key: the stored one, or `local_pem` when none was stored yet.
  StoreOutcome sharedAccountKey(const std::string& name, const std::string& local_pem,
                                std::string* shared_pem);
  bool publish(const ChallengeMessage& m);

  // Any thread.
  const std::string& url() const { return url_; }
  bool up() const { return up_.load(std::memory_order_acquire); }
  uint64_t failures() const { return failures_.load(std::memory_order_relaxed); }
  uint64_t received() const { return received_.load(std::memory_order_relaxed); }
  // Other nodes' answers withdrawn unfinished after kSharedAnswerTtlMs, and refused because
  // kMaxSharedAnswers were installed already.
  uint64_t expired() const { return expired_.load(std::memory_order_relaxed); }
  uint64_t refused() const { return refused_.load(std::memory_order_relaxed); }

 private:
  bool connected();  // opens the command connection if needed
  redis::ReplyPtr run(const std::vector<std::string_view>& args);
  void markDown(const std::string& why);
  void markUp();
  void subscribeLoop();
  void install(const ChallengeMessage& m);
  void expireAnswers();

  std::string host_;
  uint16_t port_;
  std::string url_;
  redis::Connection commands_;  // ACME thread
  std::atomic<bool> up_{true};
  std::atomic<uint64_t> failures_{0};
  std::atomic<uint64_t> received_{0};
  std::atomic<uint64_t> expired_{0};
  std::atomic<uint64_t> refused_{0};
  std::mutex answers_mu_;  // publish() on the ACME thread, the rest on the subscriber's
  SharedAnswers answers_;
  std::atomic<bool> stop_{false};
  std::thread subscriber_;
};

}  // namespace ballast::acme
