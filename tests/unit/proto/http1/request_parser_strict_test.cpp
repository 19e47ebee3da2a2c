// tests/unit/proto/http1/request_parser_strict_test.cpp — every request the parser must refuse,
// one rule per test, each with the status the proxy answers.
#include <gtest/gtest.h>

#include <string>
#include <string_view>

#include "http1_test_support.h"
#include "proto/http1/hop_by_hop.h"
#include "proto/http1/request_parser.h"

namespace ballast::proto::http1 {
namespace {

using testing::parseRequests;
using testing::RunOptions;
using testing::Transcript;

constexpr std::string_view kHostLine = "Host: a\r\n";

// The status a request ends in, checking that its head was refused before any event.
Status headRejection(std::string_view wire, const Limits& limits = {}) {
  RunOptions options;
  options.limits = limits;
  const Transcript t = parseRequests(wire, options);
  EXPECT_TRUE(t.requests.empty()) << wire;
  return t.error;
}

// A request whose head is fine but whose extra field lines are not.
std::string withFields(std::string_view fields) {
  return "POST / HTTP/1.1\r\n" + std::string(kHostLine) + std::string(fields) + "\r\n";
}

std::string chunked(std::string_view body) {
  return withFields("Transfer-Encoding: chunked\r\n") + std::string(body);
}

TEST(Http1RequestStrict, ContentLengthWithTransferEncodingIs400) {
  EXPECT_EQ(headRejection(withFields("Content-Length: 3\r\nTransfer-Encoding: chunked\r\n")),
            Status::kBadRequest);
  EXPECT_EQ(headRejection(withFields("Transfer-Encoding: chunked\r\nContent-Length: 3\r\n")),
            Status::kBadRequest);
}

TEST(Http1RequestStrict, DifferingContentLengthsAre400) {
  EXPECT_EQ(headRejection(withFields("Content-Length: 5\r\nContent-Length: 6\r\n")),
            Status::kBadRequest);
  EXPECT_EQ(headRejection(withFields("Content-Length: 5, 6\r\n")), Status::kBadRequest);
}

TEST(Http1RequestStrict, ContentLengthMustBeDigits) {
  for (const std::string_view value :
       {"+5", "-5", "5a", "0x5", "5 5", "", "5,", ",5", "5,,5", "\"5\"", "5.0", "\xEF\xBC\x95"}) {
    EXPECT_EQ(headRejection(withFields("Content-Length: " + std::string(value) + "\r\n")),
              Status::kBadRequest)
        << value;
  }
}

TEST(Http1RequestStrict, OverflowingContentLengthIs400) {
  EXPECT_EQ(headRejection(withFields("Content-Length: 18446744073709551616\r\n")),
            Status::kBadRequest);
  EXPECT_EQ(headRejection(withFields("Content-Length: 99999999999999999999999\r\n")),
            Status::kBadRequest);
}

TEST(Http1RequestStrict, FinalCodingNotChunkedIs400) {
  for (const std::string_view te : {"gzip", "chunked, gzip", "xchunked", "chunked, identity",
                                    "identity", "chunked\r\nTransfer-Encoding: gzip"}) {
    EXPECT_EQ(headRejection(withFields("Transfer-Encoding: " + std::string(te) + "\r\n")),
              Status::kBadRequest)
        << te;
  }
}

TEST(Http1RequestStrict, OtherCodingsBeforeChunkedAre501) {
  EXPECT_EQ(headRejection(withFields("Transfer-Encoding: gzip, chunked\r\n")),
            Status::kNotImplemented);
  EXPECT_EQ(headRejection(withFields("Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n")),
            Status::kNotImplemented);
}

TEST(Http1RequestStrict, ChunkedTwiceIs400) {
  EXPECT_EQ(headRejection(withFields("Transfer-Encoding: chunked, chunked\r\n")),
            Status::kBadRequest);
}

TEST(Http1RequestStrict, MalformedTransferEncodingIs400) {
  for (const std::string_view te : {"", " , ", "chunked;q=1", "chu nked", "\"chunked\""}) {
    EXPECT_EQ(headRejection(withFields("Transfer-Encoding: " + std::string(te) + "\r\n")),
              Status::kBadRequest)
        << te;
  }
}

TEST(Http1RequestStrict, TransferEncodingInHttp10Is400) {
  EXPECT_EQ(headRejection("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n"),
            Status::kBadRequest);
}

TEST(Http1RequestStrict, ObsFoldIs400) {
  EXPECT_EQ(headRejection(withFields("X-A: one\r\n two\r\n")), Status::kBadRequest);
  EXPECT_EQ(headRejection(withFields("X-A: one\r\n\ttwo\r\n")), Status::kBadRequest);
  // Whitespace right after the request line is the same thing (RFC 9112 §2.2).
  EXPECT_EQ(headRejection("GET / HTTP/1.1\r\n Host: a\r\n\r\n"), Status::kBadRequest);
}

TEST(Http1RequestStrict, WhitespaceBeforeColonIs400) {
  EXPECT_EQ(headRejection(withFields("X-A : one\r\n")), Status::kBadRequest);
  EXPECT_EQ(headRejection(withFields("X-A\t: one\r\n")), Status::kBadRequest);
}

TEST(Http1RequestStrict, EmptyFieldNameIs400) {
  EXPECT_EQ(headRejection(withFields(": value\r\n")), Status::kBadRequest);
}

TEST(Http1RequestStrict, FieldLineWithoutColonIs400) {
  EXPECT_EQ(headRejection(withFields("NoColonHere\r\n")), Status::kBadRequest);
}

TEST(Http1RequestStrict, NonTokenFieldNameIs400) {
  for (const std::string_view name : {"X A", "X\x0b", "X(A)", "X/A", "X\"A", "X\xC3\xA9", "X@A"}) {
    EXPECT_EQ(headRejection(withFields(std::string(name) + ": v\r\n")), Status::kBadRequest)
        << name;
  }
}

TEST(Http1RequestStrict, ControlCharactersInValuesAre400) {
  for (const std::string_view value :
       {std::string_view("a\0b", 3), std::string_view("a\x01"), std::string_view("a\x0b"),
        std::string_view("a\x1f"), std::string_view("a\x7f")}) {
    EXPECT_EQ(headRejection(withFields("X: " + std::string(value) + "\r\n")), Status::kBadRequest);
  }
}

TEST(Http1RequestStrict, BareCrIsRefusedAnywhereInTheHead) {
  EXPECT_EQ(headRejection("GET / HTTP/1.1\r\nHost: a\r\nX: a\rb\r\n\r\n"), Status::kBadRequest);
  EXPECT_EQ(headRejection("GET / HTTP/1.1\r\nHost: a\r\nX\r: b\r\n\r\n"), Status::kBadRequest);
  EXPECT_EQ(headRejection("GET /\r HTTP/1.1\r\nHost: a\r\n\r\n"), Status::kBadRequest);
  EXPECT_EQ(headRejection("GET / HTTP/1.1\r\r\nHost: a\r\n\r\n"), Status::kBadRequest);
  // A line holding only CR is a field line, not the end of the head: refused once the head ends.
  EXPECT_EQ(headRejection("GET / HTTP/1.1\r\nHost: a\r\n\r\r\n\r\n"), Status::kBadRequest);
}

TEST(Http1RequestStrict, BareLfLineEndingsAre400) {
  EXPECT_EQ(headRejection("GET / HTTP/1.1\nHost: a\r\n\r\n"), Status::kBadRequest);
  EXPECT_EQ(headRejection("GET / HTTP/1.1\r\nHost: a\n\r\n"), Status::kBadRequest);
  EXPECT_EQ(headRejection("GET / HTTP/1.1\r\nHost: a\r\n\n"), Status::kBadRequest);
  EXPECT_EQ(headRejection("\nGET / HTTP/1.1\r\nHost: a\r\n\r\n"), Status::kBadRequest);
}

TEST(Http1RequestStrict, InvalidChunkSizeIs400) {
  for (const std::string_view line : {"g", "-5", "+5", "0x5", " 5", "5 ", "5\t", "", "5_", "5;",
                                      "5; ", "5;=x", "5;a=", "5;a=\"x", "5;a b", "5\r"}) {
    const auto t = parseRequests(chunked(std::string(line) + "\r\nhello\r\n0\r\n\r\n"));
    EXPECT_EQ(t.error, Status::kBadRequest) << line;
    EXPECT_EQ(t.events.size(), 2U) << line;  // the head, then the error: no body bytes
  }
}

TEST(Http1RequestStrict, OversizedChunkSizeIs400) {
  EXPECT_EQ(parseRequests(chunked("FFFFFFFFFFFFFFFFF\r\n")).error, Status::kBadRequest);
  EXPECT_EQ(parseRequests(chunked("00000000000000005\r\nhello\r\n0\r\n\r\n")).error,
            Status::kBadRequest);
  // Sixteen digits fit; the body then waits for its bytes.
  const auto t = parseRequests(chunked("FFFFFFFFFFFFFFFF\r\nabc"));
  EXPECT_EQ(t.error, Status::kNone);
  EXPECT_EQ(t.events.back(), "BODY abc");
}

TEST(Http1RequestStrict, ChunkedBodyLengthOverflowIs400) {
  // A total past 2^64-1 bytes: after one byte, a chunk of 2^64-1 cannot be counted.
  EXPECT_EQ(parseRequests(chunked("1\r\nx\r\nFFFFFFFFFFFFFFFF\r\n")).error, Status::kBadRequest);
}

TEST(Http1RequestStrict, ChunkDataNotFollowedByCrlfIs400) {
  EXPECT_EQ(parseRequests(chunked("5\r\nhelloX\r\n0\r\n\r\n")).error, Status::kBadRequest);
  EXPECT_EQ(parseRequests(chunked("5\r\nhello\rX0\r\n\r\n")).error, Status::kBadRequest);
  EXPECT_EQ(parseRequests(chunked("5\r\nhello\n0\r\n\r\n")).error, Status::kBadRequest);
}

TEST(Http1RequestStrict, ChunkExtensionOverLimitIs400) {
  Limits limits;
  constexpr size_t kMaxExt = 8;
  limits.max_chunk_ext = kMaxExt;
  RunOptions options;
  options.limits = limits;
  EXPECT_EQ(parseRequests(chunked("1;abcdefg\r\nx\r\n0\r\n\r\n"), options).error, Status::kNone);
  EXPECT_EQ(parseRequests(chunked("1;abcdefgh\r\nx\r\n0\r\n\r\n"), options).error,
            Status::kBadRequest);
  EXPECT_EQ(parseRequests(chunked("1         ;a\r\nx\r\n0\r\n\r\n"), options).error,
            Status::kBadRequest);
}

TEST(Http1RequestStrict, MissingHostInHttp11Is400) {
  EXPECT_EQ(headRejection("GET / HTTP/1.1\r\nAccept: */*\r\n\r\n"), Status::kBadRequest);
  EXPECT_EQ(headRejection("GET http://a/ HTTP/1.1\r\n\r\n"), Status::kBadRequest);
}

TEST(Http1RequestStrict, DuplicateHostIs400) {
  EXPECT_EQ(headRejection("GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n"), Status::kBadRequest);
  EXPECT_EQ(headRejection("GET / HTTP/1.0\r\nHost: a\r\nhost: b\r\n\r\n"), Status::kBadRequest);
}

TEST(Http1RequestStrict, InvalidHostIs400) {
  for (const std::string_view host :
       {"a b", "a/b", "a@b", "user:pw@a", "[::1", "[]", "a:", ":80", "a:80:80", "a:123456",
        "a:99999", "a,b\"", "%zz", "a?b", "a#b", "[::1]x"}) {
    EXPECT_EQ(headRejection("GET / HTTP/1.1\r\nHost: " + std::string(host) + "\r\n\r\n"),
              Status::kBadRequest)
        << host;
  }
}

TEST(Http1RequestStrict, InvalidMethodIs400) {
  for (const std::string_view line :
       {"GE(T / HTTP/1.1", " GET / HTTP/1.1", "G\x01T / HTTP/1.1", "GET\t/ HTTP/1.1"}) {
    EXPECT_EQ(headRejection(std::string(line) + "\r\nHost: a\r\n\r\n"), Status::kBadRequest)
        << line;
  }
}

TEST(Http1RequestStrict, TargetWithSpacesOrControlsIs400) {
  for (const std::string_view line :
       {"GET /a b HTTP/1.1", "GET /a\tb HTTP/1.1", "GET /a\x01 HTTP/1.1", "GET /\x7f HTTP/1.1",
        "GET /\xC3\xA9 HTTP/1.1", "GET  / HTTP/1.1", "GET / HTTP/1.1 ", "GET /#frag HTTP/1.1"}) {
    EXPECT_EQ(headRejection(std::string(line) + "\r\nHost: a\r\n\r\n"), Status::kBadRequest)
        << line;
  }
}

TEST(Http1RequestStrict, MalformedRequestLineIs400) {
  for (const std::string_view line : {"GET /", "GET", "", "GET / HTTP/1.1x", "GET / http/1.1",
                                      "GET / HTTP/11", "GET / HTTP/1.", "GET / HTTP/a.1"}) {
    EXPECT_EQ(headRejection(std::string(line) + "\r\nHost: a\r\n\r\n"), Status::kBadRequest)
        << line;
  }
}

TEST(Http1RequestStrict, OtherVersionsAre505) {
  for (const std::string_view version : {"HTTP/2.0", "HTTP/1.2", "HTTP/0.9", "HTTP/3.0"}) {
    EXPECT_EQ(headRejection("GET / " + std::string(version) + "\r\nHost: a\r\n\r\n"),
              Status::kVersionNotSupported)
        << version;
  }
}

TEST(Http1RequestStrict, LongRequestLineIs414) {
  Limits limits;
  constexpr size_t kMaxLine = 32;
  limits.max_request_line = kMaxLine;
  const std::string fits = "GET /" + std::string(18, 'a') + " HTTP/1.1";  // 32 bytes
  ASSERT_EQ(fits.size(), limits.max_request_line);
  RunOptions options;
  options.limits = limits;
  EXPECT_EQ(parseRequests(fits + "\r\nHost: a\r\n\r\n", options).error, Status::kNone);
  EXPECT_EQ(headRejection("GET /" + std::string(19, 'a') + " HTTP/1.1\r\nHost: a\r\n\r\n", limits),
            Status::kUriTooLong);
  // Known before the line ends: a client cannot make us wait for a CRLF that never comes.
  EXPECT_EQ(headRejection("GET /" + std::string(40, 'a'), limits), Status::kUriTooLong);
}

TEST(Http1RequestStrict, HeaderBytesOverLimitAre431) {
  Limits limits;
  constexpr size_t kMaxHead = 64;
  limits.max_header_bytes = kMaxHead;
  const std::string head = "GET / HTTP/1.1\r\nHost: a\r\nX: " + std::string(32, 'v') + "\r\n\r\n";
  ASSERT_EQ(head.size(), limits.max_header_bytes);
  RunOptions options;
  options.limits = limits;
  EXPECT_EQ(parseRequests(head, options).error, Status::kNone);
  EXPECT_EQ(
      headRejection("GET / HTTP/1.1\r\nHost: a\r\nX: " + std::string(33, 'v') + "\r\n\r\n", limits),
      Status::kHeaderFieldsTooLarge);
  EXPECT_EQ(headRejection("GET / HTTP/1.1\r\nX: " + std::string(100, 'v'), limits),
            Status::kHeaderFieldsTooLarge);
}

TEST(Http1RequestStrict, TooManyHeaderFieldsAre431) {
  Limits limits;
  limits.max_headers = 3;
  RunOptions options;
  options.limits = limits;
  EXPECT_EQ(parseRequests("GET / HTTP/1.1\r\nHost: a\r\nA: 1\r\nB: 2\r\n\r\n", options).error,
            Status::kNone);
  EXPECT_EQ(headRejection("GET / HTTP/1.1\r\nHost: a\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n", limits),
            Status::kHeaderFieldsTooLarge);
}

TEST(Http1RequestStrict, ContentLengthOverMaxBodyIs413AtTheHead) {
  Limits limits;
  limits.max_body = 4;
  EXPECT_EQ(headRejection(withFields("Content-Length: 5\r\n") + "hello", limits),
            Status::kContentTooLarge);
}

TEST(Http1RequestStrict, ChunkedOverMaxBodyIs413WhenExceeded) {
  Limits limits;
  limits.max_body = 4;
  RunOptions options;
  options.limits = limits;
  const auto t = parseRequests(chunked("3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n"), options);
  EXPECT_EQ(t.error, Status::kContentTooLarge);
  ASSERT_EQ(t.events.size(), 3U);
  EXPECT_EQ(t.events[1], "BODY abc");  // delivered before the limit was crossed, not after
  EXPECT_EQ(parseRequests(chunked("3\r\nabc\r\n1\r\nd\r\n0\r\n\r\n"), options).error,
            Status::kNone);
}

TEST(Http1RequestStrict, AsteriskFormOnlyWithOptions) {
  EXPECT_EQ(headRejection("GET * HTTP/1.1\r\nHost: a\r\n\r\n"), Status::kBadRequest);
  EXPECT_EQ(headRejection("CONNECT * HTTP/1.1\r\nHost: a\r\n\r\n"), Status::kBadRequest);
}

TEST(Http1RequestStrict, AuthorityFormOnlyWithConnect) {
  EXPECT_EQ(headRejection("GET a.example:443 HTTP/1.1\r\nHost: a\r\n\r\n"), Status::kBadRequest);
  EXPECT_EQ(headRejection("CONNECT /path HTTP/1.1\r\nHost: a\r\n\r\n"), Status::kBadRequest);
  EXPECT_EQ(headRejection("CONNECT a.example HTTP/1.1\r\nHost: a\r\n\r\n"), Status::kBadRequest);
  EXPECT_EQ(headRejection("CONNECT http://a.example:443/ HTTP/1.1\r\nHost: a\r\n\r\n"),
            Status::kBadRequest);
}

TEST(Http1RequestStrict, ConnectWithABodyIs400) {
  EXPECT_EQ(headRejection("CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\nContent-Length: 2\r\n\r\nhi"),
            Status::kBadRequest);
  EXPECT_EQ(
      headRejection("CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\nTransfer-Encoding: chunked\r\n\r\n"),
      Status::kBadRequest);
}

TEST(Http1RequestStrict, BadAbsoluteFormIs400) {
  for (const std::string_view target : {"http://user@a/", "http:///p", "http:/a/", "1http://a/",
                                        "ht~tp://a/", "http://a b/", "http://[::1/"}) {
    EXPECT_EQ(headRejection("GET " + std::string(target) + " HTTP/1.1\r\nHost: a\r\n\r\n"),
              Status::kBadRequest)
        << target;
  }
}

TEST(Http1RequestStrict, InvalidConnectionOptionIs400) {
  EXPECT_EQ(headRejection(withFields("Connection: close\"\r\n")), Status::kBadRequest);
  std::string many = "Connection: ";
  for (size_t i = 0; i <= kMaxConnectionOptions; ++i) {
    many += "a,";
  }
  EXPECT_EQ(headRejection(withFields(many + "\r\n")), Status::kBadRequest);
}

TEST(Http1RequestStrict, InvalidTrailerIs400) {
  EXPECT_EQ(parseRequests(chunked("0\r\nBad Name: 1\r\n\r\n")).error, Status::kBadRequest);
  EXPECT_EQ(parseRequests(chunked("0\r\n folded\r\n\r\n")).error, Status::kBadRequest);
  EXPECT_EQ(parseRequests(chunked("0\r\nX: 1\n\r\n")).error, Status::kBadRequest);
}

TEST(Http1RequestStrict, TooManyTrailersAre431) {
  Limits limits;
  limits.max_headers = 2;
  RunOptions options;
  options.limits = limits;
  EXPECT_EQ(parseRequests(chunked("0\r\nA: 1\r\nB: 2\r\n\r\n"), options).error, Status::kNone);
  EXPECT_EQ(parseRequests(chunked("0\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n"), options).error,
            Status::kHeaderFieldsTooLarge);
}

}  // namespace
}  // namespace ballast::proto::http1
