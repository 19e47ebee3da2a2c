// src/proto/http1/body_decoder.cpp — the body framing state machines of body_decoder.h. Chunk
// lines are parsed a byte at a time so that a split anywhere needs no buffering.
#include "proto/http1/body_decoder.h"

#include <algorithm>
#include <limits>

#include "proto/http1/limits.h"
#include "proto/http1/syntax.h"

namespace ballast::proto::http1 {
namespace {

constexpr unsigned kBitsPerHexDigit = 4;

// qdtext (RFC 9110 §5.6.4): field-value bytes other than '"' and '\'.
bool isQdtext(uint8_t c) { return isFieldValueChar(c) && c != '"' && c != '\\'; }

}  // namespace

bool BodyDecoder::isExtensionState(Chunk state) {
  switch (state) {
    case Chunk::kBwsAfterSize:
    case Chunk::kBwsBeforeName:
    case Chunk::kExtName:
    case Chunk::kBwsAfterName:
    case Chunk::kBwsBeforeValue:
    case Chunk::kExtValue:
    case Chunk::kQuoted:
    case Chunk::kQuotedPair:
    case Chunk::kAfterQuoted:
    case Chunk::kBwsAfterValue:
      return true;
    default:
      return false;
  }
}

void BodyDecoder::startLength(uint64_t length) {
  mode_ = Mode::kLength;
  remaining_ = length;
  failure_ = {};
}

void BodyDecoder::startChunked(uint64_t max_body, size_t max_chunk_ext) {
  mode_ = Mode::kChunked;
  chunk_ = Chunk::kSizeFirst;
  remaining_ = 0;
  total_ = 0;
  max_body_ = max_body;
  chunk_size_ = 0;
  size_digits_ = 0;
  ext_bytes_ = 0;
  max_chunk_ext_ = max_chunk_ext;
  failure_ = {};
}

void BodyDecoder::startUntilClose(uint64_t max_body) {
  mode_ = Mode::kUntilClose;
  total_ = 0;
  max_body_ = max_body;
  failure_ = {};
}

bool BodyDecoder::fail(Status status, std::string_view reason) {
  failure_ = Failure{status, reason};
  return false;
}

BodyDecoder::Output BodyDecoder::next(std::span<const uint8_t> in) {
  switch (mode_) {
    case Mode::kLength: {
      if (remaining_ == 0) {
        return {Step::kDone, 0, {}};
      }
      if (in.empty()) {
        return {Step::kNeedMore, 0, {}};
      }
      const size_t take = static_cast<size_t>(std::min<uint64_t>(remaining_, in.size()));
      remaining_ -= take;
      return {Step::kData, take, in.first(take)};
    }
    case Mode::kUntilClose:
      if (in.empty()) {
        return {Step::kNeedMore, 0, {}};
      }
      if (max_body_ != kUnlimitedBody) {
        // Up to the limit first, so that where reads end never changes which bytes got out.
        if (total_ == max_body_) {
          fail(Status::kContentTooLarge, "body exceeds limit");
          return {Step::kError, 0, {}};
        }
        const size_t take = static_cast<size_t>(std::min<uint64_t>(in.size(), max_body_ - total_));
        total_ += take;
        return {Step::kData, take, in.first(take)};
      }
      total_ += in.size();
      return {Step::kData, in.size(), in};
    case Mode::kChunked:
      return nextChunked(in);
  }
  return {Step::kError, 0, {}};
}

BodyDecoder::Output BodyDecoder::nextChunked(std::span<const uint8_t> in) {
  size_t pos = 0;
  while (pos < in.size()) {
    if (chunk_ == Chunk::kData) {
      const size_t take = static_cast<size_t>(std::min<uint64_t>(remaining_, in.size() - pos));
      remaining_ -= take;
      if (remaining_ == 0) {
        chunk_ = Chunk::kDataCr;
      }
      return {Step::kData, pos + take, in.subspan(pos, take)};
    }
    const uint8_t c = in[pos++];
    if (!chunkLineByte(c)) {
      return {Step::kError, pos, {}};
    }
    if (chunk_ == Chunk::kLastChunkRead) {
      return {Step::kTrailers, pos, {}};
    }
  }
  return {Step::kNeedMore, in.size(), {}};
}

bool BodyDecoder::chunkSizeDigit(uint8_t c) {
  if (++size_digits_ > kMaxChunkSizeDigits) {
    return fail(Status::kBadRequest, "chunk size too long");
  }
  chunk_size_ = (chunk_size_ << kBitsPerHexDigit) | hexValue(c);
  chunk_ = Chunk::kSize;
  return true;
}

// CRLF after a chunk size (and extensions): start the data, or report the last chunk.
bool BodyDecoder::endChunkLine() {
  if (chunk_size_ == 0) {
    chunk_ = Chunk::kLastChunkRead;
    return true;
  }
  if (max_body_ != kUnlimitedBody) {
    if (chunk_size_ > max_body_ - total_) {
      return fail(Status::kContentTooLarge, "chunked body exceeds limit");
    }
  } else if (chunk_size_ > std::numeric_limits<uint64_t>::max() - total_) {
    return fail(Status::kBadRequest, "chunked body length overflows");
  }
  total_ += chunk_size_;
  remaining_ = chunk_size_;
  chunk_ = Chunk::kData;
  return true;
}

bool BodyDecoder::chunkLineByte(uint8_t c) {
  // Everything between the size digits and the CR counts, BWS included.
  const bool past_digits = chunk_ == Chunk::kSize ? !isHexDigit(c) : isExtensionState(chunk_);
  if (past_digits && c != '\r' && ++ext_bytes_ > max_chunk_ext_) {
    return fail(Status::kBadRequest, "chunk extension too long");
  }
  switch (chunk_) {
    case Chunk::kSizeFirst:
      if (!isHexDigit(c)) {
        return fail(Status::kBadRequest, "invalid chunk size");
      }
      chunk_size_ = 0;
      size_digits_ = 0;
      ext_bytes_ = 0;
      return chunkSizeDigit(c);
    case Chunk::kSize:
      if (isHexDigit(c)) {
        return chunkSizeDigit(c);
      }
      if (c == ';') {
        chunk_ = Chunk::kBwsBeforeName;
      } else if (isOws(c)) {
        chunk_ = Chunk::kBwsAfterSize;
      } else if (c == '\r') {
        chunk_ = Chunk::kSizeLf;
      } else {
        return fail(Status::kBadRequest, "invalid chunk size");
      }
      return true;
    case Chunk::kBwsAfterSize:
    case Chunk::kBwsAfterValue:
      if (c == ';') {
        chunk_ = Chunk::kBwsBeforeName;
      } else if (!isOws(c)) {
        return fail(Status::kBadRequest, "invalid chunk extension");
      }
      return true;
    case Chunk::kBwsBeforeName:
      if (isTchar(c)) {
        chunk_ = Chunk::kExtName;
      } else if (!isOws(c)) {
        return fail(Status::kBadRequest, "invalid chunk extension");
      }
      return true;
    case Chunk::kExtName:
    case Chunk::kBwsAfterName:
      if (c == '=') {
        chunk_ = Chunk::kBwsBeforeValue;
      } else if (c == ';') {
        chunk_ = Chunk::kBwsBeforeName;
      } else if (isOws(c)) {
        chunk_ = Chunk::kBwsAfterName;
      } else if (c == '\r' && chunk_ == Chunk::kExtName) {
        chunk_ = Chunk::kSizeLf;
      } else if (!isTchar(c) || chunk_ != Chunk::kExtName) {
        return fail(Status::kBadRequest, "invalid chunk extension");
      }
      return true;
    case Chunk::kBwsBeforeValue:
      if (c == '"') {
        chunk_ = Chunk::kQuoted;
      } else if (isTchar(c)) {
        chunk_ = Chunk::kExtValue;
      } else if (!isOws(c)) {
        return fail(Status::kBadRequest, "invalid chunk extension");
      }
      return true;
    case Chunk::kExtValue:
    case Chunk::kAfterQuoted:
      if (c == ';') {
        chunk_ = Chunk::kBwsBeforeName;
      } else if (isOws(c)) {
        chunk_ = Chunk::kBwsAfterValue;
      } else if (c == '\r') {
        chunk_ = Chunk::kSizeLf;
      } else if (!isTchar(c) || chunk_ != Chunk::kExtValue) {
        return fail(Status::kBadRequest, "invalid chunk extension");
      }
      return true;
    case Chunk::kQuoted:
      if (c == '"') {
        chunk_ = Chunk::kAfterQuoted;
      } else if (c == '\\') {
        chunk_ = Chunk::kQuotedPair;
      } else if (!isQdtext(c)) {
        return fail(Status::kBadRequest, "invalid chunk extension");
      }
      return true;
    case Chunk::kQuotedPair:
      if (!isFieldValueChar(c)) {
        return fail(Status::kBadRequest, "invalid chunk extension");
      }
      chunk_ = Chunk::kQuoted;
      return true;
    case Chunk::kSizeLf:
      if (c != '\n') {
        return fail(Status::kBadRequest, "chunk line not ended by CRLF");
      }
      return endChunkLine();
    case Chunk::kDataCr:
      if (c != '\r') {
        return fail(Status::kBadRequest, "chunk data not followed by CRLF");
      }
      chunk_ = Chunk::kDataLf;
      return true;
    case Chunk::kDataLf:
      if (c != '\n') {
        return fail(Status::kBadRequest, "chunk data not followed by CRLF");
      }
      chunk_ = Chunk::kSizeFirst;
      size_digits_ = 0;
      return true;
    case Chunk::kData:
    case Chunk::kLastChunkRead:
      break;  // nextChunked() returns before feeding these a byte
  }
  return fail(Status::kBadRequest, "invalid chunk framing");
}

}  // namespace ballast::proto::http1
