// tests/unit/proto/http1/writer_test.cpp — head serialization (hop-by-hop removal, rebuilt
// framing, added fields, refusing what would not parse back) and the chunked encoder.
#include "proto/http1/writer.h"

#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "http1_test_support.h"
#include "proto/http1/request_parser.h"
#include "proto/http1/response_parser.h"

namespace ballast::proto::http1 {
namespace {

using testing::asBytes;
using testing::parseRequests;

// Parses one request head from `wire` and writes it back with `add`.
std::string rewriteRequest(std::string_view wire, std::vector<Header> add = {}) {
  RequestParser parser;
  const Progress p = parser.next(asBytes(wire));
  EXPECT_EQ(p.event, Event::kHead) << parser.errorReason();
  std::string out;
  EXPECT_TRUE(writeRequestHead(parser.head(), add, out).has_value());
  return out;
}

std::string rewriteResponse(std::string_view wire, std::string_view method = "GET") {
  ResponseParser parser;
  parser.setRequestMethod(method);
  const Progress p = parser.next(asBytes(wire));
  EXPECT_EQ(p.event, Event::kHead) << parser.errorReason();
  std::string out;
  EXPECT_TRUE(writeResponseHead(parser.head(), {}, out).has_value());
  return out;
}

TEST(Http1Writer, DropsFixedHopByHopFields) {
  const std::string out = rewriteRequest(
      "GET / HTTP/1.1\r\nHost: a\r\nConnection: keep-alive\r\nKeep-Alive: timeout=5\r\n"
      "TE: trailers\r\nTrailer: X\r\nUpgrade: h2c\r\nProxy-Connection: keep-alive\r\n"
      "Proxy-Authorization: Basic eA==\r\nProxy-Authenticate: Basic\r\nAccept: */*\r\n\r\n");
  EXPECT_EQ(out, "GET / HTTP/1.1\r\nHost: a\r\nAccept: */*\r\n\r\n");
}

TEST(Http1Writer, DropsFieldsNamedInConnection) {
  const std::string out = rewriteRequest(
      "GET / HTTP/1.1\r\nHost: a\r\nX-Secret: 1\r\nConnection: x-secret, X-Other\r\n"
      "x-other: 2\r\nX-Kept: 3\r\n\r\n");
  EXPECT_EQ(out, "GET / HTTP/1.1\r\nHost: a\r\nX-Kept: 3\r\n\r\n");
}

TEST(Http1Writer, KeepsHostEvenWhenConnectionNamesIt) {
  const std::string out = rewriteRequest("GET / HTTP/1.1\r\nHost: a\r\nConnection: Host\r\n\r\n");
  EXPECT_EQ(out, "GET / HTTP/1.1\r\nHost: a\r\n\r\n");
}

TEST(Http1Writer, RebuildsContentLength) {
  const std::string out = rewriteRequest(
      "POST /u HTTP/1.0\r\nContent-Length: 005, 5\r\ncontent-length: 5\r\nX: y\r\n\r\n");
  EXPECT_EQ(out, "POST /u HTTP/1.1\r\nX: y\r\nContent-Length: 5\r\n\r\n");
}

TEST(Http1Writer, RebuildsTransferEncoding) {
  const std::string out =
      rewriteRequest("POST /u HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: ChUnKeD\r\nX: y\r\n\r\n");
  EXPECT_EQ(out, "POST /u HTTP/1.1\r\nHost: a\r\nX: y\r\nTransfer-Encoding: chunked\r\n\r\n");
}

TEST(Http1Writer, AppendsAddedFieldsLast) {
  const std::string out =
      rewriteRequest("GET /p HTTP/1.1\r\nHost: a\r\n\r\n",
                     {{"X-Forwarded-For", "192.0.2.1"}, {"Connection", "close"}});
  EXPECT_EQ(
      out, "GET /p HTTP/1.1\r\nHost: a\r\nX-Forwarded-For: 192.0.2.1\r\nConnection: close\r\n\r\n");
}

TEST(Http1Writer, RefusesFieldsThatWouldNotParseBack) {
  RequestHead head;
  head.method = "GET";
  head.target = "/";
  std::string out = "kept";
  for (const Header& bad : {Header{"X", "a\r\nInjected: 1"}, Header{"X Y", "1"}, Header{"", "1"},
                            Header{"X", std::string_view("a\0", 2)}, Header{"Content-Length", "1"},
                            Header{"transfer-encoding", "chunked"}}) {
    const std::array<Header, 1> add = {bad};
    const auto result = writeRequestHead(head, add, out);
    EXPECT_FALSE(result.has_value()) << bad.name;
    EXPECT_EQ(out, "kept");
  }
}

TEST(Http1Writer, RefusesBadStartLines) {
  std::string out;
  RequestHead request;
  request.method = "G T";
  request.target = "/";
  EXPECT_FALSE(writeRequestHead(request, {}, out).has_value());
  request.method = "GET";
  request.target = "/a b";
  EXPECT_FALSE(writeRequestHead(request, {}, out).has_value());
  request.target = "";
  EXPECT_FALSE(writeRequestHead(request, {}, out).has_value());
  ResponseHead response;
  response.status = 99;  // NOLINT(readability-magic-numbers): just below the range
  EXPECT_FALSE(writeResponseHead(response, {}, out).has_value());
  response.status = 200;  // NOLINT(readability-magic-numbers)
  response.reason = "O\r\nK";
  EXPECT_FALSE(writeResponseHead(response, {}, out).has_value());
  EXPECT_TRUE(out.empty());
}

TEST(Http1Writer, WritesResponseHeads) {
  EXPECT_EQ(
      rewriteResponse("HTTP/1.0 404 Not Found\r\nContent-Length: 3\r\nConnection: close\r\n\r\n"),
      "HTTP/1.1 404 Not Found\r\nContent-Length: 3\r\n\r\n");
  EXPECT_EQ(rewriteResponse("HTTP/1.1 200\r\nTransfer-Encoding: chunked\r\n\r\n"),
            "HTTP/1.1 200 \r\nTransfer-Encoding: chunked\r\n\r\n");
}

TEST(Http1Writer, KeepsAdvisoryContentLengthOfBodilessResponses) {
  EXPECT_EQ(rewriteResponse("HTTP/1.1 200 OK\r\nContent-Length: 42\r\n\r\n", "HEAD"),
            "HTTP/1.1 200 OK\r\nContent-Length: 42\r\n\r\n");
  EXPECT_EQ(rewriteResponse("HTTP/1.1 304 Not Modified\r\nETag: \"x\"\r\n\r\n"),
            "HTTP/1.1 304 Not Modified\r\nETag: \"x\"\r\n\r\n");
  // Never in a 204, even when the origin sent one.
  EXPECT_EQ(rewriteResponse("HTTP/1.1 204 No Content\r\nContent-Length: 3\r\n\r\n"),
            "HTTP/1.1 204 No Content\r\n\r\n");
}

TEST(Http1Writer, ReframesThroughACopyOfTheHead) {
  ResponseParser parser;
  const std::string wire = "HTTP/1.0 200 OK\r\nServer: s\r\n\r\n";
  ASSERT_EQ(parser.next(asBytes(wire)).event, Event::kHead);
  ASSERT_EQ(parser.head().body, BodyKind::kUntilClose);
  ResponseHead head = parser.head();
  head.body = BodyKind::kChunked;
  std::string out;
  ASSERT_TRUE(writeResponseHead(head, {}, out).has_value());
  EXPECT_EQ(out, "HTTP/1.1 200 OK\r\nServer: s\r\nTransfer-Encoding: chunked\r\n\r\n");
}

TEST(Http1Writer, WrittenHeadParsesBackTheSame) {
  // Content-Length last, where the writer puts the rebuilt one.
  const std::string wire =
      "PUT http://h.example:81/x?y HTTP/1.1\r\nHost: h.example:81\r\nX-A:  v1 \r\n"
      "Expect: 100-continue\r\nAccept: text/html, */*\r\nContent-Length: 3\r\n\r\n";
  const std::string out = rewriteRequest(wire);
  const auto original = parseRequests(wire + "abc");
  const auto again = parseRequests(out + "abc");
  EXPECT_EQ(again.events, original.events);
}

TEST(Http1Writer, ChunkHeaders) {
  std::array<uint8_t, kMaxChunkHeaderBytes> buffer{};
  const auto header = [&](uint64_t size) {
    const size_t n = writeChunkHeader(size, buffer);
    return std::string(reinterpret_cast<const char*>(buffer.data()), n);
  };
  EXPECT_EQ(header(1), "1\r\n");
  EXPECT_EQ(header(0xFF), "ff\r\n");
  EXPECT_EQ(header(0x4000), "4000\r\n");
  EXPECT_EQ(header(UINT64_MAX), "ffffffffffffffff\r\n");
  EXPECT_EQ(header(UINT64_MAX).size(), kMaxChunkHeaderBytes);
}

TEST(Http1Writer, LastChunkWithAndWithoutTrailers) {
  std::string out;
  ASSERT_TRUE(writeLastChunk({}, out).has_value());
  EXPECT_EQ(out, kLastChunk);
  out.clear();
  const std::array<Header, 2> trailers = {Header{"X-Sum", "1"}, Header{"X-Time", "2"}};
  ASSERT_TRUE(writeLastChunk(trailers, out).has_value());
  EXPECT_EQ(out, "0\r\nX-Sum: 1\r\nX-Time: 2\r\n\r\n");
  const std::array<Header, 1> bad = {Header{"X", "a\nb"}};
  out.clear();
  EXPECT_FALSE(writeLastChunk(bad, out).has_value());
  EXPECT_TRUE(out.empty());
}

TEST(Http1Writer, EncodedChunksDecodeToTheSameBody) {
  std::string wire = "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n";
  const std::vector<std::string> pieces = {"a", std::string(300, 'b'), "\r\n0\r\n", "end"};
  std::array<uint8_t, kMaxChunkHeaderBytes> buffer{};
  for (const std::string& piece : pieces) {
    const size_t n = writeChunkHeader(piece.size(), buffer);
    wire.append(reinterpret_cast<const char*>(buffer.data()), n);
    wire += piece;
    wire += kChunkEnd;
  }
  const std::array<Header, 1> trailers = {Header{"X-T", "v"}};
  ASSERT_TRUE(writeLastChunk(trailers, wire).has_value());
  const auto t = parseRequests(wire);
  ASSERT_EQ(t.error, Status::kNone) << t.error_reason;
  ASSERT_EQ(t.events.size(), 3U);
  EXPECT_EQ(t.events[1], "BODY a" + pieces[1] + pieces[2] + pieces[3]);
  EXPECT_EQ(t.events[2], "END [X-T=v]");
}

}  // namespace
}  // namespace ballast::proto::http1
