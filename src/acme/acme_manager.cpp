// src/acme/acme_manager.cpp — scheduling orders, renewals and backoff on the ACME thread.
#include "acme/acme_manager.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>

#include "acme/acme_client.h"
#include "acme/jws.h"
#include "acme/storage.h"
#include "acme/x509_build.h"
#include "core/log.h"

namespace ballast::acme {
namespace {

constexpr int64_t kIdleWaitSeconds = 3600;  // nothing due: look again within the hour
constexpr int kBackoffShiftCap = 30;        // 2^30 x base is past any cap

std::string jobKey(const config::AcmeSettings& s) {
  std::string key = s.storage;
  for (const auto& d : s.domains) {
    key += " " + d;
  }
  return key;
}

// The account key from storage, or a new one saved there (mode 0600).
PkeyPtr accountKey(const config::AcmeSettings& s, std::string* error) {
  const std::string path = storagePaths(s).account_key;
  if (auto key = loadP256Key(path)) {
    return key;
  }
  if (::access(path.c_str(), F_OK) == 0) {
    // Never replace an account key we cannot read: that would lose the account.
    *error = path + " is not a readable ECDSA P-256 key";
    return nullptr;
  }
  auto key = newP256Key();
  if (!key || !writePrivateFile(path, privateKeyPem(key.get()), error)) {
    if (error->empty()) {
      *error = "cannot make an account key";
    }
    return nullptr;
  }
  core::LogLine(core::LogLevel::kInfo, "acme.account_key_created").str("file", path);
  return key;
}

}  // namespace

AcmeManager::AcmeManager(std::function<void()> on_certificate, ManagerTiming timing)
    : on_certificate_(std::move(on_certificate)), timing_(std::move(timing)) {}

AcmeManager::~AcmeManager() {
  {
    const std::lock_guard<std::mutex> lock(mutex_);
    stop_.store(true);
  }
  wake_.notify_all();
  if (thread_.joinable()) {
    thread_.join();
  }
}

int64_t AcmeManager::now() const {
  if (timing_.now_unix) {
    return timing_.now_unix();
  }
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

int64_t AcmeManager::renewalDue(int64_t not_before, int64_t not_after) {
  constexpr int64_t kThirds = 3;
  return not_before + (not_after - not_before) * 2 / kThirds;
}

int64_t AcmeManager::backoffSeconds(int64_t base_seconds, uint32_t failures, int64_t max_seconds) {
  const int shift = static_cast<int>(std::min<uint32_t>(failures - 1, kBackoffShiftCap));
  const int64_t base = std::max<int64_t>(base_seconds, 1);
  if (base > (max_seconds >> shift)) {
    return max_seconds;
  }
  return std::min(base << shift, max_seconds);
}

bool AcmeManager::prepare(const config::Config& cfg, std::string* error) {
  for (const auto& l : cfg.listeners) {
    if (l.protocol == config::Protocol::kHttps && l.tls.acme &&
        !preparePlaceholder(*l.tls.acme, error)) {
      *error = "listener " + l.name + ": tls.acme: " + *error;
      return false;
    }
  }
  return true;
}

void AcmeManager::loadStored(Job& job) const {
  if (!hasIssuedCertificate(job.settings)) {
    job.state = "placeholder";
    job.due = now();
    return;
  }
  const auto v = readLeafValidity(storagePaths(job.settings).cert);
  auto wanted = job.settings.domains;
  std::sort(wanted.begin(), wanted.end());
  auto have = v ? v->names : std::vector<std::string>();
  std::sort(have.begin(), have.end());
  job.state = "valid";
  job.not_after = v ? v->not_after : 0;
  // Another set of names than the config asks for: order anew at once.
  job.due = (v && have == wanted) ? renewalDue(v->not_before, v->not_after) : now();
}

void AcmeManager::apply(const config::Config& cfg) {
  std::map<std::string, Job> next;
  {
    const std::lock_guard<std::mutex> lock(mutex_);
    for (const auto& l : cfg.listeners) {
      if (l.protocol != config::Protocol::kHttps || !l.tls.acme) {
        continue;
      }
      const std::string key = jobKey(*l.tls.acme);
      if (next.contains(key)) {
        continue;  // two listeners sharing one certificate: one order
      }
      auto old = jobs_.find(key);
      if (old != jobs_.end()) {
        Job job = old->second;
        job.settings = *l.tls.acme;  // email, directory, challenge may change on reload
        next.emplace(key, std::move(job));
      } else {
        Job job;
        job.settings = *l.tls.acme;
        loadStored(job);
        next.emplace(key, std::move(job));
      }
    }
    jobs_ = std::move(next);
    if (!thread_.joinable() && !jobs_.empty()) {
      thread_ = std::thread([this] { run(); });
    }
  }
  wake_.notify_all();
}

void AcmeManager::run() {
  std::unique_lock<std::mutex> lock(mutex_);
  while (!stop_.load()) {
    const int64_t t = now();
    std::string due_key;
    int64_t next_due = t + kIdleWaitSeconds;
    for (const auto& [key, job] : jobs_) {
      if (job.due <= t) {
        due_key = key;
        break;
      }
      next_due = std::min(next_due, job.due);
    }
    if (due_key.empty()) {
      wake_.wait_for(lock, std::chrono::seconds(next_due - t));
      continue;
    }
    lock.unlock();
    orderOne(due_key);
    lock.lock();
  }
}

void AcmeManager::orderOne(const std::string& key) {
  config::AcmeSettings settings;
  {
    const std::lock_guard<std::mutex> lock(mutex_);
    auto it = jobs_.find(key);
    if (it == jobs_.end()) {
      return;
    }
    settings = it->second.settings;
    it->second.state = it->second.state == "placeholder" ? "ordering" : it->second.state;
  }
  core::LogLine(core::LogLevel::kInfo, "acme.order_started")
      .str("domain", settings.domains.front())
      .str("directory", settings.directory);
  std::string error;
  OrderResult result;
  if (auto account = accountKey(settings, &error)) {
    AcmeClient client(settings, account.get(), stop_);
    result = client.order();
  } else {
    result.error = error;
  }
  std::optional<Validity> validity;
  if (result.ok && !chainMatchesKey(result.issued.chain_pem, result.issued.key_pem)) {
    result.ok = false;
    result.error = "the downloaded chain does not belong to the certificate key";
  }
  if (result.ok) {
    const StoragePaths p = storagePaths(settings);
    // Key before chain, so a reader that finds the new chain finds its key.
    if (!writePrivateFile(p.key, result.issued.key_pem, &error) ||
        !writePrivateFile(p.cert, result.issued.chain_pem, &error)) {
      result.ok = false;
      result.error = error;
    } else {
      validity = readLeafValidity(p.cert);
    }
  }
  if (stop_.load()) {
    return;
  }
  const std::lock_guard<std::mutex> lock(mutex_);
  auto it = jobs_.find(key);
  if (it == jobs_.end()) {
    return;  // left the config while we ordered
  }
  Job& job = it->second;
  if (result.ok && validity) {
    job.state = "valid";
    job.failures = 0;
    job.last_error.clear();
    job.not_after = validity->not_after;
    job.due = renewalDue(validity->not_before, validity->not_after);
    ++job.orders_valid;
    core::LogLine(core::LogLevel::kInfo, "acme.certificate_issued")
        .str("domain", settings.domains.front())
        .num("not_after", validity->not_after)
        .num("renew_at", job.due);
    if (on_certificate_) {
      on_certificate_();
    }
    return;
  }
  ++job.failures;
  ++job.orders_failed;
  job.last_error = result.error;
  const int64_t wait = backoffSeconds(
      std::chrono::duration_cast<std::chrono::seconds>(settings.retry_backoff).count(),
      job.failures, timing_.max_backoff_seconds);
  job.due = now() + wait;
  if (job.state == "ordering") {
    job.state = "placeholder";  // nothing issued yet: the placeholder keeps serving
  }
  core::LogLine(core::LogLevel::kError, "acme.order_failed")
      .str("domain", settings.domains.front())
      .str("reason", result.error)
      .unum("failures", job.failures)
      .num("retry_in_s", wait);
}

nlohmann::json AcmeManager::jobJson(const Job& job) {
  const StoragePaths p = storagePaths(job.settings);
  return {{"domains", job.settings.domains},
          {"directory", job.settings.directory},
          {"challenge",
           job.settings.challenge == config::AcmeChallenge::kHttp01 ? "http-01" : "tls-alpn-01"},
          {"state", job.state},
          {"not_after", job.not_after},
          {"next_order", job.due},
          {"failures", job.failures},
          {"orders_valid", job.orders_valid},
          {"orders_failed", job.orders_failed},
          {"last_error", job.last_error},
          {"file", job.state == "valid" ? p.cert : p.placeholder_cert}};
}

nlohmann::json AcmeManager::status() const {
  const std::lock_guard<std::mutex> lock(mutex_);
  nlohmann::json out = nlohmann::json::array();
  for (const auto& [key, job] : jobs_) {
    out.push_back(jobJson(job));
  }
  return out;
}

nlohmann::json AcmeManager::statusFor(const config::AcmeSettings& acme) const {
  const std::lock_guard<std::mutex> lock(mutex_);
  auto it = jobs_.find(jobKey(acme));
  return it == jobs_.end() ? nlohmann::json() : jobJson(it->second);
}

void AcmeManager::writeMetrics(metrics::PrometheusWriter& out) const {
  const std::lock_guard<std::mutex> lock(mutex_);
  if (jobs_.empty()) {
    return;
  }
  const int64_t t = now();
  out.family("ballast_acme_certificate_expiry_seconds", "gauge",
             "Seconds until the ACME certificate expires (negative: expired; 0: none issued).");
  for (const auto& [key, job] : jobs_) {
    out.sample("ballast_acme_certificate_expiry_seconds",
               {{"domain", job.settings.domains.front()}},
               job.not_after == 0 ? 0.0 : static_cast<double>(job.not_after - t));
  }
  out.family("ballast_acme_orders_total", "counter",
             "ACME orders finished, by result: valid (a certificate was stored) or failed.");
  for (const auto& [key, job] : jobs_) {
    const std::string_view domain = job.settings.domains.front();
    out.sampleInt("ballast_acme_orders_total", {{"domain", domain}, {"result", "valid"}},
                  job.orders_valid);
    out.sampleInt("ballast_acme_orders_total", {{"domain", domain}, {"result", "failed"}},
                  job.orders_failed);
  }
  out.family("ballast_acme_consecutive_failures", "gauge",
             "Orders failed in a row since the last success; retries back off exponentially.");
  for (const auto& [key, job] : jobs_) {
    out.sampleInt("ballast_acme_consecutive_failures", {{"domain", job.settings.domains.front()}},
                  job.failures);
  }
}

}  // namespace ballast::acme
