// src/etcd/etcd_http.h — blocking POSTs to etcd's v3 JSON gateway with libcurl: one request
// and its reply (range, txn), or the streaming watch, whose reply is a JSON object per line.
// Runs on the etcd watch thread or in the CLI, never on a worker or the control loop.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

namespace ballast::etcd {

struct EtcdTls {
  std::string ca;    // PEM trusted instead of the system's store; empty: the system's
  std::string cert;  // client certificate and key, when etcd asks for one
  std::string key;
};

struct EtcdReply {
  long status = 0;    // 0: no answer (error says why)
  std::string error;  // transport failure
  std::string body;
};

class EtcdHttp {
 public:
  // A transfer in progress is abandoned once `stop` is set.
  EtcdHttp(EtcdTls tls, const std::atomic<bool>& stop) : tls_(std::move(tls)), stop_(stop) {}

  // POST endpoint + path (e.g. "/v3/kv/range") with a JSON body; bounded in time and size.
  EtcdReply post(const std::string& endpoint, std::string_view path, const std::string& body) const;

  // POST /v3/watch and call on_line with each line of the stream until the server ends it,
  // the connection fails, `stop` is set or on_line returns false. No total timeout: a watch
  // waits for changes; a connection silent past the idle limit is treated as dropped.
  EtcdReply watch(const std::string& endpoint, const std::string& body,
                  const std::function<bool(std::string_view)>& on_line) const;

 private:
  EtcdTls tls_;
  const std::atomic<bool>& stop_;
};

}  // namespace ballast::etcd
