// src/upstream/checks/postgres_check.cpp — protocol 3.0 as in the PostgreSQL docs, "Message
// Formats": a type byte, then a big-endian length that counts itself but not the type byte.
#include "upstream/checks/postgres_check.h"

#include <array>
#include <cstdio>

namespace ballast::upstream::checks {
namespace {

constexpr uint32_t kProtocol30 = 196608;  // 3 << 16
constexpr size_t kHeaderBytes = 5;        // type + length
constexpr uint32_t kMinLength = 4;
constexpr uint32_t kMaxErrorLength = 16 * 1024;  // servers send a few hundred bytes at most
constexpr uint32_t kAuthLength = 8;              // length + auth code, for the simplest ones
constexpr uint32_t kMaxAuthLength = 2048;        // SASL lists its mechanisms
constexpr uint32_t kReadyLength = 5;
constexpr int kByteBits = 8;
constexpr const char* kDefaultUser = "postgres";

void putU32(std::string& out, uint32_t v) {
  for (int shift = 3 * kByteBits; shift >= 0; shift -= kByteBits) {
    out.push_back(static_cast<char>((v >> shift) & 0xffU));
  }
}

uint32_t getU32(std::span<const uint8_t> b) {
  return (uint32_t{b[0]} << (3 * kByteBits)) | (uint32_t{b[1]} << (2 * kByteBits)) |
         (uint32_t{b[2]} << kByteBits) | uint32_t{b[3]};
}

std::string authName(uint32_t code) {
  switch (code) {
    case 0:
      return "authentication ok";
    case 3:  // NOLINT(readability-magic-numbers): protocol codes, named in the strings
      return "password requested";
    case 5:  // NOLINT(readability-magic-numbers)
      return "MD5 password requested";
    case 10:  // NOLINT(readability-magic-numbers)
      return "SASL authentication requested";
    default:
      return "authentication request " + std::to_string(code);
  }
}

// "severity code: message" from an ErrorResponse body (fields: a type byte, a C string).
std::string errorText(std::span<const uint8_t> body) {
  std::string code;
  std::string message;
  size_t i = 0;
  while (i < body.size() && body[i] != 0) {
    const uint8_t field = body[i++];
    std::string value;
    while (i < body.size() && body[i] != 0) {
      value.push_back(static_cast<char>(body[i++]));
    }
    ++i;  // the terminator
    if (field == 'C') {
      code = value;
    } else if (field == 'M') {
      message = value;
    }
  }
  if (message.empty()) {
    return "error response";
  }
  return "error " + (code.empty() ? std::string("response") : code) + ": " + message;
}

class PostgresConversation final : public CheckConversation {
 public:
  explicit PostgresConversation(const config::HealthCheck& c)
      : startup_(postgresStartupMessage(c.user.empty() ? kDefaultUser : c.user, c.database)) {}
  Judgement start(std::string& out) override {
    out += startup_;
    return Judgement::needMore();
  }
  Judgement onBytes(std::span<const uint8_t> in, std::string& /*out*/) override {
    if (!appendBounded(reply_, in)) {
      return Judgement::unhealthy("reply too long");
    }
    return judgePostgresReply({reinterpret_cast<const uint8_t*>(reply_.data()), reply_.size()});
  }

 private:
  std::string startup_;
  std::string reply_;
};

}  // namespace

std::string postgresStartupMessage(const std::string& user, const std::string& database) {
  std::string body;
  putU32(body, kProtocol30);
  body += "user";
  body.push_back('\0');
  body += user;
  body.push_back('\0');
  if (!database.empty()) {
    body += "database";
    body.push_back('\0');
    body += database;
    body.push_back('\0');
  }
  body += "application_name";
  body.push_back('\0');
  body += "ballast-health-check";
  body.push_back('\0');
  body.push_back('\0');
  std::string out;
  putU32(out, static_cast<uint32_t>(body.size() + sizeof(uint32_t)));
  return out + body;
}

Judgement judgePostgresReply(std::span<const uint8_t> reply) {
  if (reply.size() < kHeaderBytes) {
    return Judgement::needMore();
  }
  const uint8_t type = reply[0];
  const uint32_t length = getU32(reply.subspan(1));
  switch (type) {
    case 'R': {
      if (length < kAuthLength || length > kMaxAuthLength) {
        return Judgement::unhealthy("malformed authentication request");
      }
      if (reply.size() < kHeaderBytes + sizeof(uint32_t)) {
        return Judgement::needMore();
      }
      return Judgement::healthy(authName(getU32(reply.subspan(kHeaderBytes))));
    }
    case 'Z':
      return length == kReadyLength ? Judgement::healthy("ready for query")
                                    : Judgement::unhealthy("malformed ReadyForQuery");
    case 'E': {
      if (length < kMinLength || length > kMaxErrorLength) {
        return Judgement::unhealthy("malformed error response");
      }
      if (reply.size() < 1 + length) {
        return Judgement::needMore();
      }
      return Judgement::unhealthy(errorText(reply.subspan(kHeaderBytes, length - kMinLength)));
    }
    default: {
      std::array<char, sizeof("not PostgreSQL: first byte 0xff")> text{};
      snprintf(text.data(), text.size(), "not PostgreSQL: first byte 0x%02x", type);
      return Judgement::unhealthy(text.data());
    }
  }
}

std::unique_ptr<CheckConversation> makePostgresConversation(const config::HealthCheck& check) {
  return std::make_unique<PostgresConversation>(check);
}

}  // namespace ballast::upstream::checks
