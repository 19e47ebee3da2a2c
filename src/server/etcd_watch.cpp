// src/server/etcd_watch.cpp — the watch loop, its backoff, and reading a prefix into documents.
#include "server/etcd_watch.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>

#include "core/log.h"
#include "etcd/etcd_kv.h"

namespace ballast::server {
namespace {

constexpr uint64_t kFirstRetryMs = 200;
constexpr uint64_t kMaxRetryMs = 5000;

etcd::EtcdTls tlsOf(const config::EtcdSourceSettings& s) { return {s.ca, s.cert, s.key}; }

// The endpoints with `first` in front: after a failover, stay on the one that answered.
std::vector<std::string> rotated(const std::vector<std::string>& endpoints, size_t first) {
  std::vector<std::string> out;
  for (size_t i = 0; i < endpoints.size(); ++i) {
    out.push_back(endpoints[(first + i) % endpoints.size()]);
  }
  return out;
}

std::optional<EtcdRevision> readAt(const etcd::EtcdHttp& http,
                                   const config::EtcdSourceSettings& settings,
                                   const std::vector<std::string>& endpoints, int64_t revision,
                                   std::string* error) {
  const etcd::RangeOutcome out = etcd::readPrefix(http, endpoints, settings.prefix, revision);
  if (!out.reply) {
    *error = out.error;
    return std::nullopt;
  }
  EtcdRevision rev;
  rev.revision = out.reply->revision;
  for (const auto& kv : out.reply->kvs) {  // etcd returns them in key order
    rev.documents.push_back({"etcd:" + kv.key, kv.value});
    rev.signature += kv.key + '\0' + std::to_string(kv.mod_revision) + '\0';
  }
  return rev;
}

}  // namespace

const char* etcdErrorKindName(EtcdErrorKind kind) {
  switch (kind) {
    case EtcdErrorKind::kConnect:
      return "connect";
    case EtcdErrorKind::kReply:
      return "reply";
    case EtcdErrorKind::kWatch:
      return "watch";
    case EtcdErrorKind::kCompacted:
      return "compacted";
  }
  return "unknown";
}

std::optional<EtcdRevision> readEtcdRevision(const config::EtcdSourceSettings& settings,
                                             int64_t revision, std::string* error) {
  const std::atomic<bool> never{false};
  const etcd::EtcdHttp http(tlsOf(settings), never);
  return readAt(http, settings, settings.endpoints, revision, error);
}

EtcdWatch::EtcdWatch(config::EtcdSourceSettings settings, const EtcdRevision& from, int wake_fd)
    : settings_(std::move(settings)),
      wake_fd_(wake_fd),
      next_revision_(from.revision + 1),
      last_signature_(from.signature),
      thread_([this] { run(); }) {}

EtcdWatch::~EtcdWatch() {
  {
    const std::lock_guard lock(mu_);
    stop_.store(true, std::memory_order_relaxed);
  }
  wake_.notify_all();
  thread_.join();
}

std::optional<EtcdRevision> EtcdWatch::take() {
  const std::lock_guard lock(mu_);
  auto out = std::move(pending_);
  pending_.reset();
  return out;
}

void EtcdWatch::fail(EtcdErrorKind kind, const std::string& why) {
  errors_[static_cast<size_t>(kind)].fetch_add(1, std::memory_order_relaxed);
  core::LogLine(core::LogLevel::kWarn, "config.source_error", core::LogRepeat::kLimited)
      .str("source", "etcd")
      .str("kind", etcdErrorKindName(kind))
      .str("reason", why);
}

void EtcdWatch::waitBackoff() {
  backoff_ms_ = backoff_ms_ == 0 ? kFirstRetryMs : std::min(backoff_ms_ * 2, kMaxRetryMs);
  std::unique_lock lock(mu_);
  wake_.wait_for(lock, std::chrono::milliseconds(backoff_ms_),
                 [this] { return stop_.load(std::memory_order_relaxed); });
}

bool EtcdWatch::fetch(int64_t revision) {
  const etcd::EtcdHttp http(tlsOf(settings_), stop_);
  std::string error;
  auto rev = readAt(http, settings_, rotated(settings_.endpoints, endpoint_), revision, &error);
  if (!rev) {
    fail(EtcdErrorKind::kConnect, error);
    return false;
  }
  next_revision_ = std::max(next_revision_, rev->revision + 1);
  if (rev->signature == last_signature_) {
    return true;  // a change elsewhere in etcd, or one already handed over
  }
  last_signature_ = rev->signature;
  {
    const std::lock_guard lock(mu_);
    pending_ = std::move(rev);
  }
  const uint64_t one = 1;
  (void)::write(wake_fd_, &one, sizeof(one));
  return true;
}

void EtcdWatch::run() {
  const etcd::EtcdHttp http(tlsOf(settings_), stop_);
  bool resync = false;
  while (!stop_.load(std::memory_order_relaxed)) {
    if (resync && !fetch(0)) {
      waitBackoff();
      endpoint_ = (endpoint_ + 1) % settings_.endpoints.size();
      continue;
    }
    resync = false;
    const std::string& endpoint = settings_.endpoints[endpoint_];
    EtcdErrorKind kind = EtcdErrorKind::kWatch;
    std::string why;
    const etcd::EtcdReply reply = http.watch(
        endpoint, etcd::watchRequest(settings_.prefix, next_revision_), [&](std::string_view line) {
          std::string error;
          const auto w = etcd::parseWatchLine(line, &error);
          if (!w) {
            kind = EtcdErrorKind::kReply;
            why = error;
            return false;
          }
          if (w->canceled) {
            if (w->compact_revision > 0) {
              kind = EtcdErrorKind::kCompacted;
              why = "revision " + std::to_string(next_revision_) + " compacted (now at " +
                    std::to_string(w->compact_revision) + ")";
            } else {
              why = "watch canceled: " + w->cancel_reason;
            }
            return false;
          }
          if (w->created) {
            connected_.store(true, std::memory_order_relaxed);
            backoff_ms_ = 0;
            // Changes while we were away are in the stream from next_revision_ on; a node
            // that reconnects after etcd lost them hears of it as a compaction.
            return true;
          }
          if (w->events > 0) {
            fetch(w->revision);
            next_revision_ = std::max(next_revision_, w->revision + 1);
          }
          return !stop_.load(std::memory_order_relaxed);
        });
    connected_.store(false, std::memory_order_relaxed);
    if (stop_.load(std::memory_order_relaxed)) {
      break;
    }
    fail(kind, endpoint + ": " + (why.empty() ? reply.error : why));
    if (kind == EtcdErrorKind::kCompacted) {
      resync = true;  // read the latest whole, then watch from there; no need to wait
      continue;
    }
    // Whatever happened while disconnected is caught up by the watch's start revision.
    resync = true;
    waitBackoff();
    endpoint_ = (endpoint_ + 1) % settings_.endpoints.size();
  }
}

}  // namespace ballast::server
