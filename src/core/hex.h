// src/core/hex.h — fixed-width lowercase hex without printf: request ids and sticky backend ids
// are written once per request, where snprintf's format parsing showed in profiles.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace ballast::core {

// The low `digits` hex digits of value into out[0, digits), zero-padded: what "%0*llx" writes.
inline void writeHex(char* out, uint64_t value, size_t digits) {
  static constexpr std::string_view kDigits = "0123456789abcdef";
  constexpr unsigned kNibbleBits = 4;
  constexpr uint64_t kNibble = 0xF;
  for (size_t i = digits; i-- > 0;) {
    out[i] = kDigits[value & kNibble];
    value >>= kNibbleBits;
  }
}

}  // namespace ballast::core
