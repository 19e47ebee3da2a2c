// tests/fuzz/send_expect_reply_fuzz.cpp — libFuzzer target for the send_expect check's reply
// judge, with a fixed string and a fixed RE2 regex. Beyond "no crash": the regex and the string
// agree with a plain search, and a final verdict is never "need more".
#include <re2/re2.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "upstream/checks/send_expect_check.h"

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
  static const re2::RE2 kRegex("^\\+OK [0-9]+\\r?$", re2::RE2::Quiet);
  const std::string_view reply(reinterpret_cast<const char*>(data), size);
  const std::string expect = "PONG";
  const auto by_string = checks::judgeExpected(reply, expect, nullptr, /*final=*/true);
  check(by_string.done());
  check((by_string.verdict == checks::Verdict::kHealthy) ==
        (reply.find(expect) != std::string_view::npos));
  const auto by_regex = checks::judgeExpected(reply, "", &kRegex, /*final=*/false);
  check(by_regex.verdict != checks::Verdict::kUnhealthy);
  return 0;
}
