// src/config/edge_sections.cpp — reading and resolving redirect_https, hsts and
// security_headers.
#include "config/edge_sections.h"

#include <string>

namespace ballast::config {
namespace {

using namespace std::string_view_literals;

constexpr std::array kRedirectKeys = {"status"sv, "port"sv};
constexpr std::array kHstsKeys = {"max_age"sv, "include_subdomains"sv, "preload"sv};
// RFC 6797 preload lists want at least a year; anything shorter is allowed but not preloadable.
constexpr auto kPreloadMinAge = std::chrono::hours(24 * 365);

bool isRedirectStatus(uint64_t s) { return s == 301 || s == 302 || s == 307 || s == 308; }

// `redirect_https: true`, or a mapping {status, port}.
std::optional<HttpsRedirect> readRedirect(FileReader& file, const Field& field) {
  HttpsRedirect r;
  if (field.value.IsScalar()) {
    auto on = readBool(file, field);
    if (!on) {
      return std::nullopt;
    }
    r.enabled = *on;
    return r;
  }
  const MapReader map(file, field, "redirect_https", kRedirectKeys);
  if (!map.ok()) {
    return std::nullopt;
  }
  r.enabled = true;
  if (const Field* f = map.find("status")) {
    const auto s = readUnsigned(file, *f, 300, 399);
    if (s && !isRedirectStatus(*s)) {
      file.error(f->valueMark(),
                 "redirect_https.status: 301, 302, 307 or 308, not " + std::to_string(*s));
    } else if (s) {
      r.status = static_cast<uint16_t>(*s);
    }
  }
  if (const Field* f = map.find("port")) {
    if (const auto p = readUnsigned(file, *f, 1, 65535)) {
      r.port = static_cast<uint16_t>(*p);
    }
  }
  return r;
}

// `hsts: true` (a year), `hsts: false`, or a mapping.
std::optional<Hsts> readHsts(FileReader& file, const Field& field) {
  Hsts h;
  if (field.value.IsScalar()) {
    auto on = readBool(file, field);
    if (!on) {
      return std::nullopt;
    }
    h.enabled = *on;
    return h;
  }
  const MapReader map(file, field, "hsts", kHstsKeys);
  if (!map.ok()) {
    return std::nullopt;
  }
  h.enabled = true;
  if (const Field* f = map.find("max_age")) {
    assign(h.max_age, readDuration(file, *f, /*positive=*/false));
  }
  if (const Field* f = map.find("include_subdomains")) {
    assign(h.include_subdomains, readBool(file, *f));
  }
  if (const Field* f = map.find("preload")) {
    assign(h.preload, readBool(file, *f));
    if (h.preload && (!h.include_subdomains || h.max_age < kPreloadMinAge)) {
      file.error(f->valueMark(),
                 "hsts.preload: browsers preload only with include_subdomains: true and a "
                 "max_age of at least 1 year");
    }
  }
  return h;
}

std::string hstsValue(const Hsts& h) {
  const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(h.max_age).count();
  std::string v = "max-age=" + std::to_string(seconds);
  if (h.include_subdomains) {
    v += "; includeSubDomains";
  }
  if (h.preload) {
    v += "; preload";
  }
  return v;
}

void addDefaults(const EdgePolicy& route, const EdgePolicy& listener, bool tls, HeaderOps& ops) {
  const auto& hsts = route.hsts ? route.hsts : listener.hsts;
  if (tls && hsts && hsts->enabled) {
    // Ours replaces the backend's: the edge owns the TLS policy of the name.
    ops.set.emplace_back("Strict-Transport-Security", hstsValue(*hsts));
  }
  const auto& security =
      route.security_headers ? route.security_headers : listener.security_headers;
  if (security.value_or(false)) {
    ops.defaults.emplace_back("X-Content-Type-Options", "nosniff");
    ops.defaults.emplace_back("X-Frame-Options", "SAMEORIGIN");
    ops.defaults.emplace_back("Referrer-Policy", "strict-origin-when-cross-origin");
  }
}

}  // namespace

void readEdgePolicy(FileReader& file, const MapReader& map, EdgePolicy& edge) {
  if (const Field* f = map.find("redirect_https")) {
    edge.redirect_https = readRedirect(file, *f);
  }
  if (const Field* f = map.find("hsts")) {
    edge.hsts = readHsts(file, *f);
  }
  if (const Field* f = map.find("security_headers")) {
    edge.security_headers = readBool(file, *f);
  }
}

void checkEdgePolicy(FileReader& file, const MapReader& map, const Listener& listener) {
  if (listener.protocol != Protocol::kHttp) {
    return;
  }
  if (const Field* f = map.find("hsts")) {
    file.error(f->key_mark,
               "hsts: only for protocol: https (RFC 6797: never sent over plain HTTP)");
  }
}

void resolveEdgePolicy(Listener& listener) {
  auto& http = listener.http;
  const bool tls = listener.protocol == Protocol::kHttps;
  http.redirect = http.edge.redirect_https.value_or(HttpsRedirect{});
  addDefaults({}, http.edge, tls, http.response_headers);
  for (auto& route : http.routes) {
    route.redirect = route.edge.redirect_https.value_or(http.redirect);
    addDefaults(route.edge, http.edge, tls, route.response_headers);
  }
}

}  // namespace ballast::config
