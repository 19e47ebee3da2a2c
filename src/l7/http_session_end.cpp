// src/l7/http_session_end.cpp — how an HttpSession ends or answers by itself: error responses,
// closing, draining, timers and the access-log line.
#include <sys/socket.h>

#include <array>
#include <cstdio>
#include <cstring>
#include <string>

#include "core/log.h"
#include "core/socket.h"
#include "l4/stream_listener.h"
#include "l7/content_rules.h"
#include "l7/http_session.h"
#include "l7/http_session_internal.h"
#include "l7/sticky.h"
#include "proto/http1/syntax.h"
#include "proto/http1/writer.h"

namespace ballast::l7 {

using namespace session_internal;  // NOLINT(google-build-using-namespace): this class's own files

void HttpSession::respondError(uint16_t status, std::string_view why, std::string_view location) {
  if (ex_ == nullptr) {
    beginExchange();
  }
  up_.release(false);
  ex_->status = status;
  // The configured body (respond:, an error page), else a line of text naming the status.
  std::array<char, 256> text{};
  std::string_view body;
  std::string_view type = "text/plain";
  if (useErrorPage(*env_.listener, *ex_, status)) {
    body = ex_->answer_body;
    if (!ex_->answer_type.empty()) {
      type = ex_->answer_type;
    }
  } else {
    const int n = snprintf(text.data(), text.size(), "%u %.*s\n", status,
                           static_cast<int>(statusText(status).size()), statusText(status).data());
    body = std::string_view(text.data(), static_cast<size_t>(n));
  }
  // RFC 9110 §6.4.1: 204 and 304 have no body and 204 no Content-Length; HEAD gets the length of
  // the body it would have had.
  const bool no_content = status == kNoContent || status == kNotModified;
  const bool send_body = !no_content && ex_->method != "HEAD";
  std::string& head = env_.scratch->head;
  head.clear();
  head.append("HTTP/1.1 ");
  head.append(std::to_string(status));
  head.push_back(' ');
  head.append(statusText(status));
  head.append("\r\n");
  if (!no_content) {
    head.append("Content-Type: ");
    head.append(type);
    head.append("\r\nContent-Length: ");
    head.append(std::to_string(body.size()));
    head.append("\r\n");
  }
  if (!location.empty()) {
    head.append("Location: ");
    head.append(location);
    head.append("\r\n");
  }
  head.append(ex_->answer_fields);
  // The connection stays open after an answer to a whole request, or at the head of one
  // without a body (its end-of-message event is then skipped), as NGINX after `return`:
  // not after a parse error or a timeout (state kHead), an upgrade, or a body left unread.
  const bool keep_alive = state_ == State::kExchange && ex_->client_keep_alive &&
                          !close_after_flush_ && !client_eof_ && !draining_ &&
                          (ex_->request_done || ex_->bodiless);
  if (keep_alive) {
    head.append(ex_->client_minor == 0 ? "Connection: keep-alive\r\n\r\n" : "\r\n");
  } else {
    head.append("Connection: close\r\n\r\n");
  }
  core::LogLine(core::LogLevel::kDebug, "l7.error_response")
      .str("listener", env_.listener->name)
      .unum("status", status)
      .str("reason", why);
  if (ex_->response_started) {
    closeClient(true);
    return;
  }
  ex_->response_started = true;
  if (keep_alive) {
    if (!ex_->request_done) {
      skip_message_end_ = true;
      ex_->request_done = true;
    }
  } else {
    close_after_flush_ = true;
    ex_->request_done = false;  // do not read another request on this connection
  }
  if (send_body) {
    ex_->bytes_out = body.size();
  }
  if (!appendClient(head.data(), head.size()) ||
      (send_body && !body.empty() && !appendClient(body.data(), body.size()))) {
    return;
  }
  finishExchange();
}

void HttpSession::respondLocal(uint16_t status, std::string_view body) {
  if (ex_ == nullptr) {
    beginExchange();
  }
  ex_->status = status;
  std::array<char, 256> head{};
  const int head_len = snprintf(
      head.data(), head.size(),
      "HTTP/1.1 %u %.*s\r\nContent-Type: application/octet-stream\r\nContent-Length: %zu\r\n"
      "Connection: close\r\n\r\n",
      status, static_cast<int>(statusText(status).size()), statusText(status).data(), body.size());
  close_after_flush_ = true;
  ex_->response_started = true;
  ex_->request_done = false;  // do not read another request on this connection
  ex_->bytes_out = body.size();
  if (!appendClient(head.data(), static_cast<size_t>(head_len)) ||
      !appendClient(body.data(), body.size())) {
    return;
  }
  finishExchange();
}

void HttpSession::closeClient(bool reset) {
  if (state_ == State::kDone) {
    return;
  }
  // An exchange cut short here (the backend reset mid-body, a body that stalled, buffers gone)
  // still gets its one access line, with whatever status it reached; finishExchange and
  // onTunnel logged the others already.
  accessLog();
  state_ = State::kDone;
  core::TimerWheel::cancel(timer_);
  auto release = [this](core::ChunkId id) { loop().releaseChunk(id); };
  client_in_.clear(loop().chunks(), release);
  if (h2_) {
    h2_->abort();
  }
  // client_out_ waits for the socket's release: a send may still be reading its head chunk.
  up_.release(false);
  if (reset && client_.open()) {
    core::setLingerZero(client_.fd());
  }
  if (!client_released_) {
    loop().close(client_);
  }
}

void HttpSession::drain() {
  draining_ = true;
  if (state_ == State::kH2) {
    h2_->drain();
    return;
  }
  if (state_ == State::kIdle) {
    close_after_flush_ = true;    // the next response says Connection: close
    armTimer(kDrainIdleGraceMs);  // then the idle timer closes it (onTimer, kIdle)
    return;
  }
  if (ex_ != nullptr && ex_->response_started) {
    return;  // its head already went out; finishExchange gives the client its grace period
  }
  close_after_flush_ = true;
}

void HttpSession::abort() {
  up_.release(false);
  closeClient(true);
}

// Once per exchange: when its response ends, a tunnel starts, or the session ends first.
void HttpSession::accessLog() {
  if (ex_ != nullptr && !ex_->logged) {
    ex_->logged = true;
    endExchange(env_, *ex_, peer_, loop().nowMs());
  }
}

// An exchange the client abandoned is counted and logged (as NGINX's 499 and HAProxy's CD/CR
// termination states): an operator chasing a failed upload or a cut download must find it.
void HttpSession::abandonExchange() {
  if (state_ != State::kExchange || ex_ == nullptr || ex_->logged) {
    return;  // between exchanges, or one already logged (a tunnel, a finished answer)
  }
  markClientLeft(env_, *ex_, ex_->response_started);
  accessLog();
}

void HttpSession::onTimer(void* self) {
  auto* s = static_cast<HttpSession*>(self);
  switch (s->state_) {
    case State::kIdle:
      s->closeClient(false);  // keep-alive expired
      return;
    case State::kHead:
      core::LogLine(core::LogLevel::kInfo, "l7.header_timeout", core::LogRepeat::kLimited)
          .str("listener", s->env_.listener->name)
          .str("client", core::peerAddress(s->client_.fd()).toString());
      s->env_.counters->timeouts_total.add();
      s->respondError(kRequestTimeout, "header timeout");
      return;
    case State::kExchange:
      if (!s->up_.connected() && !s->finish_after_pipe_) {
        s->up_.fail(ETIMEDOUT, "connect");
      } else if (s->ex_ && (s->ex_->response_started || !s->ex_->request_done)) {
        // A body streaming either way: only a stall counts, not a long transfer.
        const auto idle = static_cast<uint64_t>(s->env_.listener->http.timeouts.body_idle.count());
        if (s->loop().nowMs() - s->last_activity_ms_ < idle) {
          s->loop().timers().scheduleAt(s->timer_, s->last_activity_ms_ + idle);
          return;
        }
        core::LogLine(core::LogLevel::kWarn, "l7.body_timeout")
            .str("listener", s->env_.listener->name)
            .str("backend", s->ex_->backend ? s->ex_->backend->name : "");
        s->up_.release(false);
        s->closeClient(true);
      } else if (s->up_.retryAfterTimeout()) {
        return;  // the request went to another backend, which re-arms this timer on connect
      } else {
        core::LogLine(core::LogLevel::kWarn, "l7.response_timeout")
            .str("listener", s->env_.listener->name)
            .str("backend", s->ex_ && s->ex_->backend ? s->ex_->backend->name : "");
        if (s->ex_ && s->ex_->backend_counters != nullptr) {
          s->ex_->backend_counters->timeouts_total.add();
        }
        s->up_.release(false);
        s->respondError(kGatewayTimeout, "response header timeout");
      }
      return;
    case State::kClosing:
      s->closeClient(false);  // the lingering close is over
      return;
    case State::kH2: {
      const auto keep_alive =
          static_cast<uint64_t>(s->env_.listener->http.timeouts.keep_alive.count());
      if (s->h2_->streams() > 0 || s->loop().nowMs() - s->last_activity_ms_ < keep_alive) {
        s->loop().timers().scheduleAt(
            s->timer_, std::max(s->last_activity_ms_ + keep_alive, s->loop().nowMs() + 1));
        return;
      }
      s->h2_->drain();  // idle: GOAWAY, then the codec closes
      if (s->state_ == State::kH2) {
        s->closeClient(false);
      }
      return;
    }
    case State::kTunnel: {
      const auto idle = static_cast<uint64_t>(s->env_.listener->timeouts.idle.count());
      const uint64_t now = s->loop().nowMs();
      if (now - s->last_activity_ms_ < idle) {
        s->loop().timers().scheduleAt(s->timer_, s->last_activity_ms_ + idle);
        return;
      }
      s->up_.release(false);
      s->closeClient(false);
      return;
    }
    default:
      return;
  }
}

}  // namespace ballast::l7
