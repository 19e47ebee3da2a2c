// tests/fuzz/dns_answer_fuzz.cpp — libFuzzer target for the dns health check's answer reader.
// The first two bytes are the id asked. Beyond "no crash": healthy only on a response with that
// id and RCODE 0, and never a "need more" (a datagram is whole).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>

#include "upstream/checks/dns_check.h"

namespace {
namespace checks = ballast::upstream::checks;
constexpr size_t kIdBytes = 2;
constexpr size_t kHeaderBytes = 12;
constexpr uint8_t kQrBit = 0x80;
constexpr uint8_t kRcodeMask = 0x0f;
constexpr int kByteBits = 8;
void check(bool ok) {
  if (!ok) {
    std::abort();
  }
}
}  // namespace

// libFuzzer fixes the name.
extern "C" int LLVMFuzzerTestOneInput(  // NOLINT(readability-identifier-naming)
    const uint8_t* data, size_t size) {
  if (size < kIdBytes) {
    return 0;
  }
  const auto id = static_cast<uint16_t>((data[0] << kByteBits) | data[1]);
  const std::span<const uint8_t> answer(data + kIdBytes, size - kIdBytes);
  const auto j = checks::judgeDnsAnswer(answer, id);
  check(j.done());
  if (j.verdict == checks::Verdict::kHealthy) {
    check(answer.size() >= kHeaderBytes && answer[0] == data[0] && answer[1] == data[1] &&
          (answer[2] & kQrBit) != 0 && (answer[3] & kRcodeMask) == 0);
  }
  return 0;
}
