// src/server/tls_file_watch.h — re-reads certificates when their files change, as a reload
// would: certbot, cert-manager and ACME clients replace files in place or swap symlinks, and
// the operator should not have to send SIGHUP for the new ones to serve. Watches the
// directories of every certificate, key, OCSP staple, CA and ACL file the config names (a watch on
// the file itself would miss a rename over it), and after a quiet moment asks for a reload,
// which validates the new material and refuses it, keeping the old, when it is bad.
#pragma once

#include <functional>
#include <map>
#include <set>
#include <string>

#include "config/config_types.h"
#include "core/event_loop.h"
#include "core/fd.h"
#include "core/timer_wheel.h"

namespace ballast::server {

class TlsFileWatch final : public core::WatchHandler {
 public:
  TlsFileWatch(core::EventLoop& loop, std::function<void()> on_change);
  ~TlsFileWatch();
  TlsFileWatch(const TlsFileWatch&) = delete;
  TlsFileWatch& operator=(const TlsFileWatch&) = delete;

  // Watches what `cfg` names from now on (nothing when it names no TLS file).
  void update(const config::Config& cfg);
  // Files watched, for status and tests.
  const std::set<std::string>& files() const { return files_; }

  void onReady(core::Watcher& w) override;

 private:
  static void onQuiet(void* self);

  core::EventLoop& loop_;
  std::function<void()> on_change_;
  core::Fd fd_;
  core::Watcher watcher_;
  core::Timer quiet_;
  bool watching_ = false;
  std::set<std::string> files_;
  std::map<int, std::set<std::string>> names_by_wd_;  // base names that matter, per directory
};

// Every TLS file a config names (listener certificates, keys, staples and client CAs, pools'
// CAs and client certificates) and every ACL file: material that changes outside the config.
std::set<std::string> tlsFilesOf(const config::Config& cfg);

}  // namespace ballast::server
