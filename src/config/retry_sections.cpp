// src/config/retry_sections.cpp — a pool's `retries:` mapping: how many tries, on which failures,
// how long each may wait, the backoff between them and the budget that caps them.
#include <array>
#include <string>
#include <string_view>

#include "config/limits.h"
#include "config/sections.h"
#include "config/units.h"

namespace ballast::config {
namespace {

using namespace std::string_view_literals;

constexpr std::array kRetryKeys = {"attempts"sv,
                                   "on"sv,
                                   "per_try_timeout"sv,
                                   "backoff"sv,
                                   "budget"sv,
                                   "min_concurrency"sv,
                                   "retry_non_idempotent"sv,
                                   "retry_buffer"sv};
constexpr std::array kRetryBackoffKeys = {"base"sv, "max"sv};
constexpr double kPercent = 100.0;
constexpr double kHalf = 0.5;

constexpr std::array<Choice<RetryReason>, kRetryReasons> kReasons = {{
    {"connect_failure", RetryReason::kConnectFailure},
    {"reset", RetryReason::kReset},
    {"timeout", RetryReason::kTimeout},
    {"502", RetryReason::k502},
    {"503", RetryReason::k503},
    {"504", RetryReason::k504},
    {"grpc_unavailable", RetryReason::kGrpcUnavailable},
}};

void readReasons(FileReader& file, const Field& field, RetryPolicy& policy) {
  uint32_t on = 0;
  for (const Field& item : listItems(file, field, "retry reason")) {
    if (const auto r = readChoice<RetryReason>(file, item, kReasons)) {
      on |= retryBit(*r);
    }
  }
  policy.on = on;
}

void readRetryBackoff(FileReader& file, const Field& field, RetryPolicy& policy) {
  const MapReader map(file, field, "backoff", kRetryBackoffKeys);
  if (!map.ok()) {
    return;
  }
  if (const Field* f = map.find("base")) {
    assign(policy.backoff_base, readDuration(file, *f, /*positive=*/false));
  }
  if (const Field* f = map.find("max")) {
    const auto max = readDuration(file, *f, /*positive=*/false);
    if (max && *max < policy.backoff_base) {
      file.error(f->valueMark(), "max: backoff limit " + formatDuration(*max) +
                                     " is shorter than base " +
                                     formatDuration(policy.backoff_base));
    } else {
      assign(policy.backoff_max, max);
    }
  }
}

}  // namespace

void readRetries(FileReader& file, const Field& field, RetryPolicy& policy) {
  const MapReader map(file, field, "retries", kRetryKeys);
  if (!map.ok()) {
    return;
  }
  policy.enabled = true;
  if (const Field* f = map.find("attempts")) {
    assign(policy.attempts, readUnsigned(file, *f, 1, kMaxRetryAttempts));
  }
  if (const Field* f = map.find("on")) {
    readReasons(file, *f, policy);
  }
  if (const Field* f = map.find("per_try_timeout")) {
    assign(policy.per_try_timeout, readDuration(file, *f, /*positive=*/true));
  }
  if (const Field* f = map.find("backoff")) {
    readRetryBackoff(file, *f, policy);
  }
  if (const Field* f = map.find("budget")) {
    if (const auto share = readFraction(file, *f, 1.0)) {
      policy.budget_percent = static_cast<uint32_t>(*share * kPercent + kHalf);
    }
  }
  if (const Field* f = map.find("min_concurrency")) {
    assign(policy.min_concurrency, readUnsigned(file, *f, 0, kMaxRetryMinConcurrency));
  }
  if (const Field* f = map.find("retry_non_idempotent")) {
    assign(policy.non_idempotent, readBool(file, *f));
  }
  if (const Field* f = map.find("retry_buffer")) {
    assign(policy.buffer_bytes, readSize(file, *f, 0, kMaxRetryBufferBytes));
  }
}

}  // namespace ballast::config
