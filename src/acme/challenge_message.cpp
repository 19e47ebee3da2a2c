// src/acme/challenge_message.cpp — the challenge messages' text form.
#include "acme/challenge_message.h"

#include <charconv>

#include "acme/acme_replies.h"

namespace ballast::acme {
namespace {

constexpr std::string_view kHttp01 = "http-01";
constexpr std::string_view kHttp01Done = "http-01-done";
constexpr std::string_view kTlsAlpn01 = "tls-alpn-01";
constexpr std::string_view kTlsAlpn01Done = "tls-alpn-01-done";
constexpr size_t kMaxNameBytes = 253;

bool isDomainName(std::string_view s) {
  if (s.empty() || s.size() > kMaxNameBytes) {
    return false;
  }
  for (const char c : s) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.';
    if (!ok) {
      return false;
    }
  }
  return true;
}

// Splits off the text up to the first `sep`; false when there is none.
bool cut(std::string_view& rest, char sep, std::string_view* head) {
  const size_t at = rest.find(sep);
  if (at == std::string_view::npos) {
    return false;
  }
  *head = rest.substr(0, at);
  rest.remove_prefix(at + 1);
  return true;
}

}  // namespace

std::string formatChallengeMessage(const ChallengeMessage& m) {
  switch (m.kind) {
    case ChallengeMessage::Kind::kHttp01:
      return std::string(kHttp01) + " " + m.name + "\n" + m.key_authorization;
    case ChallengeMessage::Kind::kHttp01Done:
      return std::string(kHttp01Done) + " " + m.name + "\n";
    case ChallengeMessage::Kind::kTlsAlpn01:
      return std::string(kTlsAlpn01) + " " + m.name + " " + std::to_string(m.cert_pem.size()) +
             "\n" + m.cert_pem + m.key_pem;
    case ChallengeMessage::Kind::kTlsAlpn01Done:
      return std::string(kTlsAlpn01Done) + " " + m.name + "\n";
  }
  return {};
}

std::optional<ChallengeMessage> parseChallengeMessage(std::string_view text) {
  if (text.size() > kMaxChallengeMessageBytes) {
    return std::nullopt;
  }
  std::string_view header;
  std::string_view body = text;
  if (!cut(body, '\n', &header)) {
    return std::nullopt;
  }
  std::string_view kind;
  std::string_view name;
  if (!cut(header, ' ', &kind)) {
    return std::nullopt;
  }
  ChallengeMessage m;
  if (kind == kHttp01 || kind == kHttp01Done) {
    name = header;
    if (!isToken(name)) {
      return std::nullopt;
    }
    m.name = std::string(name);
    if (kind == kHttp01Done) {
      m.kind = ChallengeMessage::Kind::kHttp01Done;
      return body.empty() ? std::optional(m) : std::nullopt;
    }
    // "<token>.<thumbprint>": the token is this one and the thumbprint base64url.
    if (body.size() <= name.size() + 1 || !body.starts_with(name) || body[name.size()] != '.' ||
        !isToken(body.substr(name.size() + 1))) {
      return std::nullopt;
    }
    m.kind = ChallengeMessage::Kind::kHttp01;
    m.key_authorization = std::string(body);
    return m;
  }
  if (kind == kTlsAlpn01Done) {
    if (!isDomainName(header) || !body.empty()) {
      return std::nullopt;
    }
    m.kind = ChallengeMessage::Kind::kTlsAlpn01Done;
    m.name = std::string(header);
    return m;
  }
  if (kind != kTlsAlpn01 || !cut(header, ' ', &name) || !isDomainName(name)) {
    return std::nullopt;
  }
  size_t cert_bytes = 0;
  const auto [end, ec] = std::from_chars(header.data(), header.data() + header.size(), cert_bytes);
  // One spelling per length (no leading zeros), so a message reads back as it was written.
  if (ec != std::errc() || end != header.data() + header.size() || header.empty() ||
      header.front() == '0' || cert_bytes >= body.size()) {
    return std::nullopt;
  }
  m.kind = ChallengeMessage::Kind::kTlsAlpn01;
  m.name = std::string(name);
  m.cert_pem = std::string(body.substr(0, cert_bytes));
  m.key_pem = std::string(body.substr(cert_bytes));
  return m;
}

}  // namespace ballast::acme
