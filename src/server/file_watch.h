// src/server/file_watch.h — tells when files the config names change outside it. Two users:
// - TLS, ACL and JWKS material: certbot, cert-manager and ACME clients replace files in place or
// swap
//   symlinks, and the operator should not have to send SIGHUP for the new ones to serve; the
//   change asks for a reload, which validates the new material and refuses it, keeping the old,
//   when it is bad.
// - discovery files: a change re-reads the pool's backends and applies them in place.
// Watches the directories of the files (a watch on the file itself would miss a rename over
// it) and calls back once things are quiet, as writers replace several files one by one.
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

class FileWatch final : public core::WatchHandler {
 public:
  // `what` names the watch in log lines ("tls", "discovery").
  FileWatch(core::EventLoop& loop, std::string what, std::function<void()> on_change);
  ~FileWatch();
  FileWatch(const FileWatch&) = delete;
  FileWatch& operator=(const FileWatch&) = delete;

  // Watches these files from now on (none: nothing).
  void update(std::set<std::string> files);
  // Files watched, for status and tests.
  const std::set<std::string>& files() const { return files_; }

  void onReady(core::Watcher& w) override;

 private:
  static void onQuiet(void* self);

  core::EventLoop& loop_;
  std::string what_;
  std::function<void()> on_change_;
  core::Fd fd_;
  core::Watcher watcher_;
  core::Timer quiet_;
  bool watching_ = false;
  std::set<std::string> files_;
  std::map<int, std::set<std::string>> names_by_wd_;  // base names that matter, per directory
};

// Every TLS file a config names (listener certificates, keys, staples and client CAs, pools'
// CAs and client certificates), every ACL file and every jwt JWKS file: material that changes
// outside the config.
std::set<std::string> tlsFilesOf(const config::Config& cfg);

// Every pool's discovery file.
std::set<std::string> discoveryFilesOf(const config::Config& cfg);

}  // namespace ballast::server
