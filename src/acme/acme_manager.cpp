// src/acme/acme_manager.cpp — scheduling orders, renewals and backoff on the ACME thread.
#include "acme/acme_manager.h"

#include <openssl/rand.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <fstream>
#include <iterator>

#include "acme/acme_client.h"
#include "acme/challenge_message.h"
#include "acme/jws.h"
#include "acme/storage.h"
#include "acme/x509_build.h"
#include "core/hex.h"
#include "core/log.h"

namespace ballast::acme {
namespace {

constexpr int64_t kIdleWaitSeconds = 3600;  // nothing due: look again within the hour
constexpr int kBackoffShiftCap = 30;        // 2^30 x base is past any cap
// While another node orders (or the store is away with a certificate to share): look again.
constexpr int64_t kStorePollSeconds = 2;
// A node with a current certificate still reads the store this often: two nodes that ordered
// alone during an outage converge on one certificate, and a node that was away catches up.
constexpr int64_t kStoreRecheckSeconds = 60;
// An order takes seconds; a node that dies holding the lock delays the others this long.
constexpr uint64_t kLockTtlMs = 300'000;
constexpr uint64_t kMsPerSecond = 1000;
constexpr size_t kNodeTokenBytes = 16;

std::string newNodeToken() {
  std::array<unsigned char, kNodeTokenBytes> raw{};
  std::string out(2 * raw.size(), '0');
  if (RAND_bytes(raw.data(), static_cast<int>(raw.size())) != 1) {
    // Unique enough to tell two processes apart, which is all the lock needs.
    const auto t =
        static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
    core::writeHex(out.data(), t ^ (static_cast<uint64_t>(::getpid()) << 32U), out.size() / 2);
    return out;
  }
  for (size_t i = 0; i < raw.size(); ++i) {
    core::writeHex(out.data() + 2 * i, raw[i], 2);
  }
  return out;
}

bool readWholeFile(const std::string& path, std::string* out, std::string* error) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    *error = "cannot read " + path;
    return false;
  }
  out->assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  return true;
}

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
    : on_certificate_(std::move(on_certificate)),
      timing_(std::move(timing)),
      node_token_(newNodeToken()) {}

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
  job.renew_at = (v && have == wanted) ? renewalDue(v->not_before, v->not_after) : now();
  // With a store, look there at once: another node may hold a newer certificate.
  job.due = job.settings.store.enabled() ? now() : job.renew_at;
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
      if (const auto& store = l.tls.acme->store;
          store.enabled() && !stores_.contains(store.url())) {
        stores_.emplace(store.url(), std::make_unique<AcmeStore>(store.host, store.port));
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
    serveJob(due_key);
    lock.lock();
  }
}

void AcmeManager::serveJob(const std::string& key) {
  config::AcmeSettings settings;
  AcmeStore* store = nullptr;
  {
    const std::lock_guard<std::mutex> lock(mutex_);
    auto it = jobs_.find(key);
    if (it == jobs_.end()) {
      return;
    }
    settings = it->second.settings;
    if (settings.store.enabled()) {
      store = stores_.at(settings.store.url()).get();
    }
  }
  if (store == nullptr) {
    orderAlone(key, settings);
    return;
  }
  if (serveShared(key, settings, *store) == Shared::kHandled) {
    return;
  }
  {
    const std::lock_guard<std::mutex> lock(mutex_);
    auto it = jobs_.find(key);
    if (it == jobs_.end()) {
      return;
    }
    Job& job = it->second;
    if (job.state == "valid" && job.renew_at > now()) {
      // Only a certificate to share was waiting: nothing to order, try the store again soon.
      job.due = now() + kStorePollSeconds;
      return;
    }
    ++job.fallbacks;
  }
  core::LogLine(core::LogLevel::kWarn, "acme.order_alone")
      .str("domain", settings.domains.front())
      .str("store", settings.store.url())
      .str("why", "the store cannot be reached");
  orderAlone(key, settings);
}

void AcmeManager::orderAlone(const std::string& key, const config::AcmeSettings& settings) {
  {
    const std::lock_guard<std::mutex> lock(mutex_);
    auto it = jobs_.find(key);
    if (it == jobs_.end()) {
      return;
    }
    const std::string& state = it->second.state;
    it->second.state = state == "placeholder" || state == "waiting" ? "ordering" : state;
  }
  core::LogLine(core::LogLevel::kInfo, "acme.order_started")
      .str("domain", settings.domains.front())
      .str("directory", settings.directory);
  std::string error;
  OrderOutcome outcome;
  if (auto account = accountKey(settings, &error)) {
    outcome = orderAndStore(settings, account.get(), nullptr);
  } else {
    outcome.result.error = error;
  }
  finish(key, settings, outcome);
  if (outcome.result.ok && settings.store.enabled()) {
    // The other nodes get it once the store is back: try again soon, not at the next recheck.
    const std::lock_guard<std::mutex> lock(mutex_);
    if (auto it = jobs_.find(key); it != jobs_.end()) {
      it->second.push_pending = true;
      it->second.due = std::min(it->second.due, now() + kStorePollSeconds);
    }
  }
}

AcmeManager::Shared AcmeManager::serveShared(const std::string& key,
                                             const config::AcmeSettings& settings,
                                             AcmeStore& store) {
  const std::string base = AcmeStore::baseKey(settings);
  StoredCertificate remote;
  const StoreOutcome found = store.loadCertificate(base, &remote);
  if (found == StoreOutcome::kDown) {
    return Shared::kStoreDown;
  }
  const Adoption adopted =
      found == StoreOutcome::kOk ? adopt(key, settings, remote) : Adoption::kNothingUsable;
  if (adopted == Adoption::kTaken) {
    return Shared::kHandled;
  }
  bool current = false;
  {
    const std::lock_guard<std::mutex> lock(mutex_);
    auto it = jobs_.find(key);
    if (it == jobs_.end()) {
      return Shared::kHandled;
    }
    current = it->second.state == "valid" && it->second.renew_at > now();
  }
  if (current && adopted != Adoption::kSame) {
    // Ours is current and the store has nothing as good (none, older, unusable: one ordered
    // alone during an outage, or a node restarted with an empty Redis): share ours.
    if (!shareOurs(key, settings, store, base)) {
      return Shared::kStoreDown;
    }
  }
  if (current) {
    // Nothing to order: look at the store again later.
    const std::lock_guard<std::mutex> lock(mutex_);
    if (auto it = jobs_.find(key); it != jobs_.end()) {
      it->second.push_pending = false;
      it->second.due = std::min(it->second.renew_at, now() + kStoreRecheckSeconds);
    }
    return Shared::kHandled;
  }
  const StoreOutcome locked = store.lock(base, node_token_, kLockTtlMs);
  if (locked == StoreOutcome::kDown) {
    return Shared::kStoreDown;
  }
  if (locked == StoreOutcome::kAbsent) {
    waitForPeer(key, settings);
    return Shared::kHandled;
  }
  {
    const std::lock_guard<std::mutex> lock(mutex_);
    if (auto it = jobs_.find(key); it != jobs_.end()) {
      const std::string& state = it->second.state;
      it->second.state = state == "placeholder" || state == "waiting" ? "ordering" : state;
      it->second.waiting_logged = false;
    }
  }
  core::LogLine(core::LogLevel::kInfo, "acme.order_started")
      .str("domain", settings.domains.front())
      .str("directory", settings.directory)
      .str("store", store.url());
  std::string error;
  OrderOutcome outcome;
  if (auto account = sharedAccount(settings, store, &error)) {
    // Each challenge answer also extends the lock: an order slower than the lock's TTL (many
    // names, a slow CA) must not let a second node start the same order.
    outcome = orderAndStore(settings, account.get(), [&](const ChallengeMessage& m) {
      store.holdLock(base, node_token_, kLockTtlMs);
      store.publish(m);
    });
  } else {
    outcome.result.error = error;
  }
  bool shared = false;
  if (outcome.result.ok) {
    shared = store.saveCertificate(
        base, StoredCertificate{outcome.result.issued.chain_pem, outcome.result.issued.key_pem});
  }
  const int64_t wait_s = finish(key, settings, outcome);
  if (outcome.result.ok) {
    store.unlock(base, node_token_);
    const std::lock_guard<std::mutex> lock(mutex_);
    if (auto it = jobs_.find(key); it != jobs_.end() && !shared) {
      it->second.push_pending = true;
      it->second.due = std::min(it->second.due, now() + kStorePollSeconds);
    }
  } else {
    // Keep the lock through our back-off, up to its usual TTL: the other nodes would likely
    // fail the same way, but a node that fails for its own reasons (or dies) must not hold
    // the others back for the whole of a long back-off.
    store.holdLock(base, node_token_,
                   std::min(static_cast<uint64_t>(wait_s) * kMsPerSecond, kLockTtlMs));
  }
  return Shared::kHandled;
}

bool AcmeManager::shareOurs(const std::string& key, const config::AcmeSettings& settings,
                            AcmeStore& store, const std::string& base) {
  const StoragePaths p = storagePaths(settings);
  StoredCertificate mine;
  std::string error;
  if (!readWholeFile(p.cert, &mine.chain_pem, &error) ||
      !readWholeFile(p.key, &mine.key_pem, &error)) {
    core::LogLine(core::LogLevel::kError, "acme.certificate_unreadable").str("error", error);
    return true;  // not a store problem; ordering anew will replace the files
  }
  if (!store.saveCertificate(base, mine)) {
    return false;
  }
  core::LogLine(core::LogLevel::kInfo, "acme.certificate_shared")
      .str("domain", settings.domains.front())
      .str("store", store.url());
  const std::lock_guard<std::mutex> lock(mutex_);
  if (auto it = jobs_.find(key); it != jobs_.end()) {
    it->second.push_pending = false;
  }
  return true;
}

AcmeManager::Adoption AcmeManager::adopt(const std::string& key,
                                         const config::AcmeSettings& settings,
                                         const StoredCertificate& remote) {
  int64_t ours = 0;
  {
    const std::lock_guard<std::mutex> lock(mutex_);
    auto it = jobs_.find(key);
    if (it == jobs_.end()) {
      return Adoption::kSame;
    }
    ours = it->second.state == "valid" ? it->second.not_after : 0;
  }
  const auto v = leafValidity(remote.chain_pem);
  auto wanted = settings.domains;
  std::sort(wanted.begin(), wanted.end());
  auto have = v ? v->names : std::vector<std::string>();
  std::sort(have.begin(), have.end());
  const int64_t t = now();
  // Only what could serve now: the names asked for, the key that goes with it, inside its
  // validity (an expired one left in the store must not replace a placeholder).
  if (!v || have != wanted || v->not_before > t || v->not_after <= t ||
      !chainMatchesKey(remote.chain_pem, remote.key_pem)) {
    core::LogLine(core::LogLevel::kWarn, "acme.store_certificate_unusable")
        .str("domain", settings.domains.front())
        .str("store", settings.store.url());
    return Adoption::kNothingUsable;
  }
  // The newest certificate wins on every node; between two as new, the store's, so that two
  // nodes that ordered alone during an outage end up serving the same one.
  if (v->not_after < ours) {
    return Adoption::kOursNewer;
  }
  const StoragePaths p = storagePaths(settings);
  std::string error;
  std::string current;
  if (ours != 0 && readWholeFile(p.cert, &current, &error) && current == remote.chain_pem) {
    return Adoption::kSame;  // the one we serve
  }
  if (!writePrivateFile(p.key, remote.key_pem, &error) ||
      !writePrivateFile(p.cert, remote.chain_pem, &error)) {
    core::LogLine(core::LogLevel::kError, "acme.store_write_failed").str("error", error);
    return Adoption::kSame;  // keep serving ours; the next look tries again
  }
  {
    const std::lock_guard<std::mutex> lock(mutex_);
    auto it = jobs_.find(key);
    if (it == jobs_.end()) {
      return Adoption::kTaken;
    }
    Job& job = it->second;
    job.state = "valid";
    job.failures = 0;
    job.last_error.clear();
    job.not_after = v->not_after;
    job.renew_at = renewalDue(v->not_before, v->not_after);
    job.due = std::min(job.renew_at, now() + kStoreRecheckSeconds);
    job.waiting_logged = false;
    ++job.adopted;
    core::LogLine(core::LogLevel::kInfo, "acme.certificate_adopted")
        .str("domain", settings.domains.front())
        .str("store", settings.store.url())
        .num("not_after", v->not_after)
        .num("renew_at", job.renew_at);
  }
  if (on_certificate_) {
    on_certificate_();
  }
  return Adoption::kTaken;
}

void AcmeManager::waitForPeer(const std::string& key, const config::AcmeSettings& settings) {
  const std::lock_guard<std::mutex> lock(mutex_);
  auto it = jobs_.find(key);
  if (it == jobs_.end()) {
    return;
  }
  Job& job = it->second;
  job.due = now() + kStorePollSeconds;
  if (job.state == "placeholder" || job.state == "ordering") {
    job.state = "waiting";
  }
  if (!job.waiting_logged) {
    job.waiting_logged = true;
    core::LogLine(core::LogLevel::kInfo, "acme.peer_ordering")
        .str("domain", settings.domains.front())
        .str("store", settings.store.url());
  }
}

PkeyPtr AcmeManager::sharedAccount(const config::AcmeSettings& settings, AcmeStore& store,
                                   std::string* error) {
  auto local = accountKey(settings, error);
  if (!local) {
    return nullptr;
  }
  std::string shared;
  if (store.sharedAccountKey(AcmeStore::accountKeyName(settings), privateKeyPem(local.get()),
                             &shared) != StoreOutcome::kOk) {
    return local;  // the store went away: this order runs on our own account
  }
  if (auto key = parseP256Key(shared)) {
    return key;
  }
  core::LogLine(core::LogLevel::kWarn, "acme.store_account_key_unusable")
      .str("store", store.url())
      .str("fallback", "this node's own account key");
  return local;
}

AcmeManager::OrderOutcome AcmeManager::orderAndStore(const config::AcmeSettings& settings,
                                                     EVP_PKEY* account, ChallengeRelay relay) {
  OrderOutcome out;
  AcmeClient client(settings, account, stop_, std::move(relay));
  out.result = client.order();
  if (out.result.ok && !chainMatchesKey(out.result.issued.chain_pem, out.result.issued.key_pem)) {
    out.result.ok = false;
    out.result.error = "the downloaded chain does not belong to the certificate key";
  }
  if (out.result.ok) {
    const StoragePaths p = storagePaths(settings);
    std::string error;
    // Key before chain, so a reader that finds the new chain finds its key.
    if (!writePrivateFile(p.key, out.result.issued.key_pem, &error) ||
        !writePrivateFile(p.cert, out.result.issued.chain_pem, &error)) {
      out.result.ok = false;
      out.result.error = error;
    } else {
      out.validity = readLeafValidity(p.cert);
    }
  }
  return out;
}

int64_t AcmeManager::finish(const std::string& key, const config::AcmeSettings& settings,
                            const OrderOutcome& outcome) {
  if (stop_.load()) {
    return 0;
  }
  const std::lock_guard<std::mutex> lock(mutex_);
  auto it = jobs_.find(key);
  if (it == jobs_.end()) {
    return 0;  // left the config while we ordered
  }
  Job& job = it->second;
  if (outcome.result.ok && outcome.validity) {
    const Validity& v = *outcome.validity;
    job.state = "valid";
    job.failures = 0;
    job.last_error.clear();
    job.not_after = v.not_after;
    job.renew_at = renewalDue(v.not_before, v.not_after);
    job.due = settings.store.enabled() ? std::min(job.renew_at, now() + kStoreRecheckSeconds)
                                       : job.renew_at;
    ++job.orders_valid;
    core::LogLine(core::LogLevel::kInfo, "acme.certificate_issued")
        .str("domain", settings.domains.front())
        .num("not_after", v.not_after)
        .num("renew_at", job.due);
    if (on_certificate_) {
      on_certificate_();
    }
    return 0;
  }
  ++job.failures;
  ++job.orders_failed;
  job.last_error = outcome.result.error;
  const int64_t wait = backoffSeconds(
      std::chrono::duration_cast<std::chrono::seconds>(settings.retry_backoff).count(),
      job.failures, timing_.max_backoff_seconds);
  job.due = now() + wait;
  if (job.state == "ordering") {
    job.state = "placeholder";  // nothing issued yet: the placeholder keeps serving
  }
  core::LogLine(core::LogLevel::kError, "acme.order_failed")
      .str("domain", settings.domains.front())
      .str("reason", outcome.result.error)
      .unum("failures", job.failures)
      .num("retry_in_s", wait);
  return wait;
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
          {"renew_at", job.renew_at},
          {"failures", job.failures},
          {"orders_valid", job.orders_valid},
          {"orders_failed", job.orders_failed},
          {"last_error", job.last_error},
          {"store", job.settings.store.enabled() ? nlohmann::json(job.settings.store.url())
                                                 : nlohmann::json()},
          {"adopted", job.adopted},
          {"fallbacks", job.fallbacks},
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
  out.family("ballast_acme_certificates_adopted_total", "counter",
             "Certificates taken from the shared store, ordered by another node.");
  for (const auto& [key, job] : jobs_) {
    out.sampleInt("ballast_acme_certificates_adopted_total",
                  {{"domain", job.settings.domains.front()}}, job.adopted);
  }
  out.family("ballast_acme_store_fallbacks_total", "counter",
             "Orders this node made alone because the shared store could not be reached.");
  for (const auto& [key, job] : jobs_) {
    out.sampleInt("ballast_acme_store_fallbacks_total", {{"domain", job.settings.domains.front()}},
                  job.fallbacks);
  }
  if (!stores_.empty()) {
    out.family("ballast_acme_store_up", "gauge",
               "Whether the last command to the shared ACME store worked (1) or not (0).");
    for (const auto& [url, store] : stores_) {
      out.sample("ballast_acme_store_up", {{"store", url}}, store->up() ? 1.0 : 0.0);
    }
    out.family("ballast_acme_store_failures_total", "counter",
               "Commands to the shared ACME store that failed (refused, timed out, errors).");
    for (const auto& [url, store] : stores_) {
      out.sampleInt("ballast_acme_store_failures_total", {{"store", url}}, store->failures());
    }
    out.family("ballast_acme_store_challenges_received_total", "counter",
               "Challenge answers received from other nodes through the shared store.");
    for (const auto& [url, store] : stores_) {
      out.sampleInt("ballast_acme_store_challenges_received_total", {{"store", url}},
                    store->received());
    }
    out.family("ballast_acme_store_challenges_dropped_total", "counter",
               "Other nodes' challenge answers withdrawn unfinished after 15 minutes (expired) "
               "or refused with 256 installed (full).");
    for (const auto& [url, store] : stores_) {
      out.sampleInt("ballast_acme_store_challenges_dropped_total",
                    {{"store", url}, {"reason", "expired"}}, store->expired());
      out.sampleInt("ballast_acme_store_challenges_dropped_total",
                    {{"store", url}, {"reason", "full"}}, store->refused());
    }
  }
  out.family("ballast_acme_consecutive_failures", "gauge",
             "Orders failed in a row since the last success; retries back off exponentially.");
  for (const auto& [key, job] : jobs_) {
    out.sampleInt("ballast_acme_consecutive_failures", {{"domain", job.settings.domains.front()}},
                  job.failures);
  }
}

}  // namespace ballast::acme
