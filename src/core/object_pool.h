// src/core/object_pool.h — a worker-local slab of T: acquire/release without touching the
// global allocator on the connection path, memory reused in place. Not thread-safe by design.
#pragma once

#include <cstddef>
#include <memory>
#include <new>
#include <utility>
#include <vector>

namespace ballast::core {

template <typename T>
class ObjectPool {
 public:
  explicit ObjectPool(size_t block_objects = kDefaultBlock) : block_objects_(block_objects) {}
  ObjectPool(const ObjectPool&) = delete;
  ObjectPool& operator=(const ObjectPool&) = delete;
  ~ObjectPool() = default;  // owners release every object before the pool goes

  template <typename... Args>
  T* acquire(Args&&... args) {
    if (free_.empty()) {
      grow();
    }
    Slot* slot = free_.back();
    free_.pop_back();
    ++live_;
    return std::construct_at(reinterpret_cast<T*>(slot), std::forward<Args>(args)...);
  }

  void release(T* obj) {
    std::destroy_at(obj);
    free_.push_back(reinterpret_cast<Slot*>(obj));
    --live_;
  }

  size_t live() const { return live_; }

 private:
  static constexpr size_t kDefaultBlock = 256;
  struct Slot {
    alignas(T) std::byte bytes[sizeof(T)];
  };

  void grow() {
    blocks_.push_back(std::make_unique<Slot[]>(block_objects_));
    Slot* block = blocks_.back().get();
    for (size_t i = block_objects_; i > 0; --i) {
      free_.push_back(&block[i - 1]);
    }
  }

  size_t block_objects_;
  size_t live_ = 0;
  std::vector<std::unique_ptr<Slot[]>> blocks_;
  std::vector<Slot*> free_;
};

}  // namespace ballast::core
