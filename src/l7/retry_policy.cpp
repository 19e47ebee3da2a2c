// src/l7/retry_policy.cpp — idempotent methods, retried statuses and gRPC answers, and the
// backoff schedule.
#include "l7/retry_policy.h"

#include <algorithm>
#include <array>

#include "proto/grpc/grpc_fields.h"
#include "proto/http1/syntax.h"

namespace ballast::l7 {
namespace {

constexpr uint16_t kBadGateway = 502;
constexpr uint16_t kUnavailable = 503;
constexpr uint16_t kGatewayTimeout = 504;
constexpr uint32_t kMaxDoublings = 20;  // beyond this the cap has long been reached

constexpr std::array<std::string_view, 6> kIdempotent = {"GET",   "HEAD", "OPTIONS",
                                                         "TRACE", "PUT",  "DELETE"};
constexpr std::array<std::string_view, config::kRetryReasons> kReasonNames = {
    "connect_failure", "reset", "timeout", "502", "503", "504", "grpc_unavailable"};

}  // namespace

bool idempotentMethod(std::string_view method) {
  return std::any_of(kIdempotent.begin(), kIdempotent.end(),
                     [&](std::string_view m) { return m == method; });
}

std::optional<config::RetryReason> retryReasonForStatus(uint16_t status) {
  switch (status) {
    case kBadGateway:
      return config::RetryReason::k502;
    case kUnavailable:
      return config::RetryReason::k503;
    case kGatewayTimeout:
      return config::RetryReason::k504;
    default:
      return std::nullopt;
  }
}

std::optional<config::RetryReason> retryReasonForGrpcHead(
    std::span<const proto::http1::Header> fields) {
  for (const auto& f : fields) {
    if (proto::http1::equalsIgnoreCase(f.name, "grpc-status")) {
      const auto code = proto::grpc::parseStatus(f.value);
      if (code && *code == proto::grpc::kUnavailable) {
        return config::RetryReason::kGrpcUnavailable;
      }
      return std::nullopt;
    }
  }
  return std::nullopt;
}

std::string_view retryReasonName(config::RetryReason reason) {
  return kReasonNames[static_cast<size_t>(reason)];
}

uint64_t retryBackoffMs(const config::RetryPolicy& policy, uint32_t retry, uint64_t random) {
  const auto base = static_cast<uint64_t>(policy.backoff_base.count());
  const auto max = static_cast<uint64_t>(policy.backoff_max.count());
  if (base == 0 || retry == 0) {
    return 0;
  }
  const uint32_t doublings = std::min(retry - 1, kMaxDoublings);
  const uint64_t full = std::min(base << doublings, max);
  const uint64_t half = full / 2;
  return half + (full - half == 0 ? 0 : random % (full - half + 1));
}

}  // namespace ballast::l7
