// src/l7/forward_auth_cache.cpp — the bounded answer cache of forward_auth.
#include "l7/forward_auth_cache.h"

namespace ballast::l7 {
namespace {

size_t sizeOf(const std::string& request, const ForwardAuthAnswer& a) {
  size_t n = request.size() + a.content_type.size() + a.body.size();
  for (const auto& [name, value] : a.fields) {
    n += name.size() + value.size();
  }
  return n;
}

}  // namespace

const ForwardAuthAnswer* ForwardAuthCache::find(const std::string& request, uint64_t now_ms) {
  const auto it = entries_.find(request);
  if (it == entries_.end()) {
    return nullptr;
  }
  if (it->second.expires_ms <= now_ms) {
    bytes_ -= it->second.bytes;
    entries_.erase(it);
    return nullptr;
  }
  return &it->second.answer;
}

void ForwardAuthCache::put(const std::string& request, const ForwardAuthAnswer& answer,
                           uint64_t expires_ms, uint64_t now_ms) {
  const size_t bytes = sizeOf(request, answer);
  if (bytes > kMaxBytes / 4) {
    return;  // one answer may not crowd out the rest
  }
  if (const auto it = entries_.find(request); it != entries_.end()) {
    bytes_ -= it->second.bytes;
    entries_.erase(it);
  }
  makeRoom(now_ms, bytes);
  entries_.emplace(request, Entry{answer, expires_ms, bytes});
  bytes_ += bytes;
}

void ForwardAuthCache::makeRoom(uint64_t now_ms, size_t incoming) {
  if (entries_.size() < kMaxEntries && bytes_ + incoming <= kMaxBytes) {
    return;
  }
  for (auto it = entries_.begin(); it != entries_.end();) {
    if (it->second.expires_ms <= now_ms) {
      bytes_ -= it->second.bytes;
      it = entries_.erase(it);
    } else {
      ++it;
    }
  }
  if (entries_.size() >= kMaxEntries || bytes_ + incoming > kMaxBytes) {
    entries_.clear();  // still full of live answers: a flood; start again rather than grow
    bytes_ = 0;
  }
}

}  // namespace ballast::l7
