// src/policy/jwks_source.h — a JWKS fetched from a URL (`jwt: {jwks_url}`), shared by every
// listener and route that names the URL and by every worker. The keys are swapped whole: a
// worker loads the current set with one atomic shared_ptr load per verified token, and a set it
// holds stays valid while a refresh replaces it. The fetching itself is server/jwks_fetcher's
// (a thread of its own, libcurl); sources are made by the config loader and live as long as a
// config names them, so a reload keeps the keys it already has.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "policy/jwks.h"

namespace ballast::policy {

class JwksSource {
 public:
  JwksSource(std::string url, std::string ca) : url_(std::move(url)), ca_(std::move(ca)) {}
  JwksSource(const JwksSource&) = delete;
  JwksSource& operator=(const JwksSource&) = delete;
  ~JwksSource() = default;

  const std::string& url() const { return url_; }
  const std::string& ca() const { return ca_; }  // a PEM file to trust instead of the system's

  // The keys fetched last; null until the first fetch succeeded (tokens are then refused).
  std::shared_ptr<const Jwks> current() const { return keys_.load(std::memory_order_acquire); }
  void set(std::shared_ptr<const Jwks> keys, uint64_t now_unix_ms);

  // How often to fetch again after a success; the config loaded last says.
  void setRefresh(std::chrono::milliseconds every) {
    refresh_ms_.store(static_cast<uint64_t>(every.count()), std::memory_order_relaxed);
  }
  uint64_t refreshMs() const { return refresh_ms_.load(std::memory_order_relaxed); }

  struct Stats {
    uint64_t fetches = 0;
    uint64_t failures = 0;
    uint64_t last_ok_unix_ms = 0;
    std::string last_error;  // of the last fetch, if it failed
    size_t keys = 0;
  };
  void recordFailure(const std::string& why);
  Stats stats() const;

 private:
  const std::string url_;
  const std::string ca_;
  std::atomic<std::shared_ptr<const Jwks>> keys_;
  std::atomic<uint64_t> refresh_ms_{600'000};
  mutable std::mutex mu_;  // guards stats_
  Stats stats_;
};

// The process's source for `url` (and `ca`), made on first use; the same object while any
// config holds it, so a reload keeps its keys.
std::shared_ptr<JwksSource> jwksSourceFor(const std::string& url, const std::string& ca);
// Every source some config still holds.
std::vector<std::shared_ptr<JwksSource>> liveJwksSources();

}  // namespace ballast::policy
