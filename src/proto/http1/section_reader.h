// src/proto/http1/section_reader.h — finds the end of a head or trailer section in a stream that
// arrives in pieces, checking line endings and size limits byte by byte on the way, and keeping
// the section contiguous: a view of the input when it came whole, else a copy in a bounded buffer.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace ballast::proto::http1 {

class SectionReader {
 public:
  enum class Kind : uint8_t {
    kHead,      // start line, field lines, empty line; empty lines before the start line skipped
    kTrailers,  // field lines, empty line
  };
  enum class Outcome : uint8_t {
    kNeedMore,           // every input byte was taken (copied); feed more
    kComplete,           // section() is ready
    kBareLf,             // LF without CR: we require CRLF everywhere (RFC 9112 §2.2 allows LF)
    kStartLineTooLong,   // over Bounds::max_start_line
    kTooManyBytes,       // over Bounds::max_bytes
    kTooManyFields,      // over Bounds::max_fields
    kTooManyEmptyLines,  // over kMaxLeadingEmptyLines before a start line
  };
  struct Step {
    Outcome outcome = Outcome::kNeedMore;
    size_t consumed = 0;  // input bytes used; all of them for kNeedMore
  };
  struct Bounds {
    size_t max_start_line = 0;  // bytes, CRLF excluded; heads only
    size_t max_bytes = 0;       // the whole section, CRLFs included
    size_t max_fields = 0;      // field lines
  };

  // Forgets any previous section; the buffer keeps its capacity for the next one.
  void start(Kind kind, const Bounds& bounds);
  Step feed(std::span<const uint8_t> in);
  // After kComplete and until the next start(): the section from its first byte through the final
  // CRLF. It points into the `in` of the completing feed() when the whole section came in that
  // call (no copy), else into our buffer.
  std::string_view section() const { return section_; }
  // No section byte is held: EOF here loses nothing.
  bool empty() const { return bytes_ == 0; }

 private:
  Outcome checkPartialLine() const;

  Kind kind_ = Kind::kHead;
  Bounds bounds_;
  std::string buffer_;      // section bytes of earlier feeds, only when a section spans feeds
  size_t bytes_ = 0;        // section bytes so far
  size_t line_bytes_ = 0;   // bytes of the current line so far
  size_t lines_ = 0;        // complete non-empty lines
  size_t empty_lines_ = 0;  // skipped before a start line
  bool prev_cr_ = false;    // the last byte seen was CR (a CRLF may span feeds)
  std::string_view section_;
};

}  // namespace ballast::proto::http1
