// src/config/jwt_sections.cpp — reading `jwt:` and its JWKS file.
#include "config/jwt_sections.h"

#include <algorithm>
#include <array>
#include <cctype>

#include "config/file_text.h"
#include "config/http_fields.h"
#include "policy/jwks.h"
#include "policy/jwks_source.h"
#include "policy/jwt.h"

namespace ballast::config {
namespace {

using namespace std::string_view_literals;

constexpr std::array kJwtKeys = {
    "issuer"sv,     "audiences"sv, "jwks_file"sv,  "jwks_url"sv, "jwks_ca"sv, "jwks_refresh"sv,
    "algorithms"sv, "from"sv,      "clock_skew"sv, "optional"sv, "realm"sv,   "forward_claims"sv};
constexpr size_t kMaxUrlBytes = 2048;
constexpr Duration kMinJwksRefresh = std::chrono::seconds(1);
constexpr Duration kMaxJwksRefresh = std::chrono::hours(24);
constexpr Duration kMaxClockSkew = std::chrono::hours(1);
constexpr size_t kMaxRealmBytes = 128;

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return out;
}

// Fields the proxy itself writes or frames the message with: a claim must not set them.
bool reservedField(std::string_view name) {
  const std::string l = lower(name);
  return isProxyManagedHeader(l) || l.starts_with("x-forwarded-") || l == "forwarded" ||
         l == "x-real-ip" || l == "x-request-id" || l == "via" || l == "authorization";
}

// "header" (Authorization: Bearer), "header:NAME", "cookie:NAME" or "query:NAME".
void readFrom(FileReader& file, const Field& field, JwtAuth& jwt) {
  constexpr std::string_view kExpected = "header, header:NAME, cookie:NAME or query:NAME";
  const auto text = readScalar(file, field, kExpected);
  if (!text) {
    return;
  }
  const std::string_view t = *text;
  if (t == "header") {
    jwt.from = JwtSource::kBearer;
    jwt.from_name = "authorization";
    return;
  }
  const auto colon = t.find(':');
  const std::string_view kind = t.substr(0, colon);
  const std::string_view name = colon == std::string_view::npos ? ""sv : t.substr(colon + 1);
  if (kind == "header" && isToken(name)) {
    jwt.from = lower(name) == "authorization" ? JwtSource::kBearer : JwtSource::kHeader;
    jwt.from_name = lower(name);
    return;
  }
  if ((kind == "cookie" && isToken(name)) || (kind == "query" && isQueryName(name))) {
    jwt.from = kind == "cookie" ? JwtSource::kCookie : JwtSource::kQuery;
    jwt.from_name = std::string(name);
    return;
  }
  reportExpected(file, field, kExpected, quote(t));
}

void readAlgorithms(FileReader& file, const Field& field, JwtAuth& jwt) {
  for (const Field& item : listItems(file, field, "algorithm")) {
    const auto text = readScalar(file, item, "RS256, ES256, EdDSA or HS256");
    if (!text) {
      continue;
    }
    const auto alg = policy::jwtAlgFromName(*text);
    if (!alg) {
      file.error(item.valueMark(), "algorithms: unknown algorithm " + quote(*text) +
                                       " (expected RS256, ES256, EdDSA or HS256; never none)");
      continue;
    }
    jwt.algorithms |= static_cast<uint8_t>(1U << static_cast<unsigned>(*alg));
  }
  if (jwt.algorithms == 0) {
    file.error(field.valueMark(), "algorithms: expected at least one algorithm");
  }
}

void readForwardClaims(FileReader& file, const Field& field, JwtAuth& jwt) {
  if (!field.value.IsMap()) {
    reportExpected(file, field, "a mapping of claim: Header-Name", describe(field.value));
    return;
  }
  for (const auto& kv : field.value) {
    const std::string claim = kv.first.as<std::string>("");
    const std::string header = kv.second.IsScalar() ? kv.second.as<std::string>("") : "";
    if (claim.empty()) {
      file.error(kv.first.Mark(), "forward_claims: expected a claim name");
      continue;
    }
    if (!isToken(header) || reservedField(header)) {
      file.error(kv.second.Mark(),
                 "forward_claims: " + quote(header) + " is not a header name a claim may set");
      continue;
    }
    jwt.forward_claims.emplace_back(claim, header);
  }
}

bool keyFitsAny(const policy::Jwks& set, uint8_t algorithms) {
  const auto allows = [algorithms](policy::JwtAlg a) {
    return (algorithms & (1U << static_cast<unsigned>(a))) != 0;
  };
  for (const auto& k : set.keys) {
    if ((k.type == policy::JwkType::kRsa && allows(policy::JwtAlg::kRs256)) ||
        (k.type == policy::JwkType::kEc && allows(policy::JwtAlg::kEs256)) ||
        (k.type == policy::JwkType::kOkp && allows(policy::JwtAlg::kEdDsa)) ||
        (k.type == policy::JwkType::kOct && allows(policy::JwtAlg::kHs256))) {
      return true;
    }
  }
  return false;
}

// https://HOST[:PORT]/PATH: keys that decide who gets in are never fetched in the clear.
bool validJwksUrl(std::string_view url) {
  constexpr std::string_view kScheme = "https://";
  if (!url.starts_with(kScheme) || url.size() > kMaxUrlBytes) {
    return false;
  }
  const std::string_view rest = url.substr(kScheme.size());
  const size_t host_end = rest.find_first_of("/?#");
  if (rest.substr(0, host_end).empty() || rest.front() == ':') {
    return false;
  }
  return std::none_of(url.begin(), url.end(), [](char c) {
    return static_cast<unsigned char>(c) <= ' ' || static_cast<unsigned char>(c) >= 0x7f;
  });
}

void readJwksUrl(FileReader& file, const MapReader& map, const Field& field, JwtAuth& jwt) {
  const auto url = readScalar(file, field, "an https:// URL");
  if (!url) {
    return;
  }
  if (!validJwksUrl(*url)) {
    file.error(field.valueMark(),
               "jwks_url: expected https://HOST[:PORT]/PATH (keys are not fetched in the clear)");
    return;
  }
  jwt.jwks_url = *url;
  if (const Field* f = map.find("jwks_ca")) {
    if (auto ca = readFilePath(file, *f, false)) {
      std::string text;
      if (const auto why = readWholeFile(*ca, text)) {
        file.error(f->valueMark(), "jwks_ca: cannot read " + *ca + ": " + *why);
      }
      jwt.jwks_ca = *ca;
    }
  }
  if (const Field* f = map.find("jwks_refresh")) {
    const auto d = readDuration(file, *f, /*positive=*/true);
    if (d && (*d < kMinJwksRefresh || *d > kMaxJwksRefresh)) {
      file.error(f->valueMark(), "jwks_refresh: from 1s to 24h");
    } else {
      assign(jwt.jwks_refresh, d);
    }
  }
  jwt.jwks_source = policy::jwksSourceFor(jwt.jwks_url, jwt.jwks_ca);
  jwt.jwks_source->setRefresh(
      std::chrono::duration_cast<std::chrono::milliseconds>(jwt.jwks_refresh));
}

void readJwks(FileReader& file, const Field& field, JwtAuth& jwt) {
  const auto path = readFilePath(file, field, false);
  if (!path) {
    return;
  }
  jwt.jwks_file = *path;
  std::string text;
  if (const auto why = readWholeFile(*path, text)) {
    file.error(field.valueMark(), "jwks_file: cannot read " + *path + ": " + *why);
    return;
  }
  const policy::JwksParse parsed = policy::parseJwks(text);
  if (!parsed.jwks) {
    file.error(field.valueMark(), "jwks_file: " + *path + ": " + parsed.error);
    return;
  }
  for (const auto& why : parsed.skipped) {
    file.warning(field.valueMark(), "jwks_file: " + *path + ": skipped " + why);
  }
  jwt.jwks = parsed.jwks;
}

}  // namespace

void readJwt(FileReader& file, const Field& field, JwtAuth& jwt) {
  if (field.value.IsScalar() &&
      (field.value.Scalar() == "off" || field.value.Scalar() == "false")) {
    jwt.enabled = false;  // a route open to all under a listener that checks tokens
    return;
  }
  const MapReader map(file, field, "jwt", kJwtKeys);
  if (!map.ok()) {
    return;
  }
  jwt.enabled = true;
  jwt.from_name = "authorization";
  if (const Field* f = map.find("issuer")) {
    assign(jwt.issuer, readScalar(file, *f, "an issuer (iss) string"));
  }
  if (const Field* f = map.find("audiences")) {
    for (const Field& item : listItems(file, *f, "audience")) {
      if (auto a = readScalar(file, item, "an audience (aud) string")) {
        jwt.audiences.push_back(std::move(*a));
      }
    }
  }
  if (const Field* f = map.require(file, "algorithms")) {
    readAlgorithms(file, *f, jwt);
  }
  const Field* url = map.find("jwks_url");
  if (url != nullptr) {
    if (const Field* f = map.find("jwks_file")) {
      file.error(f->key_mark, "jwks_file and jwks_url: give one of them");
    }
    readJwksUrl(file, map, *url, jwt);
  } else {
    for (const std::string_view key : {"jwks_ca"sv, "jwks_refresh"sv}) {
      if (const Field* f = map.find(key)) {
        file.error(f->key_mark, std::string(key) + ": only with jwks_url");
      }
    }
  }
  if (const Field* f = url != nullptr ? nullptr : map.require(file, "jwks_file")) {
    readJwks(file, *f, jwt);
    if (jwt.jwks && jwt.algorithms != 0 && !keyFitsAny(*jwt.jwks, jwt.algorithms)) {
      file.error(f->valueMark(),
                 "jwks_file: " + jwt.jwks_file + " has no key for the configured algorithms");
    }
  }
  if (const Field* f = map.find("from")) {
    readFrom(file, *f, jwt);
  }
  if (const Field* f = map.find("clock_skew")) {
    const auto d = readDuration(file, *f, /*positive=*/false);
    if (d && *d > kMaxClockSkew) {
      file.error(f->valueMark(), "clock_skew: at most 1h");
    } else {
      assign(jwt.clock_skew, d);
    }
  }
  if (const Field* f = map.find("optional")) {
    assign(jwt.optional, readBool(file, *f));
  }
  if (const Field* f = map.find("realm")) {
    const auto realm = readScalar(file, *f, "a realm");
    if (realm &&
        (realm->size() > kMaxRealmBytes || realm->find_first_of("\"\\\r\n") != std::string::npos)) {
      file.error(f->valueMark(), "realm: at most 128 bytes, without quotes or backslashes");
    } else {
      assign(jwt.realm, realm);
    }
  }
  if (const Field* f = map.find("forward_claims")) {
    readForwardClaims(file, *f, jwt);
  }
}

}  // namespace ballast::config
