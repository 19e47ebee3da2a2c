// tests/fuzz/http1_request_fuzz.cpp — libFuzzer target for the HTTP/1.1 request parser. The first
// input byte picks how the rest is cut into reads (and whether small limits apply); each piece
// lives in its own allocation, freed after use, as the proxy's receive buffers are. Beyond "no
// crash", it checks what callers rely on: consumed within the input, kNeedMore taking everything,
// body ranges inside the input ending at consumed, sticky errors, no stalls, and the same events
// whether the input comes whole or cut.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "proto/http1/request_parser.h"

namespace {

namespace http1 = ballast::proto::http1;

constexpr size_t kSmallRequestLine = 64;
constexpr size_t kSmallHeaderBytes = 256;
constexpr size_t kSmallHeaders = 8;
constexpr uint64_t kSmallBody = 512;
constexpr size_t kSmallChunkExt = 16;
constexpr uint8_t kSmallLimitsBit = 0x80;
constexpr uint8_t kResumeBit = 0x40;
constexpr uint8_t kPieceMask = 0x3F;
// Events without progress in a row; a correct parser needs at most two (kMessageEnd, kNeedMore).
constexpr int kMaxIdleSteps = 4;
// Piece sizes come from a textbook LCG seeded by the first byte: any sequence will do, it only has
// to repeat for a given input. Its low bits are poor, hence the shift.
constexpr uint32_t kLcgMultiplier = 1103515245U;
constexpr uint32_t kLcgIncrement = 12345U;
constexpr uint32_t kLcgShift = 16;

void check(bool ok) {
  if (!ok) {
    std::abort();
  }
}

// Reads every byte a view points to, so that ASan sees a dangling one.
void touch(std::string_view s, std::string& log) {
  log.append(s);
  log.push_back('|');
}

struct Run {
  http1::RequestParser parser;
  std::string log;
  bool in_body = false;  // the last logged event was body bytes: coalesce, cuts split bodies
  bool resume = false;   // resume() after kTunnel, as after a refused upgrade

  explicit Run(const http1::Limits& limits) : parser(limits) {}

  void record(const http1::Progress& p) {
    if (p.event == http1::Event::kNeedMore) {
      return;  // how often input runs out depends on the cuts
    }
    if (p.event == http1::Event::kBody) {
      if (!in_body) {
        log += "body:";
      }
      in_body = true;
      log.append(reinterpret_cast<const char*>(p.body.data()), p.body.size());
      return;
    }
    in_body = false;
    log += std::to_string(static_cast<int>(p.event));
    if (p.event == http1::Event::kHead) {
      const http1::RequestHead& h = parser.head();
      touch(h.method, log);
      touch(h.target, log);
      touch(h.host, log);
      log += std::to_string(static_cast<int>(h.body)) + "/" + std::to_string(h.content_length) +
             "/" + std::to_string(h.keep_alive) + std::to_string(h.upgrade) +
             std::to_string(h.expect_continue) + std::to_string(static_cast<int>(h.form));
      for (const http1::Header& f : h.headers) {
        touch(f.name, log);
        touch(f.value, log);
      }
    } else if (p.event == http1::Event::kMessageEnd) {
      for (const http1::Header& f : parser.trailers()) {
        touch(f.name, log);
        touch(f.value, log);
      }
    } else if (p.event == http1::Event::kError) {
      log += std::to_string(static_cast<int>(parser.errorStatus()));
    }
    log.push_back('\n');
  }

  // False once the run is over (error, or a tunnel we do not resume).
  bool feed(std::span<const uint8_t> in) {
    int idle = 0;
    for (;;) {
      const http1::Progress p = parser.next(in);
      check(p.consumed <= in.size());
      if (p.event == http1::Event::kBody) {
        check(!p.body.empty());
        check(p.body.data() >= in.data());
        check(p.body.data() + p.body.size() == in.data() + p.consumed);
      } else {
        check(p.body.empty());
      }
      record(p);
      in = in.subspan(p.consumed);
      idle = p.consumed == 0 ? idle + 1 : 0;
      check(idle <= kMaxIdleSteps);
      switch (p.event) {
        case http1::Event::kNeedMore:
          check(in.empty());
          return true;
        case http1::Event::kError: {
          check(parser.errorStatus() != http1::Status::kNone);
          check(!parser.errorReason().empty());
          const http1::Progress again = parser.next(in);
          check(again.event == http1::Event::kError && again.consumed == 0);
          check(parser.finish() == http1::Event::kError);
          return false;
        }
        case http1::Event::kTunnel:
          check(p.consumed == 0);
          if (!resume) {
            return false;
          }
          parser.resume();
          idle = 0;
          break;
        case http1::Event::kClosed:
          check(false);  // only finish() says that
          return false;
        default:
          break;
      }
    }
  }
};

std::string run(std::span<const uint8_t> input, const http1::Limits& limits, uint8_t pattern,
                bool cut) {
  Run r(limits);
  r.resume = (pattern & kResumeBit) != 0;
  uint32_t state = pattern | 1U;
  size_t at = 0;
  while (at < input.size()) {
    size_t piece = input.size() - at;
    if (cut) {
      state = state * kLcgMultiplier + kLcgIncrement;
      piece = std::min<size_t>(piece, ((state >> kLcgShift) & kPieceMask) + 1);
    }
    const auto slice = input.subspan(at, piece);
    const std::vector<uint8_t> owned(slice.begin(), slice.end());
    at += piece;
    if (!r.feed(owned)) {
      return r.log;
    }
  }
  const http1::Event end = r.parser.finish();
  check(end == http1::Event::kMessageEnd || end == http1::Event::kClosed ||
        end == http1::Event::kError);
  r.log += "finish " + std::to_string(static_cast<int>(end));
  return r.log;
}

}  // namespace

// libFuzzer fixes the name.
extern "C" int LLVMFuzzerTestOneInput(  // NOLINT(readability-identifier-naming)
    const uint8_t* data, size_t size) {
  if (size == 0) {
    return 0;
  }
  const uint8_t pattern = data[0];
  const std::span<const uint8_t> input(data + 1, size - 1);
  http1::Limits limits;
  if ((pattern & kSmallLimitsBit) != 0) {
    limits = {kSmallRequestLine, kSmallHeaderBytes, kSmallHeaders, kSmallBody, kSmallChunkExt};
  }
  check(run(input, limits, pattern, false) == run(input, limits, pattern, true));
  return 0;
}
