// tests/fuzz/postgres_reply_fuzz.cpp — libFuzzer target for the postgres health check's reply
// parser. Beyond "no crash": a verdict rests on the bytes it has seen, so more bytes after a
// verdict never change it, and a healthy verdict only ever follows an 'R' or 'Z' message.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>

#include "upstream/checks/postgres_check.h"

namespace {
namespace checks = ballast::upstream::checks;
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
  const auto whole = checks::judgePostgresReply(input);
  for (size_t cut = 0; cut < size; ++cut) {
    const auto part = checks::judgePostgresReply(input.first(cut));
    if (part.done()) {
      check(part.verdict == whole.verdict && part.reason == whole.reason);
      break;
    }
  }
  if (whole.verdict == checks::Verdict::kHealthy) {
    check(size > 0 && (data[0] == 'R' || data[0] == 'Z'));
  }
  return 0;
}
