// src/policy/sticky_table.h — one node's copy of the stored sticky sessions: session key → the
// backend it is pinned to and when the pin expires. Workers read and write it on the request
// path; the store thread fills it from Redis and pushes what workers wrote. 16 shards, each a
// mutex and a hash map, so workers contend only when they touch the same shard at once.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace ballast::policy {

// How a worker's pin is written to the store. A claim is a session the node did not know: it is
// written only if no other node has pinned it meanwhile (else that node's pin is taken). A move
// re-pins a known session whose backend went down, and wins.
enum class PinKind : uint8_t { kClaim, kMove };

inline constexpr size_t kStickyShards = 16;
inline constexpr size_t kDefaultStickyCapacity = 1U << 20U;
// Every session key starts so: `ballast:sticky:<pool>:<session id>`.
inline constexpr std::string_view kStickyKeyPrefix = "ballast:sticky:";
// Pins waiting for the store thread; past this the thread walks the table instead.
inline constexpr size_t kStickyQueueLimit = 1U << 16U;

// What a pin tells the other nodes on the store's channel: "<key>\n<backend>\n<expiry, unix
// seconds>". Keys start with `ballast:sticky:`; anything else on the channel is not ours.
struct PinMessage {
  std::string_view key;
  std::string_view backend;
  uint64_t expiry_s = 0;
};
std::string formatPinMessage(std::string_view key, std::string_view backend, uint64_t expiry_s);
std::optional<PinMessage> parsePinMessage(std::string_view text);

class StickyTable {
 public:
  explicit StickyTable(size_t capacity = kDefaultStickyCapacity);

  // The backend `key` is pinned to, unless unknown or expired at `now_s`.
  std::optional<std::string> find(std::string_view key, uint64_t now_s) const;
  // A worker's pin: kept at once, marked for the store thread to write.
  void pin(std::string_view key, std::string_view backend, uint64_t expiry_s, PinKind kind);
  // What the store says (another node's pin, or a re-sync). A pin of ours not yet written
  // stays, unless `overrule` (the store refused our claim: its pin is the one that counts).
  void install(std::string_view key, std::string_view backend, uint64_t expiry_s, bool overrule);

  struct Pending {
    std::string key;
    std::string backend;
    uint64_t expiry_s = 0;
    PinKind kind = PinKind::kClaim;
  };
  // Store thread: the pins queued since the last call, still marked until written().
  std::vector<Pending> drainQueued();
  // Store thread: every pin not yet written (up to `max`), found by a walk of the whole table
  // when the queue overflowed (takeOverflow()).
  std::vector<Pending> pending(size_t max) const;
  // Store thread, after (re)connecting: every live session (up to `max`), so that a store that
  // lost its data gets them back. Written pins come as claims: they cannot undo a newer pin.
  std::vector<Pending> live(size_t max, uint64_t now_s) const;
  bool takeOverflow();
  // Store thread: `p` reached the store; unmarked unless re-pinned since.
  void written(const Pending& p);

  size_t size() const;
  uint64_t evictions() const { return evictions_.load(std::memory_order_relaxed); }

 private:
  struct Entry {
    std::string backend;
    uint64_t expiry_s = 0;
    bool dirty = false;
    PinKind kind = PinKind::kClaim;
  };
  struct Shard {
    mutable std::mutex mu;
    std::unordered_map<std::string, Entry> map;
  };
  Shard& shardOf(std::string_view key) const;
  // Room for one more entry in `s` (its lock held): the expired go first, then any.
  void makeRoom(Shard& s, uint64_t now_s);

  Pending pendingOf(const std::string& key) const;
  // The entries `pick` gives a kind to write as (nullopt: skip), up to `max`, one shard lock at
  // a time. Defined and used in the .cpp only.
  template <typename Pick>
  std::vector<Pending> collect(size_t max, Pick pick) const;

  size_t per_shard_;
  std::mutex queue_mu_;
  std::vector<std::string> queued_;
  bool overflow_ = false;
  mutable std::array<Shard, kStickyShards> shards_;
  std::atomic<uint64_t> evictions_{0};
};

}  // namespace ballast::policy
