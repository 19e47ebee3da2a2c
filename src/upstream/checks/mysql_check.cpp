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
constexpr size_t kLengthBytes = 3;
// CLIENT_LONG_PASSWORD | CLIENT_PROTOCOL_41 | CLIENT_SECURE_CONNECTION: the oldest login every
// server since 4.1 takes.
constexpr uint32_t kClientCapabilities = 0x0001U | 0x0200U | 0x8000U;
constexpr uint32_t kMaxPacket = 16U * 1024 * 1024;
constexpr uint8_t kCharsetUtf8 = 0x21;  // utf8_general_ci
constexpr size_t kReservedBytes = 23;
constexpr uint8_t kComQuit = 0x01;

std::string printable(std::span<const uint8_t> bytes) {
  std::string out;
  for (uint8_t b : bytes.first(std::min(bytes.size(), kMaxVersionShown))) {
    out.push_back(b >= ' ' && b < 0x7f ? static_cast<char>(b) : '?');
  }
  return out;
}

class MysqlConversation final : public CheckConversation {
 public:
  explicit MysqlConversation(std::string user) : user_(std::move(user)) {}
  Judgement start(std::string& /*out*/) override { return Judgement::needMore(); }
  Judgement onBytes(std::span<const uint8_t> in, std::string& out) override {
    if (greeting_.done()) {
      return greeting_;  // the login's answer: the session is over, the verdict stands
    }
    if (!appendBounded(reply_, in)) {
      return Judgement::unhealthy("greeting too long");
    }
    auto j = judgeMysqlGreeting({reinterpret_cast<const uint8_t*>(reply_.data()), reply_.size()});
    if (j.verdict != Verdict::kHealthy || user_.empty()) {
      return j;
    }
    greeting_ = std::move(j);
    out += mysqlLoginAndQuit(user_);
    return Judgement::needMore();
  }
  Judgement onEnd(int err) override {
    // The server closes after COM_QUIT (or after refusing the login): a clean end.
    return greeting_.done() ? greeting_ : CheckConversation::onEnd(err);
  }

 private:
  std::string user_;
  std::string reply_;
  Judgement greeting_;
};

void putLe(std::string& out, uint32_t v, size_t bytes) {
  for (size_t i = 0; i < bytes; ++i) {
    out.push_back(static_cast<char>((v >> (kByteBits * i)) & 0xffU));
  }
}

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

std::string mysqlLoginAndQuit(const std::string& user) {
  std::string payload;
  putLe(payload, kClientCapabilities, sizeof(uint32_t));
  putLe(payload, kMaxPacket, sizeof(uint32_t));
  payload.push_back(static_cast<char>(kCharsetUtf8));
  payload.append(kReservedBytes, '\0');
  payload += user;
  payload.push_back('\0');
  payload.push_back('\0');  // auth response length: an empty password
  std::string out;
  putLe(out, static_cast<uint32_t>(payload.size()), kLengthBytes);
  out.push_back(1);  // sequence id: the answer to the greeting (0)
  out += payload;
  putLe(out, 1, kLengthBytes);
  out.push_back(0);  // a new command starts at sequence 0
  out.push_back(static_cast<char>(kComQuit));
  return out;
}

std::unique_ptr<CheckConversation> makeMysqlConversation(const config::HealthCheck& check) {
  return std::make_unique<MysqlConversation>(check.user);
}

}  // namespace ballast::upstream::checks
