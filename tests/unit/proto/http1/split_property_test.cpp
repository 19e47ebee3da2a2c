// tests/unit/proto/http1/split_property_test.cpp — property: how the input is cut into reads
// never changes what the parsers report. Every message below is parsed whole, a byte at a time
// and under many seeded random cuts, and the event transcripts must match exactly (errors too).
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "http1_test_support.h"

namespace ballast::proto::http1 {
namespace {

using testing::everyByte;
using testing::noCuts;
using testing::randomCuts;
using testing::RunOptions;
using testing::runRequests;
using testing::runResponses;
using namespace std::string_literals;

// Fixed, so a failure reproduces; change it to explore.
constexpr std::mt19937::result_type kSeed = 0x5EED1;
constexpr int kRandomSplitsPerMessage = 64;
// Small enough for the corpus's long line and long field to cross them.
constexpr size_t kSmallRequestLine = 128;
constexpr size_t kSmallHeaderBytes = 256;

const std::vector<std::string>& requestCorpus() {
  static const std::vector<std::string> corpus = {
      "GET / HTTP/1.1\r\nHost: a\r\n\r\n",
      std::string("GET /path?x=1&y=%20 HTTP/1.1\r\nHost: example.com:8080\r\nAccept: */*\r\n") +
          "User-Agent: curl/8.0\r\nX-Tab:\tv\t\r\n\r\n",
      "\r\n\r\nGET / HTTP/1.0\r\n\r\n",
      "POST /u HTTP/1.1\r\nHost: a\r\nContent-Length: 11\r\n\r\nhello world",
      std::string("POST /c HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n") +
          "5\r\nhello\r\n1;ext=\"q\\\"\"\r\n \r\na ; k = v\r\n0123456789\r\n0\r\nT: 1\r\nU: "
          "2\r\n\r\n",
      "POST /c HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n000\r\n\r\n",
      std::string("GET /1 HTTP/1.1\r\nHost: a\r\n\r\n") +
          "POST /2 HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc" +
          "PUT /3 HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nxy\r\n0\r\n\r\n" +
          "GET /4 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
      "OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n",
      "GET http://u.example/p HTTP/1.1\r\nHost: other\r\n\r\n",
      "CONNECT u.example:443 HTTP/1.1\r\nHost: u.example:443\r\n\r\n\x16\x03\x01\x00"s,
      std::string("GET /ws HTTP/1.1\r\nHost: a\r\nConnection: keep-alive, Upgrade\r\n") +
          "Upgrade: websocket\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n",
      "PUT /big HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 0\r\n\r\n",
      "GET / HTTP/1.1\r\nHost: a\r\nConnection: x-drop\r\nX-Drop: 1\r\nKeep-Alive: t=5\r\n\r\n",
      // Invalid: the status and where it happens must not depend on the cuts either.
      "GET / HTTP/1.1\r\nHost: a\r\nX: 1\n\r\n",
      "GET / HTTP/1.1\r\nHost: a\r\nX : 1\r\n\r\n",
      "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcX",
      "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n12345678901234567\r\n",
      "GET / HTTP/2.0\r\nHost: a\r\n\r\n",
      "GET /" + std::string(200, 'a') + " HTTP/1.1\r\nHost: a\r\n\r\n",
      "GET / HTTP/1.1\r\nHost: a\r\nX: " + std::string(300, 'v') + "\r\n\r\n",
  };
  return corpus;
}

const std::vector<std::string>& responseCorpus() {
  static const std::vector<std::string> corpus = {
      "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nServer: x\r\n\r\nhello",
      std::string("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3;a=b\r\nabc\r\n0\r\n") +
          "X: 1\r\n\r\nHTTP/1.1 204 No Content\r\n\r\nHTTP/1.1 304 Not Modified\r\nContent-Length: "
          "9\r\n\r\n",
      std::string("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: <a>\r\n\r\n") +
          "HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok",
      "HTTP/1.0 200 OK\r\n\r\nuntil the server closes",
      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\nConnection: Upgrade\r\n\r\nframes",
      "HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n",
      "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n",
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabc\r\n",
      "HTTP/1.1 2000 OK\r\n\r\n",
  };
  return corpus;
}

RunOptions smallLimits() {
  RunOptions options;
  options.limits.max_request_line = kSmallRequestLine;
  options.limits.max_header_bytes = kSmallHeaderBytes;
  options.finish = true;
  options.resume_tunnels = false;
  return options;
}

TEST(Http1Splits, RequestsParseTheSameUnderAnyCuts) {
  std::mt19937 rng(kSeed);
  const RunOptions options = smallLimits();
  for (const std::string& wire : requestCorpus()) {
    SCOPED_TRACE(wire);
    const auto whole = runRequests(wire, noCuts(), options);
    EXPECT_FALSE(whole.events.empty());
    EXPECT_EQ(runRequests(wire, everyByte(wire.size()), options).events, whole.events);
    for (int i = 0; i < kRandomSplitsPerMessage; ++i) {
      const auto cuts = randomCuts(wire.size(), rng);
      ASSERT_EQ(runRequests(wire, cuts, options).events, whole.events);
    }
  }
}

TEST(Http1Splits, ResponsesParseTheSameUnderAnyCuts) {
  std::mt19937 rng(kSeed);
  const RunOptions options = smallLimits();
  const std::vector<std::string> methods = {"GET", "HEAD", "GET"};
  for (const std::string& wire : responseCorpus()) {
    SCOPED_TRACE(wire);
    const auto whole = runResponses(wire, noCuts(), methods, options);
    EXPECT_FALSE(whole.events.empty());
    EXPECT_EQ(runResponses(wire, everyByte(wire.size()), methods, options).events, whole.events);
    for (int i = 0; i < kRandomSplitsPerMessage; ++i) {
      const auto cuts = randomCuts(wire.size(), rng);
      ASSERT_EQ(runResponses(wire, cuts, methods, options).events, whole.events);
    }
  }
}

TEST(Http1Splits, TranscriptsSayWhatTheyShould) {
  // Guards the property above against comparing two equally empty runs.
  const auto t = runRequests(requestCorpus()[6], noCuts(), smallLimits());
  EXPECT_EQ(t.requests, (std::vector<std::string>{"GET /1", "POST /2", "PUT /3", "GET /4"}));
  EXPECT_EQ(t.error, Status::kNone);
  const auto& corpus = requestCorpus();
  EXPECT_EQ(runRequests(corpus[corpus.size() - 2], noCuts(), smallLimits()).error,
            Status::kUriTooLong);
  EXPECT_EQ(runRequests(corpus.back(), noCuts(), smallLimits()).error,
            Status::kHeaderFieldsTooLarge);
  const auto chunked = runResponses(responseCorpus()[1], noCuts(), {}, smallLimits());
  EXPECT_EQ(chunked.statuses.size(), 3U);
  EXPECT_EQ(chunked.finished, Event::kClosed);
}

}  // namespace
}  // namespace ballast::proto::http1
