// src/proto/http1/body_decoder.h — removes transfer framing from a body as it streams by:
// fixed length, chunked (RFC 9112 §7.1) up to its trailer section, or until the connection
// closes. Body bytes are reported as ranges of the input, never copied.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>

#include "proto/http1/message.h"

namespace ballast::proto::http1 {

class BodyDecoder {
 public:
  enum class Step : uint8_t {
    kNeedMore,  // all input used
    kData,      // Output::data holds body bytes
    kDone,      // the body is complete (fixed length)
    kTrailers,  // chunked: the last chunk was read; a trailer section follows
    kError,     // failure() says why
  };
  struct Output {
    Step step = Step::kNeedMore;
    size_t consumed = 0;
    std::span<const uint8_t> data;  // kData: ends exactly at `consumed`
  };

  void startLength(uint64_t length);
  // max_body 0 = unlimited.
  void startChunked(uint64_t max_body, size_t max_chunk_ext);
  void startUntilClose(uint64_t max_body);
  Output next(std::span<const uint8_t> in);
  // EOF ends this body cleanly.
  bool endsAtClose() const { return mode_ == Mode::kUntilClose; }
  // A fixed-length body's bytes still to come (0 for the other framings).
  uint64_t lengthLeft() const { return mode_ == Mode::kLength ? remaining_ : 0; }
  // `n` (at most lengthLeft()) of a fixed-length body's bytes went past the decoder (spliced
  // from socket to socket): they count as read.
  void skip(uint64_t n) { remaining_ -= std::min(n, lengthLeft()); }
  // kBadRequest or kContentTooLarge; the caller maps it for responses.
  const Failure& failure() const { return failure_; }

 private:
  enum class Mode : uint8_t { kLength, kChunked, kUntilClose };
  // Chunk framing, one state per position in RFC 9112 §7.1's grammar; kBws* are the BWS runs
  // that chunk-ext allows around ';' and '='.
  enum class Chunk : uint8_t {
    kSizeFirst,      // first hex digit
    kSize,           // more hex digits, ';', BWS or CR
    kBwsAfterSize,   // BWS: only ';' may follow
    kBwsBeforeName,  // after ';'
    kExtName,
    kBwsAfterName,  // BWS: '=' or ';' may follow
    kBwsBeforeValue,
    kExtValue,       // token value
    kQuoted,         // inside a quoted-string value
    kQuotedPair,     // after a backslash
    kAfterQuoted,    // closing quote seen: ';', BWS or CR
    kBwsAfterValue,  // BWS: only ';' may follow
    kSizeLf,         // CR seen, LF must follow
    kData,
    kDataCr,
    kDataLf,
    kLastChunkRead,  // "0" line done: the trailer section is the caller's to read
  };

  static bool isExtensionState(Chunk state);
  Output nextChunked(std::span<const uint8_t> in);
  // Advances the chunk line by one byte; false on a framing error (failure_ set).
  bool chunkLineByte(uint8_t c);
  bool chunkSizeDigit(uint8_t c);
  bool endChunkLine();
  bool fail(Status status, std::string_view reason);

  Mode mode_ = Mode::kLength;
  Chunk chunk_ = Chunk::kSizeFirst;
  uint64_t remaining_ = 0;  // of the fixed-length body or the current chunk
  uint64_t total_ = 0;      // body bytes so far, for max_body
  uint64_t max_body_ = 0;
  uint64_t chunk_size_ = 0;
  size_t size_digits_ = 0;
  size_t ext_bytes_ = 0;
  size_t max_chunk_ext_ = 0;
  Failure failure_;
};

}  // namespace ballast::proto::http1
