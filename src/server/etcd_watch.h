// src/server/etcd_watch.h — keeps the configuration an etcd prefix holds in view for the control
// loop. One thread of its own (libcurl is blocking; the control loop must not wait on etcd):
// it watches the prefix through the v3 JSON gateway and, on every change, reads the prefix
// again and hands the documents over; the control loop takes them when the eventfd fires and
// reloads through the same path as a file reload. A dropped watch reconnects with backoff,
// trying the endpoints in turn; a compacted one is re-read from the latest revision. Every
// failure is counted by kind and logged at a limited rate.
#pragma once

#include <array>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "config/config_source.h"

namespace ballast::server {

// The documents a prefix held at one revision.
struct EtcdRevision {
  int64_t revision = 0;
  std::vector<config::NamedDocument> documents;
  std::string signature;  // keys and mod revisions: equal signatures, equal documents
};

// Reads the prefix once (start-up, before any thread of ours runs). nullopt and *error when no
// endpoint answered with a readable reply.
std::optional<EtcdRevision> readEtcdRevision(const config::EtcdSourceSettings& settings,
                                             int64_t revision, std::string* error);

enum class EtcdErrorKind : uint8_t { kConnect, kReply, kWatch, kCompacted };
constexpr size_t kEtcdErrorKinds = 4;
const char* etcdErrorKindName(EtcdErrorKind kind);

class EtcdWatch {
 public:
  // Watches from `from.revision + 1`; `from` is what the node serves already. wake_fd (an
  // eventfd the caller owns and outlives this) is written when a new revision waits in take().
  EtcdWatch(config::EtcdSourceSettings settings, const EtcdRevision& from, int wake_fd);
  ~EtcdWatch();  // stops the thread, abandoning a transfer in progress
  EtcdWatch(const EtcdWatch&) = delete;
  EtcdWatch& operator=(const EtcdWatch&) = delete;

  // Control loop: the newest revision not yet taken (older ones it replaced are skipped).
  std::optional<EtcdRevision> take();
  uint64_t errors(EtcdErrorKind kind) const {
    return errors_[static_cast<size_t>(kind)].load(std::memory_order_relaxed);
  }
  bool connected() const { return connected_.load(std::memory_order_relaxed); }

 private:
  void run();
  // Reads the prefix at `revision` (0: latest) and hands it over if it differs from the last.
  bool fetch(int64_t revision);
  void fail(EtcdErrorKind kind, const std::string& why);
  void waitBackoff();

  config::EtcdSourceSettings settings_;
  int wake_fd_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> connected_{false};
  std::array<std::atomic<uint64_t>, kEtcdErrorKinds> errors_{};
  std::mutex mu_;
  std::condition_variable wake_;
  std::optional<EtcdRevision> pending_;  // under mu_
  // The watch thread's own:
  int64_t next_revision_ = 0;
  std::string last_signature_;
  uint64_t backoff_ms_ = 0;
  size_t endpoint_ = 0;
  std::thread thread_;
};

}  // namespace ballast::server
