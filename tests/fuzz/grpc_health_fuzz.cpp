// tests/fuzz/grpc_health_fuzz.cpp — libFuzzer target for the gRPC health check: the
// HealthCheckResponse reader on the raw bytes, and the whole conversation (nghttp2 client
// session) fed the bytes as a backend's answer, in two parts. Beyond "no crash": a status is
// read only from an uncompressed message, and a healthy verdict only says SERVING.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <string>

#include "upstream/checks/grpc_check.h"

namespace {
namespace checks = ballast::upstream::checks;
void check(bool ok) {
  if (!ok) {
    std::abort();
  }
}
constexpr size_t kPrefixBytes = 5;
}  // namespace

// libFuzzer fixes the name.
extern "C" int LLVMFuzzerTestOneInput(  // NOLINT(readability-identifier-naming)
    const uint8_t* data, size_t size) {
  const std::span<const uint8_t> input(data, size);
  if (checks::parseGrpcHealthResponse(input)) {
    check(size >= kPrefixBytes && data[0] == 0);
  }
  ballast::config::HealthCheck hc;
  hc.type = ballast::config::HealthCheckType::kGrpc;
  hc.service = "fuzz";
  auto conv = checks::makeGrpcConversation(hc, "127.0.0.1:50051");
  std::string out;
  auto j = conv->start(out);
  check(!j.done() && !out.empty());
  // Fed in two parts, as a socket may deliver it.
  const size_t half = size / 2;
  j = conv->onBytes(input.first(half), out);
  if (!j.done()) {
    j = conv->onBytes(input.subspan(half), out);
  }
  if (j.verdict == checks::Verdict::kHealthy) {
    check(j.reason == "SERVING");
  }
  return 0;
}
