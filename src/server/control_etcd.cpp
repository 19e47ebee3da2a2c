// src/server/control_etcd.cpp — the control thread's side of `config_source: etcd`: the first
// read at start, the watch thread's revisions turned into reloads, and what the admin API and
// metrics show of it. A revision that does not validate is refused like an invalid file on
// SIGHUP: counted, logged with its errors, and the last good configuration keeps serving.
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "config/file_text.h"
#include "core/log.h"
#include "server/control_thread.h"

namespace ballast::server {

using nlohmann::json;

bool ControlThread::readConfigSource() {
  auto source = config::readConfigSource(options_.config_path);
  if (!source.errors.empty()) {
    for (const auto& e : source.errors) {
      core::LogLine(core::LogLevel::kError, "config.error")
          .str("file", e.file)
          .num("line", e.line)
          .num("column", e.column)
          .str("message", e.message);
    }
    return false;
  }
  if (!source.etcd) {
    return true;  // the file is the configuration
  }
  etcd_source_ = std::move(source.etcd);
  // No endpoint answering at start is a failed start, loudly: serving the bootstrap (which has
  // no listeners) or a stale copy would look like success to whoever runs the node.
  std::string error;
  auto rev = readEtcdRevision(*etcd_source_, 0, &error);
  if (!rev) {
    core::LogLine(core::LogLevel::kError, "config.source_unreachable")
        .str("source", "etcd")
        .str("prefix", etcd_source_->prefix)
        .str("reason", error);
    return false;
  }
  etcd_current_ = std::move(*rev);
  etcd_served_revision_ = etcd_current_.revision;  // refused below if it does not load
  core::LogLine(core::LogLevel::kInfo, "config.source_read")
      .str("source", "etcd")
      .str("prefix", etcd_source_->prefix)
      .num("revision", etcd_current_.revision)
      .unum("keys", etcd_current_.documents.size());
  return true;
}

config::LoadResult ControlThread::loadServedConfig() const {
  if (!etcd_source_) {
    return config::loadConfigFile(options_.config_path);
  }
  // The bootstrap's own sections (admin:, metrics:) are read again at each reload, like a
  // file; its config_source is not (a new endpoint or prefix takes a restart).
  if (etcd_current_.documents.empty()) {
    config::LoadResult result;
    result.errors.push_back({"etcd:" + etcd_source_->prefix, 0, 0,
                             "no key under the prefix (push one with `ballast config push`)"});
    return result;
  }
  std::vector<config::NamedDocument> documents(1);
  documents[0].name = options_.config_path;
  if (const auto err = config::readWholeFile(options_.config_path, documents[0].text)) {
    config::LoadResult result;
    result.errors.push_back({options_.config_path, 0, 0, "cannot read file: " + *err});
    return result;
  }
  documents.insert(documents.end(), etcd_current_.documents.begin(), etcd_current_.documents.end());
  return config::loadConfigDocuments(documents);
}

bool ControlThread::startEtcdWatch() {
  if (!etcd_source_) {
    return true;
  }
  etcd_event_fd_.reset(eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
  if (!etcd_event_fd_.valid()) {
    core::LogLine(core::LogLevel::kError, "config.source_eventfd_failed")
        .str("reason", strerror(errno));  // NOLINT(concurrency-mt-unsafe)
    return false;
  }
  loop_->watch(etcd_watcher_, etcd_event_fd_.get(), this);
  etcd_watch_ = std::make_unique<EtcdWatch>(*etcd_source_, etcd_current_, etcd_event_fd_.get());
  return true;
}

void ControlThread::onEtcdEvent() {
  uint64_t count = 0;
  if (::read(etcd_event_fd_.get(), &count, sizeof(count)) != sizeof(count)) {
    return;
  }
  auto rev = etcd_watch_->take();
  if (!rev) {
    return;
  }
  etcd_current_ = std::move(*rev);
  const int64_t revision = etcd_current_.revision;
  if (draining_) {
    // A reload would reopen the listeners of a node the operator drained for maintenance. The
    // revision is kept: the operator's reload (which ends the drain) serves it.
    core::LogLine(core::LogLevel::kWarn, "config.source_deferred")
        .str("source", "etcd")
        .num("revision", revision)
        .str("reason", "node drained; the next reload serves it");
    return;
  }
  const auto outcome = reload("etcd:revision " + std::to_string(revision));
  if (outcome.ok) {
    etcd_served_revision_ = revision;
    return;
  }
  ++etcd_refused_total_;
  etcd_refused_revision_ = revision;
  etcd_refused_errors_ = outcome.errors;
  core::LogLine(core::LogLevel::kError, "config.source_refused")
      .str("source", "etcd")
      .num("revision", revision)
      .num("serving_revision", etcd_served_revision_)
      .str("first_error", outcome.errors.empty() ? "" : outcome.errors.front());
}

json ControlThread::configSource() const {
  if (!etcd_source_) {
    return {{"type", "file"}, {"file", options_.config_path}};
  }
  json errors_by_kind = json::object();
  for (size_t k = 0; k < kEtcdErrorKinds; ++k) {
    const auto kind = static_cast<EtcdErrorKind>(k);
    errors_by_kind[etcdErrorKindName(kind)] = etcd_watch_ ? etcd_watch_->errors(kind) : 0;
  }
  json refused = nullptr;
  if (etcd_refused_revision_ != 0) {
    refused = {{"revision", etcd_refused_revision_}, {"errors", etcd_refused_errors_}};
  }
  return {{"type", "etcd"},
          {"endpoints", etcd_source_->endpoints},
          {"prefix", etcd_source_->prefix},
          {"watching", etcd_watch_ && etcd_watch_->connected()},
          {"revision", etcd_served_revision_},
          {"latest_revision", etcd_current_.revision},
          {"refused_total", etcd_refused_total_},
          {"last_refused", refused},
          {"errors_total", errors_by_kind}};
}

void ControlThread::writeConfigSourceMetrics(metrics::PrometheusWriter& out) const {
  if (!etcd_source_) {
    return;
  }
  out.family("ballast_config_source_revision", "gauge",
             "The etcd revision of the configuration being served.");
  out.sampleInt("ballast_config_source_revision", {{"source", "etcd"}},
                static_cast<uint64_t>(etcd_served_revision_));
  out.family("ballast_config_source_refused_total", "counter",
             "etcd revisions refused because they did not validate (the last good one served).");
  out.sampleInt("ballast_config_source_refused_total", {{"source", "etcd"}}, etcd_refused_total_);
  out.family("ballast_config_source_errors_total", "counter",
             "Failures talking to etcd, by kind (connect, reply, watch, compacted).");
  for (size_t k = 0; k < kEtcdErrorKinds; ++k) {
    const auto kind = static_cast<EtcdErrorKind>(k);
    out.sampleInt("ballast_config_source_errors_total",
                  {{"source", "etcd"}, {"kind", etcdErrorKindName(kind)}},
                  etcd_watch_ ? etcd_watch_->errors(kind) : 0);
  }
  out.family("ballast_config_source_connected", "gauge", "1 while the etcd watch is established.");
  out.sampleInt("ballast_config_source_connected", {{"source", "etcd"}},
                etcd_watch_ && etcd_watch_->connected() ? 1 : 0);
}

}  // namespace ballast::server
