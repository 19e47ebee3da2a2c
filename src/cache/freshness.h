// src/cache/freshness.h — RFC 9111 for a shared cache, as pure functions: whether a response may
// be stored (§3), how long it stays fresh (§4.2.1, with heuristic freshness as an option), its
// age (§4.2.3), and whether a client's conditional request is answered by what is stored
// (RFC 9110 §13.1.2, §13.1.3).
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

#include "proto/http1/message.h"

namespace ballast::cache {

// What a response head says about storing it.
struct ResponseFreshness {
  bool storable = false;
  std::string_view why_not;  // static text for the log when not storable
  uint32_t lifetime_s = 0;   // freshness lifetime
  uint32_t stale_while_revalidate_s = 0;
  uint32_t stale_if_error_s = 0;
  bool must_revalidate = false;  // must-revalidate, proxy-revalidate, s-maxage: never served stale
  bool no_cache = false;         // stored, but validated before each use
  std::string_view etag;
  std::string_view last_modified;
  bool vary_star = false;
};

// The head of a response to a GET (status and fields as the backend sent them), for a request
// that carried Authorization or not. `heuristic`: a response without explicit freshness and
// with Last-Modified is fresh for 10% of its age, at most a day (off: not stored).
ResponseFreshness assessResponse(uint16_t status, std::span<const proto::http1::Header> fields,
                                 bool request_authorized, bool heuristic, int64_t now_s);

// The corrected initial age (RFC 9111 §4.2.3) of a response requested at request_ms and
// received at response_ms, from its Date and Age fields.
uint32_t initialAge(std::span<const proto::http1::Header> fields, uint64_t request_ms,
                    uint64_t response_ms);

// What a client's If-None-Match / If-Modified-Since ask of a stored response.
struct Conditional {
  std::string_view if_none_match;
  std::string_view if_modified_since;
  bool any() const { return !if_none_match.empty() || !if_modified_since.empty(); }
};
// Whether the stored response (its ETag and Last-Modified) satisfies the condition, so the client
// gets 304 Not Modified. If-None-Match uses the weak comparison and, when present, decides alone.
bool notModified(const Conditional& c, std::string_view etag, std::string_view last_modified);

}  // namespace ballast::cache
