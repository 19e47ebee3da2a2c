// src/proto/http1/section_reader.cpp — the line scanner of section_reader.h. It looks only for
// LF (memchr) and checks the CR before it; bare CRs inside lines are left to the field and
// start-line parsers, which refuse CR wherever it can appear.
#include "proto/http1/section_reader.h"

#include <cstring>

#include "proto/http1/limits.h"

namespace ballast::proto::http1 {

void SectionReader::start(Kind kind, const Bounds& bounds) {
  kind_ = kind;
  bounds_ = bounds;
  buffer_.clear();
  bytes_ = 0;
  line_bytes_ = 0;
  lines_ = 0;
  empty_lines_ = 0;
  prev_cr_ = false;
  section_ = {};
}

SectionReader::Outcome SectionReader::checkPartialLine() const {
  // A CR at the end may be the first half of the line's CRLF, so it does not count yet.
  const size_t content = line_bytes_ - (prev_cr_ ? 1 : 0);
  if (kind_ == Kind::kHead && lines_ == 0 && content > bounds_.max_start_line) {
    return Outcome::kStartLineTooLong;
  }
  if (bytes_ > bounds_.max_bytes) {
    return Outcome::kTooManyBytes;
  }
  return Outcome::kNeedMore;
}

SectionReader::Step SectionReader::feed(std::span<const uint8_t> in) {
  if (in.empty()) {
    return {Outcome::kNeedMore, 0};
  }
  const char* data = reinterpret_cast<const char*>(in.data());
  const size_t size = in.size();
  size_t start = 0;  // first byte of `in` that belongs to the section
  size_t pos = 0;
  while (pos < size) {
    const void* found = std::memchr(data + pos, '\n', size - pos);
    if (found == nullptr) {
      line_bytes_ += size - pos;
      bytes_ += size - pos;
      prev_cr_ = data[size - 1] == '\r';
      if (const Outcome outcome = checkPartialLine(); outcome != Outcome::kNeedMore) {
        return {outcome, size};
      }
      break;
    }
    const auto lf = static_cast<size_t>(static_cast<const char*>(found) - data);
    const bool cr_before = lf > pos ? data[lf - 1] == '\r' : prev_cr_;
    // The bytes before the LF first, as checkPartialLine() would have seen them had the input
    // been cut there: the outcome must not depend on where reads end.
    line_bytes_ += lf - pos;
    bytes_ += lf - pos;
    prev_cr_ = cr_before;
    if (const Outcome outcome = checkPartialLine(); outcome != Outcome::kNeedMore) {
      return {outcome, lf};
    }
    if (!cr_before) {
      return {Outcome::kBareLf, lf};
    }
    const size_t content = line_bytes_ - 1;  // the CR goes; the LF was never counted
    ++bytes_;
    pos = lf + 1;
    if (bytes_ > bounds_.max_bytes) {
      return {Outcome::kTooManyBytes, pos};
    }
    line_bytes_ = 0;
    prev_cr_ = false;
    if (content == 0) {
      if (kind_ == Kind::kHead && lines_ == 0) {
        if (++empty_lines_ > kMaxLeadingEmptyLines) {
          return {Outcome::kTooManyEmptyLines, pos};
        }
        bytes_ = 0;
        buffer_.clear();
        start = pos;
        continue;
      }
      if (buffer_.empty()) {
        section_ = std::string_view(data + start, pos - start);
      } else {
        buffer_.append(data + start, pos - start);
        section_ = buffer_;
      }
      return {Outcome::kComplete, pos};
    }
    ++lines_;
    const size_t fields = kind_ == Kind::kHead ? lines_ - 1 : lines_;
    if (fields > bounds_.max_fields) {
      return {Outcome::kTooManyFields, pos};
    }
  }
  buffer_.append(data + start, size - start);
  return {Outcome::kNeedMore, size};
}

}  // namespace ballast::proto::http1
