// src/l7/http_upstream_auth.cpp — HttpUpstream's forward_auth step: ask the auth service, then
// let the waiting exchange go on (with the fields the answer vouches for) or answer the client
// with the auth service's refusal.
#include "core/log.h"
#include "l7/http_upstream.h"

namespace ballast::l7 {
namespace {

constexpr uint16_t kFirstServerError = 500;

}  // namespace

void HttpUpstream::startAuth() {
  if (auth_ && auth_->running()) {
    return;
  }
  if (!auth_) {
    auth_ = std::make_unique<ForwardAuthCall>(loop_, pool_, env_, response_limits_, *this);
  }
  auth_->start(*ex_->forward_auth, ex_->forward_auth_request, loop_.nowMs());
}

void HttpUpstream::onForwardAuthDone(const ForwardAuthAnswer* answer, const char* why) {
  Exchange& ex = *ex_;
  const config::ForwardAuth& auth = *ex.forward_auth;
  auto& counters = *env_.counters;
  auth_pending_ = false;
  if (answer == nullptr) {
    countForwardAuth(counters, ForwardAuthResult::kError);
    core::LogLine(core::LogLevel::kWarn, "l7.forward_auth_failed", core::LogRepeat::kLimited)
        .str("listener", env_.listener->name)
        .str("route", ex.route)
        .str("pool", auth.pool)
        .str("reason", why);
    held_body_.clear();
    sink_.onUpstreamError(kServiceUnavailable, "forward_auth gave no answer");
    return;
  }
  // A 5xx is the auth service failing, not deciding: it is passed on but not remembered.
  if (ex.forward_auth_cache != nullptr && answer->status < kFirstServerError) {
    const uint64_t now = loop_.nowMs();
    ex.forward_auth_cache->put(ex.forward_auth_request, *answer,
                               now + static_cast<uint64_t>(auth.cache_ttl.count()), now);
  }
  if (!answer->allowed()) {
    countForwardAuth(counters, ForwardAuthResult::kDenied);
    held_body_.clear();
    const Verdict v = applyForwardAuthDenied(ex, *answer);
    sink_.onUpstreamError(v.status, "refused by forward_auth");
    return;
  }
  countForwardAuth(counters, ForwardAuthResult::kAllowed);
  Waited w = std::move(waited_);
  waited_ = {};
  // The vouched-for fields join the head before its blank line (the filter already removed a
  // client's own copies of them).
  std::string fields;
  for (const auto& [name, value] : answer->fields) {
    appendForwardAuthField(fields, name, value);
  }
  if (w.head.size() >= 2) {
    w.head.insert(w.head.size() - 2, fields);
  }
  const std::string body = std::move(held_body_);
  held_body_.clear();
  ex.forward_auth = nullptr;
  if (!beginChecked(ex, w.method, w.head, w.chunked, w.replayable, w.upgrade)) {
    sink_.onUpstreamError(kBadGateway, "out of buffers");
    return;
  }
  if (!connect()) {
    return;  // refused (breaker, no backend): already answered
  }
  if (!body.empty() &&
      !sendBody(std::span(reinterpret_cast<const uint8_t*>(body.data()), body.size()))) {
    sink_.onUpstreamError(kBadGateway, "out of buffers");
    return;
  }
  if (w.ended && !sendEnd()) {
    sink_.onUpstreamError(kBadGateway, "out of buffers");
    return;
  }
  sink_.onRequestWritable();  // the session may read more of the body now
}

}  // namespace ballast::l7
