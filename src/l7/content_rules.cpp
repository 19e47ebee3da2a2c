// src/l7/content_rules.cpp — CORS, direct responses, redirects, rewrites and error pages.
#include "l7/content_rules.h"

#include <re2/re2.h>

#include <algorithm>
#include <array>
#include <optional>
#include <string>

#include "policy/url_template.h"
#include "proto/http1/syntax.h"

namespace ballast::l7 {
namespace {

namespace h1 = proto::http1;

constexpr uint16_t kNoContent = 204;
constexpr size_t kMaxCaptures = 9;
constexpr std::string_view kCorsPrefix = "access-control-";

std::string_view fieldValue(const RequestView& request, std::string_view name) {
  for (const auto& h : request.headers) {
    if (h1::equalsIgnoreCase(h.name, name)) {
      return h.value;
    }
  }
  return {};
}

// The path and query of the request target, whatever its form.
std::pair<std::string_view, std::string_view> pathAndQuery(std::string_view target) {
  if (!target.starts_with('/')) {
    const size_t scheme = target.find("://");
    const size_t slash =
        scheme == std::string_view::npos ? std::string_view::npos : target.find('/', scheme + 3);
    target = slash == std::string_view::npos ? std::string_view("/") : target.substr(slash);
  }
  const size_t q = target.find('?');
  if (q == std::string_view::npos) {
    return {target, {}};
  }
  return {target.substr(0, q), target.substr(q + 1)};
}

bool originAllowed(const config::CorsPolicy& cors, std::string_view origin) {
  if (cors.any_origin) {
    return true;
  }
  if (std::any_of(cors.origins.begin(), cors.origins.end(),
                  [origin](const std::string& o) { return h1::equalsIgnoreCase(o, origin); })) {
    return true;
  }
  return std::any_of(cors.compiled.begin(), cors.compiled.end(), [origin](const auto& re) {
    return re2::RE2::FullMatch(re2::StringPiece(origin.data(), origin.size()), *re);
  });
}

bool methodAllowed(const config::CorsPolicy& cors, std::string_view method) {
  return std::find(cors.methods.begin(), cors.methods.end(), method) != cors.methods.end();
}

// Every field a preflight asks for (a comma-separated list) is one the policy allows. CORS
// safelisted fields need no permission, but browsers only list the others.
bool headersAllowed(const config::CorsPolicy& cors, std::string_view asked) {
  while (!asked.empty()) {
    const size_t comma = asked.find(',');
    std::string_view name = asked.substr(0, comma);
    asked = comma == std::string_view::npos ? std::string_view() : asked.substr(comma + 1);
    while (!name.empty() && (name.front() == ' ' || name.front() == '\t')) {
      name.remove_prefix(1);
    }
    while (!name.empty() && (name.back() == ' ' || name.back() == '\t')) {
      name.remove_suffix(1);
    }
    if (name.empty()) {
      continue;
    }
    if (std::none_of(cors.headers.begin(), cors.headers.end(),
                     [name](const std::string& h) { return h1::equalsIgnoreCase(h, name); })) {
      return false;
    }
  }
  return true;
}

// Whether `re` matches the whole of `text`; fills the first captures (at most 9) and returns
// how many it filled.
std::optional<size_t> matchWhole(const re2::RE2& re, std::string_view text,
                                 std::array<std::string_view, kMaxCaptures>& captures) {
  const size_t groups =
      std::min<size_t>(static_cast<size_t>(re.NumberOfCapturingGroups()), kMaxCaptures);
  std::array<re2::StringPiece, kMaxCaptures + 1> found;
  if (!re.Match(re2::StringPiece(text.data(), text.size()), 0, text.size(), re2::RE2::ANCHOR_BOTH,
                found.data(), static_cast<int>(groups + 1))) {
    return std::nullopt;
  }
  for (size_t i = 0; i < groups; ++i) {
    captures[i] = std::string_view(found[i + 1].data(), found[i + 1].size());
  }
  return groups;
}

// "Name: value\r\n" onto a direct answer's fields.
void answerField(Exchange& ex, std::string_view name, std::string_view value) {
  ex.answer_fields.append(name);
  ex.answer_fields.append(": ");
  ex.answer_fields.append(value);
  ex.answer_fields.append("\r\n");
}

}  // namespace

const config::CorsPolicy* corsPolicyFor(const config::Listener& listener, const Exchange& ex) {
  const config::CorsPolicy* cors = &listener.http.cors;
  if (ex.route_config != nullptr && ex.route_config->cors) {
    cors = &*ex.route_config->cors;
  }
  return cors->enabled ? cors : nullptr;
}

Verdict applyCors(const config::CorsPolicy& cors, Exchange& ex, const RequestView& request) {
  // The edge owns Access-Control-* on a CORS route: two sources would disagree.
  ex.response_drop_prefix = kCorsPrefix;
  const std::string_view origin = fieldValue(request, "origin");
  const std::string_view asked_method = fieldValue(request, "access-control-request-method");
  const bool preflight = request.method == "OPTIONS" && !origin.empty() && !asked_method.empty();
  const bool allowed = !origin.empty() && originAllowed(cors, origin);
  // With a list of origins the answer names the one that asked, so caches must key on it.
  const std::string_view allow_origin =
      cors.any_origin && !cors.credentials ? std::string_view("*") : origin;
  if (preflight) {
    // Answered here whatever the origin: a preflight carries no credentials and means nothing
    // to the backend. Without permission the answer has no CORS fields, so the browser stops.
    if (allowed && methodAllowed(cors, asked_method) &&
        headersAllowed(cors, fieldValue(request, "access-control-request-headers"))) {
      answerField(ex, "Access-Control-Allow-Origin", allow_origin);
      answerField(ex, "Access-Control-Allow-Methods", cors.methods_joined);
      if (!cors.headers.empty()) {
        answerField(ex, "Access-Control-Allow-Headers", cors.headers_joined);
      }
      if (cors.credentials) {
        answerField(ex, "Access-Control-Allow-Credentials", "true");
      }
      if (cors.max_age_s > 0) {
        answerField(ex, "Access-Control-Max-Age", std::to_string(cors.max_age_s));
      }
    }
    if (!cors.any_origin || cors.credentials) {
      answerField(ex, "Vary", "Origin");
    }
    ex.has_answer_body = true;  // 204: no body
    ex.answer_body = {};
    return {kNoContent, "cors preflight"};
  }
  if (allowed) {
    ex.response_add.emplace_back("Access-Control-Allow-Origin", allow_origin);
    if (cors.credentials) {
      ex.response_add.emplace_back("Access-Control-Allow-Credentials", "true");
    }
    if (!cors.expose_headers.empty()) {
      ex.response_add.emplace_back("Access-Control-Expose-Headers", cors.expose_joined);
    }
  }
  if (!cors.any_origin || cors.credentials) {
    ex.response_add.emplace_back("Vary", "Origin");
  }
  return {};
}

Verdict routeAnswer(const config::Route& route, bool tls, Exchange& ex,
                    const RequestView& request) {
  if (route.respond) {
    const config::DirectResponse& r = *route.respond;
    for (const auto& [name, value] : r.headers) {
      answerField(ex, name, value);
    }
    ex.has_answer_body = true;
    ex.answer_body = r.body;
    ex.answer_type = r.content_type;
    return {r.status, "direct response"};
  }
  if (!route.redirect_to) {
    return {};
  }
  const config::RouteRedirect& redirect = *route.redirect_to;
  const auto [path, query] = pathAndQuery(request.target);
  std::array<std::string_view, kMaxCaptures> captures{};
  size_t n_captures = 0;
  if (redirect.compiled) {
    const auto n = matchWhole(*redirect.compiled, path, captures);
    if (!n) {
      return {};  // not a path this redirect is for
    }
    n_captures = *n;
  }
  policy::TemplateValues values;
  values.scheme = tls ? "https" : "http";
  values.host = request.host;
  values.path = path;
  values.query = query;
  values.captures = std::span<const std::string_view>(captures.data(), n_captures);
  ex.location.clear();
  policy::expandTemplate(redirect.to, values, ex.location);
  return {redirect.status, "redirect", ex.location};
}

void applyRewrite(const config::PathRewrite& rewrite, Exchange& ex, const RequestView& request) {
  if (!rewrite.host.empty()) {
    // Through the filters' field edits, which both codecs apply after the route's own.
    ex.upstream_host = rewrite.host;
    ex.drop_fields.emplace_back("host");
    ex.add_fields.emplace_back("Host", rewrite.host);
  }
  if (!rewrite.has_path_rule) {
    return;
  }
  const auto [path, query] = pathAndQuery(request.target);
  std::string& out = ex.upstream_target;
  out.clear();
  if (!rewrite.prefix.empty()) {
    if (!path.starts_with(rewrite.prefix)) {
      return;
    }
    out.append(rewrite.replace);
    std::string_view rest = path.substr(rewrite.prefix.size());
    // "/api/" → "/" on "/api/users": one slash between the parts, and never an empty path.
    if (!out.empty() && out.back() == '/' && rest.starts_with('/')) {
      rest.remove_prefix(1);
    }
    if ((out.empty() || out.back() != '/') && !rest.empty() && !rest.starts_with('/')) {
      out.push_back('/');
    }
    out.append(rest);
    if (out.empty()) {
      out.push_back('/');
    }
  } else {
    std::array<std::string_view, kMaxCaptures> captures{};
    const auto n = matchWhole(*rewrite.compiled, path, captures);
    if (!n) {
      return;
    }
    policy::TemplateValues values;
    values.path = path;
    values.query = query;
    values.host = request.host;
    values.captures = std::span<const std::string_view>(captures.data(), *n);
    policy::expandTemplate(rewrite.replace, values, out);
  }
  if (!query.empty()) {
    out.push_back('?');
    out.append(query);
  }
}

bool useErrorPage(const config::Listener& listener, Exchange& ex, uint16_t status) {
  if (ex.has_answer_body) {
    return true;
  }
  const config::ErrorPages* pages = &listener.http.error_pages;
  if (ex.route_config != nullptr && ex.route_config->error_pages) {
    pages = &*ex.route_config->error_pages;
  }
  const auto it = pages->pages.find(status);
  if (it == pages->pages.end()) {
    return false;
  }
  ex.has_answer_body = true;
  ex.answer_body = it->second.body;
  ex.answer_type = pages->content_type;
  return true;
}

bool replacesBackendError(const config::Listener& listener, const Exchange& ex, uint16_t status) {
  const config::ErrorPages* pages = &listener.http.error_pages;
  if (ex.route_config != nullptr && ex.route_config->error_pages) {
    pages = &*ex.route_config->error_pages;
  }
  return pages->backend_errors && status >= 500 && pages->pages.contains(status);
}

void applyResponseEdits(Exchange& ex, std::vector<proto::http1::Header>& fields) {
  if (!ex.rate_limit.rule.empty()) {
    // draft-ietf-httpapi-ratelimit-headers-10, as on a 429, with the room that is left.
    const auto& room = ex.rate_limit;
    ex.rate_limit_policy.assign("\"").append(room.rule).append("\";q=");
    ex.rate_limit_policy.append(std::to_string(room.quota)).append(";w=");
    ex.rate_limit_policy.append(std::to_string(room.window_s));
    ex.rate_limit_state.assign("\"").append(room.rule).append("\";r=");
    ex.rate_limit_state.append(std::to_string(room.remaining)).append(";t=");
    ex.rate_limit_state.append(std::to_string(room.reset_s));
    fields.push_back({"RateLimit-Policy", ex.rate_limit_policy});
    fields.push_back({"RateLimit", ex.rate_limit_state});
  }
  if (!ex.response_drop_prefix.empty()) {
    std::erase_if(fields, [&ex](const h1::Header& h) {
      return h.name.size() >= ex.response_drop_prefix.size() &&
             h1::equalsIgnoreCase(h.name.substr(0, ex.response_drop_prefix.size()),
                                  ex.response_drop_prefix);
    });
  }
  for (const auto& [name, value] : ex.response_add) {
    fields.push_back({name, value});
  }
}

}  // namespace ballast::l7
