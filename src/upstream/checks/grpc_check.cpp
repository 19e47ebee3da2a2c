// src/upstream/checks/grpc_check.cpp — grpc.health.v1.Health/Check as a check conversation:
// an nghttp2 client session fed and drained through memory (mem_recv / mem_send), so the socket
// stays the health checker's.
#include "upstream/checks/grpc_check.h"

#include <nghttp2/nghttp2.h>

#include <algorithm>
#include <array>
#include <cstring>

#include "proto/grpc/grpc_fields.h"

namespace ballast::upstream::checks {
namespace {

// gRPC's message prefix: a compressed flag, then the length, 4 bytes big-endian.
constexpr size_t kMessagePrefixBytes = 5;
constexpr size_t kLengthBytes = 4;
constexpr unsigned kBitsPerByte = 8;
// Protobuf wire format: a key is (field number << 3) | wire type.
constexpr unsigned kWireTypeBits = 3;
constexpr uint64_t kWireTypeMask = 0x7;
constexpr uint64_t kWireVarint = 0;
constexpr uint64_t kWireFixed64 = 1;
constexpr uint64_t kWireLengthDelimited = 2;
constexpr uint64_t kWireFixed32 = 5;
constexpr size_t kFixed64Bytes = 8;
constexpr size_t kFixed32Bytes = 4;
constexpr uint64_t kStatusField = 1;   // HealthCheckResponse.status
constexpr uint64_t kServiceField = 1;  // HealthCheckRequest.service
constexpr uint8_t kVarintMore = 0x80;
constexpr uint8_t kVarintBits = 0x7f;
constexpr unsigned kVarintShift = 7;
constexpr unsigned kMaxVarintShift = 63;
constexpr uint16_t kHttpOk = 200;

void appendVarint(std::string& out, uint64_t v) {
  while (v >= kVarintMore) {
    out.push_back(static_cast<char>((v & kVarintBits) | kVarintMore));
    v >>= kVarintShift;
  }
  out.push_back(static_cast<char>(v));
}

std::optional<uint64_t> readVarint(std::span<const uint8_t>& in) {
  uint64_t v = 0;
  for (unsigned shift = 0; shift <= kMaxVarintShift && !in.empty(); shift += kVarintShift) {
    const uint8_t b = in.front();
    in = in.subspan(1);
    v |= static_cast<uint64_t>(b & kVarintBits) << shift;
    if ((b & kVarintMore) == 0) {
      return v;
    }
  }
  return std::nullopt;
}

bool skip(std::span<const uint8_t>& in, uint64_t n) {
  if (n > in.size()) {
    return false;
  }
  in = in.subspan(static_cast<size_t>(n));
  return true;
}

nghttp2_nv field(std::string_view name, std::string_view value) {
  // NOLINTBEGIN(cppcoreguidelines-pro-type-const-cast): nghttp2 copies them
  return {const_cast<uint8_t*>(reinterpret_cast<const uint8_t*>(name.data())),
          const_cast<uint8_t*>(reinterpret_cast<const uint8_t*>(value.data())), name.size(),
          value.size(), NGHTTP2_NV_FLAG_NONE};
  // NOLINTEND(cppcoreguidelines-pro-type-const-cast)
}

struct SessionDeleter {
  void operator()(nghttp2_session* s) const { nghttp2_session_del(s); }
};

class GrpcConversation final : public CheckConversation {
 public:
  GrpcConversation(const config::HealthCheck& check, std::string authority)
      : authority_(std::move(authority)),
        scheme_(check.over_tls ? "https" : "http"),
        request_(grpcHealthRequest(check.service)) {}

  Judgement start(std::string& out) override {
    nghttp2_session_callbacks* cbs = nullptr;
    if (nghttp2_session_callbacks_new(&cbs) != 0) {
      return Judgement::unhealthy("out of memory");
    }
    nghttp2_session_callbacks_set_on_header_callback(cbs, &GrpcConversation::onHeader);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cbs, &GrpcConversation::onData);
    nghttp2_session_callbacks_set_on_stream_close_callback(cbs, &GrpcConversation::onClose);
    nghttp2_session* session = nullptr;
    const int rv = nghttp2_session_client_new(&session, cbs, this);
    nghttp2_session_callbacks_del(cbs);
    if (rv != 0) {
      return Judgement::unhealthy("out of memory");
    }
    session_.reset(session);
    const nghttp2_settings_entry no_push{NGHTTP2_SETTINGS_ENABLE_PUSH, 0};
    nghttp2_submit_settings(session, NGHTTP2_FLAG_NONE, &no_push, 1);
    const std::array<nghttp2_nv, 6> nva = {field(":method", "POST"),
                                           field(":scheme", scheme_),
                                           field(":path", kGrpcHealthPath),
                                           field(":authority", authority_),
                                           field("content-type", "application/grpc"),
                                           field("te", "trailers")};
    nghttp2_data_provider provider{};
    provider.source.ptr = this;
    provider.read_callback = &GrpcConversation::readRequest;
    stream_id_ = nghttp2_submit_request(session, nullptr, nva.data(), nva.size(), &provider, this);
    if (stream_id_ < 0) {
      return Judgement::unhealthy("cannot make the request");
    }
    return drain(out);
  }

  Judgement onBytes(std::span<const uint8_t> in, std::string& out) override {
    if (nghttp2_session_mem_recv(session_.get(), in.data(), in.size()) < 0) {
      return Judgement::unhealthy("HTTP/2 protocol error");
    }
    if (closed_) {
      return verdict();
    }
    const Judgement j = drain(out);
    if (!j.done() && nghttp2_session_want_read(session_.get()) == 0) {
      return Judgement::unhealthy("HTTP/2 protocol error");  // nghttp2 gave up (GOAWAY queued)
    }
    return j;
  }

 private:
  Judgement drain(std::string& out) {
    for (;;) {
      const uint8_t* data = nullptr;
      const ssize_t n = nghttp2_session_mem_send(session_.get(), &data);
      if (n < 0) {
        return Judgement::unhealthy("HTTP/2 protocol error");
      }
      if (n == 0) {
        return Judgement::needMore();
      }
      out.append(reinterpret_cast<const char*>(data), static_cast<size_t>(n));
    }
  }

  Judgement verdict() const {
    if (http_status_ != kHttpOk) {
      return Judgement::unhealthy(
          http_status_ == 0 ? "stream closed without an answer"
                            : "HTTP status " + std::to_string(http_status_) + " (not gRPC?)");
    }
    if (!grpc_status_) {
      return Judgement::unhealthy(reset_ ? "stream reset" : "no grpc-status");
    }
    if (*grpc_status_ != 0) {
      std::string why = "grpc-status " + std::string(proto::grpc::statusName(*grpc_status_));
      if (!grpc_message_.empty()) {
        why += ": " + grpc_message_;
      }
      return Judgement::unhealthy(std::move(why));
    }
    const auto status = parseGrpcHealthResponse(
        std::span(reinterpret_cast<const uint8_t*>(body_.data()), body_.size()));
    if (!status) {
      return Judgement::unhealthy("malformed HealthCheckResponse");
    }
    if (*status == static_cast<uint32_t>(ServingStatus::kServing)) {
      return Judgement::healthy("SERVING");
    }
    return Judgement::unhealthy(std::string(servingStatusName(*status)));
  }

  static GrpcConversation* self(void* user) { return static_cast<GrpcConversation*>(user); }

  static int onHeader(nghttp2_session* /*session*/, const nghttp2_frame* frame, const uint8_t* name,
                      size_t namelen, const uint8_t* value, size_t valuelen, uint8_t /*flags*/,
                      void* user) {
    auto* c = self(user);
    if (frame->hd.stream_id != c->stream_id_) {
      return 0;
    }
    const std::string_view n(reinterpret_cast<const char*>(name), namelen);
    const std::string_view v(reinterpret_cast<const char*>(value), valuelen);
    if (n == ":status") {
      c->http_status_ = 0;
      for (const char d : v) {
        c->http_status_ = static_cast<uint16_t>(c->http_status_ * 10 + (d - '0'));  // NOLINT
      }
    } else if (n == "grpc-status") {
      c->grpc_status_ = proto::grpc::parseStatus(v);
    } else if (n == "grpc-message") {
      constexpr size_t kMaxReason = 128;
      c->grpc_message_.assign(v.substr(0, kMaxReason));
    }
    return 0;
  }

  static int onData(nghttp2_session* /*session*/, uint8_t /*flags*/, int32_t stream_id,
                    const uint8_t* data, size_t len, void* user) {
    auto* c = self(user);
    if (stream_id == c->stream_id_ && !appendBounded(c->body_, std::span(data, len))) {
      return NGHTTP2_ERR_CALLBACK_FAILURE;  // not the small answer we expect
    }
    return 0;
  }

  static int onClose(nghttp2_session* /*session*/, int32_t stream_id, uint32_t error_code,
                     void* user) {
    auto* c = self(user);
    if (stream_id == c->stream_id_) {
      c->closed_ = true;
      c->reset_ = error_code != NGHTTP2_NO_ERROR;
    }
    return 0;
  }

  static ssize_t readRequest(nghttp2_session* /*session*/, int32_t /*stream_id*/, uint8_t* buf,
                             size_t length, uint32_t* flags, nghttp2_data_source* /*source*/,
                             void* user) {
    auto* c = self(user);
    const size_t n = std::min(length, c->request_.size() - c->sent_);
    memcpy(buf, c->request_.data() + c->sent_, n);
    c->sent_ += n;
    if (c->sent_ == c->request_.size()) {
      *flags |= NGHTTP2_DATA_FLAG_EOF;
    }
    return static_cast<ssize_t>(n);
  }

  std::string authority_;
  std::string_view scheme_;  // https when a TLS conversation carries this one
  std::string request_;
  size_t sent_ = 0;
  std::unique_ptr<nghttp2_session, SessionDeleter> session_;
  int32_t stream_id_ = -1;
  uint16_t http_status_ = 0;
  std::optional<uint32_t> grpc_status_;
  std::string grpc_message_;
  std::string body_;
  bool closed_ = false;
  bool reset_ = false;
};

}  // namespace

std::string grpcHealthRequest(std::string_view service) {
  std::string message;
  if (!service.empty()) {  // proto3: an empty string is not sent
    appendVarint(message, (kServiceField << kWireTypeBits) | kWireLengthDelimited);
    appendVarint(message, service.size());
    message.append(service);
  }
  std::string out(kMessagePrefixBytes, '\0');  // not compressed
  for (size_t i = 0; i < kLengthBytes; ++i) {
    out[1 + i] = static_cast<char>((message.size() >> (kBitsPerByte * (kLengthBytes - 1 - i))) &
                                   0xff);  // NOLINT(readability-magic-numbers)
  }
  return out + message;
}

std::optional<uint32_t> parseGrpcHealthResponse(std::span<const uint8_t> message) {
  if (message.size() < kMessagePrefixBytes || message[0] != 0) {
    return std::nullopt;
  }
  uint64_t length = 0;
  for (size_t i = 0; i < kLengthBytes; ++i) {
    length = (length << kBitsPerByte) | message[1 + i];
  }
  std::span<const uint8_t> in = message.subspan(kMessagePrefixBytes);
  if (length != in.size()) {
    return std::nullopt;  // a cut message, or more than one
  }
  uint64_t status = static_cast<uint64_t>(ServingStatus::kUnknown);  // proto3's default
  while (!in.empty()) {
    const auto key = readVarint(in);
    if (!key) {
      return std::nullopt;
    }
    const uint64_t wire = *key & kWireTypeMask;
    const uint64_t number = *key >> kWireTypeBits;
    bool ok = false;
    if (wire == kWireVarint) {
      const auto v = readVarint(in);
      ok = v.has_value();
      if (ok && number == kStatusField) {
        status = *v;
      }
    } else if (wire == kWireLengthDelimited) {
      const auto n = readVarint(in);
      ok = n && skip(in, *n);
    } else if (wire == kWireFixed64) {
      ok = skip(in, kFixed64Bytes);
    } else if (wire == kWireFixed32) {
      ok = skip(in, kFixed32Bytes);
    }
    if (!ok) {
      return std::nullopt;
    }
  }
  return static_cast<uint32_t>(std::min<uint64_t>(status, UINT32_MAX));
}

std::string_view servingStatusName(uint32_t status) {
  switch (status) {
    case static_cast<uint32_t>(ServingStatus::kUnknown):
      return "UNKNOWN";
    case static_cast<uint32_t>(ServingStatus::kServing):
      return "SERVING";
    case static_cast<uint32_t>(ServingStatus::kNotServing):
      return "NOT_SERVING";
    case static_cast<uint32_t>(ServingStatus::kServiceUnknown):
      return "SERVICE_UNKNOWN";
    default:
      return "an unknown serving status";
  }
}

std::unique_ptr<CheckConversation> makeGrpcConversation(const config::HealthCheck& check,
                                                        const std::string& authority) {
  return std::make_unique<GrpcConversation>(check, authority);
}

}  // namespace ballast::upstream::checks
