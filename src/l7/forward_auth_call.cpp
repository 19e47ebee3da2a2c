// src/l7/forward_auth_call.cpp — the subrequest's life: sent, answered or failed, reported once.
#include "l7/forward_auth_call.h"

#include "l7/forward_auth_filter.h"
#include "proto/http1/hop_by_hop.h"
#include "proto/http1/syntax.h"

namespace ballast::l7 {
namespace {

// Fields of a refusal passed to the client: at most this many (an HTTP/2 answer carries 16
// besides its own), none that frame the message or the connection.
constexpr size_t kMaxRefusalFields = 12;
constexpr uint16_t kFirstFinalStatus = 200;

bool framesMessage(std::string_view name, std::span<const proto::http1::Header> headers) {
  using proto::http1::equalsIgnoreCase;
  return proto::http1::isHopByHop(name, headers) || equalsIgnoreCase(name, "content-length") ||
         equalsIgnoreCase(name, "content-type") || equalsIgnoreCase(name, "date") ||
         equalsIgnoreCase(name, "server");
}

}  // namespace

ForwardAuthCall::ForwardAuthCall(core::EventLoop& loop, UpstreamPool& pool, const ExchangeEnv& env,
                                 const proto::http1::Limits& response_limits, ForwardAuthUser& user)
    : loop_(loop), user_(user), up_(loop, pool, env, response_limits, *this) {
  timer_.bind(&ForwardAuthCall::onTimer, this);
}

ForwardAuthCall::~ForwardAuthCall() { cancel(); }

void ForwardAuthCall::start(const config::ForwardAuth& auth, std::string_view head,
                            uint64_t now_ms) {
  cancel();
  auth_ = &auth;
  ex_.resetCore();
  ex_.method = "GET";
  ex_.pool_index = auth.pool_index;
  ex_.start_ms = now_ms;
  answer_ = {};
  why_ = nullptr;
  ok_ = false;
  running_ = true;
  starting_ = true;
  loop_.timers().schedule(timer_, static_cast<uint64_t>(auth.timeout.count()));
  if (!up_.begin(ex_, "GET", head, /*chunked=*/false, /*replayable=*/true) || !up_.sendEnd()) {
    finish(false, "out of buffers");
  } else {
    up_.connect();  // false: onUpstreamError already finished the call
  }
  starting_ = false;
}

void ForwardAuthCall::cancel() {
  core::TimerWheel::cancel(timer_);
  if (running_) {
    up_.release(false);
    up_.settle();
  }
  running_ = false;
  reporting_ = false;
}

bool ForwardAuthCall::onResponseHead(const proto::http1::ResponseHead& head) {
  if (head.status < kFirstFinalStatus) {
    return true;  // interim: the final answer follows
  }
  answer_.status = head.status;
  for (const auto& h : head.headers) {
    if (answer_.allowed()) {
      for (const std::string& wanted : auth_->copy_response_headers) {
        if (proto::http1::equalsIgnoreCase(h.name, wanted)) {
          answer_.fields.emplace_back(wanted, h.value);
          break;
        }
      }
    } else if (proto::http1::equalsIgnoreCase(h.name, "content-type")) {
      answer_.content_type.assign(h.value);
    } else if (!framesMessage(h.name, head.headers) && answer_.fields.size() < kMaxRefusalFields) {
      answer_.fields.emplace_back(h.name, h.value);
    }
  }
  return true;
}

bool ForwardAuthCall::onResponseBody(std::span<const uint8_t> body) {
  if (answer_.allowed()) {
    return true;  // an allowing answer's body goes nowhere
  }
  if (answer_.body.size() + body.size() > kMaxForwardAuthBody) {
    up_.release(false);
    finish(false, "answer body too large");
    return false;
  }
  answer_.body.append(reinterpret_cast<const char*>(body.data()), body.size());
  return true;
}

void ForwardAuthCall::onResponseEnd(std::span<const proto::http1::Header> /*trailers*/,
                                    bool reusable) {
  up_.release(reusable);
  finish(answer_.status != 0, "no final answer");
}

void ForwardAuthCall::onTunnel(std::span<const uint8_t> /*rest*/) {
  up_.release(false);
  finish(false, "the auth service switched protocols");
}

void ForwardAuthCall::onTunnelData(core::ChunkId id, uint32_t /*len*/) { loop_.releaseChunk(id); }

void ForwardAuthCall::onTunnelEnd(int /*err*/) {}

void ForwardAuthCall::onUpstreamError(uint16_t /*status*/, const char* why) { finish(false, why); }

void ForwardAuthCall::finish(bool ok, const char* why) {
  if (!running_ || reporting_) {
    return;
  }
  up_.settle();
  ok_ = ok;
  why_ = why;
  reporting_ = true;
  // Never report from inside start(): the owner is still in the call that started us.
  if (starting_) {
    loop_.timers().scheduleSoon(timer_);
    return;
  }
  core::TimerWheel::cancel(timer_);
  running_ = false;
  reporting_ = false;
  user_.onForwardAuthDone(ok ? &answer_ : nullptr, why);
}

void ForwardAuthCall::onTimer(void* self) {
  auto* c = static_cast<ForwardAuthCall*>(self);
  if (!c->reporting_) {
    // The deadline passed without a complete answer.
    c->up_.release(false);
    c->finish(false, "timed out");
    return;
  }
  c->running_ = false;
  c->reporting_ = false;
  c->user_.onForwardAuthDone(c->ok_ ? &c->answer_ : nullptr, c->why_);
}

}  // namespace ballast::l7
