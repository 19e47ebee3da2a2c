// src/l7/jwt_filter.cpp — token lookup, the 401 answers and claim forwarding.
#include "l7/jwt_filter.h"

#include <algorithm>
#include <array>
#include <cstdio>
#include <ctime>

#include "core/log.h"
#include "l7/request_key.h"
#include "policy/jwks_source.h"
#include "proto/http1/syntax.h"

namespace ballast::l7 {
namespace {

constexpr uint16_t kUnauthorized = 401;
constexpr std::string_view kBearer = "bearer ";
constexpr size_t kMaxAnswerBytes = 512;
constexpr unsigned char kDel = 0x7f;
static_assert(policy::kJwtResultCount == metrics::kJwtResultKinds);

// "Bearer <token>" (the scheme is case-insensitive, RFC 9110 §11.1); other schemes: no token.
std::string_view bearerToken(std::string_view value, bool required) {
  value = proto::http1::trimOws(value);
  if (value.size() > kBearer.size() &&
      proto::http1::equalsIgnoreCase(value.substr(0, kBearer.size()), kBearer)) {
    return proto::http1::trimOws(value.substr(kBearer.size()));
  }
  return required ? std::string_view{} : value;
}

// A claim as a field value: strings as they are, anything else as JSON. nullopt when the value
// could not travel as a field (control bytes: a claim must never split the request head).
std::optional<std::string> claimValue(const nlohmann::json& v) {
  std::string out = v.is_string() ? v.get<std::string>() : v.dump();
  for (const char c : out) {
    const auto u = static_cast<unsigned char>(c);
    if ((u < ' ' && c != '\t') || u == kDel) {
      return std::nullopt;
    }
  }
  return out;
}

}  // namespace

std::string_view findJwt(const config::JwtAuth& auth, const RequestView& request) {
  switch (auth.from) {
    case config::JwtSource::kBearer:
    case config::JwtSource::kHeader:
      for (const auto& h : request.headers) {
        if (proto::http1::equalsIgnoreCase(h.name, auth.from_name)) {
          return bearerToken(h.value, auth.from == config::JwtSource::kBearer);
        }
      }
      return {};
    case config::JwtSource::kCookie:
      return findCookie(request.headers, auth.from_name);
    case config::JwtSource::kQuery:
      return findQueryParam(request.target, auth.from_name);
  }
  return {};
}

JwtFilter::JwtFilter(const config::Listener& listener, metrics::ListenerCounters& counters,
                     Clock clock)
    : listener_(listener), counters_(counters), clock_(clock) {
  const auto note = [this](const config::JwtAuth& auth) {
    for (const auto& [claim, field] : auth.forward_claims) {
      claim_fields_.push_back(field);
    }
  };
  const auto noteRateClaims = [this](const std::vector<config::RateLimitRule>& rules) {
    for (const auto& rule : rules) {
      for (const auto& part : rule.key) {
        if (part.kind == config::RateKeyKind::kJwtClaim &&
            std::find(rate_claims_.begin(), rate_claims_.end(), part.name) == rate_claims_.end()) {
          rate_claims_.push_back(part.name);
        }
      }
    }
  };
  noteRateClaims(listener.http.rate_limits);
  for (const auto& r : listener.http.routes) {
    noteRateClaims(r.rate_limits);
  }
  listener_scope_ = scopeOf(listener.http.jwt);
  note(listener.http.jwt);
  for (const auto& r : listener.http.routes) {
    route_scopes_.push_back(r.jwt ? scopeOf(*r.jwt) : listener_scope_);
    if (r.jwt) {
      note(*r.jwt);
    }
  }
}

JwtFilter::Scope JwtFilter::scopeOf(const config::JwtAuth& auth) const {
  Scope s;
  if (!auth.enabled || (!auth.jwks && !auth.jwks_source)) {
    return s;
  }
  s.auth = &auth;
  s.policy.issuer = auth.issuer;
  s.policy.audiences = auth.audiences;
  s.policy.algorithms = auth.algorithms;
  s.policy.clock_skew_s = std::chrono::duration_cast<std::chrono::seconds>(auth.clock_skew).count();
  return s;
}

int64_t JwtFilter::unixSeconds() { return static_cast<int64_t>(::time(nullptr)); }

Verdict JwtFilter::onRequest(Exchange& ex, const RequestView& request,
                             const net::SocketAddress& client) {
  ex.drop_fields.assign(claim_fields_.begin(), claim_fields_.end());
  const Scope* scope = &listener_scope_;
  if (ex.route_config != nullptr && !listener_.http.routes.empty()) {
    const auto index = static_cast<size_t>(ex.route_config - listener_.http.routes.data());
    if (index < route_scopes_.size()) {
      scope = &route_scopes_[index];
    }
  }
  if (scope->auth == nullptr) {
    return {};
  }
  const config::JwtAuth& auth = *scope->auth;
  const std::string_view token = findJwt(auth, request);
  if (token.empty()) {
    if (auth.optional) {
      counters_.jwt_requests_total[static_cast<size_t>(policy::JwtResult::kMissing)].add();
      return {};
    }
    return refuse(ex, *scope, policy::JwtResult::kMissing, {}, client);
  }
  // jwks_url: the set fetched last, held for this check while a refresh may replace it.
  std::shared_ptr<const policy::Jwks> fetched;
  const policy::Jwks* keys = auth.jwks.get();
  if (keys == nullptr) {
    fetched = auth.jwks_source->current();
    keys = fetched.get();
  }
  if (keys == nullptr) {
    // Not fetched yet (or never reachable): nothing can verify the token, so it is refused.
    core::LogLine(core::LogLevel::kWarn, "l7.jwt_no_keys", core::LogRepeat::kLimited)
        .str("listener", listener_.name)
        .str("jwks_url", auth.jwks_url);
    return refuse(ex, *scope, policy::JwtResult::kInvalidSignature, "signing keys not available",
                  client);
  }
  policy::JwtCheck check = policy::verifyJwt(token, scope->policy, *keys, clock_());
  if (check.result != policy::JwtResult::kOk) {
    return refuse(ex, *scope, check.result, check.description, client);
  }
  counters_.jwt_requests_total[static_cast<size_t>(policy::JwtResult::kOk)].add();
  for (const std::string_view claim : rate_claims_) {
    const auto it = check.claims.find(claim);
    if (it == check.claims.end() || it->is_null()) {
      continue;  // the claim rate limits key on the client's address instead
    }
    ex.jwt_claims.emplace_back(claim, it->is_string() ? it->get<std::string>() : it->dump());
  }
  for (const auto& [claim, field] : auth.forward_claims) {
    const auto it = check.claims.find(claim);
    if (it == check.claims.end() || it->is_null()) {
      continue;
    }
    if (auto value = claimValue(*it)) {
      ex.add_fields.emplace_back(field, std::move(*value));
    }
  }
  return {};
}

Verdict JwtFilter::refuse(Exchange& ex, const Scope& scope, policy::JwtResult result,
                          std::string_view description, const net::SocketAddress& client) {
  counters_.jwt_requests_total[static_cast<size_t>(result)].add();
  core::LogLine(core::LogLevel::kInfo, "l7.jwt_refused", core::LogRepeat::kLimited)
      .str("listener", listener_.name)
      .str("route", ex.route)
      .str("result", policy::jwtResultName(result))
      .str("client", client.hostString());
  std::array<char, kMaxAnswerBytes> buf{};
  const std::string& realm = scope.auth->realm;
  // RFC 6750 §3.1: a request without a token gets the challenge alone, no error code.
  const int n =
      result == policy::JwtResult::kMissing
          ? snprintf(buf.data(), buf.size(), "WWW-Authenticate: Bearer realm=\"%s\"\r\n",
                     realm.c_str())
          : snprintf(buf.data(), buf.size(),
                     "WWW-Authenticate: Bearer realm=\"%s\", error=\"invalid_token\", "
                     "error_description=\"%.*s\"\r\n",
                     realm.c_str(), static_cast<int>(description.size()), description.data());
  if (n > 0 && static_cast<size_t>(n) < buf.size()) {
    ex.answer_fields.assign(buf.data(), static_cast<size_t>(n));
  }
  return {kUnauthorized,
          result == policy::JwtResult::kMissing ? "no bearer token" : "invalid bearer token"};
}

}  // namespace ballast::l7
