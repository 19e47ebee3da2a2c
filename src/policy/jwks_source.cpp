// src/policy/jwks_source.cpp — the fetched key set, its counters and the process's registry.
#include "policy/jwks_source.h"

#include <map>
#include <utility>

namespace ballast::policy {

void JwksSource::set(std::shared_ptr<const Jwks> keys, uint64_t now_unix_ms) {
  const size_t count = keys ? keys->keys.size() : 0;
  keys_.store(std::move(keys), std::memory_order_release);
  const std::lock_guard lock(mu_);
  ++stats_.fetches;
  stats_.last_ok_unix_ms = now_unix_ms;
  stats_.last_error.clear();
  stats_.keys = count;
}

void JwksSource::recordFailure(const std::string& why) {
  const std::lock_guard lock(mu_);
  ++stats_.fetches;
  ++stats_.failures;
  stats_.last_error = why;
}

JwksSource::Stats JwksSource::stats() const {
  const std::lock_guard lock(mu_);
  return stats_;
}

namespace {

struct Registry {
  std::mutex mu;
  std::map<std::pair<std::string, std::string>, std::weak_ptr<JwksSource>> sources;
};

Registry& registry() {
  static Registry r;
  return r;
}

}  // namespace

std::shared_ptr<JwksSource> jwksSourceFor(const std::string& url, const std::string& ca) {
  Registry& r = registry();
  const std::lock_guard lock(r.mu);
  std::weak_ptr<JwksSource>& slot = r.sources[{url, ca}];
  std::shared_ptr<JwksSource> source = slot.lock();
  if (!source) {
    source = std::make_shared<JwksSource>(url, ca);
    slot = source;
  }
  return source;
}

std::vector<std::shared_ptr<JwksSource>> liveJwksSources() {
  Registry& r = registry();
  const std::lock_guard lock(r.mu);
  std::vector<std::shared_ptr<JwksSource>> out;
  for (auto it = r.sources.begin(); it != r.sources.end();) {
    if (auto s = it->second.lock()) {
      out.push_back(std::move(s));
      ++it;
    } else {
      it = r.sources.erase(it);
    }
  }
  return out;
}

}  // namespace ballast::policy
