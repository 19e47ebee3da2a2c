// src/config/circuit_sections.cpp — a pool's `circuit_breaker:` mapping: the admission limits
// (connections, requests, pending requests and their wait, retries) and the per-backend breaker
// (failure threshold, recovery time, half-open probes).
#include <array>
#include <string_view>

#include "config/limits.h"
#include "config/sections.h"
#include "config/units.h"

namespace ballast::config {
namespace {

using namespace std::string_view_literals;

constexpr std::array kCircuitKeys = {
    "max_connections"sv, "max_requests"sv,      "max_pending"sv,      "queue_timeout"sv,
    "max_retries"sv,     "failure_threshold"sv, "recovery_timeout"sv, "half_open_requests"sv};

}  // namespace

void readCircuitBreaker(FileReader& file, const Field& field, CircuitBreaker& breaker) {
  const MapReader map(file, field, "circuit_breaker", kCircuitKeys);
  if (!map.ok()) {
    return;
  }
  breaker.enabled = true;
  const auto limit = [&](std::string_view key, uint32_t& out) {
    if (const Field* f = map.find(key)) {
      assign(out, readUnsigned(file, *f, 0, kMaxCircuitLimit));
    }
  };
  limit("max_connections", breaker.max_connections);
  limit("max_requests", breaker.max_requests);
  limit("max_pending", breaker.max_pending);
  limit("max_retries", breaker.max_retries);
  if (const Field* f = map.find("queue_timeout")) {
    assign(breaker.queue_timeout, readDuration(file, *f, /*positive=*/true));
  }
  if (const Field* f = map.find("failure_threshold")) {
    assign(breaker.failure_threshold, readUnsigned(file, *f, 0, kMaxFailureThreshold));
  }
  if (const Field* f = map.find("recovery_timeout")) {
    assign(breaker.recovery_timeout, readDuration(file, *f, /*positive=*/true));
  }
  if (const Field* f = map.find("half_open_requests")) {
    assign(breaker.half_open_requests, readUnsigned(file, *f, 1, kMaxHalfOpenRequests));
  }
}

}  // namespace ballast::config
