// src/policy/sticky_table.cpp — the sharded session table.
#include "policy/sticky_table.h"

#include <xxhash.h>

#include <algorithm>
#include <charconv>
#include <ctime>
#include <utility>

namespace ballast::policy {

std::string formatPinMessage(std::string_view key, std::string_view backend, uint64_t expiry_s) {
  std::string out(key);
  out.push_back('\n');
  out.append(backend);
  out.push_back('\n');
  out.append(std::to_string(expiry_s));
  return out;
}

std::optional<PinMessage> parsePinMessage(std::string_view text) {
  const size_t a = text.find('\n');
  const size_t b = a == std::string_view::npos ? a : text.find('\n', a + 1);
  if (b == std::string_view::npos || !text.starts_with(kStickyKeyPrefix) ||
      a == kStickyKeyPrefix.size() || b == a + 1) {
    return std::nullopt;
  }
  PinMessage m{text.substr(0, a), text.substr(a + 1, b - a - 1), 0};
  const char* end = text.data() + text.size();
  const auto [at, ec] = std::from_chars(text.data() + b + 1, end, m.expiry_s);
  if (ec != std::errc() || at != end || at == text.data() + b + 1) {
    return std::nullopt;
  }
  return m;
}

StickyTable::StickyTable(size_t capacity)
    : per_shard_(std::max<size_t>(1, capacity / kStickyShards)) {}

StickyTable::Shard& StickyTable::shardOf(std::string_view key) const {
  return shards_[XXH64(key.data(), key.size(), 0) % kStickyShards];
}

std::optional<std::string> StickyTable::find(std::string_view key, uint64_t now_s) const {
  Shard& s = shardOf(key);
  const std::lock_guard lock(s.mu);
  const auto it = s.map.find(std::string(key));
  if (it == s.map.end() || it->second.expiry_s < now_s) {
    return std::nullopt;
  }
  return it->second.backend;
}

void StickyTable::makeRoom(Shard& s, uint64_t now_s) {
  if (s.map.size() < per_shard_) {
    return;
  }
  std::erase_if(s.map, [now_s](const auto& kv) { return kv.second.expiry_s < now_s; });
  if (s.map.size() >= per_shard_) {
    // Still full of live sessions: one goes (its client is pinned afresh on its next request).
    s.map.erase(s.map.begin());
    evictions_.fetch_add(1, std::memory_order_relaxed);
  }
}

void StickyTable::pin(std::string_view key, std::string_view backend, uint64_t expiry_s,
                      PinKind kind) {
  Shard& s = shardOf(key);
  const std::lock_guard lock(s.mu);
  auto it = s.map.find(std::string(key));
  if (it == s.map.end()) {
    makeRoom(s, static_cast<uint64_t>(std::time(nullptr)));
    it = s.map.emplace(std::string(key), Entry{}).first;
  }
  it->second = Entry{std::string(backend), expiry_s, true, kind};
  const std::lock_guard qlock(queue_mu_);
  if (queued_.size() < kStickyQueueLimit) {
    queued_.emplace_back(key);
  } else {
    overflow_ = true;
  }
}

StickyTable::Pending StickyTable::pendingOf(const std::string& key) const {
  Shard& s = shardOf(key);
  const std::lock_guard lock(s.mu);
  const auto it = s.map.find(key);
  if (it == s.map.end() || !it->second.dirty) {
    return {};
  }
  return {key, it->second.backend, it->second.expiry_s, it->second.kind};
}

std::vector<StickyTable::Pending> StickyTable::drainQueued() {
  std::vector<std::string> keys;
  {
    const std::lock_guard qlock(queue_mu_);
    keys.swap(queued_);
  }
  std::vector<Pending> out;
  out.reserve(keys.size());
  for (const auto& key : keys) {
    if (Pending p = pendingOf(key); !p.key.empty()) {
      out.push_back(std::move(p));
    }
  }
  return out;
}

bool StickyTable::takeOverflow() {
  const std::lock_guard qlock(queue_mu_);
  return std::exchange(overflow_, false);
}

void StickyTable::install(std::string_view key, std::string_view backend, uint64_t expiry_s,
                          bool overrule) {
  Shard& s = shardOf(key);
  const std::lock_guard lock(s.mu);
  auto it = s.map.find(std::string(key));
  if (it == s.map.end()) {
    makeRoom(s, static_cast<uint64_t>(std::time(nullptr)));
    s.map.emplace(std::string(key), Entry{std::string(backend), expiry_s, false, PinKind::kClaim});
    return;
  }
  if (it->second.dirty && !overrule) {
    return;  // ours is newer and on its way to the store
  }
  it->second = Entry{std::string(backend), expiry_s, false, PinKind::kClaim};
}

template <typename Pick>
std::vector<StickyTable::Pending> StickyTable::collect(size_t max, Pick pick) const {
  std::vector<Pending> out;
  for (auto& s : shards_) {
    const std::lock_guard lock(s.mu);
    for (const auto& [key, e] : s.map) {
      if (out.size() >= max) {
        return out;
      }
      if (auto kind = pick(e)) {
        out.push_back({key, e.backend, e.expiry_s, *kind});
      }
    }
  }
  return out;
}

std::vector<StickyTable::Pending> StickyTable::pending(size_t max) const {
  return collect(max,
                 [](const Entry& e) { return e.dirty ? std::optional(e.kind) : std::nullopt; });
}

std::vector<StickyTable::Pending> StickyTable::live(size_t max, uint64_t now_s) const {
  // Written as claims unless this node moved them: a claim never overwrites a newer pin.
  return collect(max, [now_s](const Entry& e) {
    return e.expiry_s >= now_s ? std::optional(e.dirty ? e.kind : PinKind::kClaim) : std::nullopt;
  });
}

void StickyTable::written(const Pending& p) {
  Shard& s = shardOf(p.key);
  const std::lock_guard lock(s.mu);
  const auto it = s.map.find(p.key);
  if (it != s.map.end() && it->second.dirty && it->second.backend == p.backend &&
      it->second.expiry_s == p.expiry_s) {
    it->second.dirty = false;
  }
}

size_t StickyTable::size() const {
  size_t n = 0;
  for (auto& s : shards_) {
    const std::lock_guard lock(s.mu);
    n += s.map.size();
  }
  return n;
}

}  // namespace ballast::policy
