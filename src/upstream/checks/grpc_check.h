// src/upstream/checks/grpc_check.h — a gRPC health check: grpc.health.v1.Health/Check over h2c
// (HTTP/2 with prior knowledge), framed by nghttp2 in memory; healthy when the call ends with
// grpc-status 0 and the answer says SERVING. The two protobuf messages are one field each, so
// they are written and read by hand.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "upstream/checks/check_conversation.h"

namespace ballast::upstream::checks {

inline constexpr std::string_view kGrpcHealthPath = "/grpc.health.v1.Health/Check";

// grpc.health.v1.HealthCheckResponse.ServingStatus.
enum class ServingStatus : uint8_t { kUnknown = 0, kServing = 1, kNotServing = 2, kServiceUnknown };

// One length-prefixed gRPC message (uncompressed) holding HealthCheckRequest{service}.
std::string grpcHealthRequest(std::string_view service);

// The status in the response's gRPC message (the 5-byte prefix and HealthCheckResponse), unknown
// fields skipped; nullopt when the bytes are not one uncompressed, well-formed message.
std::optional<uint32_t> parseGrpcHealthResponse(std::span<const uint8_t> message);

// The name of a serving status, for the check's reason.
std::string_view servingStatusName(uint32_t status);

// `authority` is the request's :authority (the backend's address).
std::unique_ptr<CheckConversation> makeGrpcConversation(const config::HealthCheck& check,
                                                        const std::string& authority);

}  // namespace ballast::upstream::checks
