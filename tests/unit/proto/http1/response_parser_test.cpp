// tests/unit/proto/http1/response_parser_test.cpp — response framing (RFC 9112 §6.3): bodies by
// status and request method, interim and tunnel responses, close-delimited bodies, and every
// malformed response the proxy must turn into a 502.
#include "proto/http1/response_parser.h"

#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <vector>

#include "http1_test_support.h"

namespace ballast::proto::http1 {
namespace {

using testing::asBytes;
using testing::parseResponses;
using testing::RunOptions;
using namespace std::string_view_literals;

constexpr uint16_t kContinue = 100;
constexpr uint16_t kEarlyHints = 103;
constexpr uint16_t kOk = 200;
constexpr uint16_t kSwitching = 101;
constexpr uint16_t kProxyAuth = 407;

RunOptions finishing() {
  RunOptions options;
  options.finish = true;
  return options;
}

TEST(Http1ResponseParser, ParsesContentLengthResponse) {
  ResponseParser parser;
  const std::string wire = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nServer: s\r\n\r\nhi";
  const auto in = asBytes(wire);
  const Progress p = parser.next(in);
  ASSERT_EQ(p.event, Event::kHead);
  const ResponseHead& head = parser.head();
  EXPECT_EQ(head.status, kOk);
  EXPECT_EQ(head.reason, "OK");
  EXPECT_EQ(head.version_minor, 1);
  EXPECT_EQ(head.body, BodyKind::kLength);
  EXPECT_EQ(head.content_length, 2U);
  EXPECT_TRUE(head.keep_alive);
  const auto t = parseResponses(wire);
  EXPECT_EQ(t.events.back(), "END");
  EXPECT_EQ(t.events[1], "BODY hi");
}

// The proxy splices the rest of a large body past the parser: the skipped bytes count as read,
// the message ends on the next call with no input, and the next response parses as usual.
TEST(Http1ResponseParser, SkippedBodyBytesEndTheMessage) {
  ResponseParser parser;
  const std::string wire = "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc";
  auto in = asBytes(wire);
  Progress p = parser.next(in);
  ASSERT_EQ(p.event, Event::kHead);
  in = in.subspan(p.consumed);
  EXPECT_EQ(parser.bodyLengthLeft(), 10U);
  p = parser.next(in);
  ASSERT_EQ(p.event, Event::kBody);
  EXPECT_EQ(p.body.size(), 3U);
  EXPECT_EQ(parser.bodyLengthLeft(), 7U);
  p = parser.next({});
  EXPECT_EQ(p.event, Event::kNeedMore);
  parser.skipBody(4);
  EXPECT_EQ(parser.bodyLengthLeft(), 3U);
  EXPECT_EQ(parser.next({}).event, Event::kNeedMore);
  parser.skipBody(3);
  EXPECT_EQ(parser.bodyLengthLeft(), 0U);
  EXPECT_EQ(parser.next({}).event, Event::kMessageEnd);
  EXPECT_EQ(parser.bodyLengthLeft(), 0U);
  const std::string next = "HTTP/1.1 204 No Content\r\n\r\n";
  p = parser.next(asBytes(next));
  ASSERT_EQ(p.event, Event::kHead);
  EXPECT_EQ(parser.head().status, 204);
  EXPECT_EQ(parser.bodyLengthLeft(), 0U);
}

// Only Content-Length bodies have a length to splice: chunked and close-delimited say 0.
TEST(Http1ResponseParser, OnlyContentLengthBodiesHaveALengthLeft) {
  for (const std::string wire :
       {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", "HTTP/1.1 200 OK\r\n\r\n"}) {
    ResponseParser parser;
    ASSERT_EQ(parser.next(asBytes(wire)).event, Event::kHead);
    EXPECT_EQ(parser.bodyLengthLeft(), 0U) << wire;
  }
  ResponseParser head_answer;
  head_answer.setRequestMethod("HEAD");
  ASSERT_EQ(head_answer.next(asBytes("HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\n")).event,
            Event::kHead);
  EXPECT_EQ(head_answer.bodyLengthLeft(), 0U);
}

TEST(Http1ResponseParser, ChunkedResponseWithTrailers) {
  const auto t = parseResponses(
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nwiki\r\n0\r\nX-Sum: 9\r\n\r\n");
  ASSERT_EQ(t.error, Status::kNone) << t.error_reason;
  EXPECT_EQ(t.events[1], "BODY wiki");
  EXPECT_EQ(t.events[2], "END [X-Sum=9]");
}

TEST(Http1ResponseParser, NoFramingMeansUntilClose) {
  const auto t = parseResponses("HTTP/1.1 200 OK\r\n\r\nall of it", {}, finishing());
  ASSERT_EQ(t.error, Status::kNone);
  EXPECT_NE(t.events[0].find("body=until-close"), std::string::npos);
  EXPECT_NE(t.events[0].find("ka=0"), std::string::npos);
  EXPECT_EQ(t.events[1], "BODY all of it");
  EXPECT_EQ(t.finished, Event::kMessageEnd);
}

TEST(Http1ResponseParser, HeadRequestResponseHasNoBody) {
  const auto t = parseResponses(
      "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n"
      "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
      {"HEAD", "GET"});
  ASSERT_EQ(t.error, Status::kNone);
  EXPECT_EQ(t.statuses, (std::vector<uint16_t>{kOk, kOk}));
  EXPECT_NE(t.events[0].find("body=none cl=5/1"), std::string::npos);
  EXPECT_EQ(t.events[1], "END");
  EXPECT_EQ(t.events[3], "BODY hello");
}

TEST(Http1ResponseParser, HeadRequestIgnoresChunkedToo) {
  const auto t = parseResponses("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", {"HEAD"});
  ASSERT_EQ(t.error, Status::kNone);
  EXPECT_EQ(t.events.back(), "END");
}

TEST(Http1ResponseParser, NoContentAndNotModifiedHaveNoBody) {
  for (const std::string_view line : {"HTTP/1.1 204 No Content", "HTTP/1.1 304 Not Modified"}) {
    const auto t = parseResponses(std::string(line) +
                                  "\r\nContent-Length: 3\r\n\r\nHTTP/1.1 200 OK\r\n"
                                  "Content-Length: 0\r\n\r\n");
    ASSERT_EQ(t.error, Status::kNone) << line;
    EXPECT_EQ(t.statuses.size(), 2U) << line;
  }
}

TEST(Http1ResponseParser, InterimResponsesPrecedeTheFinalOne) {
  const auto t = parseResponses(
      "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </s.css>\r\n\r\n"
      "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx");
  ASSERT_EQ(t.error, Status::kNone);
  EXPECT_EQ(t.statuses, (std::vector<uint16_t>{kContinue, kEarlyHints, kOk}));
  // No kMessageEnd between interim heads and the final one.
  EXPECT_EQ(t.events[1].substr(0, 8), "HEAD 103");
  EXPECT_EQ(t.events[2].substr(0, 8), "HEAD 200");
  EXPECT_EQ(t.events.back(), "END");
}

TEST(Http1ResponseParser, InterimResponsesKeepTheRequestMethod) {
  const auto t = parseResponses(
      "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n", {"HEAD"});
  ASSERT_EQ(t.error, Status::kNone);
  EXPECT_EQ(t.events.back(), "END");
}

TEST(Http1ResponseParser, SwitchingProtocolsEndsTheParse) {
  ResponseParser parser;
  const std::string wire =
      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n"
      "\x81\x05hello";
  auto in = asBytes(wire);
  Progress p = parser.next(in);
  ASSERT_EQ(p.event, Event::kHead);
  EXPECT_EQ(parser.head().status, kSwitching);
  in = in.subspan(p.consumed);
  p = parser.next(in);
  EXPECT_EQ(p.event, Event::kTunnel);
  EXPECT_EQ(p.consumed, 0U);  // the frame bytes are the tunnel's
  EXPECT_EQ(parser.finish(), Event::kClosed);
}

TEST(Http1ResponseParser, SuccessfulConnectBecomesATunnel) {
  const auto t = parseResponses("HTTP/1.1 200 Connection Established\r\n\r\n\x16\x03", {"CONNECT"});
  EXPECT_TRUE(t.tunnel);
  EXPECT_EQ(t.events.size(), 2U);  // head, tunnel: no body, no end
}

TEST(Http1ResponseParser, RefusedConnectHasABody) {
  const auto t = parseResponses(
      "HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 2\r\n\r\nno", {"CONNECT"});
  EXPECT_FALSE(t.tunnel);
  EXPECT_EQ(t.statuses, std::vector<uint16_t>{kProxyAuth});
  EXPECT_EQ(t.events[1], "BODY no");
}

TEST(Http1ResponseParser, KeepAliveFollowsVersionAndConnection) {
  struct Case {
    std::string_view head;
    bool keep_alive;
  };
  for (const Case& c :
       {Case{"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", true},
        Case{"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n", false},
        Case{"HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n", false},
        Case{"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n", true}}) {
    ResponseParser parser;
    ASSERT_EQ(parser.next(asBytes(c.head)).event, Event::kHead) << c.head;
    EXPECT_EQ(parser.head().keep_alive, c.keep_alive) << c.head;
  }
}

TEST(Http1ResponseParser, StatusLineWithoutReasonIsAccepted) {
  for (const std::string_view line : {"HTTP/1.1 200 ", "HTTP/1.1 200"}) {
    ResponseParser parser;
    const std::string wire = std::string(line) + "\r\nContent-Length: 0\r\n\r\n";
    ASSERT_EQ(parser.next(asBytes(wire)).event, Event::kHead) << line;
    EXPECT_EQ(parser.head().reason, "");
  }
}

TEST(Http1ResponseParser, ContentLengthWithTransferEncodingIsAnError) {
  const auto t = parseResponses(
      "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n");
  EXPECT_EQ(t.error, Status::kBadGateway);
  EXPECT_TRUE(t.statuses.empty());
}

TEST(Http1ResponseParser, CodingsOtherThanChunkedAreAnError) {
  for (const std::string_view te : {"gzip", "gzip, chunked", "chunked, gzip", "chunked, chunked"}) {
    const auto t =
        parseResponses("HTTP/1.1 200 OK\r\nTransfer-Encoding: " + std::string(te) + "\r\n\r\n");
    EXPECT_EQ(t.error, Status::kBadGateway) << te;
  }
}

TEST(Http1ResponseParser, TransferEncodingInHttp10IsAnError) {
  EXPECT_EQ(parseResponses("HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n").error,
            Status::kBadGateway);
}

TEST(Http1ResponseParser, MalformedStatusLinesAreErrors) {
  for (const std::string_view line :
       {"HTTP/1.1", "HTTP/1.1 20 OK", "HTTP/1.1 2000 OK", "HTTP/1.1 abc OK", "HTTP/1.1  200 OK",
        "HTTP/2 200 OK", "HTTP/2.0 200 OK", "http/1.1 200 OK", "HTTP/1.1 200 O\x01K",
        "HTTP/1.1 099 Low", "HTTP/1.1 600 High", "ICY 200 OK", "HTTP/1.1 200\tOK"}) {
    const auto t = parseResponses(std::string(line) + "\r\nContent-Length: 0\r\n\r\n");
    EXPECT_EQ(t.error, Status::kBadGateway) << line;
  }
}

TEST(Http1ResponseParser, HeaderStrictnessMatchesRequests) {
  for (const std::string_view fields :
       {"X : 1\r\n"sv, "X: 1\r\n folded\r\n"sv, "X: a\0b\r\n"sv, "Bad Name: 1\r\n"sv, "X: 1\n"sv,
        "Content-Length: 1, 2\r\n"sv, "Content-Length: -1\r\n"sv}) {
    const auto t = parseResponses("HTTP/1.1 200 OK\r\n" + std::string(fields) + "\r\n");
    EXPECT_EQ(t.error, Status::kBadGateway) << fields;
  }
}

TEST(Http1ResponseParser, LimitsApply) {
  RunOptions options;
  options.limits.max_body = 3;
  EXPECT_EQ(parseResponses("HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\n", {}, options).error,
            Status::kBadGateway);
  EXPECT_EQ(parseResponses("HTTP/1.1 200 OK\r\n\r\nabcd", {}, options).error, Status::kBadGateway);
  options.limits.max_body = kUnlimitedBody;
  constexpr size_t kMaxHead = 32;
  options.limits.max_header_bytes = kMaxHead;
  EXPECT_EQ(parseResponses("HTTP/1.1 200 OK\r\nX: " + std::string(kMaxHead, 'v') + "\r\n\r\n", {},
                           options)
                .error,
            Status::kBadGateway);
}

TEST(Http1ResponseParser, TruncatedBodiesAreErrorsAtClose) {
  for (const std::string_view wire :
       {"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nabc",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nabc", "HTTP/1.1 200 OK\r\n"}) {
    const auto t = parseResponses(wire, {}, finishing());
    EXPECT_EQ(t.finished, Event::kError) << wire;
    EXPECT_EQ(t.error, Status::kBadGateway) << wire;
  }
}

TEST(Http1ResponseParser, MethodIsForgottenAfterEachResponse) {
  ResponseParser parser;
  parser.setRequestMethod("HEAD");
  const std::string wire =
      "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
  auto in = asBytes(wire);
  std::vector<Event> events;
  for (;;) {
    const Progress p = parser.next(in);
    in = in.subspan(p.consumed);
    events.push_back(p.event);
    if (p.event == Event::kNeedMore || p.event == Event::kError) {
      break;
    }
  }
  EXPECT_EQ(events, (std::vector<Event>{Event::kHead, Event::kMessageEnd, Event::kHead,
                                        Event::kBody, Event::kMessageEnd, Event::kNeedMore}));
}

TEST(Http1ResponseParser, ErrorsAreStickyUntilReset) {
  ResponseParser parser;
  const std::string bad = "HTTP/1.1 200 OK\r\nX : 1\r\n\r\n";
  ASSERT_EQ(parser.next(asBytes(bad)).event, Event::kError);
  EXPECT_EQ(parser.errorStatus(), Status::kBadGateway);
  EXPECT_EQ(parser.errorReason(), "whitespace before colon");
  const std::string good = "HTTP/1.1 204 No Content\r\n\r\n";
  EXPECT_EQ(parser.next(asBytes(good)).event, Event::kError);
  parser.reset();
  EXPECT_EQ(parser.next(asBytes(good)).event, Event::kHead);
}

}  // namespace
}  // namespace ballast::proto::http1
