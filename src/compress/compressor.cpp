// src/compress/compressor.cpp — the three streaming compressors. Output goes through a
// 16 KiB stack buffer, so memory per stream is the library's state alone: zlib with a 32 KiB
// window (~270 KiB), zstd with a 128 KiB window (~0.7 MiB at level 3), brotli with a 256 KiB
// window (~1 MiB at quality 4).
#include "compress/compressor.h"

#include <brotli/encode.h>
#include <zlib.h>
#include <zstd.h>

#include <array>
#include <vector>

namespace ballast::compress {
namespace {

constexpr size_t kOutBytes = 16 * 1024;
constexpr int kGzipWindowBits = 15 + 16;  // 32 KiB window, gzip wrapper (RFC 1952)
constexpr int kZlibMemLevel = 8;
constexpr int kZstdWindowLog = 17;      // 128 KiB
constexpr uint32_t kBrotliWindow = 18;  // 256 KiB

// A few zstd contexts kept per thread (each worker compresses on its own thread) for the next
// response: a new context allocates and clears its tables on first use (~0.7 MiB at level 3),
// which costs more than compressing a 64 KiB body. Reset, a kept one starts clean.
constexpr size_t kKeptContexts = 4;
struct KeptZstdContexts {
  std::vector<ZSTD_CCtx*> free;
  KeptZstdContexts() = default;
  KeptZstdContexts(const KeptZstdContexts&) = delete;
  KeptZstdContexts& operator=(const KeptZstdContexts&) = delete;
  ~KeptZstdContexts() {
    for (ZSTD_CCtx* c : free) {
      ZSTD_freeCCtx(c);
    }
  }
};
thread_local KeptZstdContexts
    kept_zstd;  // NOLINT(cppcoreguidelines-avoid-non-const-global-variables)

ZSTD_CCtx* takeZstdContext() {
  if (kept_zstd.free.empty()) {
    return ZSTD_createCCtx();
  }
  ZSTD_CCtx* c = kept_zstd.free.back();
  kept_zstd.free.pop_back();
  ZSTD_CCtx_reset(c, ZSTD_reset_session_and_parameters);
  return c;
}

void giveBackZstdContext(ZSTD_CCtx* c, bool clean) {
  if (c == nullptr) {
    return;
  }
  if (clean && kept_zstd.free.size() < kKeptContexts) {
    kept_zstd.free.push_back(c);
  } else {
    ZSTD_freeCCtx(c);
  }
}

class GzipCompressor final : public Compressor {
 public:
  explicit GzipCompressor(int level) {
    ok_ = deflateInit2(&z_, level, Z_DEFLATED, kGzipWindowBits, kZlibMemLevel,
                       Z_DEFAULT_STRATEGY) == Z_OK;
  }
  ~GzipCompressor() override {
    if (ok_) {
      deflateEnd(&z_);
    }
  }
  GzipCompressor(const GzipCompressor&) = delete;
  GzipCompressor& operator=(const GzipCompressor&) = delete;
  bool ok() const { return ok_; }

  bool write(std::span<const uint8_t> in, bool finish, const Sink& sink) override {
    std::array<uint8_t, kOutBytes> out{};
    // zlib does not write through next_in; the cast is its API's.
    z_.next_in = const_cast<Bytef*>(in.data());  // NOLINT(cppcoreguidelines-pro-type-const-cast)
    z_.avail_in = static_cast<uInt>(in.size());
    const int flush = finish ? Z_FINISH : Z_NO_FLUSH;
    while (true) {
      z_.next_out = out.data();
      z_.avail_out = static_cast<uInt>(out.size());
      const int rc = deflate(&z_, flush);
      if (rc == Z_STREAM_ERROR) {
        return false;
      }
      const size_t produced = out.size() - z_.avail_out;
      if (produced > 0 && !sink(std::span<const uint8_t>(out.data(), produced))) {
        return false;
      }
      if (finish ? rc == Z_STREAM_END : (z_.avail_in == 0 && z_.avail_out != 0)) {
        return true;
      }
    }
  }

 private:
  z_stream z_{};
  bool ok_ = false;
};

class ZstdCompressor final : public Compressor {
 public:
  explicit ZstdCompressor(int level) : cctx_(takeZstdContext()) {
    ok_ = cctx_ != nullptr &&
          !ZSTD_isError(ZSTD_CCtx_setParameter(cctx_, ZSTD_c_compressionLevel, level)) &&
          !ZSTD_isError(ZSTD_CCtx_setParameter(cctx_, ZSTD_c_windowLog, kZstdWindowLog)) &&
          !ZSTD_isError(ZSTD_CCtx_setParameter(cctx_, ZSTD_c_checksumFlag, 1));
  }
  ~ZstdCompressor() override { giveBackZstdContext(cctx_, ok_); }
  ZstdCompressor(const ZstdCompressor&) = delete;
  ZstdCompressor& operator=(const ZstdCompressor&) = delete;
  bool ok() const { return ok_; }

  bool write(std::span<const uint8_t> in, bool finish, const Sink& sink) override {
    std::array<uint8_t, kOutBytes> out{};
    ZSTD_inBuffer input{in.data(), in.size(), 0};
    const ZSTD_EndDirective mode = finish ? ZSTD_e_end : ZSTD_e_continue;
    while (true) {
      ZSTD_outBuffer output{out.data(), out.size(), 0};
      const size_t left = ZSTD_compressStream2(cctx_, &output, &input, mode);
      if (ZSTD_isError(left)) {
        return false;
      }
      if (output.pos > 0 && !sink(std::span<const uint8_t>(out.data(), output.pos))) {
        return false;
      }
      if (finish ? left == 0 : input.pos == input.size) {
        return true;
      }
    }
  }

 private:
  ZSTD_CCtx* cctx_;
  bool ok_ = false;
};

class BrotliCompressor final : public Compressor {
 public:
  explicit BrotliCompressor(int level)
      : state_(BrotliEncoderCreateInstance(nullptr, nullptr, nullptr)) {
    ok_ = state_ != nullptr &&
          BrotliEncoderSetParameter(state_, BROTLI_PARAM_QUALITY, static_cast<uint32_t>(level)) &&
          BrotliEncoderSetParameter(state_, BROTLI_PARAM_LGWIN, kBrotliWindow);
  }
  ~BrotliCompressor() override { BrotliEncoderDestroyInstance(state_); }
  BrotliCompressor(const BrotliCompressor&) = delete;
  BrotliCompressor& operator=(const BrotliCompressor&) = delete;
  bool ok() const { return ok_; }

  bool write(std::span<const uint8_t> in, bool finish, const Sink& sink) override {
    std::array<uint8_t, kOutBytes> out{};
    size_t avail_in = in.size();
    const uint8_t* next_in = in.data();
    const BrotliEncoderOperation op = finish ? BROTLI_OPERATION_FINISH : BROTLI_OPERATION_PROCESS;
    while (true) {
      size_t avail_out = out.size();
      uint8_t* next_out = out.data();
      if (!BrotliEncoderCompressStream(state_, op, &avail_in, &next_in, &avail_out, &next_out,
                                       nullptr)) {
        return false;
      }
      const size_t produced = out.size() - avail_out;
      if (produced > 0 && !sink(std::span<const uint8_t>(out.data(), produced))) {
        return false;
      }
      const bool more = BrotliEncoderHasMoreOutput(state_) != 0;
      if (finish ? BrotliEncoderIsFinished(state_) != 0 : (avail_in == 0 && !more)) {
        return true;
      }
    }
  }

 private:
  BrotliEncoderState* state_;
  bool ok_ = false;
};

template <typename T>
std::unique_ptr<Compressor> made(int level) {
  auto c = std::make_unique<T>(level);
  if (!c->ok()) {
    return nullptr;
  }
  return c;
}

}  // namespace

std::string_view encodingName(Encoding e) {
  switch (e) {
    case Encoding::kGzip:
      return "gzip";
    case Encoding::kZstd:
      return "zstd";
    case Encoding::kBrotli:
      return "br";
    case Encoding::kNone:
      break;
  }
  return "";
}

std::optional<Encoding> encodingNamed(std::string_view name) {
  for (const Encoding e : {Encoding::kGzip, Encoding::kZstd, Encoding::kBrotli}) {
    if (encodingName(e) == name) {
      return e;
    }
  }
  return std::nullopt;
}

LevelRange levelRange(Encoding e) {
  switch (e) {
    case Encoding::kGzip:
      return {1, 9, 6};
    case Encoding::kZstd:
      return {1, 19, 3};
    case Encoding::kBrotli:
      return {0, 11, 4};
    case Encoding::kNone:
      break;
  }
  return {0, 0, 0};
}

std::unique_ptr<Compressor> makeCompressor(Encoding e, int level) {
  switch (e) {
    case Encoding::kGzip:
      return made<GzipCompressor>(level);
    case Encoding::kZstd:
      return made<ZstdCompressor>(level);
    case Encoding::kBrotli:
      return made<BrotliCompressor>(level);
    case Encoding::kNone:
      break;
  }
  return nullptr;
}

}  // namespace ballast::compress
