// src/upstream/checks/check_conversation.h — what one health check says over one connection:
// the bytes it sends and its verdict on the bytes it gets back. A conversation never touches a
// socket, so each protocol is a small parser the unit tests and fuzzers drive directly.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "config/config_types.h"

namespace ballast::upstream::checks {

enum class Verdict : uint8_t { kNeedMore, kHealthy, kUnhealthy };

struct Judgement {
  Verdict verdict = Verdict::kNeedMore;
  std::string reason;  // why, in a few words, for logs and the admin API

  static Judgement needMore() { return {}; }
  static Judgement healthy(std::string why) { return {Verdict::kHealthy, std::move(why)}; }
  static Judgement unhealthy(std::string why) { return {Verdict::kUnhealthy, std::move(why)}; }
  bool done() const { return verdict != Verdict::kNeedMore; }
};

// A reply is judged on at most this many bytes: past it, the peer is not the server we expect.
constexpr size_t kMaxReplyBytes = 64 * 1024;

class CheckConversation {
 public:
  virtual ~CheckConversation() = default;
  // Once connected: bytes to send first, appended to `out` (maybe none). A verdict ends the
  // check (a plain TCP check is healthy here).
  virtual Judgement start(std::string& out) = 0;
  // Bytes from the peer; may append more to send.
  virtual Judgement onBytes(std::span<const uint8_t> in, std::string& out) = 0;
  // The peer closed (err 0) or the connection failed (errno) before a verdict.
  virtual Judgement onEnd(int err);
};

// The conversation `check` holds with a backend; `backend_name` is the Host of HTTP checks when
// none is configured. nullptr for types that do not talk over a socket (none, exec).
std::unique_ptr<CheckConversation> makeConversation(const config::HealthCheck& check,
                                                    const std::string& backend_name,
                                                    uint64_t random);

// Whether the check talks over a datagram socket.
bool usesUdp(const config::HealthCheck& check);

// Bytes appended to `buffer` up to kMaxReplyBytes; false when they did not all fit.
bool appendBounded(std::string& buffer, std::span<const uint8_t> in);

}  // namespace ballast::upstream::checks
