// src/compress/compressor.h — streaming response compression with gzip (zlib), zstd (libzstd)
// and brotli (libbrotlienc), each with a window bounded so one stream holds a known, small
// amount of memory whatever the body's size. No HTTP here: l7/compression decides when.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string_view>

namespace ballast::compress {

enum class Encoding : uint8_t { kNone, kGzip, kZstd, kBrotli };

// The Content-Encoding token ("gzip", "zstd", "br"); "" for kNone.
std::string_view encodingName(Encoding e);
std::optional<Encoding> encodingNamed(std::string_view name);

// Levels each library accepts, and the defaults used without `level:` (NGINX's gzip default is
// 1; 6 is zlib's and the usual choice).
struct LevelRange {
  int min;
  int max;
  int fallback;
};
LevelRange levelRange(Encoding e);

class Compressor {
 public:
  // Receives each piece of output as it is produced; false stops the stream (the sink is full or
  // gone), and the compressor returns false too.
  using Sink = std::function<bool(std::span<const uint8_t>)>;

  virtual ~Compressor() = default;
  // Compresses `in`; with `finish`, ends the stream (write it once, possibly with `in` empty).
  // Output may be held back until enough input arrives or the stream ends. False: the library
  // failed, or the sink said stop.
  virtual bool write(std::span<const uint8_t> in, bool finish, const Sink& sink) = 0;
};

// A compressor for `e` at `level` (within levelRange), or null when the library refuses.
std::unique_ptr<Compressor> makeCompressor(Encoding e, int level);

}  // namespace ballast::compress
