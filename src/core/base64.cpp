// src/core/base64.cpp — RFC 4648 decoding for both alphabets.
#include "core/base64.h"

namespace ballast::core {
namespace {

constexpr unsigned kSextetBits = 6;
constexpr unsigned kByteBits = 8;
constexpr unsigned kByteMask = 0xFF;
constexpr size_t kGroup = 4;
constexpr size_t kMaxPadding = 2;
constexpr int kInvalid = -1;
constexpr int kLowerStart = 26;
constexpr int kDigitsStart = 52;
constexpr int kSymbol62 = 62;
constexpr int kSymbol63 = 63;

int sextet(char c, Base64Alphabet alphabet) {
  if (c >= 'A' && c <= 'Z') {
    return c - 'A';
  }
  if (c >= 'a' && c <= 'z') {
    return c - 'a' + kLowerStart;
  }
  if (c >= '0' && c <= '9') {
    return c - '0' + kDigitsStart;
  }
  const bool url = alphabet == Base64Alphabet::kUrl;
  if (c == (url ? '-' : '+')) {
    return kSymbol62;
  }
  if (c == (url ? '_' : '/')) {
    return kSymbol63;
  }
  return kInvalid;
}

}  // namespace

std::optional<std::string> base64Decode(std::string_view text, Base64Alphabet alphabet,
                                        bool padded) {
  if (padded && text.size() % kGroup != 0) {
    return std::nullopt;
  }
  size_t padding = 0;
  while (!text.empty() && text.back() == '=') {
    text.remove_suffix(1);
    ++padding;
  }
  if (padding > kMaxPadding) {
    return std::nullopt;
  }
  std::string out;
  out.reserve(text.size() * kSextetBits / kByteBits);
  unsigned acc = 0;
  unsigned bits = 0;
  for (const char c : text) {
    const int v = sextet(c, alphabet);
    if (v == kInvalid) {
      return std::nullopt;  // '=' here is data after padding
    }
    acc = (acc << kSextetBits) | static_cast<unsigned>(v);
    bits += kSextetBits;
    if (bits >= kByteBits) {
      bits -= kByteBits;
      out.push_back(static_cast<char>((acc >> bits) & kByteMask));
    }
  }
  if (bits >= kSextetBits) {
    return std::nullopt;
  }
  return out;
}

}  // namespace ballast::core
