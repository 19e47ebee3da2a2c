// src/acme/http_client.h — blocking HTTPS requests to an ACME directory with libcurl. Runs
// only on the ACME thread, never on a worker or the control loop.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>

namespace ballast::acme {

struct HttpReply {
  long status = 0;    // 0: no answer (error says why)
  std::string error;  // transport failure
  std::string body;
  std::string location;     // Location:
  std::string nonce;        // Replay-Nonce:
  std::string retry_after;  // Retry-After:
  std::string content_type;
};

class HttpClient {
 public:
  // `ca`: a PEM file trusted instead of the system's store (a private directory such as
  // pebble); empty for the system's. A transfer in progress is abandoned once `stop` is set.
  HttpClient(std::string ca, const std::atomic<bool>& stop) : ca_(std::move(ca)), stop_(stop) {}
  HttpReply get(const std::string& url) const { return send("GET", url, {}); }
  HttpReply head(const std::string& url) const { return send("HEAD", url, {}); }
  // Content-Type: application/jose+json.
  HttpReply postJose(const std::string& url, const std::string& body) const {
    return send("POST", url, body);
  }

 private:
  HttpReply send(const char* method, const std::string& url, const std::string& body) const;
  std::string ca_;
  const std::atomic<bool>& stop_;
};

// Once per process, before any other thread starts (libcurl's global init is not
// thread-safe).
void initHttpClientLibrary();

}  // namespace ballast::acme
