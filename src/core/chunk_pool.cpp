// src/core/chunk_pool.cpp — the chunk mapping and its free list.
#include "core/chunk_pool.h"

#include <sys/mman.h>

#include <cassert>
#include <cstdlib>
#include <cstring>

namespace ballast::core {

ChunkPool::ChunkPool(uint32_t count, uint32_t chunk_bytes)
    : count_(count), chunk_bytes_(chunk_bytes), meta_(count) {
  assert(count < kNoChunk);
  const size_t bytes = static_cast<size_t>(count) * chunk_bytes;
  // NORESERVE + lazy faulting: only chunks ever used cost resident memory.
  void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED) {
    abort();  // start-up only: without buffers the worker cannot run
  }
  base_ = static_cast<uint8_t*>(p);
  free_.reserve(count);
  for (uint32_t i = count; i > 0; --i) {
    free_.push_back(static_cast<ChunkId>(i - 1));
  }
}

ChunkPool::~ChunkPool() { munmap(base_, static_cast<size_t>(count_) * chunk_bytes_); }

ChunkId ChunkPool::take() {
  if (free_.empty()) {
    return kNoChunk;
  }
  const ChunkId id = free_.back();
  free_.pop_back();
  return id;
}

void ChunkPool::put(ChunkId id) { free_.push_back(id); }

void ChunkQueue::push(ChunkPool& pool, ChunkId id, uint32_t offset, uint32_t length) {
  auto& m = pool.meta(id);
  m.next = kNoChunk;
  m.offset = offset;
  m.length = length;
  if (tail_ == kNoChunk) {
    head_ = tail_ = id;
  } else {
    pool.meta(tail_).next = id;
    tail_ = id;
  }
  bytes_ += length;
}

ChunkId ChunkQueue::popFront(ChunkPool& pool) {
  const ChunkId id = head_;
  if (id == kNoChunk) {
    return id;
  }
  auto& m = pool.meta(id);
  head_ = m.next;
  if (head_ == kNoChunk) {
    tail_ = kNoChunk;
  }
  bytes_ -= m.length;
  m.next = kNoChunk;
  return id;
}

bool ChunkQueue::append(ChunkPool& pool, const void* data, size_t len) {
  const auto* src = static_cast<const uint8_t*>(data);
  while (len > 0) {
    if (tail_ != kNoChunk) {
      auto& m = pool.meta(tail_);
      const uint32_t end = m.offset + m.length;
      const uint32_t room = pool.chunkBytes() - end;
      if (room > 0) {
        const auto n = static_cast<uint32_t>(len < room ? len : room);
        std::memcpy(pool.data(tail_) + end, src, n);
        m.length += n;
        bytes_ += n;
        src += n;
        len -= n;
        continue;
      }
    }
    const ChunkId id = pool.take();
    if (id == kNoChunk) {
      return false;
    }
    push(pool, id, 0, 0);
  }
  return true;
}

}  // namespace ballast::core
