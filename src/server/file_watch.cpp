// src/server/file_watch.cpp — inotify on the directories of files the config names.
#include "server/file_watch.h"

#include <sys/inotify.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>

#include "core/log.h"

namespace ballast::server {
namespace {

// Writers replace a certificate and its key one after the other: wait for both.
constexpr uint64_t kQuietMs = 500;

std::pair<std::string, std::string> splitPath(const std::string& path) {
  const size_t slash = path.rfind('/');
  if (slash == std::string::npos) {
    return {".", path};
  }
  return {slash == 0 ? "/" : path.substr(0, slash), path.substr(slash + 1)};
}

}  // namespace

std::set<std::string> tlsFilesOf(const config::Config& cfg) {
  std::set<std::string> files;
  const auto add = [&files](const std::string& path) {
    if (!path.empty()) {
      files.insert(path);
    }
  };
  for (const auto& l : cfg.listeners) {
    if (l.protocol != config::Protocol::kHttps) {
      continue;
    }
    for (const auto& c : l.tls.certificates) {
      add(c.cert);
      add(c.key);
      add(c.ocsp_staple);
    }
    add(l.tls.client_auth.ca);
  }
  // ACL files: block lists updated by a feed take effect without a SIGHUP, too.
  for (const auto& l : cfg.listeners) {
    for (const auto& f : l.acl.files) {
      add(f);
    }
    for (const auto& r : l.http.routes) {
      for (const auto& f : r.acl.files) {
        add(f);
      }
    }
  }
  // JWKS files: a key rotation is a new file; the reload re-reads and re-checks the set, and
  // keeps the old one (and its snapshot) when the new one is unusable.
  for (const auto& l : cfg.listeners) {
    if (l.http.jwt.enabled) {
      add(l.http.jwt.jwks_file);
    }
    for (const auto& r : l.http.routes) {
      if (r.jwt && r.jwt->enabled) {
        add(r.jwt->jwks_file);
      }
    }
  }
  // basic_auth users files: htpasswd edits them in place; the reload re-reads and re-checks.
  for (const auto& l : cfg.listeners) {
    if (l.http.basic_auth.enabled) {
      add(l.http.basic_auth.users_file);
    }
    for (const auto& r : l.http.routes) {
      if (r.basic_auth && r.basic_auth->enabled) {
        add(r.basic_auth->users_file);
      }
    }
  }
  // Pages and bodies of content rules: edited in place by whoever runs the maintenance window.
  for (const auto& l : cfg.listeners) {
    for (const auto& [status, page] : l.http.error_pages.pages) {
      add(page.file);
    }
    for (const auto& r : l.http.routes) {
      if (r.error_pages) {
        for (const auto& [status, page] : r.error_pages->pages) {
          add(page.file);
        }
      }
      if (r.respond) {
        add(r.respond->file);
      }
    }
  }
  for (const auto& p : cfg.pools) {
    if (p.tls.enabled) {
      add(p.tls.ca);
      add(p.tls.client_cert.cert);
      add(p.tls.client_cert.key);
    }
  }
  return files;
}

std::set<std::string> discoveryFilesOf(const config::Config& cfg) {
  std::set<std::string> files;
  for (const auto& p : cfg.pools) {
    if (p.discovery.hasFile()) {
      files.insert(p.discovery.file);
    }
  }
  return files;
}

FileWatch::FileWatch(core::EventLoop& loop, std::string what, std::function<void()> on_change)
    : loop_(loop), what_(std::move(what)), on_change_(std::move(on_change)) {
  quiet_.bind(&FileWatch::onQuiet, this);
}

FileWatch::~FileWatch() {
  core::TimerWheel::cancel(quiet_);
  if (watching_) {
    loop_.unwatch(watcher_);
  }
}

void FileWatch::update(std::set<std::string> files) {
  if (files == files_) {
    return;
  }
  if (!fd_.valid()) {
    fd_.reset(inotify_init1(IN_NONBLOCK | IN_CLOEXEC));
    if (!fd_.valid()) {
      core::LogLine(core::LogLevel::kError, "watch.failed")
          .str("watch", what_)
          .str("reason", strerror(errno));
      return;
    }
  }
  for (const auto& [wd, names] : names_by_wd_) {
    inotify_rm_watch(fd_.get(), wd);
  }
  names_by_wd_.clear();
  files_ = std::move(files);
  for (const auto& path : files_) {
    const auto [dir, name] = splitPath(path);
    // A directory watched twice returns the same descriptor: the names simply add up.
    const int wd = inotify_add_watch(fd_.get(), dir.c_str(),
                                     IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE | IN_ATTRIB);
    if (wd < 0) {
      core::LogLine(core::LogLevel::kWarn, "watch.failed")
          .str("watch", what_)
          .str("dir", dir)
          .str("reason", strerror(errno));
      continue;
    }
    names_by_wd_[wd].insert(name);
  }
  if (!watching_ && !names_by_wd_.empty()) {
    loop_.watch(watcher_, fd_.get(), this);
    watching_ = true;
  }
  core::LogLine(core::LogLevel::kDebug, "watch.watching")
      .str("watch", what_)
      .unum("files", files_.size());
}

void FileWatch::onReady(core::Watcher& /*w*/) {
  alignas(inotify_event) std::array<char, 4096> buf{};  // NOLINT(readability-magic-numbers)
  bool relevant = false;
  for (;;) {
    const ssize_t n = ::read(fd_.get(), buf.data(), buf.size());
    if (n <= 0) {
      break;
    }
    for (ssize_t off = 0; off < n;) {
      const auto* ev = reinterpret_cast<const inotify_event*>(buf.data() + off);
      if (ev->len > 0) {
        const auto it = names_by_wd_.find(ev->wd);
        relevant = relevant || (it != names_by_wd_.end() && it->second.contains(ev->name));
      }
      off += static_cast<ssize_t>(sizeof(inotify_event) + ev->len);
    }
  }
  if (relevant) {
    loop_.timers().schedule(quiet_, kQuietMs);
  }
}

void FileWatch::onQuiet(void* self) { static_cast<FileWatch*>(self)->on_change_(); }

}  // namespace ballast::server
