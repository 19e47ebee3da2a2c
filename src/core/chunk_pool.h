// src/core/chunk_pool.h — a worker's data buffers: fixed-size chunks in one lazily touched
// mapping, plus per-chunk queue links, so a connection's byte queue is two 16-bit ids and a
// count instead of a container. Empty connections own no chunk (the "idle costs nothing" rule).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace ballast::core {

using ChunkId = uint16_t;
constexpr ChunkId kNoChunk = 0xFFFF;

class ChunkPool {
 public:
  ChunkPool(uint32_t count, uint32_t chunk_bytes);
  ~ChunkPool();
  ChunkPool(const ChunkPool&) = delete;
  ChunkPool& operator=(const ChunkPool&) = delete;

  uint8_t* base() const { return base_; }
  uint8_t* data(ChunkId id) const { return base_ + static_cast<size_t>(id) * chunk_bytes_; }
  uint32_t chunkBytes() const { return chunk_bytes_; }
  uint32_t count() const { return count_; }

  // Free list used by the epoll backend (LIFO: recently used chunks are warm in cache).
  ChunkId take();
  void put(ChunkId id);
  uint32_t freeCount() const { return static_cast<uint32_t>(free_.size()); }

  // Queue metadata: valid bytes are data(id)[offset, offset + length).
  struct Meta {
    ChunkId next = kNoChunk;
    uint32_t offset = 0;
    uint32_t length = 0;
  };
  Meta& meta(ChunkId id) { return meta_[id]; }

 private:
  uint8_t* base_ = nullptr;
  uint32_t count_;
  uint32_t chunk_bytes_;
  std::vector<Meta> meta_;
  std::vector<ChunkId> free_;
};

// FIFO of chunks, linked through the pool's metadata. 8 bytes per connection direction.
class ChunkQueue {
 public:
  bool empty() const { return head_ == kNoChunk; }
  uint32_t bytes() const { return bytes_; }
  ChunkId head() const { return head_; }
  void push(ChunkPool& pool, ChunkId id, uint32_t offset, uint32_t length);
  // Copies bytes in, filling the last chunk before taking new ones from the pool's free list.
  // False when the pool ran dry part-way (what fitted stays queued).
  bool append(ChunkPool& pool, const void* data, size_t len);
  // Unlinks the front chunk whole and returns it: the caller now owns (and releases) it, and its
  // meta still says where its bytes are. kNoChunk when empty.
  ChunkId popFront(ChunkPool& pool);
  // Drops `n` bytes from the front; fully consumed chunks go to `release`.
  template <typename Release>
  void consume(ChunkPool& pool, uint32_t n, Release&& release) {
    bytes_ -= n;
    while (n > 0 && head_ != kNoChunk) {
      auto& m = pool.meta(head_);
      const uint32_t take = n < m.length ? n : m.length;
      m.offset += take;
      m.length -= take;
      n -= take;
      if (m.length == 0) {
        const ChunkId done = head_;
        head_ = m.next;
        if (head_ == kNoChunk) {
          tail_ = kNoChunk;
        }
        release(done);
      }
    }
  }
  // Releases every chunk (connection teardown).
  template <typename Release>
  void clear(ChunkPool& pool, Release&& release) {
    while (head_ != kNoChunk) {
      const ChunkId done = head_;
      head_ = pool.meta(done).next;
      release(done);
    }
    tail_ = kNoChunk;
    bytes_ = 0;
  }

 private:
  ChunkId head_ = kNoChunk;
  ChunkId tail_ = kNoChunk;
  uint32_t bytes_ = 0;
};

}  // namespace ballast::core
