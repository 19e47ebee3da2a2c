// src/acme/acme_manager.h — keeps every tls.acme certificate of the config issued and fresh.
// Owned by the control thread; the ACME work (HTTP to the directory, key generation, waiting
// for validation) runs on one thread of its own, so neither the control loop nor a worker
// ever blocks on a directory. When a certificate lands on disk the manager calls back
// `on_certificate` (from its thread), and the control thread rebuilds the TLS contexts.
//
// With `tls.acme.store` the nodes sharing a certificate order it once between them (acme_store):
// a node first takes a newer certificate from the store, orders only while it holds the lock,
// and polls while another node holds it. A store that cannot be reached is no reason to serve
// an expired certificate: the node then orders alone, logs and counts it, and writes its
// certificate to the store once it is back.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>

#include "acme/acme_client.h"
#include "acme/acme_store.h"
#include "acme/jws.h"
#include "acme/x509_build.h"
#include "config/config_types.h"
#include "metrics/prometheus_writer.h"

namespace ballast::acme {

// Clock and timing, injectable for tests. Wall-clock seconds: certificates speak in those.
inline constexpr int64_t kMaxBackoffSeconds = 86'400;  // retry a broken setup at least daily

struct ManagerTiming {
  std::function<int64_t()> now_unix = nullptr;  // null: the system clock
  int64_t max_backoff_seconds = kMaxBackoffSeconds;
};

class AcmeManager {
 public:
  AcmeManager(std::function<void()> on_certificate, ManagerTiming timing = {});
  ~AcmeManager();
  AcmeManager(const AcmeManager&) = delete;
  AcmeManager& operator=(const AcmeManager&) = delete;

  // Control thread, before a snapshot of `cfg` is built: storage directories and placeholder
  // certificates exist for every tls.acme block. False and *error when one cannot be made.
  static bool prepare(const config::Config& cfg, std::string* error);
  // Control thread, once `cfg` is in force: orders for the certificates it asks for; ones no
  // longer asked for are forgotten. Starts the ACME thread on first use.
  void apply(const config::Config& cfg);

  // Any thread. One entry per certificate: domains, state, not_after, failures, last error.
  nlohmann::json status() const;
  // The entry of status() for one tls.acme block; null when it is not (yet) managed.
  nlohmann::json statusFor(const config::AcmeSettings& acme) const;
  void writeMetrics(metrics::PrometheusWriter& out) const;

  // When the next renewal is due for a certificate valid from not_before to not_after: at
  // two thirds of its lifetime.
  static int64_t renewalDue(int64_t not_before, int64_t not_after);
  // The wait after `failures` consecutive failures (>= 1): base doubled each time, capped.
  static int64_t backoffSeconds(int64_t base_seconds, uint32_t failures, int64_t max_seconds);

 private:
  struct Job {
    config::AcmeSettings settings;
    std::string state;  // placeholder, ordering, waiting (another node orders), valid
    int64_t not_after = 0;
    int64_t renew_at = 0;  // Unix seconds the certificate in use is due for renewal
    int64_t due = 0;       // Unix seconds the ACME thread looks at this job next
    uint32_t failures = 0;
    std::string last_error;
    uint64_t orders_valid = 0;
    uint64_t orders_failed = 0;
    uint64_t adopted = 0;       // certificates taken from the store, ordered by another node
    uint64_t fallbacks = 0;     // orders made alone because the store could not be reached
    bool push_pending = false;  // issued while the store was down: not in the store yet
    bool waiting_logged = false;
  };
  struct OrderOutcome {
    OrderResult result;
    std::optional<Validity> validity;  // of the stored chain, when it was stored
  };
  enum class Shared : uint8_t { kHandled, kStoreDown };
  // What the store's certificate is to this node's.
  enum class Adoption : uint8_t { kTaken, kSame, kOursNewer, kNothingUsable };

  void run();
  void serveJob(const std::string& key);
  void orderAlone(const std::string& key, const config::AcmeSettings& settings);
  Shared serveShared(const std::string& key, const config::AcmeSettings& settings,
                     AcmeStore& store);
  // kTaken when `remote` is as new as what this node serves (or newer) and now serves instead.
  Adoption adopt(const std::string& key, const config::AcmeSettings& settings,
                 const StoredCertificate& remote);
  // Writes this node's certificate to the store; false when the store is down.
  bool shareOurs(const std::string& key, const config::AcmeSettings& settings, AcmeStore& store,
                 const std::string& base);
  void waitForPeer(const std::string& key, const config::AcmeSettings& settings);
  PkeyPtr sharedAccount(const config::AcmeSettings& settings, AcmeStore& store, std::string* error);
  OrderOutcome orderAndStore(const config::AcmeSettings& settings, EVP_PKEY* account,
                             ChallengeRelay relay);
  // Records the outcome in the job; the wait before the next try after a failure (seconds).
  int64_t finish(const std::string& key, const config::AcmeSettings& settings,
                 const OrderOutcome& outcome);
  int64_t now() const;
  void loadStored(Job& job) const;
  static nlohmann::json jobJson(const Job& job);

  std::function<void()> on_certificate_;
  ManagerTiming timing_;
  mutable std::mutex mutex_;  // guards jobs_ (ACME thread, control thread, admin reads)
  std::condition_variable wake_;
  std::map<std::string, Job> jobs_;  // by storage path and domains
  // By URL; made by apply() on first use, kept until the manager goes (their subscribers keep
  // answering challenges for other nodes even while this node orders nothing).
  std::map<std::string, std::unique_ptr<AcmeStore>> stores_;
  const std::string node_token_;  // this process in the store's lock
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace ballast::acme
