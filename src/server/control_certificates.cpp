// src/server/control_certificates.cpp — the control thread's side of certificates: starting
// ACME, rebuilding TLS contexts from disk when a certificate changes, and listing each https
// listener's certificates for the admin API and `ballast show certificates`.
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "acme/storage.h"
#include "acme/x509_build.h"
#include "core/log.h"
#include "server/control_thread.h"

namespace ballast::server {

using nlohmann::json;

bool ControlThread::startAcme() {
  acme_event_fd_.reset(eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
  if (!acme_event_fd_.valid()) {
    core::LogLine(core::LogLevel::kError, "acme.eventfd_failed").str("reason", strerror(errno));
    return false;
  }
  loop_->watch(acme_watcher_, acme_event_fd_.get(), this);
  const int fd = acme_event_fd_.get();
  // Runs on the ACME thread: only the eventfd crosses over.
  acme_ = std::make_unique<acme::AcmeManager>([fd] {
    const uint64_t one = 1;
    [[maybe_unused]] const ssize_t n = ::write(fd, &one, sizeof(one));
  });
  acme_->apply(*config_);
  return true;
}

void ControlThread::onAcmeCertificateEvent() {
  uint64_t count = 0;
  if (::read(acme_event_fd_.get(), &count, sizeof(count)) != sizeof(count)) {
    return;
  }
  refreshTlsContexts("acme");
}

bool ControlThread::refreshTlsContexts(const std::string& why) {
  std::string error;
  auto next = builder_->build(snapshot_->config, snapshot_.get(), &error);
  if (!next) {
    ++tls_refresh_failures_total_;
    core::LogLine(core::LogLevel::kError, "tls.refresh_failed")
        .str("reason", error)
        .str("cause", why);
    return false;
  }
  ++tls_refreshes_total_;
  snapshot_ = next;
  for (auto& w : workers_) {
    w->publish(snapshot_);
  }
  core::LogLine(core::LogLevel::kInfo, "tls.contexts_refreshed")
      .str("cause", why)
      .unum("generation", snapshot_->generation);
  return true;
}

json ControlThread::certificates() const {
  const auto describe = [](const std::string& file) {
    json j = {{"file", file}};
    if (auto v = acme::readLeafValidity(file)) {
      j["names"] = v->names;
      j["not_after"] = v->not_after;
      j["issuer"] = v->issuer;
    }
    return j;
  };
  json out = json::array();
  // config_, not the snapshot's: a drained node's snapshot has no listeners.
  for (const auto& l : config_->listeners) {
    if (l.protocol != config::Protocol::kHttps) {
      continue;
    }
    json certs = json::array();
    if (l.tls.acme) {
      json j = describe(acme::servingCertificate(*l.tls.acme).cert);
      j["source"] = "acme";
      const json status = acme_ ? acme_->statusFor(*l.tls.acme) : json();
      j["state"] = acme::hasIssuedCertificate(*l.tls.acme) ? "valid" : "placeholder";
      if (status.is_object()) {
        j["acme"] = status;
        if (status["state"] == "ordering") {
          j["state"] = "ordering";
        }
      }
      certs.push_back(std::move(j));
    }
    for (const auto& c : l.tls.certificates) {
      json j = describe(c.cert);
      j["source"] = "file";
      j["state"] = "loaded";
      certs.push_back(std::move(j));
    }
    out.push_back({{"listener", l.name}, {"certificates", std::move(certs)}});
  }
  return out;
}

}  // namespace ballast::server
