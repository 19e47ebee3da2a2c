// src/core/base64.h — base64 decoding (RFC 4648), one implementation for every reader of it:
// HTTP Basic credentials and kubeconfig data (standard alphabet), JWTs and JWKs (the URL-safe
// alphabet), etcd's JSON gateway (standard, always padded).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace ballast::core {

enum class Base64Alphabet : uint8_t {
  kStandard,  // RFC 4648 §4: A-Z a-z 0-9 + /
  kUrl,       // RFC 4648 §5: A-Z a-z 0-9 - _
};

// The bytes `text` encodes; nullopt on a byte outside the alphabet, more than two '=' or data
// after them, or a lone last letter (fewer than 8 bits: it encodes nothing). Padding is
// optional unless `padded`, which also demands whole 4-letter groups.
std::optional<std::string> base64Decode(std::string_view text,
                                        Base64Alphabet alphabet = Base64Alphabet::kStandard,
                                        bool padded = false);

}  // namespace ballast::core
