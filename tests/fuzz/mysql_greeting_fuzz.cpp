// tests/fuzz/mysql_greeting_fuzz.cpp — libFuzzer target for the mysql health check's greeting
// parser: no crash, a verdict unchanged by bytes after it, and healthy only on protocol 10 with
// sequence id 0.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>

#include "upstream/checks/mysql_check.h"

namespace {
namespace checks = ballast::upstream::checks;
constexpr size_t kPacketHeader = 4;
constexpr uint8_t kProtocol10 = 10;
void check(bool ok) {
  if (!ok) {
    std::abort();
  }
}
}  // namespace

// libFuzzer fixes the name.
extern "C" int LLVMFuzzerTestOneInput(  // NOLINT(readability-identifier-naming)
    const uint8_t* data, size_t size) {
  const std::span<const uint8_t> input(data, size);
  const auto whole = checks::judgeMysqlGreeting(input);
  for (size_t cut = 0; cut < size; ++cut) {
    const auto part = checks::judgeMysqlGreeting(input.first(cut));
    if (part.done()) {
      check(part.verdict == whole.verdict && part.reason == whole.reason);
      break;
    }
  }
  if (whole.verdict == checks::Verdict::kHealthy) {
    check(size > kPacketHeader && data[3] == 0 && data[kPacketHeader] == kProtocol10);
  }
  return 0;
}
