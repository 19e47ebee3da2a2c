// src/l7/exchange_core.cpp — routing, request ids, filters, picking and the access log: the
// parts of an exchange that are the same for every wire version.
#include "l7/exchange_core.h"

#include <array>

#include "core/clock.h"
#include "core/hex.h"
#include "core/log.h"
#include "core/splitmix.h"
#include "l7/cache_lookup.h"
#include "l7/compression.h"
#include "l7/content_rules.h"
#include "l7/request_key.h"
#include "l7/sticky.h"
#include "proto/http1/syntax.h"

namespace ballast::l7 {
namespace {

namespace h1 = proto::http1;

constexpr size_t kMaxRequestIdBytes = 128;
constexpr int kHexBase = 16;
constexpr uint16_t kNotFound = 404;
constexpr uint16_t kHttpsPort = 443;
constexpr uint16_t kBadRequest = 400;
constexpr uint16_t kForbidden = 403;

bool wellFormedRequestId(std::string_view id) {
  if (id.empty() || id.size() > kMaxRequestIdBytes) {
    return false;
  }
  for (char c : id) {
    if (!h1::isTchar(static_cast<uint8_t>(c))) {
      return false;
    }
  }
  return true;
}

// The client's id if well formed, else ours (worker, counter, and a mix so ids from restarts do
// not repeat in sequence).
void assignRequestId(const ExchangeEnv& env, Exchange& ex, const RequestView& request) {
  std::string_view incoming_id;
  for (const auto& h : request.headers) {
    if (h1::equalsIgnoreCase(h.name, "x-request-id")) {
      incoming_id = h.value;
    }
  }
  if (wellFormedRequestId(incoming_id)) {
    ex.request_id.assign(incoming_id);
    return;
  }
  // 16 + 8 hex digits.
  constexpr size_t kMixDigits = 16;
  constexpr size_t kCounterDigits = 8;
  std::array<char, kMixDigits + kCounterDigits> id{};
  const uint64_t n = ++env.scratch->request_counter;
  core::writeHex(id.data(), core::splitMixFinalize(n * core::kSplitMixGamma ^ ex.start_ms),
                 kMixDigits);
  core::writeHex(id.data() + kMixDigits,
                 static_cast<uint32_t>(env.worker << kHexBase) ^ static_cast<uint32_t>(n),
                 kCounterDigits);
  ex.request_id.assign(id.data(), id.size());
}

void countExchange(const ExchangeEnv& env, const Exchange& ex, uint64_t now_ms) {
  constexpr uint64_t kUsPerMs = 1000;
  auto& lc = *env.counters;
  lc.requests_total.add();
  if (!ex.client_closed) {
    lc.countStatus(ex.status);
  }
  lc.bytes_in_total.add(ex.bytes_in);  // HTTP: body bytes
  lc.bytes_out_total.add(ex.bytes_out);
  lc.request_duration.observeUs((now_ms - ex.start_ms) * kUsPerMs);
  if (ex.grpc_status >= 0) {
    lc.countGrpcStatus(static_cast<uint32_t>(ex.grpc_status));
  }
  if (ex.route_config != nullptr && env.route_counters != nullptr) {
    const auto index = static_cast<size_t>(ex.route_config - env.listener->http.routes.data());
    if (index < env.route_counters->size()) {
      auto& rc = *(*env.route_counters)[index];
      rc.requests_total.add();
      if (!ex.client_closed) {
        rc.countStatus(ex.status);
      }
    }
  }
  if (ex.backend_counters != nullptr && ex.connect_ms != 0) {
    auto& bc = *ex.backend_counters;
    bc.requests_total.add();
    bc.bytes_out_total.add(ex.bytes_in);
    bc.bytes_in_total.add(ex.bytes_out);
    if (ex.response_ms != 0 && !ex.client_closed) {  // a 1xx alone is no answer
      bc.countStatus(ex.status);
      bc.response_duration.observeUs((ex.response_ms - ex.connect_ms) * kUsPerMs);
    }
  }
}

// The backends a request tried, in order, comma-separated (in the worker's scratch string).
std::string_view triedBackends(const ExchangeEnv& env, const Exchange& ex) {
  if (ex.tries <= 1 || ex.pool_index < 0) {
    return ex.backend ? std::string_view(ex.backend->name) : std::string_view();
  }
  const auto& backends = (*env.pools)[static_cast<size_t>(ex.pool_index)]->runtime().backends;
  std::string& out = env.scratch->backends;
  out.clear();
  for (uint32_t i = 0; i < ex.tries; ++i) {
    if (i > 0) {
      out.push_back(',');
    }
    out.append(backends[ex.tried[i]]->name);
  }
  return out;
}

void fillAccessLog(const ExchangeEnv& env, const Exchange& ex, const net::SocketAddress& client,
                   uint64_t now_ms, core::LogLine& line) {
  line.str("client", client.toString())
      .str("method", ex.method)
      .str("host", ex.host)
      .str("path", ex.path)
      .unum("status", ex.status)
      .unum("bytes_in", ex.bytes_in)
      .unum("bytes_out", ex.bytes_out)
      .unum("duration_ms", now_ms - ex.start_ms)
      .unum("upstream_connect_ms", ex.connect_ms ? ex.connect_ms - ex.start_ms : 0)
      .unum("upstream_response_ms", ex.response_ms ? ex.response_ms - ex.start_ms : 0)
      .str("backend", ex.backend ? ex.backend->name : "")
      .unum("attempts", ex.tries)
      .str("backends", triedBackends(env, ex))
      .str("route", ex.route)
      .str("pool", ex.pool)
      .str("listener", env.listener->name)
      .str("request_id", ex.request_id)
      .unum("worker", env.worker);
  if (ex.cache.mode != CacheState::Mode::kOff) {
    line.str("cache", cacheLabel(ex.cache.mode));
  }
  if (ex.grpc_status >= 0) {
    line.unum("grpc_status", static_cast<uint64_t>(ex.grpc_status));
  }
}

// The same URL over https: the request's host without its port, then ours when not 443, then
// the target as received (origin form; an absolute-form target's own path and query).
void httpsLocation(const RequestView& request, uint16_t port, std::string& out) {
  std::string_view host = request.host;
  if (host.starts_with('[')) {
    host = host.substr(0, host.find(']') + 1);  // [v6]:port
  } else if (const size_t colon = host.rfind(':'); colon != std::string_view::npos) {
    host = host.substr(0, colon);
  }
  std::string_view target = request.target;
  if (!target.starts_with('/')) {
    const size_t scheme = target.find("://");
    const size_t path =
        scheme == std::string_view::npos ? std::string_view::npos : target.find('/', scheme + 3);
    target = path == std::string_view::npos ? std::string_view("/") : target.substr(path);
  }
  out.assign("https://");
  out.append(host);
  if (port != kHttpsPort) {
    out.push_back(':');
    out.append(std::to_string(port));
  }
  out.append(target);
}

Verdict runFilters(const ExchangeEnv& env, Exchange& ex, const RequestView& request,
                   const net::SocketAddress& client) {
  if (env.filters != nullptr) {
    for (const auto& filter : *env.filters) {
      const Verdict v = filter->onRequest(ex, request, client);
      if (!v.proceed()) {
        return v;
      }
    }
  }
  return {};
}

bool isTls(const ExchangeEnv& env) { return env.listener->protocol == config::Protocol::kHttps; }

}  // namespace

void Exchange::resetCore() {
  method.clear();
  host.clear();
  path.clear();
  request_id.clear();
  route.clear();
  pool.clear();
  backend.reset();
  backend_counters = nullptr;
  route_config = nullptr;
  pool_index = -1;
  hash_key = 0;
  sticky = -1;
  sticky_session.clear();
  sticky_known = false;
  start_ms = connect_ms = response_ms = 0;
  bytes_in = bytes_out = 0;
  status = 0;
  client_closed = logged = false;
  tries = 0;
  location.clear();
  answer_fields.clear();
  drop_fields.clear();
  add_fields.clear();
  jwt_claims.clear();
  has_answer_body = false;
  answer_body = {};
  answer_type = {};
  answer_storage.clear();
  answer_type_storage.clear();
  forward_auth = nullptr;
  forward_auth_cache = nullptr;
  forward_auth_request.clear();
  upstream_target.clear();
  upstream_host.clear();
  response_drop_prefix = {};
  response_add.clear();
  rate_limit = {};
  accept_encoding = compress::Encoding::kNone;
  grpc = false;
  grpc_deadline_ms = 0;
  grpc_status = -1;
  compressor.reset();
  weak_etag.clear();
  compress_in = compress_out = 0;
  encoded_copy = false;
  cache.reset();
}

Verdict beginRequest(const ExchangeEnv& env, Exchange& ex, const RequestView& request,
                     const net::SocketAddress& client) {
  const Router::Match match =
      env.router->match(request.host, request.target, request.method, request.headers);
  if (match.route >= 0) {
    ex.route = env.router->routeName(match.route);
    ex.route_config = &env.listener->http.routes[static_cast<size_t>(match.route)];
  }
  if (ex.route_config != nullptr) {
    if (ex.route_config->acl.enabled() && !ex.route_config->acl.admits(client)) {
      assignRequestId(env, ex, request);
      env.counters->acl_denied_total.add();
      return {kForbidden, "denied by the route's acl"};
    }
    if (ex.route_config->deny_status != 0) {
      assignRequestId(env, ex, request);
      return {ex.route_config->deny_status, "denied by route"};
    }
  }
  const config::HttpsRedirect& redirect =
      ex.route_config != nullptr ? ex.route_config->redirect : env.listener->http.redirect;
  if (redirect.enabled) {
    assignRequestId(env, ex, request);
    if (request.host.empty()) {
      return {kBadRequest, "no host to redirect to"};  // HTTP/1.0 without Host
    }
    httpsLocation(request, redirect.port, ex.location);
    return {redirect.status, "redirect to https", ex.location};
  }
  if (const config::CorsPolicy* cors = corsPolicyFor(*env.listener, ex)) {
    // Before the filters: a preflight carries no credentials, so auth would refuse it.
    const Verdict v = applyCors(*cors, ex, request);
    if (!v.proceed()) {
      assignRequestId(env, ex, request);
      return v;
    }
  }
  const bool answers_itself =
      ex.route_config != nullptr && (ex.route_config->respond || ex.route_config->redirect_to);
  if (match.pool < 0) {
    if (!answers_itself) {
      return {kNotFound, "no route"};
    }
    assignRequestId(env, ex, request);
    if (const Verdict v = runFilters(env, ex, request, client); !v.proceed()) {
      return v;
    }
    const Verdict answer = routeAnswer(*ex.route_config, isTls(env), ex, request);
    return answer.proceed() ? Verdict{kNotFound, "no route"} : answer;
  }
  ex.pool_index = match.pool;
  auto& pool = *(*env.pools)[static_cast<size_t>(match.pool)];
  const config::Pool& pool_config = *pool.runtime().config;
  ex.pool = pool_config.name;
  if (pool_config.algorithm == balance::Algorithm::kSourceHash ||
      pool_config.algorithm == balance::Algorithm::kConsistentHash) {
    ex.hash_key = requestHashKey(pool_config, request, client);
  }
  if (!pool_config.sticky_cookie.empty()) {
    const StickyLookup stuck =
        stickyBackend(pool, findCookie(request.headers, pool_config.sticky_cookie),
                      core::unixMs() / core::kMsPerSecond);
    ex.sticky = stuck.backend ? static_cast<int>(*stuck.backend) : -1;
    ex.sticky_session.assign(stuck.session);
    ex.sticky_known = stuck.known;
    if (stuck.rejected) {
      env.counters->sticky_rejected_total.add();
      core::LogLine(core::LogLevel::kWarn, "l7.sticky_rejected", core::LogRepeat::kLimited)
          .str("listener", env.listener->name)
          .str("pool", pool_config.name);
    }
  }
  assignRequestId(env, ex, request);
  if (const Verdict v = runFilters(env, ex, request, client); !v.proceed()) {
    return v;
  }
  if (ex.route_config != nullptr) {
    // After the filters: a rate limit or a password protects what the edge answers, too.
    if (answers_itself) {
      if (const Verdict v = routeAnswer(*ex.route_config, isTls(env), ex, request); !v.proceed()) {
        return v;
      }
    }
    if (ex.route_config->rewrite) {
      applyRewrite(*ex.route_config->rewrite, ex, request);
    }
  }
  noteAcceptEncoding(*env.listener, ex, request);
  if (env.cache_store != nullptr) {
    lookupCache(*env.listener, env.cache_store, ex, request, isTls(env), core::unixMs());
  }
  return {};
}

std::optional<uint32_t> pickBackend(const ExchangeEnv& env, Exchange& ex) {
  auto& pool = *(*env.pools)[static_cast<size_t>(ex.pool_index)];
  const config::Pool& pool_config = *pool.runtime().config;
  // Connect failures within connect_retries; with `retries:`, up to its attempts in all.
  const uint32_t retries = std::min<uint32_t>(
      std::max(pool_config.connect_retries,
               pool_config.retries.enabled ? pool_config.retries.attempts - 1 : 0),
      kMaxTries - 1);
  if (ex.tries > retries) {
    return std::nullopt;
  }
  std::optional<uint32_t> choice;
  if (ex.sticky >= 0 && ex.tries == 0) {
    choice = static_cast<uint32_t>(ex.sticky);  // the client's sticky backend, known up
  } else {
    choice = pool.pick(ex.hash_key,
                       std::span<const uint32_t>(static_cast<const uint32_t*>(ex.tried), ex.tries));
  }
  if (!choice) {
    return std::nullopt;
  }
  if (ex.tries > 0 && ex.backend_counters != nullptr) {
    ex.backend_counters->retries_total.add();
  }
  ex.tried[ex.tries++] = *choice;
  ex.backend = pool.runtime().backends[*choice];
  ex.backend_counters = &pool.counters(*choice);
  return choice;
}

void recordBackendOutcome(const ExchangeEnv& env, const Exchange& ex, upstream::Outcome outcome,
                          uint64_t now_ms) {
  if (ex.tries == 0 || ex.pool_index < 0) {
    return;
  }
  (*env.pools)[static_cast<size_t>(ex.pool_index)]->recordOutcome(ex.tried[ex.tries - 1], outcome,
                                                                  now_ms);
}

void refuseExchange(const ExchangeEnv& env, Exchange& ex, upstream::CircuitRefusal why) {
  (*env.pools)[static_cast<size_t>(ex.pool_index)]->refuse(why);
  ex.answer_fields.append("Ballast-Refused: ");
  ex.answer_fields.append(upstream::circuitRefusalName(why));
  ex.answer_fields.append("\r\n");
}

bool refusedByBreaker(const ExchangeEnv& env, Exchange& ex) {
  if (ex.tries != 0 || ex.pool_index < 0 ||
      !(*env.pools)[static_cast<size_t>(ex.pool_index)]->anyBreakerOpen()) {
    return false;
  }
  refuseExchange(env, ex, upstream::CircuitRefusal::kBreakerOpen);
  return true;
}

void markClientLeft(const ExchangeEnv& env, Exchange& ex, bool response_began) {
  env.counters->client_aborts_total.add();
  if (!response_began) {
    ex.status = kClientClosedRequest;
    ex.client_closed = true;
  }
}

void endExchange(const ExchangeEnv& env, const Exchange& ex, const net::SocketAddress& client,
                 uint64_t now_ms) {
  countExchange(env, ex, now_ms);
  if (ex.compressor || ex.encoded_copy) {
    env.counters->compressed_total[static_cast<size_t>(ex.accept_encoding)].add();
    env.counters->compress_in_bytes_total.add(ex.compress_in);
    env.counters->compress_out_bytes_total.add(ex.compress_out);
  }
  if (env.access_log == nullptr && !core::logEnabled(core::LogLevel::kInfo)) {
    return;  // nothing would be written: skip building the fields
  }
  if (env.access_log != nullptr) {
    core::LogLine line(env.access_log, "http.access");
    fillAccessLog(env, ex, client, now_ms, line);
  } else {
    core::LogLine line(core::LogLevel::kInfo, "http.access");
    fillAccessLog(env, ex, client, now_ms, line);
  }
}

}  // namespace ballast::l7
