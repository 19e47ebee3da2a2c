// tests/unit/proto/http1/smuggling_test.cpp — request smuggling vectors (CL.TE, TE.CL, TE.TE
// obfuscations, chunk-size tricks, line-ending tricks, pipelining desyncs). Each vector is refused
// with its status, or parses into exactly the listed requests; a request whose target mentions
// "smuggled" must never come out, whatever the cuts between reads.
#include <gtest/gtest.h>

#include <random>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "http1_test_support.h"

namespace ballast::proto::http1 {
namespace {

using testing::everyByte;
using testing::noCuts;
using testing::randomCuts;
using testing::runRequests;
using testing::Transcript;
using namespace std::string_literals;

constexpr std::mt19937::result_type kSeed = 0xB4D5EED;
constexpr int kRandomSplitsPerVector = 16;

struct Vector {
  std::string name;
  std::string wire;
  Status status;                      // kNone: accepted
  std::vector<std::string> requests;  // "METHOD target" in order, before any error
};

constexpr std::string_view kSmuggledRequest = "GET /smuggled HTTP/1.1\r\nHost: a\r\n\r\n";
constexpr std::string_view kNextRequest = "GET /next HTTP/1.1\r\nHost: a\r\n\r\n";

std::string post(std::string_view fields) {
  return "POST / HTTP/1.1\r\nHost: a\r\n" + std::string(fields) + "\r\n";
}

std::string hex(size_t n) {
  std::ostringstream out;
  out << std::hex << n;
  return out.str();
}

// A body that carries a complete request, with an honest Content-Length.
std::string getWithRequestInBody() {
  return "GET / HTTP/1.1\r\nHost: a\r\nContent-Length: " + std::to_string(kSmuggledRequest.size()) +
         "\r\n\r\n" + std::string(kSmuggledRequest);
}

std::vector<Vector> vectors() {
  constexpr Status k400 = Status::kBadRequest;
  constexpr Status kOk = Status::kNone;
  const std::string smuggled(kSmuggledRequest);
  const std::string next(kNextRequest);
  const std::vector<std::string> none;
  const std::vector<std::string> post_only = {"POST /"};
  const std::vector<std::string> post_next = {"POST /", "GET /next"};
  return {
      // CL.TE and TE.CL: both framings present.
      {"ClTe", post("Content-Length: 6\r\nTransfer-Encoding: chunked\r\n") + "0\r\n\r\n" + smuggled,
       k400, none},
      {"TeCl",
       post("Transfer-Encoding: chunked\r\nContent-Length: 40\r\n") + "0\r\n\r\n" + smuggled, k400,
       none},
      {"ClTeZeroLength", post("Content-Length: 0\r\nTransfer-Encoding: chunked\r\n") + "0\r\n\r\n",
       k400, none},
      {"Http10ClTe",
       "POST / HTTP/1.0\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", k400,
       none},
      {"Http10Te", "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n" + smuggled,
       k400, none},
      // TE.TE: obfuscated Transfer-Encoding.
      {"TeXchunked", post("Content-Length: 5\r\nTransfer-Encoding: xchunked\r\n") + "0\r\n\r\n",
       k400, none},
      {"TeXchunkedAlone", post("Transfer-Encoding: xchunked\r\n") + "0\r\n\r\n" + smuggled, k400,
       none},
      {"TeLeadingSpaceIsOws", post("Transfer-Encoding:  chunked\r\n") + "0\r\n\r\n" + next, kOk,
       post_next},
      {"TeLeadingTabIsOws", post("Transfer-Encoding:\tchunked\r\n") + "0\r\n\r\n" + next, kOk,
       post_next},
      {"TeChunkedIdentity", post("Transfer-Encoding: chunked, identity\r\n") + "0\r\n\r\n", k400,
       none},
      {"TeIdentityChunked", post("Transfer-Encoding: identity, chunked\r\n") + "0\r\n\r\n",
       Status::kNotImplemented, none},
      {"TeTwoFieldsLastNotChunked",
       post("Transfer-Encoding: chunked\r\nTransfer-Encoding: x\r\n") + "0\r\n\r\n", k400, none},
      {"TeChunkedTwice", post("Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n"), k400,
       none},
      {"TeQuoted", post("Transfer-Encoding: \"chunked\"\r\n") + "0\r\n\r\n", k400, none},
      {"TeWithParameter", post("Transfer-Encoding: chunked;x=1\r\n") + "0\r\n\r\n", k400, none},
      {"TeSpaceBeforeColon",
       post("Content-Length: 5\r\nTransfer-Encoding : chunked\r\n") + "0\r\n\r\n", k400, none},
      {"TeTabBeforeColon", post("Transfer-Encoding\t: chunked\r\n") + "0\r\n\r\n", k400, none},
      {"TeVerticalTabBeforeColon", post("Transfer-Encoding\x0b: chunked\r\n") + "0\r\n\r\n", k400,
       none},
      {"TeVerticalTabInValue",
       post("Transfer-Encoding: \x0b"
            "chunked\r\n") +
           "0\r\n\r\n",
       k400, none},
      {"TeNulInValue", post("Transfer-Encoding: chunked\0\r\n"s) + "0\r\n\r\n", k400, none},
      {"TeObsFoldContinuation", post("X: a\r\n Transfer-Encoding: chunked\r\n") + "0\r\n\r\n", k400,
       none},
      {"TeObsFoldValue", post("Transfer-Encoding:\r\n chunked\r\n") + "0\r\n\r\n", k400, none},
      {"TeNameThenFoldedColon", post("Transfer-Encoding\r\n : chunked\r\n") + "0\r\n\r\n", k400,
       none},
      {"TeLeadingSpaceLine",
       "POST / HTTP/1.1\r\n Transfer-Encoding: chunked\r\nHost: a\r\n\r\n0\r\n\r\n", k400, none},
      // Content-Length tricks.
      {"ClPlusSign", post("Content-Length: +5\r\n") + "hello", k400, none},
      {"ClMinusSign", post("Content-Length: -5\r\n") + "hello", k400, none},
      {"ClTwoDiffering", post("Content-Length: 5\r\nContent-Length: 6\r\n") + "hello!", k400, none},
      {"ClListDiffering", post("Content-Length: 5, 6\r\n") + "hello!", k400, none},
      {"ClHex", post("Content-Length: 0x5\r\n") + "hello", k400, none},
      {"ClOverflowWrapsToFive", post("Content-Length: 18446744073709551621\r\n") + "hello", k400,
       none},
      {"ClSpaceBeforeColon", post("Content-Length : 5\r\n") + "hello", k400, none},
      {"ClVerticalTab",
       post("Content-Length:\x0b"
            "5\r\n") +
           "hello",
       k400, none},
      {"ClNulInName", post("Content-Length\0: 5\r\n"s) + "hello", k400, none},
      {"ClObsFold", post("Content-Length: 5\r\n 6\r\n") + "hello6", k400, none},
      {"ClRepeatedEqualFolds", post("Content-Length: 5\r\nContent-Length: 5\r\n") + "hello" + next,
       kOk, post_next},
      {"ClListEqualFolds", post("Content-Length: 5, 5\r\n") + "hello" + next, kOk, post_next},
      // Chunk framing tricks.
      {"ChunkSizeHexPrefix", post("Transfer-Encoding: chunked\r\n") + "0x5\r\nhello\r\n0\r\n\r\n",
       k400, post_only},
      {"ChunkSizeBwsBeforeExtension",
       post("Transfer-Encoding: chunked\r\n") + "5 ;ext\r\nhello\r\n0\r\n\r\n" + next, kOk,
       post_next},
      {"ChunkSizeTrailingSpace",
       post("Transfer-Encoding: chunked\r\n") + "5 \r\nhello\r\n0\r\n\r\n", k400, post_only},
      {"ChunkSizeLeadingSpace", post("Transfer-Encoding: chunked\r\n") + " 5\r\nhello\r\n0\r\n\r\n",
       k400, post_only},
      {"ChunkSizeSeventeenDigits",
       post("Transfer-Encoding: chunked\r\n") + "FFFFFFFFFFFFFFFFF\r\nhello\r\n0\r\n\r\n", k400,
       post_only},
      {"ChunkSizeWrapsToFive",
       post("Transfer-Encoding: chunked\r\n") + "10000000000000005\r\nhello\r\n0\r\n\r\n", k400,
       post_only},
      {"ChunkSizeNegative", post("Transfer-Encoding: chunked\r\n") + "-5\r\nhello\r\n0\r\n\r\n",
       k400, post_only},
      {"ChunkSizePlus", post("Transfer-Encoding: chunked\r\n") + "+5\r\nhello\r\n0\r\n\r\n", k400,
       post_only},
      {"ChunkDataLongerThanSize",
       post("Transfer-Encoding: chunked\r\n") + "3\r\nhello\r\n0\r\n\r\n" + smuggled, k400,
       post_only},
      {"ChunkDataShorterThanSize",
       post("Transfer-Encoding: chunked\r\n") + "9\r\nhello\r\n0\r\n\r\n" + smuggled, k400,
       post_only},
      {"ChunkLineBareLf", post("Transfer-Encoding: chunked\r\n") + "5\nhello\n0\n\n" + smuggled,
       k400, post_only},
      {"ChunkExtensionBareLf",
       post("Transfer-Encoding: chunked\r\n") + "5;a\nhello\r\n0\r\n\r\n" + smuggled, k400,
       post_only},
      {"ChunkExtensionBareCr",
       post("Transfer-Encoding: chunked\r\n") + "5;a\rhello\r\n0\r\n\r\n" + smuggled, k400,
       post_only},
      {"LastChunkBareLfTrailers", post("Transfer-Encoding: chunked\r\n") + "0\r\n\n" + smuggled,
       k400, post_only},
      {"TrailerFramingFieldsAreInert",
       post("Transfer-Encoding: chunked\r\n") + "0\r\nContent-Length: 40\r\n\r\n" + next, kOk,
       post_next},
      // Line-ending tricks.
      {"LfOnlyHead", "GET / HTTP/1.1\nHost: a\n\n" + smuggled, k400, none},
      {"LfOnlyAfterRequestLine", "GET / HTTP/1.1\nHost: a\r\n\r\n", k400, none},
      {"BareCrLineEnding", "GET / HTTP/1.1\rHost: a\r\n\r\n", k400, none},
      {"BareCrInsideValue", post("X: a\rContent-Length: 5\r\n") + "hello", k400, none},
      // Pipelining: bodies carrying requests stay bodies; a bad request stops everything after it.
      {"RequestInsideBody", getWithRequestInBody() + next, kOk, {"GET /", "GET /next"}},
      {"RequestInsideChunk",
       post("Transfer-Encoding: chunked\r\n") + hex(smuggled.size()) + "\r\n" + smuggled +
           "\r\n0\r\n\r\n",
       kOk, post_only},
      {"BadSecondRequestStopsThePipeline",
       next + post("Content-Length: 1\r\nTransfer-Encoding: chunked\r\n") + "0\r\n\r\n" + smuggled,
       k400,
       {"GET /next"}},
      // The declared length rules: what follows a short one is parsed (and refused) as a request.
      {"ShortBodyLeavesGarbage", post("Content-Length: 3\r\n") + "hello world\r\n" + smuggled, k400,
       post_only},
      {"ConnectThenRequest",
       "CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\n\r\n" + smuggled,
       kOk,
       {"CONNECT a:443"}},
      {"UpgradeThenRequest",
       "GET /ws HTTP/1.1\r\nHost: a\r\nConnection: upgrade\r\nUpgrade: websocket\r\n\r\n" +
           smuggled,
       kOk,
       {"GET /ws"}},
      {"ConnectWithBody",
       "CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\nContent-Length: " +
           std::to_string(smuggled.size()) + "\r\n\r\n" + smuggled,
       k400, none},
      // Host confusion.
      {"DuplicateHost", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", k400, none},
      {"UserinfoInTarget", "GET http://a@b/ HTTP/1.1\r\nHost: b\r\n\r\n", k400, none},
  };
}

class Http1Smuggling : public ::testing::TestWithParam<Vector> {};

void expectOutcome(const Vector& v, const Transcript& t) {
  EXPECT_EQ(t.error, v.status) << t.error_reason;
  EXPECT_EQ(t.requests, v.requests);
  for (const std::string& request : t.requests) {
    EXPECT_EQ(request.find("smuggled"), std::string::npos) << request;
  }
}

TEST_P(Http1Smuggling, IsRefusedOrParsesExactly) {
  const Vector& v = GetParam();
  {
    SCOPED_TRACE("whole");
    expectOutcome(v, runRequests(v.wire, noCuts()));
  }
  {
    SCOPED_TRACE("byte by byte");
    expectOutcome(v, runRequests(v.wire, everyByte(v.wire.size())));
  }
  std::mt19937 rng(kSeed);
  for (int i = 0; i < kRandomSplitsPerVector; ++i) {
    SCOPED_TRACE("random cuts");
    expectOutcome(v, runRequests(v.wire, randomCuts(v.wire.size(), rng)));
  }
}

INSTANTIATE_TEST_SUITE_P(Http1, Http1Smuggling, ::testing::ValuesIn(vectors()),
                         [](const ::testing::TestParamInfo<Vector>& info) {
                           return info.param.name;
                         });

TEST(Http1SmugglingTable, HasEnoughVectors) {
  constexpr size_t kMinimumVectors = 30;
  EXPECT_GE(vectors().size(), kMinimumVectors);
}

}  // namespace
}  // namespace ballast::proto::http1
