// src/control/audit_log.h — the audit trail: config loads and reloads, admin actions, backend
// state changes and drains, each a JSON record with a sequence number, time, actor and
// before/after. Kept in a bounded ring (for /api/v1/events and `ballast show events`),
// appended to a file when configured, and pushed to live subscribers (SSE streams).
#pragma once

#include <cstdint>
#include <cstdio>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace ballast::control {

struct AuditRecord {
  uint64_t seq = 0;
  int64_t time_ms = 0;  // Unix time
  std::string kind;     // "config.reload", "backend.state", "admin.backend_weight", …
  std::string actor;    // "system", "signal:SIGHUP", "admin:unix:uid=0", "admin:198.18.0.1"
  nlohmann::json before;
  nlohmann::json after;

  nlohmann::json toJson() const;
};

class AuditLog {
 public:
  static constexpr size_t kDefaultCapacity = 1024;
  explicit AuditLog(size_t capacity = kDefaultCapacity);
  ~AuditLog();
  AuditLog(const AuditLog&) = delete;
  AuditLog& operator=(const AuditLog&) = delete;

  // Appends to path from now on ("" stops). A file that cannot be opened is logged and counted;
  // records still reach the ring.
  void setFile(const std::string& path);
  // Reopens the file (SIGUSR1, after logrotate moved it).
  void reopen();

  // Records one event and returns its sequence number. Safe from any thread.
  uint64_t record(std::string kind, std::string actor, nlohmann::json before, nlohmann::json after);

  // Records after `seq` still in the ring, oldest first (at most `limit`).
  std::vector<AuditRecord> since(uint64_t seq, size_t limit = kDefaultCapacity) const;
  uint64_t lastSeq() const;
  uint64_t writeErrors() const;

  // Live subscribers, called on the recording thread with the lock released.
  using Subscriber = std::function<void(const AuditRecord&)>;
  uint64_t subscribe(Subscriber fn);
  void unsubscribe(uint64_t id);

 private:
  void openLocked();

  mutable std::mutex mu_;
  size_t capacity_;
  std::deque<AuditRecord> ring_;
  uint64_t next_seq_ = 1;
  std::string path_;
  FILE* file_ = nullptr;
  uint64_t write_errors_ = 0;
  std::map<uint64_t, Subscriber> subscribers_;
  uint64_t next_subscriber_ = 1;
};

}  // namespace ballast::control
