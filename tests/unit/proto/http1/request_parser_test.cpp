// tests/unit/proto/http1/request_parser_test.cpp — what the request parser accepts and what it
// reports: heads, bodies, trailers, pipelining, connection semantics, tunnels, EOF and the
// zero-copy promise. Rejections are in request_parser_strict_test.cpp.
#include "proto/http1/request_parser.h"

#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <vector>

#include "http1_test_support.h"

namespace ballast::proto::http1 {
namespace {

using testing::asBytes;
using testing::asString;
using testing::parseRequests;
using testing::RunOptions;

constexpr std::string_view kSimpleGet =
    "GET /index.html?q=1 HTTP/1.1\r\nHost: example.com\r\nUser-Agent: t\r\n\r\n";

TEST(Http1RequestParser, ParsesSimpleGet) {
  RequestParser parser;
  const auto in = asBytes(kSimpleGet);
  const Progress p = parser.next(in);
  ASSERT_EQ(p.event, Event::kHead);
  EXPECT_EQ(p.consumed, in.size());
  const RequestHead& head = parser.head();
  EXPECT_EQ(head.method, "GET");
  EXPECT_EQ(head.target, "/index.html?q=1");
  EXPECT_EQ(head.form, TargetForm::kOrigin);
  EXPECT_EQ(head.version_minor, 1);
  EXPECT_EQ(head.host, "example.com");
  EXPECT_EQ(head.body, BodyKind::kNone);
  EXPECT_TRUE(head.keep_alive);
  EXPECT_FALSE(head.expect_continue);
  EXPECT_FALSE(head.upgrade);
  ASSERT_EQ(head.headers.size(), 2U);
  EXPECT_EQ(head.headers[0].name, "Host");
  EXPECT_EQ(head.headers[1].value, "t");
  const Progress end = parser.next(in.subspan(p.consumed));
  EXPECT_EQ(end.event, Event::kMessageEnd);
  EXPECT_EQ(end.consumed, 0U);
  EXPECT_EQ(parser.next({}).event, Event::kNeedMore);
}

TEST(Http1RequestParser, HeadIsNotCopiedWhenItArrivesWhole) {
  RequestParser parser;
  const auto in = asBytes(kSimpleGet);
  ASSERT_EQ(parser.next(in).event, Event::kHead);
  const auto* method = reinterpret_cast<const uint8_t*>(parser.head().method.data());
  EXPECT_GE(method, in.data());
  EXPECT_LT(method, in.data() + in.size());
}

TEST(Http1RequestParser, SplitHeadIsBufferedAndStillParses) {
  RequestParser parser;
  const std::string first(kSimpleGet.substr(0, 20));
  const std::string second(kSimpleGet.substr(20));
  const Progress p1 = parser.next(asBytes(first));
  EXPECT_EQ(p1.event, Event::kNeedMore);
  EXPECT_EQ(p1.consumed, first.size());
  const auto in = asBytes(second);
  const Progress p2 = parser.next(in);
  ASSERT_EQ(p2.event, Event::kHead);
  EXPECT_EQ(p2.consumed, second.size());
  EXPECT_EQ(parser.head().target, "/index.html?q=1");
  EXPECT_EQ(parser.head().host, "example.com");
}

TEST(Http1RequestParser, ContentLengthBodyIsReportedInPlace) {
  const std::string wire = "POST /u HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhelloGET";
  RequestParser parser;
  auto in = asBytes(wire);
  Progress p = parser.next(in);
  ASSERT_EQ(p.event, Event::kHead);
  EXPECT_EQ(parser.head().body, BodyKind::kLength);
  EXPECT_EQ(parser.head().content_length, 5U);
  in = in.subspan(p.consumed);
  p = parser.next(in);
  ASSERT_EQ(p.event, Event::kBody);
  EXPECT_EQ(asString(p.body), "hello");
  EXPECT_EQ(p.body.data(), in.data());  // no copy
  EXPECT_EQ(p.consumed, 5U);
  in = in.subspan(p.consumed);
  EXPECT_EQ(parser.next(in).event, Event::kMessageEnd);
  EXPECT_EQ(parser.next(in).event, Event::kNeedMore);  // "GET" starts the next request
}

TEST(Http1RequestParser, ZeroContentLengthEndsRightAway) {
  const auto t = parseRequests("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n");
  ASSERT_EQ(t.events.size(), 2U);
  EXPECT_NE(t.events[0].find("body=length cl=0"), std::string::npos);
  EXPECT_EQ(t.events[1], "END");
}

TEST(Http1RequestParser, ChunkedBodyWithTrailers) {
  const auto t = parseRequests(
      "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
      "5\r\nhello\r\n6;name=value;flag\r\n world\r\n0\r\nChecksum: abc\r\nX-T: 1\r\n\r\n");
  ASSERT_EQ(t.error, Status::kNone) << t.error_reason;
  ASSERT_EQ(t.events.size(), 3U);
  EXPECT_NE(t.events[0].find("body=chunked"), std::string::npos);
  EXPECT_EQ(t.events[1], "BODY hello world");
  EXPECT_EQ(t.events[2], "END [Checksum=abc] [X-T=1]");
}

TEST(Http1RequestParser, ChunkExtensionsFollowTheGrammar) {
  const auto t = parseRequests(
      "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
      "3 ; a = \"q;\\\"x\" ;b\t;c=d\r\nabc\r\n000\r\n\r\n");
  ASSERT_EQ(t.error, Status::kNone) << t.error_reason;
  EXPECT_EQ(t.events[1], "BODY abc");
  EXPECT_EQ(t.events[2], "END");
}

TEST(Http1RequestParser, TransferCodingNamesAreCaseInsensitive) {
  const auto t = parseRequests(
      "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: ChUnKeD\r\n\r\n1\r\nx\r\n0\r\n\r\n");
  ASSERT_EQ(t.error, Status::kNone) << t.error_reason;
  EXPECT_EQ(t.events[1], "BODY x");
}

TEST(Http1RequestParser, PipelinedRequestsComeOutInOrder) {
  const auto t = parseRequests(
      "GET /1 HTTP/1.1\r\nHost: a\r\n\r\n"
      "POST /2 HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nok"
      "DELETE /3 HTTP/1.1\r\nHost: a\r\n\r\n");
  EXPECT_EQ(t.requests, (std::vector<std::string>{"GET /1", "POST /2", "DELETE /3"}));
  EXPECT_EQ(t.error, Status::kNone);
}

TEST(Http1RequestParser, SkipsAFewEmptyLinesBeforeTheRequestLine) {
  const auto t = parseRequests("\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n");
  EXPECT_EQ(t.requests, std::vector<std::string>{"GET /"});
  std::string crlfs;
  for (size_t i = 0; i <= kMaxLeadingEmptyLines; ++i) {
    crlfs += "\r\n";
  }
  EXPECT_EQ(parseRequests(crlfs + "GET / HTTP/1.1\r\nHost: a\r\n\r\n").error, Status::kBadRequest);
}

TEST(Http1RequestParser, FieldValuesAreTrimmedAndMayHoldTabsAndObsText) {
  RequestParser parser;
  const std::string wire = "GET / HTTP/1.1\r\nHost: a\r\nX:  \tv 1\t2 \xC3\xA9\t \r\n\r\n";
  ASSERT_EQ(parser.next(asBytes(wire)).event, Event::kHead);
  EXPECT_EQ(parser.head().headers[1].value, "v 1\t2 \xC3\xA9");
}

TEST(Http1RequestParser, EmptyFieldValueIsFine) {
  RequestParser parser;
  const std::string wire = "GET / HTTP/1.1\r\nHost: a\r\nX-Empty:\r\nY: \r\n\r\n";
  ASSERT_EQ(parser.next(asBytes(wire)).event, Event::kHead);
  EXPECT_EQ(parser.head().headers[1].value, "");
  EXPECT_EQ(parser.head().headers[2].value, "");
}

TEST(Http1RequestParser, RepeatedEqualContentLengthsFold) {
  for (const std::string_view fields : {"Content-Length: 3\r\nContent-Length: 3\r\n",
                                        "Content-Length: 3, 3\r\n", "Content-Length: 003\r\n"}) {
    const auto t =
        parseRequests("POST / HTTP/1.1\r\nHost: a\r\n" + std::string(fields) + "\r\nabc");
    ASSERT_EQ(t.error, Status::kNone) << fields;
    EXPECT_EQ(t.events[1], "BODY abc") << fields;
  }
}

TEST(Http1RequestParser, LargestContentLengthParses) {
  RequestParser parser;
  const std::string wire =
      "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 18446744073709551615\r\n\r\n";
  ASSERT_EQ(parser.next(asBytes(wire)).event, Event::kHead);
  EXPECT_EQ(parser.head().content_length, UINT64_MAX);
}

TEST(Http1RequestParser, Http10NeedsNoHostAndClosesByDefault) {
  RequestParser parser;
  const std::string wire = "GET / HTTP/1.0\r\n\r\n";
  ASSERT_EQ(parser.next(asBytes(wire)).event, Event::kHead);
  EXPECT_EQ(parser.head().version_minor, 0);
  EXPECT_FALSE(parser.head().keep_alive);
  EXPECT_EQ(parser.head().host, "");
}

TEST(Http1RequestParser, Http10KeepsAliveOnlyWhenAsked) {
  RequestParser parser;
  const std::string wire = "GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n";
  ASSERT_EQ(parser.next(asBytes(wire)).event, Event::kHead);
  EXPECT_TRUE(parser.head().keep_alive);
}

TEST(Http1RequestParser, Http11ClosesOnlyWhenAsked) {
  for (const std::string_view connection : {"close", "CLOSE", "foo, Close", " , close ,"}) {
    RequestParser parser;
    const std::string wire =
        "GET / HTTP/1.1\r\nHost: a\r\nConnection: " + std::string(connection) + "\r\n\r\n";
    ASSERT_EQ(parser.next(asBytes(wire)).event, Event::kHead) << connection;
    EXPECT_FALSE(parser.head().keep_alive) << connection;
  }
  RequestParser parser;
  const std::string wire = "GET / HTTP/1.1\r\nHost: a\r\nConnection: keep-alive, closer\r\n\r\n";
  ASSERT_EQ(parser.next(asBytes(wire)).event, Event::kHead);
  EXPECT_TRUE(parser.head().keep_alive);
}

TEST(Http1RequestParser, CloseWinsOverKeepAlive) {
  RequestParser parser;
  const std::string wire = "GET / HTTP/1.0\r\nConnection: keep-alive, close\r\n\r\n";
  ASSERT_EQ(parser.next(asBytes(wire)).event, Event::kHead);
  EXPECT_FALSE(parser.head().keep_alive);
}

TEST(Http1RequestParser, ExpectContinueIsFlagged) {
  RequestParser parser;
  const std::string wire =
      "PUT / HTTP/1.1\r\nHost: a\r\nExpect: 100-Continue\r\nContent-Length: 1\r\n\r\n";
  ASSERT_EQ(parser.next(asBytes(wire)).event, Event::kHead);
  EXPECT_TRUE(parser.head().expect_continue);
}

TEST(Http1RequestParser, ExpectContinueIsIgnoredInHttp10) {
  RequestParser parser;
  const std::string wire = "PUT / HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\n";
  ASSERT_EQ(parser.next(asBytes(wire)).event, Event::kHead);
  EXPECT_FALSE(parser.head().expect_continue);
}

TEST(Http1RequestParser, UpgradeNeedsTheConnectionOption) {
  RequestParser with;
  const std::string wire =
      "GET /ws HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n";
  ASSERT_EQ(with.next(asBytes(wire)).event, Event::kHead);
  EXPECT_TRUE(with.head().upgrade);
  RequestParser without;
  const std::string bare = "GET /ws HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\n\r\n";
  ASSERT_EQ(without.next(asBytes(bare)).event, Event::kHead);
  EXPECT_FALSE(without.head().upgrade);
  RequestParser old;
  const std::string http10 =
      "GET /ws HTTP/1.0\r\nConnection: upgrade\r\nUpgrade: websocket\r\n\r\n";
  ASSERT_EQ(old.next(asBytes(http10)).event, Event::kHead);
  EXPECT_FALSE(old.head().upgrade);
}

TEST(Http1RequestParser, UpgradeRequestPausesUntilResume) {
  const std::string wire =
      "GET /ws HTTP/1.1\r\nHost: a\r\nConnection: upgrade\r\nUpgrade: websocket\r\n\r\n"
      "GET /next HTTP/1.1\r\nHost: a\r\n\r\n";
  RequestParser parser;
  auto in = asBytes(wire);
  Progress p = parser.next(in);
  ASSERT_EQ(p.event, Event::kHead);
  in = in.subspan(p.consumed);
  EXPECT_EQ(parser.next(in).event, Event::kMessageEnd);
  p = parser.next(in);
  EXPECT_EQ(p.event, Event::kTunnel);
  EXPECT_EQ(p.consumed, 0U);
  EXPECT_EQ(parser.next(in).event, Event::kTunnel);
  parser.resume();
  p = parser.next(in);
  ASSERT_EQ(p.event, Event::kHead);
  EXPECT_EQ(parser.head().target, "/next");
}

TEST(Http1RequestParser, ConnectUsesAuthorityFormAndTunnels) {
  const auto t = parseRequests(
      "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n\x16\x03\x01");
  ASSERT_EQ(t.requests, std::vector<std::string>{"CONNECT example.com:443"});
  EXPECT_NE(t.events[0].find("form=2"), std::string::npos);
  EXPECT_NE(t.events[0].find("host=example.com:443"), std::string::npos);
  EXPECT_EQ(t.events[1], "END");
  EXPECT_TRUE(t.tunnel);
}

TEST(Http1RequestParser, AbsoluteFormTargetWinsOverHost) {
  RequestParser parser;
  const std::string wire =
      "GET http://origin.example:8080/p?q HTTP/1.1\r\nHost: other.example\r\n\r\n";
  ASSERT_EQ(parser.next(asBytes(wire)).event, Event::kHead);
  EXPECT_EQ(parser.head().form, TargetForm::kAbsolute);
  EXPECT_EQ(parser.head().host, "origin.example:8080");
}

TEST(Http1RequestParser, AsteriskFormWithOptions) {
  RequestParser parser;
  const std::string wire = "OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n";
  ASSERT_EQ(parser.next(asBytes(wire)).event, Event::kHead);
  EXPECT_EQ(parser.head().form, TargetForm::kAsterisk);
}

TEST(Http1RequestParser, HostFormsThatParse) {
  for (const std::string_view host : {"a", "example.com:80", "127.0.0.1", "[::1]:8080",
                                      "[fe80::1%25eth0]", "xn--d1a.b", "a_b-c~d", "%41b", ""}) {
    RequestParser parser;
    const std::string wire = "GET / HTTP/1.1\r\nHost: " + std::string(host) + "\r\n\r\n";
    ASSERT_EQ(parser.next(asBytes(wire)).event, Event::kHead) << host;
    EXPECT_EQ(parser.head().host, host);
  }
}

TEST(Http1RequestParser, MarksHopByHopFields) {
  RequestParser parser;
  const std::string wire =
      "GET / HTTP/1.1\r\nHost: a\r\nConnection: x-secret, host\r\nX-Secret: 1\r\nKeep-Alive: 5\r\n"
      "TE: trailers\r\nAccept: */*\r\n\r\n";
  ASSERT_EQ(parser.next(asBytes(wire)).event, Event::kHead);
  const auto& h = parser.head().headers;
  ASSERT_EQ(h.size(), 6U);
  EXPECT_FALSE(h[0].hop_by_hop);  // Host, even though Connection names it
  EXPECT_TRUE(h[1].hop_by_hop);
  EXPECT_TRUE(h[2].hop_by_hop);
  EXPECT_TRUE(h[3].hop_by_hop);
  EXPECT_TRUE(h[4].hop_by_hop);
  EXPECT_FALSE(h[5].hop_by_hop);
}

TEST(Http1RequestParser, FinishBetweenRequestsIsClean) {
  RunOptions options;
  options.finish = true;
  EXPECT_EQ(parseRequests("GET / HTTP/1.1\r\nHost: a\r\n\r\n", options).finished, Event::kClosed);
  EXPECT_EQ(parseRequests("", options).finished, Event::kClosed);
  EXPECT_EQ(parseRequests("\r\n", options).finished, Event::kClosed);
}

TEST(Http1RequestParser, FinishInsideARequestIsAnError) {
  RunOptions options;
  options.finish = true;
  for (const std::string_view wire :
       {"GET / HT", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nab",
        "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab",
        "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX: 1\r\n"}) {
    const auto t = parseRequests(wire, options);
    EXPECT_EQ(t.finished, Event::kError) << wire;
    EXPECT_EQ(t.error, Status::kBadRequest) << wire;
  }
}

TEST(Http1RequestParser, ErrorsAreSticky) {
  RequestParser parser;
  const std::string bad = "GET / HTTP/1.1\r\nHost: a\r\nBad Name: x\r\n\r\n";
  EXPECT_EQ(parser.next(asBytes(bad)).event, Event::kError);
  const std::string good(kSimpleGet);
  const Progress again = parser.next(asBytes(good));
  EXPECT_EQ(again.event, Event::kError);
  EXPECT_EQ(again.consumed, 0U);
  EXPECT_EQ(parser.finish(), Event::kError);
  EXPECT_EQ(parser.errorStatus(), Status::kBadRequest);
  parser.reset();
  EXPECT_EQ(parser.next(asBytes(good)).event, Event::kHead);
}

TEST(Http1RequestParser, ErrorReasonIsStaticText) {
  RequestParser parser;
  const std::string bad = "GET / HTTP/1.1\r\nHost: a\r\nX : y\r\n\r\n";
  ASSERT_EQ(parser.next(asBytes(bad)).event, Event::kError);
  EXPECT_EQ(parser.errorReason(), "whitespace before colon");
  EXPECT_EQ(reasonPhrase(parser.errorStatus()), "Bad Request");
}

}  // namespace
}  // namespace ballast::proto::http1
