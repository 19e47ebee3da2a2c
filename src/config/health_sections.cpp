// src/config/health_sections.cpp — the `health_check:` schema, shared by pools, backends (as
// overrides of their pool's check) and the kernel plane's virtual services. Each key that only
// one check type reads is refused, with its position, under any other type.
#include <re2/re2.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <string_view>

#include "config/limits.h"
#include "config/sections.h"
#include "config/units.h"

namespace ballast::config {
namespace {

using namespace std::string_view_literals;

constexpr std::array kHealthCheckKeys = {
    "type"sv,          "interval"sv,    "timeout"sv,    "rise"sv,      "fall"sv,   "jitter"sv,
    "address"sv,       "port"sv,        "backoff"sv,    "path"sv,      "method"sv, "host"sv,
    "expect_status"sv, "expect_body"sv, "sni"sv,        "verify"sv,    "ca"sv,     "user"sv,
    "database"sv,      "password"sv,    "role"sv,       "transport"sv, "send"sv,   "expect"sv,
    "expect_regex"sv,  "query"sv,       "query_type"sv, "command"sv,   "service"sv};
constexpr std::array kBackoffKeys = {"max"sv};
constexpr unsigned char kAsciiDelete = 0x7f;
constexpr unsigned kMinStatus = 100;
constexpr unsigned kMaxStatus = 599;
constexpr int kHexBase = 16;
constexpr uint16_t kDnsTypeA = 1;
constexpr uint16_t kDnsTypeAaaa = 28;

constexpr std::array<Choice<HealthCheckType>, 11> kHealthCheckTypes = {{
    {"tcp", HealthCheckType::kTcp},
    {"http", HealthCheckType::kHttp},
    {"tls", HealthCheckType::kTls},
    {"postgres", HealthCheckType::kPostgres},
    {"mysql", HealthCheckType::kMysql},
    {"redis", HealthCheckType::kRedis},
    {"send_expect", HealthCheckType::kSendExpect},
    {"dns", HealthCheckType::kDns},
    {"exec", HealthCheckType::kExec},
    {"grpc", HealthCheckType::kGrpc},
    {"none", HealthCheckType::kNone},
}};
constexpr std::array<Choice<CheckTransport>, 2> kTransports = {{
    {"tcp", CheckTransport::kTcp},
    {"udp", CheckTransport::kUdp},
}};
constexpr std::array<Choice<bool>, 1> kRoles = {{{"master", true}}};
constexpr std::array<Choice<uint16_t>, 2> kQueryTypes = {{
    {"A", kDnsTypeA},
    {"AAAA", kDnsTypeAaaa},
}};

// Keys that only one check type reads.
struct TypedKey {
  std::string_view key;
  HealthCheckType type;
  HealthCheckType also = HealthCheckType::kNone;  // a second type that reads it
};
constexpr std::array kTypedKeys = {
    TypedKey{"path", HealthCheckType::kHttp},
    TypedKey{"method", HealthCheckType::kHttp},
    TypedKey{"host", HealthCheckType::kHttp},
    TypedKey{"expect_status", HealthCheckType::kHttp},
    TypedKey{"expect_body", HealthCheckType::kHttp},
    TypedKey{"sni", HealthCheckType::kTls},
    TypedKey{"verify", HealthCheckType::kTls},
    TypedKey{"ca", HealthCheckType::kTls},
    TypedKey{"user", HealthCheckType::kPostgres, HealthCheckType::kMysql},
    TypedKey{"database", HealthCheckType::kPostgres},
    TypedKey{"password", HealthCheckType::kRedis},
    TypedKey{"role", HealthCheckType::kRedis},
    TypedKey{"transport", HealthCheckType::kSendExpect},
    TypedKey{"send", HealthCheckType::kSendExpect},
    TypedKey{"expect", HealthCheckType::kSendExpect},
    TypedKey{"expect_regex", HealthCheckType::kSendExpect},
    TypedKey{"query", HealthCheckType::kDns},
    TypedKey{"query_type", HealthCheckType::kDns},
    TypedKey{"command", HealthCheckType::kExec},
    TypedKey{"service", HealthCheckType::kGrpc},
};

std::string_view typeName(HealthCheckType t) {
  for (const auto& c : kHealthCheckTypes) {
    if (c.value == t) {
      return c.name;
    }
  }
  return "?";
}

// The request line and Host of an HTTP check are sent as written, so they must be printable and
// free of spaces (path, method) or of CR/LF (host).
bool printableWithoutSpace(std::string_view s) {
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= ' ' || u >= kAsciiDelete) {
      return false;
    }
  }
  return !s.empty();
}

void readHttpKey(FileReader& file, const Field& f, std::string_view key, HealthCheck& hc) {
  const auto text = readScalar(file, f, "a string");
  if (!text) {
    return;
  }
  if (key == "path") {
    if (text->empty() || text->front() != '/' || !printableWithoutSpace(*text)) {
      file.error(f.valueMark(),
                 "path: expected an origin-form path such as /healthz, got \"" + *text + "\"");
    } else {
      hc.path = *text;
    }
  } else if (key == "method") {
    bool ok = !text->empty();
    for (char c : *text) {
      ok = ok && c >= 'A' && c <= 'Z';
    }
    if (!ok) {
      file.error(f.valueMark(),
                 "method: expected an uppercase method such as GET, got \"" + *text + "\"");
    } else {
      hc.method = *text;
    }
  } else if (key == "host") {
    if (!printableWithoutSpace(*text)) {
      file.error(f.valueMark(), "host: expected a host name, got \"" + *text + "\"");
    } else {
      hc.host = *text;
    }
  } else if (key == "expect_status") {
    unsigned lo = 0;
    unsigned hi = 0;
    char dash = 0;
    int consumed = 0;
    const int n = sscanf(text->c_str(), "%3u%c%3u%n", &lo, &dash, &hi, &consumed);
    if (n == 1) {
      hi = lo;
    }
    const bool shape = (n == 1 && text->size() == 3) ||
                       (n == 3 && dash == '-' && static_cast<size_t>(consumed) == text->size());
    if (!shape || lo < kMinStatus || hi > kMaxStatus || lo > hi) {
      file.error(f.valueMark(),
                 "expect_status: expected a status or range such as 200 or 200-399, got \"" +
                     *text + "\"");
    } else {
      hc.expect_status_min = static_cast<uint16_t>(lo);
      hc.expect_status_max = static_cast<uint16_t>(hi);
    }
  } else {
    hc.expect_body = *text;
  }
}

// A string free of control bytes, for values that go on the wire as they are.
std::optional<std::string> readPlain(FileReader& file, const Field& f, std::string_view expected,
                                     bool allow_empty) {
  auto text = readScalar(file, f, expected);
  if (!text) {
    return std::nullopt;
  }
  const bool control = std::any_of(text->begin(), text->end(), [](char c) {
    return static_cast<unsigned char>(c) < ' ' || static_cast<unsigned char>(c) == kAsciiDelete;
  });
  if (control || (!allow_empty && text->empty())) {
    reportExpected(file, f, expected, quote(*text));
    return std::nullopt;
  }
  return text;
}

// A DNS name: labels of 1..63 letters, digits, '-' or '_', at most 253 bytes in all.
bool isDnsName(std::string_view name) {
  constexpr size_t kMaxName = 253;
  constexpr size_t kMaxLabel = 63;
  if (name.ends_with('.')) {
    name.remove_suffix(1);
  }
  if (name.empty() || name.size() > kMaxName) {
    return false;
  }
  size_t label = 0;
  for (char c : name) {
    if (c == '.') {
      if (label == 0) {
        return false;
      }
      label = 0;
      continue;
    }
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '_';
    if (!ok || ++label > kMaxLabel) {
      return false;
    }
  }
  return label > 0;
}

void readCommand(FileReader& file, const Field& f, HealthCheck& hc) {
  constexpr std::string_view kExpected = "a list of strings, the program (an absolute path) first";
  if (!f.value.IsSequence() || f.value.size() == 0) {
    reportExpected(file, f, kExpected,
                   f.value.IsScalar() ? quote(f.value.Scalar()) : "another node");
    return;
  }
  std::vector<std::string> argv;
  for (const auto& item : f.value) {
    if (!item.IsScalar()) {
      file.error(item.Mark(), "command: expected " + std::string(kExpected));
      return;
    }
    argv.push_back(item.Scalar());
  }
  if (!argv.front().starts_with('/')) {
    file.error(f.valueMark(),
               "command: the program must be an absolute path, got " + quote(argv.front()));
    return;
  }
  hc.command = std::move(argv);
}

void readTypedKey(FileReader& file, const Field& f, std::string_view key, HealthCheck& hc) {
  if (hc.type == HealthCheckType::kHttp) {
    readHttpKey(file, f, key, hc);
  } else if (key == "sni") {
    const auto text = readPlain(file, f, "a host name", /*allow_empty=*/false);
    if (text && isDnsName(*text)) {
      hc.sni = *text;
    } else if (text) {
      reportExpected(file, f, "a host name", quote(*text));
    }
  } else if (key == "verify") {
    assign(hc.verify, readBool(file, f));
  } else if (key == "ca") {
    assign(hc.ca, readFilePath(file, f, /*allow_empty=*/false));
  } else if (key == "user") {
    assign(hc.user, readPlain(file, f, "a user name", /*allow_empty=*/false));
  } else if (key == "database") {
    assign(hc.database, readPlain(file, f, "a database name", /*allow_empty=*/true));
  } else if (key == "password") {
    assign(hc.password, readScalar(file, f, "a string"));
  } else if (key == "role") {
    const auto master = readChoice<bool>(file, f, kRoles);
    assign(hc.role_master, master);
  } else if (key == "transport") {
    assign(hc.transport, readChoice<CheckTransport>(file, f, kTransports));
  } else if (key == "send") {
    const auto text = readScalar(file, f, "a string");
    if (!text) {
      return;
    }
    std::string error;
    auto bytes = decodeEscapes(*text, error);
    if (!bytes) {
      file.error(f.valueMark(), "send: " + error);
    } else {
      hc.send = std::move(*bytes);
    }
  } else if (key == "expect") {
    const auto text = readScalar(file, f, "a string");
    if (!text) {
      return;
    }
    std::string error;
    auto bytes = decodeEscapes(*text, error);
    if (!bytes || bytes->empty()) {
      file.error(f.valueMark(), "expect: " + (bytes ? std::string("must not be empty") : error));
    } else {
      hc.expect = std::move(*bytes);
    }
  } else if (key == "expect_regex") {
    const auto text = readScalar(file, f, "an RE2 regular expression");
    if (!text) {
      return;
    }
    const RE2 re(*text, RE2::Quiet);
    if (!re.ok()) {
      file.error(f.valueMark(), "expect_regex: " + re.error());
    } else {
      hc.expect_regex = *text;
    }
  } else if (key == "query") {
    const auto text = readScalar(file, f, "a DNS name");
    if (text && isDnsName(*text)) {
      hc.query = *text;
    } else if (text) {
      reportExpected(file, f, "a DNS name", quote(*text));
    }
  } else if (key == "query_type") {
    assign(hc.query_type, readChoice<uint16_t>(file, f, kQueryTypes));
  } else if (key == "command") {
    readCommand(file, f, hc);
  } else if (key == "service") {
    assign(hc.service, readPlain(file, f, "a gRPC service name", /*allow_empty=*/true));
  }
}

void readTarget(FileReader& file, const MapReader& map, HealthCheck& hc, bool per_backend) {
  if (const Field* f = map.find("address")) {
    if (!per_backend) {
      file.error(f->key_mark,
                 "address: only in a backend's health_check (each backend has its own)");
    } else if (const auto text = readScalar(file, *f, "an IP address")) {
      // The check's port comes from `port` or the backend, never from here.
      auto address = net::SocketAddress::parse(*text, /*allow_no_port=*/true);
      if (address && address->port() != 0) {
        address.reset();
      }
      if (!address) {
        reportExpected(file, *f, "an IP address such as 127.0.0.2 or ::1", quote(*text));
      } else {
        hc.address = *address;
      }
    }
  }
  if (const Field* f = map.find("port")) {
    constexpr uint64_t kMaxPort = 65535;
    const auto port = readUnsigned(file, *f, 1, kMaxPort);
    if (port) {
      hc.port = static_cast<uint16_t>(*port);
    }
  }
}

void readBackoff(FileReader& file, const Field& field, HealthCheck& hc) {
  const MapReader map(file, field, "backoff", kBackoffKeys);
  if (!map.ok()) {
    return;
  }
  if (const Field* f = map.require(file, "max")) {
    const auto max = readDuration(file, *f, /*positive=*/true);
    if (max && *max < hc.interval) {
      file.error(f->valueMark(), "max: backoff limit " + formatDuration(*max) +
                                     " is shorter than interval " + formatDuration(hc.interval));
    } else {
      assign(hc.backoff_max, max);
    }
  }
}

// What a type needs beyond the defaults, checked once every key is read.
void checkComplete(FileReader& file, const MapReader& map, const HealthCheck& hc,
                   const HealthCheckScope& scope) {
  const Field* type = map.find("type");
  const YAML::Mark at = type != nullptr ? type->valueMark() : map.mark();
  // A key written but refused was reported already: it counts as present here.
  const auto given = [&](std::string_view key, const auto& value) {
    return !value.empty() || map.find(key) != nullptr;
  };
  switch (hc.type) {
    case HealthCheckType::kSendExpect:
      if (given("expect", hc.expect) == given("expect_regex", hc.expect_regex)) {
        file.error(at, "health_check type send_expect needs exactly one of expect, expect_regex");
      }
      break;
    case HealthCheckType::kDns:
      if (!given("query", hc.query)) {
        file.error(at, "health_check type dns needs query (the name to ask for)");
      }
      break;
    case HealthCheckType::kExec:
      if (!given("command", hc.command)) {
        file.error(at, "health_check type exec needs command");
      }
      if (!scope.allow_exec) {
        file.error(at,
                   "health_check type exec runs a command: set allow_exec_checks: true at the "
                   "top level to allow it");
      }
      break;
    case HealthCheckType::kTls:
      if (hc.verify && hc.sni.empty()) {
        file.error(at, "health_check type tls with verify: true needs sni (the name to verify)");
      }
      break;
    default:
      break;
  }
}

}  // namespace

std::optional<std::string> decodeEscapes(std::string_view text, std::string& error) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '\\') {
      out.push_back(text[i]);
      continue;
    }
    if (++i == text.size()) {
      error = "a lone \\ at the end (write \\\\ for a backslash)";
      return std::nullopt;
    }
    switch (text[i]) {
      case 'r':
        out.push_back('\r');
        break;
      case 'n':
        out.push_back('\n');
        break;
      case 't':
        out.push_back('\t');
        break;
      case '0':
        out.push_back('\0');
        break;
      case '\\':
        out.push_back('\\');
        break;
      case 'x': {
        const std::string hex(text.substr(i + 1, 2));
        char* end = nullptr;
        const long v = hex.size() == 2 ? strtol(hex.c_str(), &end, kHexBase) : -1;
        if (v < 0 || end != hex.c_str() + 2) {
          error = "\\x needs two hex digits";
          return std::nullopt;
        }
        out.push_back(static_cast<char>(v));
        i += 2;
        break;
      }
      default:
        error = std::string("unknown escape \\") + text[i] + " (known: \\r \\n \\t \\0 \\\\ \\xHH)";
        return std::nullopt;
    }
  }
  return out;
}

void readHealthCheck(FileReader& file, const Field& field, HealthCheck& hc,
                     const HealthCheckScope& scope) {
  const MapReader map(file, field, "health_check", kHealthCheckKeys);
  if (!map.ok()) {
    return;
  }
  if (const Field* f = map.find("type")) {
    assign(hc.type, readChoice<HealthCheckType>(file, *f, kHealthCheckTypes));
  }
  bool interval_ok = true;
  if (const Field* f = map.find("interval")) {
    const auto interval = readDuration(file, *f, /*positive=*/true);
    assign(hc.interval, interval);
    interval_ok = interval.has_value();
  }
  const Field* timeout_field = map.find("timeout");
  std::optional<Duration> timeout;
  if (timeout_field != nullptr) {
    timeout = readDuration(file, *timeout_field, /*positive=*/true);
  }
  if (timeout && interval_ok && *timeout > hc.interval) {
    file.error(timeout_field->valueMark(),
               "timeout: health check timeout " + formatDuration(*timeout) +
                   " must not exceed interval " + formatDuration(hc.interval));
  } else if (timeout) {
    hc.timeout = *timeout;
  } else if (timeout_field == nullptr && hc.timeout > hc.interval) {
    // A short interval with the default timeout would otherwise be an error about a value
    // the user never wrote; a probe cannot outlive its interval, so cap it there.
    hc.timeout = hc.interval;
  }
  if (const Field* f = map.find("rise")) {
    assign(hc.rise, readUnsigned(file, *f, 1, kMaxHealthCheckCount));
  }
  if (const Field* f = map.find("fall")) {
    assign(hc.fall, readUnsigned(file, *f, 1, kMaxHealthCheckCount));
  }
  if (const Field* f = map.find("jitter")) {
    assign(hc.jitter, readFraction(file, *f, kMaxHealthCheckJitter));
  }
  if (const Field* f = map.find("backoff")) {
    readBackoff(file, *f, hc);
  }
  readTarget(file, map, hc, scope.per_backend);
  for (const auto& typed : kTypedKeys) {
    const Field* f = map.find(typed.key);
    if (f == nullptr) {
      continue;
    }
    if (hc.type != typed.type && (typed.also == HealthCheckType::kNone || hc.type != typed.also)) {
      const std::string types =
          std::string(typeName(typed.type)) +
          (typed.also == HealthCheckType::kNone ? "" : " or " + std::string(typeName(typed.also)));
      file.error(f->key_mark, std::string(typed.key) + ": only for health_check type " + types +
                                  ", not " + std::string(typeName(hc.type)));
      continue;
    }
    readTypedKey(file, *f, typed.key, hc);
  }
  checkComplete(file, map, hc, scope);
}

}  // namespace ballast::config
