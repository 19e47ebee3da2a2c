// tests/unit/upstream/checks/grpc_check_test.cpp — the HealthCheckRequest and Response messages
// by hand, and whole conversations against an nghttp2 server session in memory: SERVING,
// NOT_SERVING, an error status (trailers-only), a non-gRPC answer, bytes fed one at a time.
#include "upstream/checks/grpc_check.h"

#include <gtest/gtest.h>
#include <nghttp2/nghttp2.h>

#include <string>
#include <vector>

namespace ballast::upstream::checks {
namespace {

std::span<const uint8_t> bytes(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

TEST(GrpcCheck, RequestIsOneLengthPrefixedMessage) {
  EXPECT_EQ(grpcHealthRequest("echo"), std::string("\0\0\0\0\x06\x0a\x04"
                                                   "echo",
                                                   11));
  EXPECT_EQ(grpcHealthRequest(""), std::string(5, '\0'));  // proto3 leaves the default out
  const std::string long_name(200, 'a');                   // a two-byte length varint
  const std::string req = grpcHealthRequest(long_name);
  EXPECT_EQ(req.substr(5, 3), std::string("\x0a\xc8\x01"));
  EXPECT_EQ(static_cast<uint8_t>(req[4]), 203);
}

TEST(GrpcCheck, ResponseStatusAndUnknownFields) {
  EXPECT_EQ(parseGrpcHealthResponse(bytes(std::string("\0\0\0\0\x02\x08\x01", 7))), 1U);
  EXPECT_EQ(parseGrpcHealthResponse(bytes(std::string("\0\0\0\0\x02\x08\x02", 7))), 2U);
  EXPECT_EQ(parseGrpcHealthResponse(bytes(std::string(5, '\0'))), 0U);  // UNKNOWN by default
  // An unknown length-delimited field 2 and a fixed32 field 3 before the status.
  EXPECT_EQ(parseGrpcHealthResponse(
                bytes(std::string("\0\0\0\0\x0b\x12\x02hi\x1d\x01\x02\x03\x04\x08\x01", 16))),
            1U);
  EXPECT_FALSE(parseGrpcHealthResponse(bytes(std::string("\x01\0\0\0\x02\x08\x01", 7))));
  EXPECT_FALSE(parseGrpcHealthResponse(bytes(std::string("\0\0\0\0\x03\x08\x01", 7))));
  EXPECT_FALSE(parseGrpcHealthResponse(bytes(std::string("\0\0\0\0\x02\x08\x81", 7))));
  EXPECT_FALSE(parseGrpcHealthResponse(bytes(std::string("\0\0\0\0\x02\x12\x05", 7))));
  EXPECT_FALSE(parseGrpcHealthResponse(bytes(std::string("\0\0\0", 3))));
}

// An h2c server in memory answering the one request as told.
class FakeServer {
 public:
  enum class Answer { kServing, kNotServing, kUnimplemented, kHtml };

  explicit FakeServer(Answer answer) : answer_(answer) {
    nghttp2_session_callbacks* cbs = nullptr;
    nghttp2_session_callbacks_new(&cbs);
    nghttp2_session_callbacks_set_on_header_callback(cbs, &FakeServer::onHeader);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cbs, &FakeServer::onData);
    nghttp2_session_callbacks_set_on_frame_recv_callback(cbs, &FakeServer::onFrame);
    nghttp2_session_server_new(&session_, cbs, this);
    nghttp2_session_callbacks_del(cbs);
    nghttp2_submit_settings(session_, NGHTTP2_FLAG_NONE, nullptr, 0);
  }
  ~FakeServer() { nghttp2_session_del(session_); }

  // Client bytes in, server bytes out.
  std::string exchange(const std::string& in) {
    EXPECT_GE(nghttp2_session_mem_recv(session_, bytes(in).data(), in.size()), 0);
    std::string out;
    for (;;) {
      const uint8_t* data = nullptr;
      const ssize_t n = nghttp2_session_mem_send(session_, &data);
      if (n <= 0) {
        return out;
      }
      out.append(reinterpret_cast<const char*>(data), static_cast<size_t>(n));
    }
  }

  std::string path;
  std::string te;
  std::string body;

 private:
  static nghttp2_nv nv(const char* name, const char* value) {
    return {reinterpret_cast<uint8_t*>(const_cast<char*>(name)),
            reinterpret_cast<uint8_t*>(const_cast<char*>(value)), strlen(name), strlen(value),
            NGHTTP2_NV_FLAG_NONE};
  }

  static int onHeader(nghttp2_session*, const nghttp2_frame*, const uint8_t* name, size_t nlen,
                      const uint8_t* value, size_t vlen, uint8_t, void* user) {
    auto* s = static_cast<FakeServer*>(user);
    const std::string n(reinterpret_cast<const char*>(name), nlen);
    const std::string v(reinterpret_cast<const char*>(value), vlen);
    if (n == ":path") {
      s->path = v;
    } else if (n == "te") {
      s->te = v;
    }
    return 0;
  }

  static int onData(nghttp2_session*, uint8_t, int32_t, const uint8_t* data, size_t len,
                    void* user) {
    static_cast<FakeServer*>(user)->body.append(reinterpret_cast<const char*>(data), len);
    return 0;
  }

  static ssize_t readBody(nghttp2_session*, int32_t, uint8_t* buf, size_t length, uint32_t* flags,
                          nghttp2_data_source* source, void*) {
    auto* s = static_cast<FakeServer*>(source->ptr);
    const size_t n = std::min(length, s->reply_.size());
    memcpy(buf, s->reply_.data(), n);
    s->reply_.erase(0, n);
    if (s->reply_.empty()) {
      *flags |= NGHTTP2_DATA_FLAG_EOF;
      if (s->answer_ != Answer::kHtml) {
        *flags |= NGHTTP2_DATA_FLAG_NO_END_STREAM;
        std::array trailers = {nv("grpc-status", "0")};
        nghttp2_submit_trailer(s->session_, s->stream_, trailers.data(), trailers.size());
      }
    }
    return static_cast<ssize_t>(n);
  }

  static int onFrame(nghttp2_session* session, const nghttp2_frame* frame, void* user) {
    auto* s = static_cast<FakeServer*>(user);
    if ((frame->hd.flags & NGHTTP2_FLAG_END_STREAM) == 0 || frame->hd.stream_id == 0) {
      return 0;
    }
    s->stream_ = frame->hd.stream_id;
    nghttp2_data_provider provider{};
    provider.source.ptr = s;
    provider.read_callback = &FakeServer::readBody;
    switch (s->answer_) {
      case Answer::kServing:
      case Answer::kNotServing: {
        s->reply_ =
            std::string("\0\0\0\0\x02\x08", 6) + (s->answer_ == Answer::kServing ? "\x01" : "\x02");
        std::array head = {nv(":status", "200"), nv("content-type", "application/grpc")};
        nghttp2_submit_response(session, s->stream_, head.data(), head.size(), &provider);
        break;
      }
      case Answer::kUnimplemented: {
        std::array head = {nv(":status", "200"), nv("content-type", "application/grpc"),
                           nv("grpc-status", "12"), nv("grpc-message", "no health service")};
        nghttp2_submit_response(session, s->stream_, head.data(), head.size(), nullptr);
        break;
      }
      case Answer::kHtml: {
        s->reply_ = "<html>";
        std::array head = {nv(":status", "404"), nv("content-type", "text/html")};
        nghttp2_submit_response(session, s->stream_, head.data(), head.size(), &provider);
        break;
      }
    }
    return 0;
  }

  Answer answer_;
  nghttp2_session* session_ = nullptr;
  int32_t stream_ = 0;
  std::string reply_;
};

// Runs a conversation against `server`; `bytewise` feeds the server's answer a byte at a time.
Judgement converse(FakeServer& server, const std::string& service, bool bytewise = false) {
  config::HealthCheck check;
  check.type = config::HealthCheckType::kGrpc;
  check.service = service;
  auto conv = makeGrpcConversation(check, "127.0.0.1:50051");
  std::string out;
  Judgement j = conv->start(out);
  for (int round = 0; round < 8 && !j.done(); ++round) {
    const std::string reply = server.exchange(out);
    out.clear();
    if (bytewise) {
      for (size_t i = 0; i < reply.size() && !j.done(); ++i) {
        j = conv->onBytes(bytes(reply).subspan(i, 1), out);
      }
    } else {
      j = conv->onBytes(bytes(reply), out);
    }
  }
  return j;
}

TEST(GrpcCheck, ServingIsHealthy) {
  FakeServer server(FakeServer::Answer::kServing);
  const auto j = converse(server, "echo");
  EXPECT_EQ(j.verdict, Verdict::kHealthy) << j.reason;
  EXPECT_EQ(server.path, "/grpc.health.v1.Health/Check");
  EXPECT_EQ(server.te, "trailers");
  EXPECT_EQ(server.body, grpcHealthRequest("echo"));
}

TEST(GrpcCheck, NotServingIsUnhealthy) {
  FakeServer server(FakeServer::Answer::kNotServing);
  const auto j = converse(server, "", /*bytewise=*/true);
  EXPECT_EQ(j.verdict, Verdict::kUnhealthy);
  EXPECT_EQ(j.reason, "NOT_SERVING");
}

TEST(GrpcCheck, ErrorStatusIsUnhealthyWithItsMessage) {
  FakeServer server(FakeServer::Answer::kUnimplemented);
  const auto j = converse(server, "echo");
  EXPECT_EQ(j.verdict, Verdict::kUnhealthy);
  EXPECT_EQ(j.reason, "grpc-status UNIMPLEMENTED: no health service");
}

TEST(GrpcCheck, NonGrpcAnswerIsUnhealthy) {
  FakeServer server(FakeServer::Answer::kHtml);
  const auto j = converse(server, "echo");
  EXPECT_EQ(j.verdict, Verdict::kUnhealthy);
  EXPECT_EQ(j.reason, "HTTP status 404 (not gRPC?)");
}

TEST(GrpcCheck, GarbageIsAProtocolError) {
  config::HealthCheck check;
  check.type = config::HealthCheckType::kGrpc;
  auto conv = makeGrpcConversation(check, "b:1");
  std::string out;
  EXPECT_FALSE(conv->start(out).done());
  EXPECT_EQ(out.substr(0, 24), "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");
  const auto j = conv->onBytes(bytes("HTTP/1.1 400 Bad Request\r\n\r\n"), out);
  EXPECT_EQ(j.verdict, Verdict::kUnhealthy);
  EXPECT_EQ(j.reason, "HTTP/2 protocol error");
}

}  // namespace
}  // namespace ballast::upstream::checks
