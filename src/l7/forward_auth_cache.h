// src/l7/forward_auth_cache.h — what the auth service answered, remembered per worker for
// forward_auth's cache_ttl, keyed by the whole subrequest as sent (so the client's address, the
// URI and every copied header are part of the key, and two requests share an answer only when
// the auth service would have seen the same bytes). Owning worker only.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace ballast::l7 {

// One answer of the auth service as Ballast uses it. Allowed (2xx): `fields` are the
// copy_response_headers it sent (names lower case), for the backend. Refused: `fields` are
// those passed to the client, with its Content-Type and body.
struct ForwardAuthAnswer {
  uint16_t status = 0;
  std::vector<std::pair<std::string, std::string>> fields;
  std::string content_type;
  std::string body;
  bool allowed() const { return status >= 200 && status < 300; }
};

class ForwardAuthCache {
 public:
  // A flood of distinct requests (each its own key) must not grow a worker's memory: past this
  // many entries or bytes the expired ones go, and if that is not enough, all of them.
  static constexpr size_t kMaxEntries = 4096;
  static constexpr size_t kMaxBytes = size_t{8} << 20U;

  // The answer kept for `request`, if it has not expired by now_ms.
  const ForwardAuthAnswer* find(const std::string& request, uint64_t now_ms);
  void put(const std::string& request, const ForwardAuthAnswer& answer, uint64_t expires_ms,
           uint64_t now_ms);
  size_t size() const { return entries_.size(); }

 private:
  struct Entry {
    ForwardAuthAnswer answer;
    uint64_t expires_ms = 0;
    size_t bytes = 0;
  };
  void makeRoom(uint64_t now_ms, size_t incoming);

  std::unordered_map<std::string, Entry> entries_;
  size_t bytes_ = 0;
};

}  // namespace ballast::l7
