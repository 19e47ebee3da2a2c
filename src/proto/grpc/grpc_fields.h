// src/proto/grpc/grpc_fields.h — the gRPC-over-HTTP/2 header fields the proxy reads
// (PROTOCOL-HTTP2.md of grpc/grpc): the request's grpc-timeout and the response's grpc-status.
// Pure functions over text; no sockets, no allocation.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace ballast::proto::grpc {

// grpc-timeout's value: 1 to 8 ASCII digits, then one unit.
inline constexpr size_t kMaxTimeoutDigits = 8;
// grpc-status codes 0 (OK) … 16 (UNAUTHENTICATED); others are counted apart.
inline constexpr uint32_t kStatusCodes = 17;
inline constexpr uint32_t kDeadlineExceeded = 4;
inline constexpr uint32_t kInternal = 13;
inline constexpr uint32_t kUnavailable = 14;

// A content-type of application/grpc, alone or with a suffix (+proto, +json) or parameters.
bool isGrpcContentType(std::string_view content_type);

// grpc-timeout = TimeoutValue TimeoutUnit, the unit one of H M S m u n (hours, minutes,
// seconds, milli-, micro-, nanoseconds). The value in milliseconds, rounded up so a deadline
// never fires early (a nonzero sub-millisecond timeout is 1 ms). nullopt: malformed (empty,
// more than 8 digits, a sign, spaces, an unknown unit).
std::optional<uint64_t> parseTimeoutMs(std::string_view value);

// grpc-status: a decimal code of 1 to 3 digits. nullopt: not a number. Codes above 16 are
// returned as they are (the caller buckets them).
std::optional<uint32_t> parseStatus(std::string_view value);

// The canonical name of a code (OK, CANCELLED, … UNAUTHENTICATED); "OTHER" above 16.
std::string_view statusName(uint32_t code);

}  // namespace ballast::proto::grpc
