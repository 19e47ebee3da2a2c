// src/upstream/checks/redis_check.cpp — just enough RESP2 to read the three replies: simple
// strings, errors, integers, bulk strings and (for ROLE) arrays, skipped past their first item.
#include "upstream/checks/redis_check.h"

#include <charconv>
#include <optional>
#include <string_view>

namespace ballast::upstream::checks {
namespace {

constexpr int kMaxDepth = 4;             // ROLE nests two levels
constexpr int64_t kMaxItems = 4096;      // replicas listed by ROLE, and more
constexpr int64_t kMaxBulk = 16 * 1024;  // no reply we read is near this
constexpr size_t kMaxShown = 80;

enum class Parse : uint8_t { kDone, kNeedMore, kBad };

struct Value {
  char type = 0;
  std::string text;  // simple string, error, bulk; an array's first item when it is a string
};

// Reads one CRLF-terminated line from pos.
Parse line(std::string_view in, size_t& pos, std::string_view& out) {
  const size_t end = in.find("\r\n", pos);
  if (end == std::string_view::npos) {
    return in.size() - pos > static_cast<size_t>(kMaxBulk) ? Parse::kBad : Parse::kNeedMore;
  }
  out = in.substr(pos, end - pos);
  pos = end + 2;
  return Parse::kDone;
}

std::optional<int64_t> number(std::string_view s) {
  int64_t v = 0;
  const auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size()) {
    return std::nullopt;
  }
  return v;
}

Parse value(std::string_view in, size_t& pos, Value& v, int depth) {
  if (pos >= in.size()) {
    return Parse::kNeedMore;
  }
  v.type = in[pos++];
  std::string_view head;
  if (const Parse p = line(in, pos, head); p != Parse::kDone) {
    return p;
  }
  switch (v.type) {
    case '+':
    case '-':
      v.text = head;
      return Parse::kDone;
    case ':':
      return number(head) ? Parse::kDone : Parse::kBad;
    case '$': {
      const auto n = number(head);
      if (!n || *n < -1 || *n > kMaxBulk) {
        return Parse::kBad;
      }
      if (*n == -1) {
        return Parse::kDone;  // null bulk string
      }
      const auto len = static_cast<size_t>(*n);
      if (in.size() - pos < len + 2) {
        return Parse::kNeedMore;
      }
      if (in.substr(pos + len, 2) != "\r\n") {
        return Parse::kBad;
      }
      v.text = in.substr(pos, len);
      pos += len + 2;
      return Parse::kDone;
    }
    case '*': {
      const auto n = number(head);
      if (!n || *n < -1 || *n > kMaxItems || depth >= kMaxDepth) {
        return Parse::kBad;
      }
      for (int64_t i = 0; i < *n; ++i) {
        Value item;
        if (const Parse p = value(in, pos, item, depth + 1); p != Parse::kDone) {
          return p;
        }
        if (i == 0 && (item.type == '$' || item.type == '+')) {
          v.text = item.text;
        }
      }
      return Parse::kDone;
    }
    default:
      return Parse::kBad;
  }
}

std::string shown(std::string_view s) {
  std::string out;
  for (char c : s.substr(0, kMaxShown)) {
    out.push_back(c >= ' ' && c < '\x7f' ? c : '?');
  }
  return out;
}

void appendCommand(std::string& out, std::initializer_list<std::string_view> args) {
  out += "*" + std::to_string(args.size()) + "\r\n";
  for (auto a : args) {
    out += "$" + std::to_string(a.size()) + "\r\n";
    out += a;
    out += "\r\n";
  }
}

class RedisConversation final : public CheckConversation {
 public:
  explicit RedisConversation(const config::HealthCheck& c)
      : with_auth_(!c.password.empty()),
        ask_role_(c.role_master),
        commands_(redisCommands(c.password, with_auth_, ask_role_)) {}
  Judgement start(std::string& out) override {
    out += commands_;
    return Judgement::needMore();
  }
  Judgement onBytes(std::span<const uint8_t> in, std::string& /*out*/) override {
    if (!appendBounded(reply_, in)) {
      return Judgement::unhealthy("reply too long");
    }
    return judgeRedisReplies({reinterpret_cast<const uint8_t*>(reply_.data()), reply_.size()},
                             with_auth_, ask_role_);
  }

 private:
  bool with_auth_;
  bool ask_role_;
  std::string commands_;
  std::string reply_;
};

}  // namespace

std::string redisCommands(const std::string& password, bool with_auth, bool ask_role) {
  std::string out;
  if (with_auth) {
    appendCommand(out, {"AUTH", password});
  }
  appendCommand(out, {"PING"});
  if (ask_role) {
    appendCommand(out, {"ROLE"});
  }
  return out;
}

Judgement judgeRedisReplies(std::span<const uint8_t> reply, bool with_auth, bool ask_role) {
  const std::string_view in(reinterpret_cast<const char*>(reply.data()), reply.size());
  size_t pos = 0;
  Value v;
  if (with_auth) {
    const Parse p = value(in, pos, v, 0);
    if (p != Parse::kDone) {
      return p == Parse::kNeedMore ? Judgement::needMore() : Judgement::unhealthy("not RESP");
    }
    if (v.type != '+' || v.text != "OK") {
      return Judgement::unhealthy("AUTH: " + shown(v.text));
    }
  }
  v = Value{};
  const Parse p = value(in, pos, v, 0);
  if (p != Parse::kDone) {
    return p == Parse::kNeedMore ? Judgement::needMore() : Judgement::unhealthy("not RESP");
  }
  if (v.type != '+' || v.text != "PONG") {
    return Judgement::unhealthy("PING: " + shown(v.text.empty() ? std::string(1, v.type) : v.text));
  }
  if (!ask_role) {
    return Judgement::healthy("PONG");
  }
  v = Value{};
  const Parse r = value(in, pos, v, 0);
  if (r != Parse::kDone) {
    return r == Parse::kNeedMore ? Judgement::needMore() : Judgement::unhealthy("not RESP");
  }
  if (v.type == '-') {
    return Judgement::unhealthy("ROLE: " + shown(v.text));
  }
  if (v.type != '*' || v.text != "master") {
    return Judgement::unhealthy("role is " +
                                (v.text.empty() ? std::string("unknown") : shown(v.text)));
  }
  return Judgement::healthy("PONG, role master");
}

std::unique_ptr<CheckConversation> makeRedisConversation(const config::HealthCheck& check) {
  return std::make_unique<RedisConversation>(check);
}

}  // namespace ballast::upstream::checks
