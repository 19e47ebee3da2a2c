// src/acme/acme_store.cpp — the shared ACME state in Redis, and the subscriber that installs
// other nodes' challenge answers.
#include "acme/acme_store.h"

#include <hiredis/hiredis.h>
#include <openssl/sha.h>
#include <pthread.h>
#include <signal.h>

#include <algorithm>
#include <array>
#include <chrono>

#include "acme/challenge_message.h"
#include "acme/challenge_table.h"
#include "core/clock.h"
#include "core/hex.h"
#include "core/log.h"

namespace ballast::acme {
namespace {

constexpr uint64_t kCommandTimeoutMs = 1000;
constexpr int kSubscriberWaitMs = 250;  // how soon the subscriber notices a stop
constexpr uint64_t kBackoffMinMs = 100;
constexpr uint64_t kBackoffMaxMs = 2000;
constexpr size_t kIdHexDigits = 16;
constexpr size_t kMessageFields = 3;

// Takes the lock when it is free or already ours (a reply lost to a timeout, or our own lock
// still held through a back-off, must not make this node wait for itself).
constexpr const char* kLockScript = R"lua(
local v = redis.call('GET', KEYS[1])
if v == false then redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) return 1 end
if v == ARGV[1] then redis.call('PEXPIRE', KEYS[1], ARGV[2]) return 1 end
return 0
)lua";
// Deletes or extends the lock only while it is still ours: an order that outlived the lock's
// TTL must not release (or stretch) the lock of the node that took it over.
constexpr const char* kUnlockScript = R"lua(
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
)lua";
constexpr const char* kHoldScript = R"lua(
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
)lua";

std::string hexId(const std::string& text) {
  std::array<unsigned char, SHA256_DIGEST_LENGTH> d{};
  SHA256(reinterpret_cast<const unsigned char*>(text.data()), text.size(), d.data());
  uint64_t v = 0;
  constexpr unsigned kByteBits = 8;
  for (size_t i = 0; i < sizeof(v); ++i) {
    v = (v << kByteBits) | d[i];
  }
  std::string out(kIdHexDigits, '0');
  core::writeHex(out.data(), v, kIdHexDigits);
  return out;
}

}  // namespace

AcmeStore::AcmeStore(std::string host, uint16_t port)
    : host_(std::move(host)), port_(port), url_(redis::endpointUrl(host_, port_)) {
  // Made on the control thread, possibly before the process blocks its signals: the subscriber
  // must never be the thread a SIGTERM or SIGHUP is delivered to.
  sigset_t all;
  sigset_t before;
  sigfillset(&all);
  pthread_sigmask(SIG_BLOCK, &all, &before);
  subscriber_ = std::thread([this] { subscribeLoop(); });
  pthread_sigmask(SIG_SETMASK, &before, nullptr);
}

AcmeStore::~AcmeStore() {
  stop_.store(true, std::memory_order_release);
  subscriber_.join();
}

std::string AcmeStore::baseKey(const config::AcmeSettings& acme) {
  auto domains = acme.domains;
  std::sort(domains.begin(), domains.end());
  std::string id = acme.directory;
  for (const auto& d : domains) {
    id += "\n" + d;
  }
  const std::string first = acme.domains.empty() ? std::string("-") : acme.domains.front();
  return "ballast:acme:" + first + ":" + hexId(id);
}

std::string AcmeStore::accountKeyName(const config::AcmeSettings& acme) {
  return "ballast:acme:account:" + hexId(acme.directory);
}

void AcmeStore::markDown(const std::string& why) {
  failures_.fetch_add(1, std::memory_order_relaxed);
  if (up_.exchange(false, std::memory_order_acq_rel)) {
    core::LogLine(core::LogLevel::kWarn, "acme.store_down")
        .str("store", url_)
        .str("error", why)
        .str("fallback",
             "this node orders alone; its certificate is shared when the store returns");
  }
}

void AcmeStore::markUp() {
  if (!up_.exchange(true, std::memory_order_acq_rel)) {
    core::LogLine(core::LogLevel::kInfo, "acme.store_up").str("store", url_);
  }
}

bool AcmeStore::connected() {
  if (commands_.isOpen()) {
    return true;
  }
  std::string error;
  if (!commands_.open(host_, port_, kCommandTimeoutMs, &error)) {
    markDown(error);
    return false;
  }
  return true;
}

redis::ReplyPtr AcmeStore::run(const std::vector<std::string_view>& args) {
  if (!connected()) {
    return nullptr;
  }
  std::string error;
  const bool was_open = commands_.isOpen();
  auto reply = commands_.command(args, &error);
  if (!reply && was_open && connected()) {
    // A connection that sat open may have died under us (Redis restarted, an idle timeout):
    // one failure there is not an outage. Once more on a fresh connection.
    reply = commands_.command(args, &error);
  }
  if (!reply) {
    markDown(error);
    return nullptr;
  }
  if (redis::isError(reply.get())) {
    markDown(std::string(reply->str, reply->len));
    commands_.close();
    return nullptr;
  }
  markUp();
  return reply;
}

StoreOutcome AcmeStore::loadCertificate(const std::string& base, StoredCertificate* out) {
  const std::string key = base + ":cert";
  auto r = run({"HMGET", key, "chain", "key"});
  if (!r) {
    return StoreOutcome::kDown;
  }
  if (r->type != REDIS_REPLY_ARRAY || r->elements != 2) {
    markDown("unexpected HMGET reply");
    commands_.close();
    return StoreOutcome::kDown;
  }
  const auto chain = redis::textOf(r->element[0]);
  const auto pem = redis::textOf(r->element[1]);
  if (chain.empty() || pem.empty()) {
    return StoreOutcome::kAbsent;
  }
  out->chain_pem = std::string(chain);
  out->key_pem = std::string(pem);
  return StoreOutcome::kOk;
}

bool AcmeStore::saveCertificate(const std::string& base, const StoredCertificate& cert) {
  const std::string key = base + ":cert";
  return run({"HSET", key, "chain", cert.chain_pem, "key", cert.key_pem}) != nullptr;
}

StoreOutcome AcmeStore::lock(const std::string& base, const std::string& token, uint64_t ttl_ms) {
  const std::string key = base + ":lock";
  const std::string ttl = std::to_string(ttl_ms);
  auto r = run({"EVAL", kLockScript, "1", key, token, ttl});
  if (!r) {
    return StoreOutcome::kDown;
  }
  return r->type == REDIS_REPLY_INTEGER && r->integer == 1 ? StoreOutcome::kOk
                                                           : StoreOutcome::kAbsent;
}

void AcmeStore::unlock(const std::string& base, const std::string& token) {
  const std::string key = base + ":lock";
  run({"EVAL", kUnlockScript, "1", key, token});
}

void AcmeStore::holdLock(const std::string& base, const std::string& token, uint64_t ttl_ms) {
  const std::string key = base + ":lock";
  const std::string ttl = std::to_string(ttl_ms);
  run({"EVAL", kHoldScript, "1", key, token, ttl});
}

StoreOutcome AcmeStore::sharedAccountKey(const std::string& name, const std::string& local_pem,
                                         std::string* shared_pem) {
  if (!run({"SET", name, local_pem, "NX"})) {
    return StoreOutcome::kDown;
  }
  auto r = run({"GET", name});
  if (!r) {
    return StoreOutcome::kDown;
  }
  const auto text = redis::textOf(r.get());
  if (text.empty()) {
    return StoreOutcome::kAbsent;  // deleted between the two commands: use ours this time
  }
  *shared_pem = std::string(text);
  return StoreOutcome::kOk;
}

bool AcmeStore::publish(const ChallengeMessage& m) {
  const std::string text = formatChallengeMessage(m);
  {
    // Before the PUBLISH: the subscriber may hear it back before the reply comes.
    const std::lock_guard lock(answers_mu_);
    answers_.published(text, core::monotonicMs());
  }
  return run({"PUBLISH", kChallengeChannel, text}) != nullptr;
}

void AcmeStore::install(const ChallengeMessage& m) {
  using Kind = SharedAnswers::Kind;
  const bool answer =
      m.kind == ChallengeMessage::Kind::kHttp01 || m.kind == ChallengeMessage::Kind::kTlsAlpn01;
  const Kind kind =
      m.kind == ChallengeMessage::Kind::kHttp01 || m.kind == ChallengeMessage::Kind::kHttp01Done
          ? Kind::kHttp01
          : Kind::kTlsAlpn01;
  {
    const std::lock_guard lock(answers_mu_);
    if (!answer) {
      answers_.done(kind, m.name);
    } else if (!answers_.admit(kind, m.name, core::monotonicMs())) {
      refused_.fetch_add(1, std::memory_order_relaxed);
      core::LogLine(core::LogLevel::kWarn, "acme.shared_challenge_refused",
                    core::LogRepeat::kLimited)
          .str("store", url_)
          .str("name", m.name)
          .str("reason", "table full")
          .unum("installed", kMaxSharedAnswers);
      return;
    }
  }
  switch (m.kind) {
    case ChallengeMessage::Kind::kHttp01:
      publishHttp01(m.name, m.key_authorization);
      break;
    case ChallengeMessage::Kind::kHttp01Done:
      withdrawHttp01(m.name);
      break;
    case ChallengeMessage::Kind::kTlsAlpn01:
      if (!publishTlsAlpn01(m.name, m.cert_pem, m.key_pem)) {
        const std::lock_guard lock(answers_mu_);
        answers_.done(kind, m.name);
        core::LogLine(core::LogLevel::kWarn, "acme.shared_challenge_refused")
            .str("store", url_)
            .str("domain", m.name);
        return;
      }
      break;
    case ChallengeMessage::Kind::kTlsAlpn01Done:
      withdrawTlsAlpn01(m.name);
      break;
  }
  received_.fetch_add(1, std::memory_order_relaxed);
}

void AcmeStore::subscribeLoop() {
  redis::Connection sub;
  uint64_t backoff_ms = kBackoffMinMs;
  while (!stop_.load(std::memory_order_acquire)) {
    std::string error;
    if (!sub.isOpen()) {
      redis::ReplyPtr ok;
      if (sub.open(host_, port_, kCommandTimeoutMs, &error)) {
        ok = sub.command({"SUBSCRIBE", kChallengeChannel}, &error);
      }
      if (!ok || ok->type != REDIS_REPLY_ARRAY) {
        sub.close();
        // The command connection logs the outage; this one only retries, doubling its wait.
        for (uint64_t waited = 0; waited < backoff_ms && !stop_.load(std::memory_order_acquire);
             waited += kSubscriberWaitMs) {
          std::this_thread::sleep_for(std::chrono::milliseconds(kSubscriberWaitMs));
        }
        backoff_ms = std::min(backoff_ms * 2, kBackoffMaxMs);
        continue;
      }
      backoff_ms = kBackoffMinMs;
    }
    auto m = sub.next(kSubscriberWaitMs, &error);
    expireAnswers();
    if (!m || m->type != REDIS_REPLY_ARRAY || m->elements != kMessageFields) {
      continue;  // nothing yet, a broken connection (reopened above), or not a message
    }
    const auto text = redis::textOf(m->element[2]);
    {
      const std::lock_guard lock(answers_mu_);
      if (answers_.ours(text, core::monotonicMs())) {
        continue;  // this node's own, already in its table
      }
    }
    if (const auto parsed = parseChallengeMessage(text)) {
      install(*parsed);
    }
  }
}

void AcmeStore::expireAnswers() {
  std::vector<SharedAnswers::Key> expired;
  {
    const std::lock_guard lock(answers_mu_);
    expired = answers_.expire(core::monotonicMs());
  }
  for (const auto& [kind, name] : expired) {
    if (kind == SharedAnswers::Kind::kHttp01) {
      withdrawHttp01(name);
    } else {
      withdrawTlsAlpn01(name);
    }
    expired_.fetch_add(1, std::memory_order_relaxed);
    core::LogLine(core::LogLevel::kInfo, "acme.shared_challenge_expired")
        .str("store", url_)
        .str("name", name)
        .unum("after_ms", kSharedAnswerTtlMs);
  }
}

}  // namespace ballast::acme
