// src/l7/basic_auth_filter.cpp — credentials parsing, the verified-credentials cache and the
// 401 answer.
#include "l7/basic_auth_filter.h"

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include <cstdio>
#include <cstring>

#include "core/base64.h"
#include "core/log.h"
#include "proto/http1/syntax.h"

namespace ballast::l7 {
namespace {

constexpr uint16_t kUnauthorized = 401;
constexpr std::string_view kBasic = "basic ";
constexpr std::string_view kAuthorization = "authorization";
constexpr size_t kMaxAnswerBytes = 256;
constexpr unsigned char kDel = 0x7f;
static_assert(kBasicAuthResultCount == metrics::kBasicAuthResultKinds);

bool hasControlBytes(std::string_view s) {
  for (const char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (u < ' ' || u == kDel) {
      return true;
    }
  }
  return false;
}

}  // namespace

std::string_view basicAuthResultName(BasicAuthResult r) {
  switch (r) {
    case BasicAuthResult::kOk:
      return "ok";
    case BasicAuthResult::kMissing:
      return "missing";
    case BasicAuthResult::kMalformed:
      return "malformed";
    case BasicAuthResult::kUnknownUser:
      return "unknown_user";
    case BasicAuthResult::kBadPassword:
      return "bad_password";
  }
  return "?";
}

std::optional<BasicCredentials> parseBasicCredentials(std::string_view value) {
  value = proto::http1::trimOws(value);
  if (value.size() <= kBasic.size() ||
      !proto::http1::equalsIgnoreCase(value.substr(0, kBasic.size()), kBasic)) {
    return std::nullopt;
  }
  const std::string_view encoded = proto::http1::trimOws(value.substr(kBasic.size()));
  if (encoded.empty() || encoded.size() > kMaxBasicCredentialBytes) {
    return std::nullopt;
  }
  auto decoded = core::base64Decode(encoded);
  if (!decoded) {
    return std::nullopt;
  }
  // RFC 7617 §2: the user id cannot contain a colon; the password may.
  const size_t colon = decoded->find(':');
  if (colon == std::string::npos || colon == 0 || colon > policy::kMaxHtpasswdUserBytes ||
      hasControlBytes(*decoded)) {
    return std::nullopt;
  }
  return BasicCredentials{decoded->substr(0, colon), decoded->substr(colon + 1)};
}

BasicAuthFilter::BasicAuthFilter(const config::Listener& listener,
                                 metrics::ListenerCounters& counters)
    : listener_(listener), counters_(counters) {}

const config::BasicAuth* BasicAuthFilter::scopeOf(const Exchange& ex) const {
  const config::BasicAuth* auth = &listener_.http.basic_auth;
  if (ex.route_config != nullptr && ex.route_config->basic_auth) {
    auth = &*ex.route_config->basic_auth;
  }
  return auth->enabled && auth->users ? auth : nullptr;
}

bool BasicAuthFilter::verify(const config::BasicAuth& auth, const BasicCredentials& creds) {
  const policy::HtpasswdUsers* users = auth.users.get();
  const std::string* hash = users->find(creds.user);
  if (hash == nullptr) {
    return false;
  }
  Digest digest{};
  const std::string pair = creds.user + ':' + creds.password;
  SHA256(reinterpret_cast<const unsigned char*>(pair.data()), pair.size(), digest.data());
  uint64_t index = 0;
  static_assert(sizeof index <= sizeof(Digest));
  std::memcpy(&index, digest.data(), sizeof index);
  CacheSlot& slot = cache_[index % kBasicAuthCacheSlots];
  if (slot.users == users && CRYPTO_memcmp(slot.digest.data(), digest.data(), digest.size()) == 0) {
    return true;
  }
  if (!policy::checkPassword(creds.password, *hash, scratch_)) {
    return false;
  }
  slot.users = users;
  slot.digest = digest;
  return true;
}

Verdict BasicAuthFilter::onRequest(Exchange& ex, const RequestView& request,
                                   const net::SocketAddress& client) {
  const config::BasicAuth* auth = scopeOf(ex);
  if (auth == nullptr) {
    return {};
  }
  std::string_view value;
  for (const auto& h : request.headers) {
    if (proto::http1::equalsIgnoreCase(h.name, kAuthorization)) {
      value = h.value;
      break;
    }
  }
  if (value.empty()) {
    return refuse(ex, *auth, BasicAuthResult::kMissing, client);
  }
  const auto creds = parseBasicCredentials(value);
  if (!creds) {
    return refuse(ex, *auth, BasicAuthResult::kMalformed, client);
  }
  if (auth->users->find(creds->user) == nullptr) {
    return refuse(ex, *auth, BasicAuthResult::kUnknownUser, client);
  }
  if (!verify(*auth, *creds)) {
    return refuse(ex, *auth, BasicAuthResult::kBadPassword, client);
  }
  counters_.basic_auth_requests_total[static_cast<size_t>(BasicAuthResult::kOk)].add();
  if (!auth->forward_credentials) {
    ex.drop_fields.push_back(kAuthorization);  // the password is the edge's business only
  }
  return {};
}

Verdict BasicAuthFilter::refuse(Exchange& ex, const config::BasicAuth& auth, BasicAuthResult result,
                                const net::SocketAddress& client) {
  counters_.basic_auth_requests_total[static_cast<size_t>(result)].add();
  core::LogLine(core::LogLevel::kInfo, "l7.basic_auth_refused", core::LogRepeat::kLimited)
      .str("listener", listener_.name)
      .str("route", ex.route)
      .str("result", basicAuthResultName(result))
      .str("client", client.hostString());
  std::array<char, kMaxAnswerBytes> buf{};
  // RFC 7617 §2.1: charset="UTF-8" tells the browser how to encode what the user types.
  const int n =
      snprintf(buf.data(), buf.size(),
               "WWW-Authenticate: Basic realm=\"%s\", charset=\"UTF-8\"\r\n", auth.realm.c_str());
  if (n > 0 && static_cast<size_t>(n) < buf.size()) {
    ex.answer_fields.assign(buf.data(), static_cast<size_t>(n));
  }
  return {kUnauthorized,
          result == BasicAuthResult::kMissing ? "no basic credentials" : "bad basic credentials"};
}

}  // namespace ballast::l7
