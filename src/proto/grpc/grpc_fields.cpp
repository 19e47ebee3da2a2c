// src/proto/grpc/grpc_fields.cpp — grpc-timeout and grpc-status parsing.
#include "proto/grpc/grpc_fields.h"

#include <array>

namespace ballast::proto::grpc {
namespace {

constexpr uint64_t kMsPerSecond = 1000;
constexpr uint64_t kSecondsPerMinute = 60;
constexpr uint64_t kMinutesPerHour = 60;
constexpr uint64_t kMicrosPerMs = 1000;
constexpr uint64_t kNanosPerMs = 1000 * 1000;
constexpr size_t kMaxStatusDigits = 3;
constexpr uint64_t kDecimal = 10;

bool isDigit(char c) { return c >= '0' && c <= '9'; }

uint64_t ceilDiv(uint64_t n, uint64_t d) { return n / d + (n % d != 0 ? 1 : 0); }

}  // namespace

bool isGrpcContentType(std::string_view content_type) {
  constexpr std::string_view kGrpc = "application/grpc";
  if (content_type.size() < kGrpc.size()) {
    return false;
  }
  for (size_t i = 0; i < kGrpc.size(); ++i) {
    char c = content_type[i];
    if (c >= 'A' && c <= 'Z') {
      c = static_cast<char>(c - 'A' + 'a');
    }
    if (c != kGrpc[i]) {
      return false;
    }
  }
  if (content_type.size() == kGrpc.size()) {
    return true;
  }
  const char next = content_type[kGrpc.size()];
  return next == '+' || next == ';';
}

std::optional<uint64_t> parseTimeoutMs(std::string_view value) {
  if (value.size() < 2 || value.size() > kMaxTimeoutDigits + 1) {
    return std::nullopt;
  }
  uint64_t n = 0;  // at most 99,999,999: no overflow below
  for (const char c : value.substr(0, value.size() - 1)) {
    if (!isDigit(c)) {
      return std::nullopt;
    }
    n = n * kDecimal + static_cast<uint64_t>(c - '0');
  }
  switch (value.back()) {
    case 'H':
      return n * kMinutesPerHour * kSecondsPerMinute * kMsPerSecond;
    case 'M':
      return n * kSecondsPerMinute * kMsPerSecond;
    case 'S':
      return n * kMsPerSecond;
    case 'm':
      return n;
    case 'u':
      return ceilDiv(n, kMicrosPerMs);
    case 'n':
      return ceilDiv(n, kNanosPerMs);
    default:
      return std::nullopt;
  }
}

std::string_view statusName(uint32_t code) {
  constexpr std::array<std::string_view, kStatusCodes> kNames = {"OK",
                                                                 "CANCELLED",
                                                                 "UNKNOWN",
                                                                 "INVALID_ARGUMENT",
                                                                 "DEADLINE_EXCEEDED",
                                                                 "NOT_FOUND",
                                                                 "ALREADY_EXISTS",
                                                                 "PERMISSION_DENIED",
                                                                 "RESOURCE_EXHAUSTED",
                                                                 "FAILED_PRECONDITION",
                                                                 "ABORTED",
                                                                 "OUT_OF_RANGE",
                                                                 "UNIMPLEMENTED",
                                                                 "INTERNAL",
                                                                 "UNAVAILABLE",
                                                                 "DATA_LOSS",
                                                                 "UNAUTHENTICATED"};
  return code < kNames.size() ? kNames[code] : std::string_view("OTHER");
}

std::optional<uint32_t> parseStatus(std::string_view value) {
  if (value.empty() || value.size() > kMaxStatusDigits) {
    return std::nullopt;
  }
  uint32_t n = 0;
  for (const char c : value) {
    if (!isDigit(c)) {
      return std::nullopt;
    }
    n = n * kDecimal + static_cast<uint32_t>(c - '0');
  }
  return n;
}

}  // namespace ballast::proto::grpc
