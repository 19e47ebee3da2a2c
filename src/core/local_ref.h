// src/core/local_ref.h — a reference count for objects that never leave their worker (so no
// atomics): a config epoch stays alive while connections started under it are open.
#pragma once

#include <cassert>
#include <cstdint>

namespace ballast::core {

class LocalRefCounted {
 public:
  void ref() { ++refs_; }
  void unref() {
    assert(refs_ > 0);
    if (--refs_ == 0) {
      onLastUnref();
    }
  }
  uint32_t refs() const { return refs_; }

 protected:
  virtual void onLastUnref() = 0;
  ~LocalRefCounted() = default;

 private:
  uint32_t refs_ = 0;
};

}  // namespace ballast::core
