// src/l7/retry_policy.h — the pieces of a pool's `retries:` policy that do not depend on a
// connection: which methods are safe to send twice, which statuses and gRPC answers are retried,
// how long to wait before the next try. The upstream connectors (h1_upstream, h2_upstream) apply
// them.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include "config/retry_types.h"
#include "proto/http1/message.h"

namespace ballast::l7 {

// RFC 9110 §9.2.2: GET, HEAD, OPTIONS, TRACE, PUT and DELETE may be sent twice.
bool idempotentMethod(std::string_view method);

// The retry reason a final status stands for (502, 503, 504), else nullopt.
std::optional<config::RetryReason> retryReasonForStatus(uint16_t status);

// The retry reason a gRPC call's final response head stands for: a trailers-only answer
// (grpc-status among the head's fields) with grpc-status 14, UNAVAILABLE (kGrpcUnavailable);
// else nullopt. The caller checks that the
// request was a gRPC one (content-type application/grpc…).
std::optional<config::RetryReason> retryReasonForGrpcHead(
    std::span<const proto::http1::Header> fields);

// The reason's name in logs and metrics labels ("connect_failure", "503").
std::string_view retryReasonName(config::RetryReason reason);

// The wait before retry number `retry` (1 for the first): base × 2^(retry-1), capped at max, then
// jittered to between half and all of it with `random` (any 64-bit value), so retries of many
// requests that failed together do not arrive together.
uint64_t retryBackoffMs(const config::RetryPolicy& policy, uint32_t retry, uint64_t random);

}  // namespace ballast::l7
