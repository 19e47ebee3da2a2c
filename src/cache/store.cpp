// src/cache/store.cpp — sharded LRU store of responses, fill claims, purge, and the per-listener
// registry.
#include "cache/store.h"

#include <algorithm>
#include <map>

#include "proto/http1/syntax.h"

namespace ballast::cache {
namespace {

namespace h1 = proto::http1;

constexpr uint64_t kMsPerS = 1000;
constexpr size_t kEntryOverhead = 256;  // the slot, the shared_ptr blocks, the map node
constexpr size_t kMaxVaryFields = 16;

std::string_view trimmed(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) {
    s.remove_suffix(1);
  }
  return s;
}

// Every value of `name` in the request, joined with ", " (RFC 9110 §5.3), trimmed.
std::string joinedValue(std::string_view name, RequestFields request) {
  std::string out;
  for (const auto& f : request) {
    if (h1::equalsIgnoreCase(f.name, name)) {
      if (!out.empty()) {
        out.append(", ");
      }
      out.append(trimmed(f.value));
    }
  }
  return out;
}

}  // namespace

void StoredResponse::setFields(std::span<const h1::Header> from) {
  size_t total = 0;
  for (const auto& f : from) {
    total += f.name.size() + f.value.size();
  }
  field_text.clear();
  field_text.reserve(total);
  for (const auto& f : from) {
    field_text.append(f.name).append(f.value);
  }
  fields.clear();
  fields.reserve(from.size());
  size_t at = 0;
  for (const auto& f : from) {
    const std::string_view name(field_text.data() + at, f.name.size());
    at += f.name.size();
    const std::string_view value(field_text.data() + at, f.value.size());
    at += f.value.size();
    fields.push_back({name, value});
  }
}

uint32_t StoredResponse::ageS(uint64_t now_ms) const {
  const uint64_t resident = now_ms > response_ms ? (now_ms - response_ms) / kMsPerS : 0;
  return static_cast<uint32_t>(std::min<uint64_t>(initial_age_s + resident, INT32_MAX));
}

uint32_t StoredResponse::staleS(uint64_t now_ms) const {
  const uint32_t age = ageS(now_ms);
  if (no_cache) {
    return std::max<uint32_t>(age - std::min(age, lifetime_s), 1);
  }
  return age > lifetime_s ? age - lifetime_s : (age == lifetime_s ? 1 : 0);
}

EncodedBodies::EncodedBodies(const EncodedBodies& other) {
  const std::lock_guard lock(other.mu_);
  bodies_ = other.bodies_;
}

EncodedBodies::Body EncodedBodies::get(compress::Encoding coding) const {
  const std::lock_guard lock(mu_);
  return bodies_[static_cast<size_t>(coding)];
}

size_t EncodedBodies::bytes() const {
  const std::lock_guard lock(mu_);
  size_t total = 0;
  for (const auto& b : bodies_) {
    total += b ? b->size() : 0;
  }
  return total;
}

size_t StoredResponse::charge() const {
  size_t vary_bytes = 0;
  for (const auto& [n, v] : vary) {
    vary_bytes += n.size() + v.size();
  }
  return kEntryOverhead + field_text.size() + fields.size() * sizeof(h1::Header) +
         (body ? body->size() : 0) + vary_bytes + etag.size() + last_modified.size() +
         encoded.bytes();
}

bool varyMatches(const StoredResponse& r, RequestFields request) {
  for (const auto& [name, value] : r.vary) {
    if (joinedValue(name, request) != value) {
      return false;
    }
  }
  return true;
}

bool varyValues(std::span<const std::string_view> vary_fields, RequestFields request,
                std::vector<std::pair<std::string, std::string>>& out) {
  out.clear();
  for (const std::string_view list : vary_fields) {
    std::string_view rest = list;
    while (!rest.empty()) {
      const size_t comma = rest.find(',');
      const std::string_view name = trimmed(rest.substr(0, comma));
      rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
      if (name.empty()) {
        continue;
      }
      std::string lower(name);
      std::transform(lower.begin(), lower.end(), lower.begin(),
                     [](char c) { return static_cast<char>(std::tolower(c)); });
      if (std::any_of(out.begin(), out.end(), [&](const auto& p) { return p.first == lower; })) {
        continue;
      }
      if (out.size() == kMaxVaryFields) {
        return false;
      }
      out.emplace_back(lower, joinedValue(name, request));
    }
  }
  return true;
}

Store::Store(uint64_t max_bytes) : max_bytes_(max_bytes) {}

void Store::resize(uint64_t max_bytes) { max_bytes_.store(max_bytes, std::memory_order_relaxed); }

Store::Shard& Store::shardFor(std::string_view key) {
  return shards_[std::hash<std::string_view>{}(key) % kShards];
}

Store::Lookup Store::find(std::string_view key, RequestFields request, uint64_t now_ms) {
  Shard& s = shardFor(key);
  const std::lock_guard lock(s.mu);
  Lookup out;
  const auto at = s.index.find(key);
  if (at == s.index.end()) {
    return out;
  }
  Slot& slot = *at->second;
  out.filling = slot.fill_until_ms > now_ms;
  for (const auto& v : slot.variants) {
    if (varyMatches(*v, request)) {
      out.entry = v;
      break;
    }
  }
  s.lru.splice(s.lru.begin(), s.lru, at->second);
  return out;
}

bool Store::claimFill(std::string_view key, uint64_t now_ms, uint64_t hold_ms) {
  Shard& s = shardFor(key);
  const std::lock_guard lock(s.mu);
  auto at = s.index.find(key);
  if (at == s.index.end()) {
    s.lru.push_front(Slot{std::string(key), {}, now_ms + hold_ms, 0});
    s.index.emplace(s.lru.front().key, s.lru.begin());
    return true;
  }
  Slot& slot = *at->second;
  if (slot.fill_until_ms > now_ms) {
    return false;
  }
  slot.fill_until_ms = now_ms + hold_ms;
  return true;
}

void Store::releaseFill(std::string_view key) {
  Shard& s = shardFor(key);
  const std::lock_guard lock(s.mu);
  const auto at = s.index.find(key);
  if (at == s.index.end()) {
    return;
  }
  at->second->fill_until_ms = 0;
  if (at->second->variants.empty()) {
    erase(s, at->second);
  }
}

void Store::insert(std::string_view key, StoredPtr r) {
  Shard& s = shardFor(key);
  const std::lock_guard lock(s.mu);
  auto at = s.index.find(key);
  if (at == s.index.end()) {
    s.lru.push_front(Slot{std::string(key), {}, 0, 0});
    at = s.index.emplace(s.lru.front().key, s.lru.begin()).first;
  }
  Slot& slot = *at->second;
  slot.fill_until_ms = 0;
  const size_t charge = r->charge();
  auto same = std::find_if(slot.variants.begin(), slot.variants.end(),
                           [&r](const StoredPtr& v) { return v->vary == r->vary; });
  if (same != slot.variants.end()) {
    slot.bytes -= (*same)->charge();
    s.bytes -= (*same)->charge();
    *same = std::move(r);
  } else {
    if (slot.variants.size() == kMaxVariants) {
      slot.bytes -= slot.variants.front()->charge();
      s.bytes -= slot.variants.front()->charge();
      slot.variants.erase(slot.variants.begin());
      counters_.evictions.fetch_add(1, std::memory_order_relaxed);
    }
    slot.variants.push_back(std::move(r));
  }
  slot.bytes += charge;
  s.bytes += charge;
  s.lru.splice(s.lru.begin(), s.lru, at->second);
  counters_.stores.fetch_add(1, std::memory_order_relaxed);
  evict(s, &slot);
}

EncodedBodies::Body Store::attachEncoded(std::string_view key, const StoredResponse& r,
                                         compress::Encoding coding, EncodedBodies::Body body) {
  const auto index = static_cast<size_t>(coding);
  if (index >= EncodedBodies::kCodings || !body) {
    return body;
  }
  Shard& s = shardFor(key);
  // The shard's lock first, then the entry's: a replacement computes the old entry's charge()
  // under the shard's lock, so it always sees exactly the copies that were counted.
  const std::lock_guard lock(s.mu);
  Slot* slot = nullptr;
  if (const auto at = s.index.find(key); at != s.index.end()) {
    const auto& variants = at->second->variants;
    if (std::any_of(variants.begin(), variants.end(),
                    [&r](const StoredPtr& v) { return v.get() == &r; })) {
      slot = &*at->second;
    }
  }
  {
    const std::lock_guard entry_lock(r.encoded.mu_);
    EncodedBodies::Body& kept = r.encoded.bodies_[index];
    if (kept) {
      return kept;
    }
    kept = body;
  }
  if (slot != nullptr) {
    slot->bytes += body->size();
    s.bytes += body->size();
    evict(s, slot);
  }
  return body;
}

void Store::erase(Shard& s, std::list<Slot>::iterator it) {
  s.bytes -= it->bytes;
  s.index.erase(it->key);
  s.lru.erase(it);
}

void Store::evict(Shard& s, const Slot* keep) {
  const uint64_t budget = max_bytes_.load(std::memory_order_relaxed) / kShards;
  auto it = s.lru.end();
  while (s.bytes > budget && it != s.lru.begin()) {
    --it;
    if (&*it == keep || it->variants.empty()) {
      continue;  // the entry just stored stays; a slot being filled holds no bytes
    }
    counters_.evictions.fetch_add(it->variants.size(), std::memory_order_relaxed);
    const auto victim = it++;
    erase(s, victim);
  }
  if (s.bytes > budget && keep != nullptr) {
    // Bigger than the whole share alone: it cannot stay.
    for (auto k = s.lru.begin(); k != s.lru.end(); ++k) {
      if (&*k == keep) {
        counters_.evictions.fetch_add(k->variants.size(), std::memory_order_relaxed);
        erase(s, k);
        break;
      }
    }
  }
}

size_t Store::purgeKey(std::string_view key) {
  Shard& s = shardFor(key);
  const std::lock_guard lock(s.mu);
  const auto at = s.index.find(key);
  if (at == s.index.end() || at->second->variants.empty()) {
    return 0;
  }
  const size_t n = at->second->variants.size();
  erase(s, at->second);
  counters_.purged.fetch_add(n, std::memory_order_relaxed);
  return n;
}

size_t Store::purgePrefix(std::string_view prefix) {
  size_t n = 0;
  for (Shard& s : shards_) {
    const std::lock_guard lock(s.mu);
    for (auto it = s.lru.begin(); it != s.lru.end();) {
      if (std::string_view(it->key).starts_with(prefix) && !it->variants.empty()) {
        n += it->variants.size();
        const auto victim = it++;
        erase(s, victim);
      } else {
        ++it;
      }
    }
  }
  counters_.purged.fetch_add(n, std::memory_order_relaxed);
  return n;
}

uint64_t Store::bytes() const {
  uint64_t total = 0;
  for (const Shard& s : shards_) {
    const std::lock_guard lock(s.mu);
    total += s.bytes;
  }
  return total;
}

uint64_t Store::entries() const {
  uint64_t total = 0;
  for (const Shard& s : shards_) {
    const std::lock_guard lock(s.mu);
    for (const Slot& slot : s.lru) {
      total += slot.variants.size();
    }
  }
  return total;
}

namespace {
std::mutex registry_mu;
std::map<std::string, std::shared_ptr<Store>>& registry() {
  static auto* stores = new std::map<std::string, std::shared_ptr<Store>>();  // never destroyed
  return *stores;
}
}  // namespace

std::shared_ptr<Store> storeFor(const std::string& listener, uint64_t max_bytes) {
  const std::lock_guard lock(registry_mu);
  auto& slot = registry()[listener];
  if (!slot) {
    slot = std::make_shared<Store>(max_bytes);
  } else if (slot->maxBytes() != max_bytes) {
    slot->resize(max_bytes);
  }
  return slot;
}

std::vector<std::pair<std::string, std::shared_ptr<Store>>> allStores() {
  const std::lock_guard lock(registry_mu);
  return {registry().begin(), registry().end()};
}

}  // namespace ballast::cache
