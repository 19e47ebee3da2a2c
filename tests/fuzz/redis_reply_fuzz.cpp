// tests/fuzz/redis_reply_fuzz.cpp — libFuzzer target for the redis health check's RESP reader.
// The first byte picks whether AUTH and ROLE were sent. Beyond "no crash" (deep nesting, huge
// counts): a verdict unchanged by later bytes, and healthy only when +PONG is among the bytes.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <string_view>

#include "upstream/checks/redis_check.h"

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
  if (size == 0) {
    return 0;
  }
  const bool auth = (data[0] & 1U) != 0;
  const bool role = (data[0] & 2U) != 0;
  const std::span<const uint8_t> input(data + 1, size - 1);
  const auto whole = checks::judgeRedisReplies(input, auth, role);
  for (size_t cut = 0; cut < input.size(); ++cut) {
    const auto part = checks::judgeRedisReplies(input.first(cut), auth, role);
    if (part.done()) {
      check(part.verdict == whole.verdict && part.reason == whole.reason);
      break;
    }
  }
  if (whole.verdict == checks::Verdict::kHealthy) {
    const std::string_view text(reinterpret_cast<const char*>(input.data()), input.size());
    check(text.find("+PONG\r\n") != std::string_view::npos);
  }
  return 0;
}
