// src/proto/http1/framing_engine.cpp — the shared message loop of framing_engine.h.
#include "proto/http1/framing_engine.h"

#include "proto/http1/fields.h"

namespace ballast::proto::http1 {

FramingEngine::FramingEngine(Side side, const Limits& limits) : side_(side), limits_(limits) {}

void FramingEngine::reset() {
  state_ = State::kStartHead;
  then_ = BodyPlan::Then::kNextMessage;
  failure_ = {};
  trailers_.clear();
}

Progress FramingEngine::fail(Failure failure, size_t consumed) {
  if (side_ == Side::kResponse) {
    failure.status = Status::kBadGateway;
  }
  failure_ = failure;
  state_ = State::kError;
  return {Event::kError, consumed, {}};
}

Progress FramingEngine::failSection(SectionReader::Outcome outcome, size_t consumed) {
  const bool head = state_ == State::kHead;
  switch (outcome) {
    case SectionReader::Outcome::kBareLf:
      // RFC 9112 §2.2 lets a recipient accept a bare LF; we do not, since a hop that does and one
      // that does not split the same bytes into different messages.
      return fail({Status::kBadRequest, "bare LF line ending"}, consumed);
    case SectionReader::Outcome::kStartLineTooLong:
      return fail({Status::kUriTooLong, "start line too long"}, consumed);
    case SectionReader::Outcome::kTooManyBytes:
      return fail({Status::kHeaderFieldsTooLarge,
                   head ? "header section too large" : "trailer section too large"},
                  consumed);
    case SectionReader::Outcome::kTooManyFields:
      return fail({Status::kHeaderFieldsTooLarge,
                   head ? "too many header fields" : "too many trailer fields"},
                  consumed);
    case SectionReader::Outcome::kTooManyEmptyLines:
      return fail({Status::kBadRequest, "too many empty lines before the start line"}, consumed);
    case SectionReader::Outcome::kNeedMore:
    case SectionReader::Outcome::kComplete:
      break;
  }
  return fail({Status::kBadRequest, "section reader"}, consumed);
}

Progress FramingEngine::next(std::span<const uint8_t> in) {
  switch (state_) {
    case State::kError:
      return {Event::kError, 0, {}};
    case State::kTunnel:
      return {Event::kTunnel, 0, {}};
    case State::kEndPending:
      return endMessage(0);
    case State::kBody:
      return nextBody(in);
    case State::kTrailers:
      return nextTrailers(in);
    case State::kStartHead:
      reader_.start(SectionReader::Kind::kHead,
                    {limits_.max_request_line, limits_.max_header_bytes, limits_.max_headers});
      trailers_.clear();
      state_ = State::kHead;
      break;
    case State::kHead:
      break;
  }
  const SectionReader::Step step = reader_.feed(in);
  switch (step.outcome) {
    case SectionReader::Outcome::kNeedMore:
      return {Event::kNeedMore, step.consumed, {}};
    case SectionReader::Outcome::kComplete:
      return {Event::kHead, step.consumed, {}};
    default:
      return failSection(step.outcome, step.consumed);
  }
}

void FramingEngine::accept(const BodyPlan& plan) {
  then_ = plan.then;
  if (plan.then == BodyPlan::Then::kAnotherHead) {
    state_ = State::kStartHead;
    return;
  }
  if (plan.then == BodyPlan::Then::kTunnelNow) {
    state_ = State::kTunnel;
    return;
  }
  switch (plan.body) {
    case BodyKind::kNone:
      state_ = State::kEndPending;
      return;
    case BodyKind::kLength:
      decoder_.startLength(plan.length);
      break;
    case BodyKind::kChunked:
      decoder_.startChunked(limits_.max_body, limits_.max_chunk_ext);
      break;
    case BodyKind::kUntilClose:
      decoder_.startUntilClose(limits_.max_body);
      break;
  }
  state_ = State::kBody;
}

Progress FramingEngine::endMessage(size_t consumed) {
  state_ = then_ == BodyPlan::Then::kTunnelAfterEnd ? State::kTunnel : State::kStartHead;
  return {Event::kMessageEnd, consumed, {}};
}

Progress FramingEngine::nextBody(std::span<const uint8_t> in) {
  const BodyDecoder::Output out = decoder_.next(in);
  switch (out.step) {
    case BodyDecoder::Step::kNeedMore:
      return {Event::kNeedMore, out.consumed, {}};
    case BodyDecoder::Step::kData:
      return {Event::kBody, out.consumed, out.data};
    case BodyDecoder::Step::kDone:
      return endMessage(out.consumed);
    case BodyDecoder::Step::kTrailers: {
      reader_.start(SectionReader::Kind::kTrailers,
                    {limits_.max_request_line, limits_.max_header_bytes, limits_.max_headers});
      state_ = State::kTrailers;
      Progress rest = nextTrailers(in.subspan(out.consumed));
      rest.consumed += out.consumed;
      return rest;
    }
    case BodyDecoder::Step::kError:
      break;
  }
  return fail(decoder_.failure(), out.consumed);
}

Progress FramingEngine::nextTrailers(std::span<const uint8_t> in) {
  const SectionReader::Step step = reader_.feed(in);
  if (step.outcome == SectionReader::Outcome::kNeedMore) {
    return {Event::kNeedMore, step.consumed, {}};
  }
  if (step.outcome != SectionReader::Outcome::kComplete) {
    return failSection(step.outcome, step.consumed);
  }
  trailers_.clear();
  const auto parsed = parseFieldLines(reader_.section(), trailers_);
  if (!parsed.has_value()) {
    return fail({Status::kBadRequest, parsed.error().what}, step.consumed);
  }
  return endMessage(step.consumed);
}

Event FramingEngine::finish() {
  switch (state_) {
    case State::kError:
      return Event::kError;
    case State::kStartHead:
    case State::kTunnel:
      return Event::kClosed;
    case State::kHead:
      if (reader_.empty()) {
        return Event::kClosed;
      }
      return fail({Status::kBadRequest, "connection closed inside a head"}, 0).event;
    case State::kEndPending:
      return endMessage(0).event;
    case State::kBody:
      if (decoder_.endsAtClose()) {
        return endMessage(0).event;
      }
      return fail({Status::kBadRequest, "connection closed inside a body"}, 0).event;
    case State::kTrailers:
      break;
  }
  return fail({Status::kBadRequest, "connection closed inside trailers"}, 0).event;
}

void FramingEngine::resume() {
  if (state_ == State::kTunnel && then_ == BodyPlan::Then::kTunnelAfterEnd) {
    state_ = State::kStartHead;
  }
}

}  // namespace ballast::proto::http1
