// tests/fuzz/config_fuzz.cpp — libFuzzer target: any bytes through the config loader must
// yield a result, never a crash, hang or escaping exception.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "config/loader.h"
#include "net/address.h"
#include "net/cidr.h"

namespace {

// Short inputs are also fed to the scalar parsers the loader builds on.
constexpr size_t kMaxScalarInput = 256;

}  // namespace

// NOLINTNEXTLINE(readability-identifier-naming): the name libFuzzer looks for
extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  ballast::config::LoadOptions options;
  options.follow_includes = false;  // generated globs must not read the disk
  const auto result = ballast::config::loadConfigText(text, "fuzz.yaml", "/nonexistent", options);
  // The contract callers rely on: a config exactly when there are no errors.
  if ((result.config != nullptr) == !result.errors.empty() || result.unreadable) {
    __builtin_trap();
  }
  for (const auto& e : result.errors) {
    if (e.file != "fuzz.yaml" || e.line < 0 || e.column < 0 || e.message.empty()) {
      __builtin_trap();
    }
  }
  if (size <= kMaxScalarInput) {
    (void)ballast::config::parseDuration(text);
    (void)ballast::config::parseSize(text);
    (void)ballast::config::parseFraction(text);
    (void)ballast::net::SocketAddress::parse(text);
    (void)ballast::net::SocketAddress::parse(text, /*allow_no_port=*/true);
    (void)ballast::net::Cidr::parse(text);
  }
  return 0;
}
