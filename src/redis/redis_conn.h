// src/redis/redis_conn.h — one blocking hiredis connection with a connect and command timeout,
// and replies that free themselves. Ballast's Redis users (shared rate limits, sticky sessions,
// ACME across nodes) each talk to Redis from a thread of their own; the timeout is what keeps a
// stalled Redis from stalling that thread for longer than its owner allows. No dependency but
// hiredis.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

struct redisContext;
struct redisReply;

namespace ballast::redis {

struct ReplyFree {
  void operator()(redisReply* r) const;
};
using ReplyPtr = std::unique_ptr<redisReply, ReplyFree>;

// "redis://HOST:PORT" for logs and metrics labels; an IPv6 host is bracketed.
std::string endpointUrl(const std::string& host, uint16_t port);

class Connection {
 public:
  Connection() = default;
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Connects with `timeout_ms` for the connect and for every later command. False and *error
  // (hiredis's words) when it cannot; the connection is then closed.
  bool open(const std::string& host, uint16_t port, uint64_t timeout_ms, std::string* error);
  void close();
  bool isOpen() const { return ctx_ != nullptr; }

  // Runs one command, each argument binary-safe. Null on a broken connection or a timeout (the
  // connection is then closed and *error says why); a Redis error reply is returned as such.
  ReplyPtr command(const std::vector<std::string_view>& args, std::string* error);
  // The next pushed message (subscribed connections), waiting at most wait_ms for it. Null when
  // none came in time (the connection stays open) or the connection broke (then closed, and
  // *error says why).
  ReplyPtr next(int wait_ms, std::string* error);

  redisContext* raw() const { return ctx_; }

 private:
  redisContext* ctx_ = nullptr;
};

// The reply as text when it is a string (bulk or status); empty otherwise.
std::string_view textOf(const redisReply* r);
bool isError(const redisReply* r);
bool isNil(const redisReply* r);

}  // namespace ballast::redis
