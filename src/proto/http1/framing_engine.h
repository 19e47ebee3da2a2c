// src/proto/http1/framing_engine.h — the message loop both parsers share: read a head section,
// let the parser judge it, then stream the body it planned, read trailers, end the message and
// start over; plus sticky errors, tunnels and EOF. The parsers own only the head rules.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "proto/http1/body_decoder.h"
#include "proto/http1/limits.h"
#include "proto/http1/message.h"
#include "proto/http1/section_reader.h"

namespace ballast::proto::http1 {

enum class Side : uint8_t { kRequest, kResponse };

// What follows a head, as the parser decided from it.
struct BodyPlan {
  enum class Then : uint8_t {
    kNextMessage,     // after kMessageEnd, the next message
    kTunnelAfterEnd,  // after kMessageEnd, kTunnel until resume() (CONNECT, Upgrade requests)
    kAnotherHead,     // no body and no kMessageEnd: the final head follows (1xx)
    kTunnelNow,       // kTunnel right after this head (101, 2xx to CONNECT)
  };
  BodyKind body = BodyKind::kNone;
  uint64_t length = 0;  // kLength
  Then then = Then::kNextMessage;
};

class FramingEngine {
 public:
  FramingEngine(Side side, const Limits& limits);

  // kHead here means a head section is complete: the parser reads headSection() and must then
  // call accept() or fail() before anything else.
  Progress next(std::span<const uint8_t> in);
  std::string_view headSection() const { return reader_.section(); }
  void accept(const BodyPlan& plan);
  // Makes the error sticky; response-side statuses all become kBadGateway.
  Progress fail(Failure failure, size_t consumed);

  Event finish();
  void resume();
  void reset();

  std::span<const Header> trailers() const { return trailers_; }
  const Failure& failure() const { return failure_; }
  // Inside a fixed-length body: the bytes still to come; 0 anywhere else.
  uint64_t bodyLengthLeft() const { return state_ == State::kBody ? decoder_.lengthLeft() : 0; }
  // `n` of those bytes were moved without passing through next(); the next call after the
  // last of them ends the message.
  void skipBody(uint64_t n) {
    if (state_ == State::kBody) {
      decoder_.skip(n);
    }
  }

 private:
  enum class State : uint8_t {
    kStartHead,   // between messages; the head reader starts on the next call, so views into its
                  // buffer stay valid until then
    kHead,        // reading a head section
    kBody,        // decoder_ runs
    kTrailers,    // reading the trailer section of a chunked body
    kEndPending,  // bodiless message: kMessageEnd on the next call
    kTunnel,
    kError,
  };

  Progress endMessage(size_t consumed);
  Progress nextBody(std::span<const uint8_t> in);
  Progress nextTrailers(std::span<const uint8_t> in);
  Progress failSection(SectionReader::Outcome outcome, size_t consumed);

  Side side_;
  Limits limits_;
  SectionReader reader_;
  BodyDecoder decoder_;
  std::vector<Header> trailers_;
  State state_ = State::kStartHead;
  BodyPlan::Then then_ = BodyPlan::Then::kNextMessage;
  Failure failure_;
};

}  // namespace ballast::proto::http1
