// src/proto/http1/writer.cpp — head serialization and the chunked encoder of writer.h.
#include "proto/http1/writer.h"

#include <array>
#include <cassert>
#include <charconv>
#include <limits>

#include "proto/http1/hop_by_hop.h"
#include "proto/http1/syntax.h"

namespace ballast::proto::http1 {
namespace {

constexpr std::string_view kVersion = "HTTP/1.1";
constexpr uint16_t kFirstStatus = 100;
constexpr uint16_t kLastStatus = 599;
constexpr uint16_t kFirstSuccess = 200;
constexpr uint16_t kNoContent = 204;
constexpr size_t kMaxDecimalDigits = std::numeric_limits<uint64_t>::digits10 + 1;

core::Error bad(std::string_view what) { return core::Error{core::Errc::kBadInput, what}; }

bool isValidValue(std::string_view value) {
  for (const char c : value) {
    if (!isFieldValueChar(static_cast<uint8_t>(c))) {
      return false;
    }
  }
  return true;
}

bool isValidField(const Header& header) {
  return isToken(header.name) && isValidValue(header.value);
}

bool isFraming(std::string_view name) {
  return equalsIgnoreCase(name, "Content-Length") || equalsIgnoreCase(name, "Transfer-Encoding");
}

void appendNumber(uint64_t value, std::string& out, int base) {
  std::array<char, kMaxDecimalDigits> digits{};
  const auto result = std::to_chars(digits.data(), digits.data() + digits.size(), value, base);
  out.append(digits.data(), result.ptr);
}

void appendField(std::string_view name, std::string_view value, std::string& out) {
  out.append(name);
  out.append(": ");
  out.append(value);
  out.append(kCrlf);
}

// Everything after the start line. The caller has validated the start line; fields are checked
// here while writing, and the caller truncates `out` on failure.
core::Result<core::Ok> appendFields(std::span<const Header> headers, std::span<const Header> add,
                                    BodyKind body, bool content_length, uint64_t length,
                                    std::string& out) {
  for (const Header& header : headers) {
    if (isHopByHop(header.name, headers) || equalsIgnoreCase(header.name, "Content-Length")) {
      continue;
    }
    if (!isValidField(header)) {
      return bad("invalid header field");
    }
    appendField(header.name, header.value, out);
  }
  if (body == BodyKind::kChunked) {
    appendField("Transfer-Encoding", "chunked", out);
  } else if (content_length) {
    out.append("Content-Length: ");
    appendNumber(length, out, kDecimalBase);
    out.append(kCrlf);
  }
  for (const Header& header : add) {
    if (!isValidField(header)) {
      return bad("invalid header field");
    }
    if (isFraming(header.name)) {
      return bad("framing fields come from the head's body kind");
    }
    appendField(header.name, header.value, out);
  }
  out.append(kCrlf);
  return core::Ok{};
}

core::Result<core::Ok> undoOnError(core::Result<core::Ok> result, size_t size, std::string& out) {
  if (!result.has_value()) {
    out.resize(size);
  }
  return result;
}

}  // namespace

core::Result<core::Ok> writeRequestHead(const RequestHead& head, std::span<const Header> add,
                                        std::string& out) {
  if (!isToken(head.method)) {
    return bad("invalid method");
  }
  if (head.target.empty()) {
    return bad("empty request target");
  }
  for (const char c : head.target) {
    if (!isVchar(static_cast<uint8_t>(c))) {
      return bad("invalid request target");
    }
  }
  const size_t size = out.size();
  out.append(head.method);
  out.push_back(' ');
  out.append(head.target);
  out.push_back(' ');
  out.append(kVersion);
  out.append(kCrlf);
  return undoOnError(appendFields(head.headers, add, head.body, head.body == BodyKind::kLength,
                                  head.content_length, out),
                     size, out);
}

core::Result<core::Ok> writeResponseHead(const ResponseHead& head, std::span<const Header> add,
                                         std::string& out) {
  if (head.status < kFirstStatus || head.status > kLastStatus) {
    return bad("status code out of range");
  }
  if (!isValidValue(head.reason)) {
    return bad("invalid reason phrase");
  }
  const size_t size = out.size();
  out.append(kVersion);
  out.push_back(' ');
  appendNumber(head.status, out, kDecimalBase);
  out.push_back(' ');
  out.append(head.reason);
  out.append(kCrlf);
  // RFC 9110 §8.6: never in 1xx or 204; advisory in bodiless HEAD and 304 answers.
  const bool may_advise = head.status >= kFirstSuccess && head.status != kNoContent;
  const bool content_length =
      head.body == BodyKind::kLength ||
      (head.body == BodyKind::kNone && head.has_content_length && may_advise);
  return undoOnError(
      appendFields(head.headers, add, head.body, content_length, head.content_length, out), size,
      out);
}

size_t writeChunkHeader(uint64_t size, std::span<uint8_t, kMaxChunkHeaderBytes> out) {
  assert(size != 0 && "a zero-size chunk is the last chunk: use kLastChunk");
  char* begin = reinterpret_cast<char*>(out.data());
  const auto result = std::to_chars(begin, begin + kMaxChunkSizeDigits, size, kHexBase);
  char* end = result.ptr;
  for (const char c : kCrlf) {
    *end++ = c;
  }
  return static_cast<size_t>(end - begin);
}

core::Result<core::Ok> writeLastChunk(std::span<const Header> trailers, std::string& out) {
  for (const Header& trailer : trailers) {
    if (!isValidField(trailer)) {
      return bad("invalid trailer field");
    }
  }
  out.append("0");
  out.append(kCrlf);
  for (const Header& trailer : trailers) {
    appendField(trailer.name, trailer.value, out);
  }
  out.append(kCrlf);
  return core::Ok{};
}

}  // namespace ballast::proto::http1
