// src/l7/forward_auth_filter.cpp — the subrequest's head, the cache lookup and what an answer
// does to the exchange.
#include "l7/forward_auth_filter.h"

#include "proto/http1/hop_by_hop.h"
#include "proto/http1/syntax.h"

namespace ballast::l7 {
static_assert(kForwardAuthResultCount == metrics::kForwardAuthResultKinds);

void countForwardAuth(metrics::ListenerCounters& counters, ForwardAuthResult r) {
  counters.forward_auth_requests_total[static_cast<size_t>(r)].add();
}

void appendForwardAuthField(std::string& out, std::string_view name, std::string_view value) {
  out.append(name);
  out.append(": ");
  out.append(value);
  out.append("\r\n");
}

std::string_view forwardAuthResultName(ForwardAuthResult r) {
  switch (r) {
    case ForwardAuthResult::kAllowed:
      return "allowed";
    case ForwardAuthResult::kDenied:
      return "denied";
    case ForwardAuthResult::kError:
      return "error";
    case ForwardAuthResult::kCachedAllowed:
      return "cached_allowed";
    case ForwardAuthResult::kCachedDenied:
      return "cached_denied";
  }
  return "unknown";
}

void applyForwardAuthAllowed(Exchange& ex, const config::ForwardAuth& auth,
                             const ForwardAuthAnswer& answer) {
  for (const auto& [name, value] : answer.fields) {
    for (const std::string& wanted : auth.copy_response_headers) {
      if (wanted == name) {
        ex.add_fields.emplace_back(wanted, value);
        break;
      }
    }
  }
}

Verdict applyForwardAuthDenied(Exchange& ex, const ForwardAuthAnswer& answer) {
  ex.answer_fields.clear();
  for (const auto& [name, value] : answer.fields) {
    appendForwardAuthField(ex.answer_fields, name, value);
  }
  ex.answer_storage = answer.body;
  ex.answer_type_storage = answer.content_type;
  ex.has_answer_body = true;
  ex.answer_body = ex.answer_storage;
  ex.answer_type = ex.answer_type_storage;
  return {answer.status, "refused by forward_auth"};
}

ForwardAuthFilter::ForwardAuthFilter(const config::Listener& listener,
                                     metrics::ListenerCounters& counters)
    : listener_(listener), counters_(counters) {}

const config::ForwardAuth* ForwardAuthFilter::scopeOf(const Exchange& ex) const {
  const config::ForwardAuth* auth = &listener_.http.forward_auth;
  if (ex.route_config != nullptr && ex.route_config->forward_auth) {
    auth = &*ex.route_config->forward_auth;
  }
  return auth->enabled && auth->pool_index >= 0 ? auth : nullptr;
}

Verdict ForwardAuthFilter::onRequest(Exchange& ex, const RequestView& request,
                                     const net::SocketAddress& client) {
  const config::ForwardAuth* auth = scopeOf(ex);
  if (auth == nullptr) {
    return {};
  }
  // What the auth service may vouch for is never the client's to say.
  for (const std::string& name : auth->copy_response_headers) {
    ex.drop_fields.emplace_back(name);
  }
  std::string& head = ex.forward_auth_request;
  head.clear();
  head.append("GET ");
  head.append(auth->path);
  head.append(" HTTP/1.1\r\n");
  appendForwardAuthField(head, "Host",
                         request.host.empty() ? std::string_view("localhost") : request.host);
  appendForwardAuthField(head, "X-Forwarded-Method", request.method);
  appendForwardAuthField(head, "X-Forwarded-Proto",
                         listener_.protocol == config::Protocol::kHttps ? "https" : "http");
  if (!request.host.empty()) {
    appendForwardAuthField(head, "X-Forwarded-Host", request.host);
  }
  appendForwardAuthField(head, "X-Forwarded-Uri", request.target);
  appendForwardAuthField(head, "X-Forwarded-For", client.hostString());
  for (const auto& h : request.headers) {
    for (const std::string& wanted : auth->copy_request_headers) {
      if (proto::http1::equalsIgnoreCase(h.name, wanted)) {
        appendForwardAuthField(head, h.name, h.value);
        break;
      }
    }
  }
  head.append("\r\n");
  if (auth->cache_ttl.count() > 0) {
    if (const ForwardAuthAnswer* cached = cache_.find(head, ex.start_ms)) {
      if (cached->allowed()) {
        countForwardAuth(counters_, ForwardAuthResult::kCachedAllowed);
        applyForwardAuthAllowed(ex, *auth, *cached);
        return {};
      }
      countForwardAuth(counters_, ForwardAuthResult::kCachedDenied);
      return applyForwardAuthDenied(ex, *cached);
    }
    ex.forward_auth_cache = &cache_;
  }
  ex.forward_auth = auth;
  return {};
}

}  // namespace ballast::l7
