// src/acme/hello_extensions.cpp — bounds-checked reads of ALPN and server_name bodies.
#include "acme/hello_extensions.h"

namespace ballast::acme {
namespace {

constexpr size_t kListLengthBytes = 2;
constexpr size_t kNameHeaderBytes = 3;  // name type (1), name length (2)
constexpr uint8_t kHostNameType = 0;
constexpr size_t kMaxHostNameBytes = 255;
constexpr unsigned kByteBits = 8;

size_t readU16(std::span<const uint8_t> b, size_t at) {
  return (static_cast<size_t>(b[at]) << kByteBits) | b[at + 1];
}

}  // namespace

bool alpnOffers(std::span<const uint8_t> extension, std::string_view protocol) {
  if (extension.size() < kListLengthBytes ||
      readU16(extension, 0) + kListLengthBytes != extension.size()) {
    return false;
  }
  for (size_t i = kListLengthBytes; i < extension.size();) {
    const size_t n = extension[i];
    if (n == 0 || i + 1 + n > extension.size()) {
      return false;
    }
    if (std::string_view(reinterpret_cast<const char*>(extension.data() + i + 1), n) == protocol) {
      return true;
    }
    i += 1 + n;
  }
  return false;
}

std::string serverNameOf(std::span<const uint8_t> extension) {
  if (extension.size() < kListLengthBytes + kNameHeaderBytes ||
      readU16(extension, 0) + kListLengthBytes != extension.size()) {
    return {};
  }
  // Only the first entry: RFC 6066 allows one host_name, and clients send just that.
  const size_t at = kListLengthBytes;
  const size_t len = readU16(extension, at + 1);
  if (extension[at] != kHostNameType || len == 0 || len > kMaxHostNameBytes ||
      at + kNameHeaderBytes + len > extension.size()) {
    return {};
  }
  std::string name(reinterpret_cast<const char*>(extension.data() + at + kNameHeaderBytes), len);
  for (char& c : name) {
    c = (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
  }
  return name;
}

}  // namespace ballast::acme
