// tests/fuzz/grpc_timeout_fuzz.cpp — libFuzzer target for the grpc-timeout and grpc-status
// parsers. Beyond "no crash": an accepted timeout is at most 8 digits and a unit, and the value
// never exceeds the largest one the grammar allows (99,999,999 hours).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "proto/grpc/grpc_fields.h"

namespace {

void check(bool ok) {
  if (!ok) {
    std::abort();
  }
}

constexpr uint64_t kLargestMs = 99999999ULL * 3600 * 1000;

}  // namespace

// libFuzzer fixes the name.
extern "C" int LLVMFuzzerTestOneInput(  // NOLINT(readability-identifier-naming)
    const uint8_t* data, size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  if (const auto ms = ballast::proto::grpc::parseTimeoutMs(in)) {
    check(in.size() >= 2 && in.size() <= ballast::proto::grpc::kMaxTimeoutDigits + 1);
    check(*ms <= kLargestMs);
  }
  if (const auto code = ballast::proto::grpc::parseStatus(in)) {
    check(*code < 1000);
  }
  (void)ballast::proto::grpc::isGrpcContentType(in);
  return 0;
}
