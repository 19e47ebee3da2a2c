// src/control/audit_log.cpp — ring, file and subscribers of the audit trail.
#include "control/audit_log.h"

#include <utility>

#include "core/clock.h"
#include "core/log.h"

namespace ballast::control {

nlohmann::json AuditRecord::toJson() const {
  return {{"seq", seq},     {"time_ms", time_ms}, {"kind", kind},
          {"actor", actor}, {"before", before},   {"after", after}};
}

AuditLog::AuditLog(size_t capacity) : capacity_(capacity == 0 ? 1 : capacity) {}

AuditLog::~AuditLog() {
  if (file_ != nullptr) {
    std::fclose(file_);
  }
}

void AuditLog::openLocked() {
  if (file_ != nullptr) {
    std::fclose(file_);
    file_ = nullptr;
  }
  if (path_.empty()) {
    return;
  }
  file_ = std::fopen(path_.c_str(), "ae");
  if (file_ == nullptr) {
    ++write_errors_;
    core::LogLine(core::LogLevel::kError, "audit.open_failed")
        .str("path", path_)
        .num("errno", errno);
  }
}

void AuditLog::setFile(const std::string& path) {
  const std::lock_guard lock(mu_);
  if (path == path_ && (file_ != nullptr || path.empty())) {
    return;
  }
  path_ = path;
  openLocked();
}

void AuditLog::reopen() {
  const std::lock_guard lock(mu_);
  openLocked();
}

uint64_t AuditLog::record(std::string kind, std::string actor, nlohmann::json before,
                          nlohmann::json after) {
  AuditRecord rec;
  rec.time_ms = static_cast<int64_t>(core::unixMs());
  rec.kind = std::move(kind);
  rec.actor = std::move(actor);
  rec.before = std::move(before);
  rec.after = std::move(after);
  std::vector<Subscriber> to_call;
  {
    const std::lock_guard lock(mu_);
    rec.seq = next_seq_++;
    if (file_ != nullptr) {
      const std::string line = rec.toJson().dump() + "\n";
      // A full disk loses the file copy, never the ring or the caller: count and log it.
      if (std::fwrite(line.data(), 1, line.size(), file_) != line.size() ||
          std::fflush(file_) != 0) {
        ++write_errors_;
        core::LogLine(core::LogLevel::kError, "audit.write_failed")
            .str("path", path_)
            .num("errno", errno);
        std::clearerr(file_);
      }
    }
    ring_.push_back(rec);
    if (ring_.size() > capacity_) {
      ring_.pop_front();
    }
    to_call.reserve(subscribers_.size());
    for (const auto& [id, fn] : subscribers_) {
      to_call.push_back(fn);
    }
  }
  core::LogLine(core::LogLevel::kInfo, "audit")
      .unum("seq", rec.seq)
      .str("kind", rec.kind)
      .str("actor", rec.actor);
  for (const auto& fn : to_call) {
    fn(rec);
  }
  return rec.seq;
}

std::vector<AuditRecord> AuditLog::since(uint64_t seq, size_t limit) const {
  const std::lock_guard lock(mu_);
  std::vector<AuditRecord> out;
  for (const auto& r : ring_) {
    if (r.seq > seq) {
      out.push_back(r);
      if (out.size() >= limit) {
        break;
      }
    }
  }
  return out;
}

uint64_t AuditLog::lastSeq() const {
  const std::lock_guard lock(mu_);
  return next_seq_ - 1;
}

uint64_t AuditLog::writeErrors() const {
  const std::lock_guard lock(mu_);
  return write_errors_;
}

uint64_t AuditLog::subscribe(Subscriber fn) {
  const std::lock_guard lock(mu_);
  const uint64_t id = next_subscriber_++;
  subscribers_.emplace(id, std::move(fn));
  return id;
}

void AuditLog::unsubscribe(uint64_t id) {
  const std::lock_guard lock(mu_);
  subscribers_.erase(id);
}

}  // namespace ballast::control
