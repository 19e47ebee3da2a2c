// src/l7/exchange.h — one request and its response as the proxy core sees them, whatever wire
// carries them (HTTP/1.1 today, HTTP/2 streams next): what was asked, where it was routed, which
// backends were tried, and what the metrics and the access log record. A codec session extends
// Exchange with its own framing state; the core (exchange_core.h) and the filters never see that.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "compress/compressor.h"
#include "config/config_types.h"
#include "l7/cache_state.h"
#include "metrics/proxy_metrics.h"
#include "proto/http1/message.h"
#include "upstream/pool_runtime.h"

namespace ballast::l7 {

class ForwardAuthCache;

// Backends one request may try (the first pick and its connect retries), at most.
inline constexpr uint32_t kMaxTries = 4;

// A request head as the core reads it: the same fields from any wire version. Header fields are
// name/value views; an HTTP/2 session fills the same type from its decoded header block.
struct RequestView {
  RequestView() = default;
  // NOLINTNEXTLINE(google-explicit-constructor): an HTTP/1 head is a request view as it stands
  RequestView(const proto::http1::RequestHead& h)
      : method(h.method), target(h.target), host(h.host), headers(h.headers) {}
  std::string_view method;
  std::string_view target;  // origin form "/p?q", or absolute or authority form as received
  std::string_view host;    // the authority (Host, or the target's for absolute form)
  std::span<const proto::http1::Header> headers;
};

// What the core or a filter decided about a request: go on towards a backend (status 0), or
// answer it here with `status`.
struct Verdict {
  uint16_t status = 0;
  std::string_view reason;    // for the log; static text
  std::string_view location;  // a redirect's target (points into the Exchange); else empty
  bool proceed() const { return status == 0; }
};

// What one request carries from its head to its access-log line.
struct Exchange {
  std::string method;
  std::string host;
  std::string path;
  std::string request_id;
  std::string route;
  std::string pool;
  upstream::BackendStatePtr backend;
  metrics::BackendCounters* backend_counters = nullptr;  // this worker's, for `backend`
  uint64_t start_ms = 0;
  uint64_t connect_ms = 0;   // upstream connected (or reused)
  uint64_t response_ms = 0;  // upstream response head
  uint64_t bytes_in = 0;
  uint64_t bytes_out = 0;
  uint16_t status = 0;
  // The client left before any response began: logged with kClientClosedRequest, which no
  // status class counts (a backend's own 499 answer is counted as any other 4xx).
  bool client_closed = false;
  bool logged = false;  // its access line was written (endExchange)
  int pool_index = -1;
  const config::Route* route_config = nullptr;  // null: the listener's default pool
  uint64_t hash_key = 0;
  int sticky = -1;  // backend index the client's sticky cookie names, when up
  // Stored sticky pools: the session id the cookie carried (well-formed), and whether the store
  // had a live pin for it (l7/sticky.h).
  std::string sticky_session;
  bool sticky_known = false;
  uint8_t tries = 0;
  uint32_t tried[kMaxTries] = {};
  std::string location;  // a redirect answered by the edge (Verdict::location points here)
  // Fields a filter adds to the answer it gives ("Name: value\r\n" lines; 429's Retry-After and
  // RateLimit). Both codecs send them with the verdict's status.
  std::string answer_fields;
  // A filter's edits to the request sent upstream (the jwt filter's claims): fields removed
  // whatever the client sent, then fields added after the route's edits. Names point into the
  // configuration, which the worker's epoch keeps alive.
  std::vector<std::string_view> drop_fields;
  std::vector<std::pair<std::string_view, std::string>> add_fields;
  // Claims of the verified token that rate limits key on (jwt_claim:NAME), for the filters after
  // the jwt filter; empty when no token was verified.
  std::vector<std::pair<std::string_view, std::string>> jwt_claims;
  // The body of an answer given here (respond:, an error page, a CORS preflight's empty one):
  // set, the codecs send it instead of their own short text. Points into the configuration.
  bool has_answer_body = false;
  std::string_view answer_body;
  std::string_view answer_type;  // Content-Type; empty with a body: text/plain
  // An answer given here whose body is not configuration (the auth service's refusal):
  // answer_body and answer_type point into these.
  std::string answer_storage;
  std::string answer_type_storage;
  // forward_auth: set by its filter when the auth service must be asked (no cached answer);
  // the upstream side sends forward_auth_request (a whole HTTP/1.1 head) before any backend is
  // picked (http_upstream.h). The cache is the filter's, null when cache_ttl is 0.
  const config::ForwardAuth* forward_auth = nullptr;
  ForwardAuthCache* forward_auth_cache = nullptr;
  std::string forward_auth_request;
  // rewrite: the request target and Host sent upstream; empty: the client's.
  std::string upstream_target;
  std::string upstream_host;
  // Edits of the backend's response head (CORS): fields whose names start with this prefix are
  // dropped, then response_add's are added. Static text and configuration.
  std::string_view response_drop_prefix;
  std::vector<std::pair<std::string_view, std::string_view>> response_add;
  // The rate limit that let this request through with the least room left (rule empty: none),
  // for the RateLimit-Policy and RateLimit fields of the response; formatted at its head.
  struct RateLimitRoom {
    std::string_view rule;  // the configuration's name
    uint64_t quota = 0;
    uint64_t window_s = 0;
    uint64_t remaining = 0;
    uint64_t reset_s = 0;
  } rate_limit;
  std::string rate_limit_policy;
  std::string rate_limit_state;
  // compress: the coding the client's Accept-Encoding chose (kNone: none, or compression off),
  // and, once the response head said yes, the stream compressor (allocated only then).
  compress::Encoding accept_encoding = compress::Encoding::kNone;
  std::unique_ptr<compress::Compressor> compressor;
  std::string weak_etag;      // the backend's strong ETag made weak, for the compressed answer
  uint64_t compress_in = 0;   // body bytes given to the compressor
  uint64_t compress_out = 0;  // and what came out
  // The answer is the cache's compressed copy of a stored body (sent as it is, counted as a
  // compressed response without compressor work).
  bool encoded_copy = false;
  CacheState cache;
  // gRPC (a request with content-type application/grpc): its grpc-timeout as an absolute
  // deadline on the loop's clock (0: none), and the response's grpc-status, from a
  // trailers-only head or the trailers (-1: none seen). Logged and counted when set.
  bool grpc = false;
  uint64_t grpc_deadline_ms = 0;
  int32_t grpc_status = -1;

  // Back to a fresh request's state; the strings keep their capacity for the next one.
  void resetCore();
};

}  // namespace ballast::l7
