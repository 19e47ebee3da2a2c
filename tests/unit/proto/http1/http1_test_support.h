// tests/unit/proto/http1/http1_test_support.h — drives the HTTP/1.1 parsers the way the proxy
// will: input cut into pieces, each in its own heap buffer that is freed once fed (so a view kept
// past its call shows up under ASan), and every event recorded as text so that runs over
// different cuts can be compared.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <random>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "proto/http1/request_parser.h"
#include "proto/http1/response_parser.h"

namespace ballast::proto::http1::testing {

inline std::span<const uint8_t> asBytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

inline std::string asString(std::span<const uint8_t> bytes) {
  return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}

struct Transcript {
  std::vector<std::string> events;    // one line per event, bodies coalesced
  std::vector<std::string> requests;  // "METHOD target" per request head
  std::vector<uint16_t> statuses;     // status per response head
  Status error = Status::kNone;       // errorStatus() when the run ended in kError
  std::string error_reason;
  bool tunnel = false;
  Event finished = Event::kNeedMore;  // what finish() said, when it was called
};

inline const char* bodyName(BodyKind body) {
  switch (body) {
    case BodyKind::kNone:
      return "none";
    case BodyKind::kLength:
      return "length";
    case BodyKind::kChunked:
      return "chunked";
    case BodyKind::kUntilClose:
      return "until-close";
  }
  return "?";
}

inline std::string describeFields(std::span<const Header> headers) {
  std::string out;
  for (const Header& h : headers) {
    out +=
        " [" + std::string(h.name) + "=" + std::string(h.value) + (h.hop_by_hop ? "*" : "") + "]";
  }
  return out;
}

inline std::string describe(const RequestHead& h) {
  return "HEAD " + std::string(h.method) + " " + std::string(h.target) +
         " form=" + std::to_string(static_cast<int>(h.form)) + " v=1." +
         std::to_string(h.version_minor) + " host=" + std::string(h.host) +
         " body=" + bodyName(h.body) + " cl=" + std::to_string(h.content_length) +
         " ka=" + std::to_string(h.keep_alive) + " expect=" + std::to_string(h.expect_continue) +
         " upgrade=" + std::to_string(h.upgrade) + describeFields(h.headers);
}

inline std::string describe(const ResponseHead& h) {
  return "HEAD " + std::to_string(h.status) + " " + std::string(h.reason) + " v=1." +
         std::to_string(h.version_minor) + " body=" + bodyName(h.body) +
         " cl=" + std::to_string(h.content_length) + "/" + std::to_string(h.has_content_length) +
         " ka=" + std::to_string(h.keep_alive) + describeFields(h.headers);
}

inline void recordBody(Transcript& t, std::span<const uint8_t> body) {
  if (!t.events.empty() && t.events.back().starts_with("BODY ")) {
    t.events.back() += asString(body);
  } else {
    t.events.push_back("BODY " + asString(body));
  }
}

// Longest piece randomCuts() makes; short pieces put boundaries inside every token and CRLF.
constexpr size_t kMaxRandomPiece = 24;

// Offsets at which to cut `size` bytes: none, every byte, or random ones from a seeded engine.
inline std::vector<size_t> noCuts() { return {}; }

inline std::vector<size_t> everyByte(size_t size) {
  std::vector<size_t> cuts;
  for (size_t i = 1; i < size; ++i) {
    cuts.push_back(i);
  }
  return cuts;
}

inline std::vector<size_t> randomCuts(size_t size, std::mt19937& rng) {
  std::vector<size_t> cuts;
  if (size < 2) {
    return cuts;
  }
  std::uniform_int_distribution<size_t> gap(1, kMaxRandomPiece);
  for (size_t at = gap(rng); at < size; at += gap(rng)) {
    cuts.push_back(at);
  }
  return cuts;
}

// Pieces of `wire` between the cuts, each in its own allocation.
inline std::vector<std::unique_ptr<std::vector<uint8_t>>> cut(std::string_view wire,
                                                              const std::vector<size_t>& cuts) {
  std::vector<std::unique_ptr<std::vector<uint8_t>>> pieces;
  size_t from = 0;
  auto add = [&](size_t to) {
    const auto bytes = asBytes(wire.substr(from, to - from));
    pieces.push_back(std::make_unique<std::vector<uint8_t>>(bytes.begin(), bytes.end()));
    from = to;
  };
  for (const size_t at : cuts) {
    add(at);
  }
  add(wire.size());
  return pieces;
}

struct RunOptions {
  Limits limits;
  bool finish = false;          // call finish() after the last piece
  bool resume_tunnels = false;  // requests: resume() after kTunnel instead of stopping
};

// Feeds one piece; false when the run is over (error or tunnel).
template <typename Parser, typename OnEvent>
bool feedPiece(Parser& parser, std::span<const uint8_t> in, Transcript& t, OnEvent on_event) {
  for (;;) {
    const Progress p = parser.next(in);
    in = in.subspan(p.consumed);
    switch (p.event) {
      case Event::kNeedMore:
        return true;
      case Event::kHead:
        on_event(p);
        break;
      case Event::kBody:
        recordBody(t, p.body);
        break;
      case Event::kMessageEnd:
        t.events.push_back("END" + describeFields(parser.trailers()));
        on_event(p);
        break;
      case Event::kTunnel:
        t.events.push_back("TUNNEL");
        t.tunnel = true;
        if (!on_event(p)) {
          return false;
        }
        break;
      case Event::kClosed:
        break;
      case Event::kError:
        t.events.push_back("ERROR " + std::to_string(static_cast<int>(parser.errorStatus())));
        t.error = parser.errorStatus();
        t.error_reason = std::string(parser.errorReason());
        return false;
    }
  }
}

inline Transcript runRequests(std::string_view wire, const std::vector<size_t>& cuts,
                              const RunOptions& options = {}) {
  Transcript t;
  RequestParser parser(options.limits);
  auto on_event = [&](const Progress& p) {
    if (p.event == Event::kHead) {
      t.events.push_back(describe(parser.head()));
      t.requests.push_back(std::string(parser.head().method) + " " +
                           std::string(parser.head().target));
    } else if (p.event == Event::kTunnel) {
      if (!options.resume_tunnels) {
        return false;
      }
      parser.resume();
    }
    return true;
  };
  for (const auto& piece : cut(wire, cuts)) {
    if (!feedPiece(parser, *piece, t, on_event)) {
      return t;
    }
  }
  if (options.finish) {
    t.finished = parser.finish();
    t.events.push_back("FINISH " + std::to_string(static_cast<int>(t.finished)));
    if (t.finished == Event::kError) {
      t.error = parser.errorStatus();
    }
  }
  return t;
}

// `methods` are the request methods the responses answer, in order ("" for an ordinary GET).
inline Transcript runResponses(std::string_view wire, const std::vector<size_t>& cuts,
                               std::vector<std::string> methods = {},
                               const RunOptions& options = {}) {
  Transcript t;
  ResponseParser parser(options.limits);
  std::deque<std::string> pending(methods.begin(), methods.end());
  auto next_method = [&] {
    if (!pending.empty()) {
      parser.setRequestMethod(pending.front());
      pending.pop_front();
    }
  };
  next_method();
  auto on_event = [&](const Progress& p) {
    if (p.event == Event::kHead) {
      t.events.push_back(describe(parser.head()));
      t.statuses.push_back(parser.head().status);
    } else if (p.event == Event::kMessageEnd) {
      next_method();
    } else if (p.event == Event::kTunnel) {
      return false;
    }
    return true;
  };
  for (const auto& piece : cut(wire, cuts)) {
    if (!feedPiece(parser, *piece, t, on_event)) {
      return t;
    }
  }
  if (options.finish) {
    t.finished = parser.finish();
    t.events.push_back("FINISH " + std::to_string(static_cast<int>(t.finished)));
    if (t.finished == Event::kError) {
      t.error = parser.errorStatus();
    }
  }
  return t;
}

inline Transcript parseRequests(std::string_view wire, const RunOptions& options = {}) {
  return runRequests(wire, noCuts(), options);
}

inline Transcript parseResponses(std::string_view wire, std::vector<std::string> methods = {},
                                 const RunOptions& options = {}) {
  return runResponses(wire, noCuts(), std::move(methods), options);
}

}  // namespace ballast::proto::http1::testing
