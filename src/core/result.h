// src/core/result.h — error return for everything below config/ and cli/.
// Uses std::expected's names so that C++23 can turn it into an alias.
#pragma once

#include <cstdint>
#include <string_view>
#include <utility>
#include <variant>

namespace ballast::core {

enum class Errc : uint8_t {
  kWouldBlock,
  kPeerClosed,
  kTooLarge,
  kBadInput,
  kNeedMore,  // incremental parsers: the input so far is a valid prefix
  kSystem,    // a syscall failed; the errno is in Error::sys_errno
};

struct Error {
  Errc code;
  std::string_view what;  // static text: building an error never allocates
  int sys_errno = 0;
};

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T v) : v_(std::move(v)) {}  // NOLINT(google-explicit-constructor): like std::expected
  Result(Error e) : v_(e) {}         // NOLINT(google-explicit-constructor)

  bool has_value() const { return v_.index() == 0; }
  explicit operator bool() const { return has_value(); }
  T& value() { return std::get<0>(v_); }
  const T& value() const { return std::get<0>(v_); }
  T& operator*() { return value(); }
  const T& operator*() const { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  const Error& error() const { return std::get<1>(v_); }

 private:
  std::variant<T, Error> v_;
};

// For operations that return nothing on success.
struct Ok {};

}  // namespace ballast::core
