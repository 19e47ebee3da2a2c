// src/redis/redis_conn.cpp — hiredis behind timeouts and owned replies.
#include "redis/redis_conn.h"

#include <hiredis/hiredis.h>
#include <poll.h>
#include <sys/time.h>

namespace ballast::redis {
namespace {

constexpr uint64_t kUsPerMs = 1000;

timeval timeoutOf(uint64_t ms) {
  return timeval{static_cast<time_t>(ms / kUsPerMs),
                 static_cast<suseconds_t>((ms % kUsPerMs) * kUsPerMs)};
}

}  // namespace

void ReplyFree::operator()(redisReply* r) const { freeReplyObject(r); }

std::string endpointUrl(const std::string& host, uint16_t port) {
  const bool v6 = host.find(':') != std::string::npos;
  return "redis://" + (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

Connection::~Connection() { close(); }

void Connection::close() {
  if (ctx_ != nullptr) {
    redisFree(ctx_);
    ctx_ = nullptr;
  }
}

bool Connection::open(const std::string& host, uint16_t port, uint64_t timeout_ms,
                      std::string* error) {
  close();
  const timeval tv = timeoutOf(timeout_ms);
  redisContext* c = redisConnectWithTimeout(host.c_str(), port, tv);
  if (c == nullptr || c->err != 0 || redisSetTimeout(c, tv) != REDIS_OK) {
    *error = c == nullptr ? "out of memory" : c->errstr;
    if (c != nullptr) {
      redisFree(c);
    }
    return false;
  }
  ctx_ = c;
  return true;
}

ReplyPtr Connection::command(const std::vector<std::string_view>& args, std::string* error) {
  if (ctx_ == nullptr) {
    *error = "not connected";
    return nullptr;
  }
  std::vector<const char*> argv;
  std::vector<size_t> lens;
  argv.reserve(args.size());
  lens.reserve(args.size());
  for (const auto a : args) {
    argv.push_back(a.data());
    lens.push_back(a.size());
  }
  ReplyPtr reply(static_cast<redisReply*>(
      redisCommandArgv(ctx_, static_cast<int>(argv.size()), argv.data(), lens.data())));
  if (!reply) {
    *error = ctx_->errstr[0] != '\0' ? ctx_->errstr : "no reply";
    close();  // a half-read reply would be taken for the next command's
  }
  return reply;
}

ReplyPtr Connection::next(int wait_ms, std::string* error) {
  if (ctx_ == nullptr) {
    *error = "not connected";
    return nullptr;
  }
  // A message already read into hiredis's buffer comes first; otherwise wait on the socket, so
  // a quiet channel never trips the command timeout (which would fail the context).
  void* out = nullptr;
  if (redisGetReplyFromReader(ctx_, &out) != REDIS_OK) {
    *error = "unreadable message";
    close();
    return nullptr;
  }
  if (out != nullptr) {
    return ReplyPtr(static_cast<redisReply*>(out));
  }
  pollfd p{ctx_->fd, POLLIN, 0};
  const int ready = ::poll(&p, 1, wait_ms);
  if (ready <= 0) {
    return nullptr;  // nothing yet (or EINTR): the caller asks again
  }
  if (redisBufferRead(ctx_) != REDIS_OK) {
    *error = ctx_->errstr[0] != '\0' ? ctx_->errstr : "connection lost";
    close();
    return nullptr;
  }
  if (redisGetReplyFromReader(ctx_, &out) != REDIS_OK) {
    *error = "unreadable message";
    close();
    return nullptr;
  }
  return ReplyPtr(static_cast<redisReply*>(out));  // null: only part of a message so far
}

std::string_view textOf(const redisReply* r) {
  if (r == nullptr) {
    return {};
  }
  if (r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_STATUS) {
    return {r->str, r->len};
  }
  return {};
}

bool isError(const redisReply* r) { return r != nullptr && r->type == REDIS_REPLY_ERROR; }
bool isNil(const redisReply* r) { return r != nullptr && r->type == REDIS_REPLY_NIL; }

}  // namespace ballast::redis
