// src/upstream/checks/mysql_check.cpp — packet layout from the MySQL client/server protocol
// docs ("Protocol::HandshakeV10", "ERR_Packet"): a 3-byte little-endian length, a sequence id,
// then the payload.
#include "upstream/checks/mysql_check.h"

#include <algorithm>

namespace ballast::upstream::checks {
namespace {

constexpr size_t kPacketHeader = 4;
constexpr uint32_t kMaxGreeting = 16 * 1024;  // real greetings are under 128 bytes
constexpr uint8_t kProtocol10 = 10;
constexpr uint8_t kErrorPacket = 0xff;
constexpr size_t kErrorCodeBytes = 2;
constexpr size_t kSqlStateBytes = 6;  // '#' and five characters
// After the version string: thread id (4), auth data part 1 (8), a zero filler (1).
constexpr size_t kAfterVersion = 4 + 8;
constexpr size_t kMaxVersionShown = 64;
constexpr int kByteBits = 8;

std::string printable(std::span<const uint8_t> bytes) {
  std::string out;
  for (uint8_t b : bytes.first(std::min(bytes.size(), kMaxVersionShown))) {
    out.push_back(b >= ' ' && b < 0x7f ? static_cast<char>(b) : '?');
  }
  return out;
}

class MysqlConversation final : public CheckConversation {
 public:
  Judgement start(std::string& /*out*/) override { return Judgement::needMore(); }
  Judgement onBytes(std::span<const uint8_t> in, std::string& /*out*/) override {
    if (!appendBounded(reply_, in)) {
      return Judgement::unhealthy("greeting too long");
    }
    return judgeMysqlGreeting({reinterpret_cast<const uint8_t*>(reply_.data()), reply_.size()});
  }

 private:
  std::string reply_;
};

}  // namespace

Judgement judgeMysqlGreeting(std::span<const uint8_t> reply) {
  if (reply.size() < kPacketHeader) {
    return Judgement::needMore();
  }
  const uint32_t length = uint32_t{reply[0]} | (uint32_t{reply[1]} << kByteBits) |
                          (uint32_t{reply[2]} << (2 * kByteBits));
  if (reply[3] != 0 || length == 0 || length > kMaxGreeting) {
    return Judgement::unhealthy("not a MySQL greeting");
  }
  if (reply.size() < kPacketHeader + length) {
    return Judgement::needMore();
  }
  const auto payload = reply.subspan(kPacketHeader, length);
  if (payload[0] == kErrorPacket) {
    if (payload.size() < 1 + kErrorCodeBytes) {
      return Judgement::unhealthy("malformed error packet");
    }
    const unsigned code = payload[1] | (unsigned{payload[2]} << kByteBits);
    auto message = payload.subspan(1 + kErrorCodeBytes);
    if (!message.empty() && message[0] == '#' && message.size() >= kSqlStateBytes) {
      message = message.subspan(kSqlStateBytes);
    }
    return Judgement::unhealthy("error " + std::to_string(code) + ": " + printable(message));
  }
  if (payload[0] != kProtocol10) {
    return Judgement::unhealthy("unsupported protocol version " + std::to_string(payload[0]));
  }
  const auto rest = payload.subspan(1);
  const auto nul = std::find(rest.begin(), rest.end(), uint8_t{0});
  if (nul == rest.end()) {
    return Judgement::unhealthy("greeting without a version string");
  }
  const auto version_len = static_cast<size_t>(nul - rest.begin());
  const auto after = rest.subspan(version_len + 1);
  if (after.size() < kAfterVersion + 1 || after[kAfterVersion] != 0) {
    return Judgement::unhealthy("truncated greeting");
  }
  return Judgement::healthy("greeting from " + printable(rest.first(version_len)));
}

std::unique_ptr<CheckConversation> makeMysqlConversation() {
  return std::make_unique<MysqlConversation>();
}

}  // namespace ballast::upstream::checks
