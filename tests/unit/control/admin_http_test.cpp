// tests/unit/control/admin_http_test.cpp — request helpers of the admin API: percent-decoding of
// paths, query parameters, header lookup, peer names and the JSON error body.
#include "control/admin_http.h"

#include <gtest/gtest.h>

namespace ballast::control {
namespace {

std::optional<std::string> decode(std::string_view in) {
  std::string out = "stale";
  if (!percentDecode(in, out)) {
    return std::nullopt;
  }
  return out;
}

TEST(AdminHttpTest, PercentDecodeAcceptsValidEscapes) {
  EXPECT_EQ(decode(""), "");
  EXPECT_EQ(decode("/api/v1/pools"), "/api/v1/pools");
  EXPECT_EQ(decode("a%20b"), "a b");
  EXPECT_EQ(decode("10.0.0.1%3A80"), "10.0.0.1:80");
  EXPECT_EQ(decode("10.0.0.1%3a80"), "10.0.0.1:80");  // lower-case hex
  EXPECT_EQ(decode("%5B2001%3Adb8%3A%3A1%5D%3A80"), "[2001:db8::1]:80");
  EXPECT_EQ(decode("%41"), "A");  // an escape that ends the input
  EXPECT_EQ(decode("x%41"), "xA");
  EXPECT_EQ(decode("%25"), "%");  // no double decoding
  EXPECT_EQ(decode("%2541"), "%41");
  EXPECT_EQ(decode("%C3%A9"), "\xC3\xA9");
  EXPECT_EQ(decode("+"), "+");  // '+' is a space only in forms
}

TEST(AdminHttpTest, PercentDecodeRejectsMalformedEscapesAndNul) {
  for (const char* bad : {"%", "%4", "a%", "a%4", "%zz", "%4g", "%g4", "%00", "a%00b", "% 4"}) {
    EXPECT_FALSE(decode(bad).has_value()) << bad;
  }
}

AdminRequest withQuery(std::string query) {
  AdminRequest r;
  r.query = std::move(query);
  return r;
}

TEST(AdminHttpTest, QueryParam) {
  EXPECT_EQ(withQuery("since=5").queryParam("since"), "5");
  EXPECT_EQ(withQuery("a=1&since=7&b=2").queryParam("since"), "7");
  EXPECT_EQ(withQuery("sincex=1&since=2").queryParam("since"), "2");  // whole names only
  EXPECT_EQ(withQuery("xsince=1").queryParam("since"), "");
  EXPECT_EQ(withQuery("since=1&since=2").queryParam("since"), "1");  // the first wins
  EXPECT_EQ(withQuery("").queryParam("since"), "");
  EXPECT_EQ(withQuery("since").queryParam("since"), "");  // no '=': no value
  EXPECT_EQ(withQuery("since=").queryParam("since"), "");
  EXPECT_EQ(withQuery("q=a%20b%26c").queryParam("q"), "a b&c");
  EXPECT_EQ(withQuery("q=%zz").queryParam("q"), "");  // malformed: no value
  EXPECT_EQ(withQuery("&&q=1&").queryParam("q"), "1");
  EXPECT_EQ(withQuery("q=1=2").queryParam("q"), "1=2");
}

TEST(AdminHttpTest, HeaderLookupUsesLowerCaseNames) {
  AdminRequest r;
  r.headers = {{"accept", "text/event-stream"}, {"authorization", "Bearer t"}};
  EXPECT_EQ(r.header("accept"), "text/event-stream");
  EXPECT_EQ(r.header("authorization"), "Bearer t");
  EXPECT_EQ(r.header("missing"), "");
}

TEST(AdminHttpTest, PeerDescribe) {
  AdminPeer unix_peer;
  unix_peer.unix_socket = true;
  unix_peer.uid = 0;
  unix_peer.pid = 42;
  EXPECT_EQ(unix_peer.describe(), "unix:uid=0,pid=42");
  AdminPeer tcp;
  tcp.address = "198.18.0.1";
  EXPECT_EQ(tcp.describe(), "tcp:198.18.0.1");
}

TEST(AdminHttpTest, ResponseBuilders) {
  const auto e = AdminResponse::error(404, "not_found", "no pool named \"x\"");
  EXPECT_EQ(e.status, 404);
  EXPECT_EQ(e.content_type, "application/json");
  const auto j = nlohmann::json::parse(e.body);
  EXPECT_EQ(
      j, (nlohmann::json{{"error", {{"code", "not_found"}, {"message", "no pool named \"x\""}}}}));
  EXPECT_TRUE(e.body.ends_with("\n"));
  // Bytes that are not UTF-8 are replaced rather than thrown on.
  const auto bad = AdminResponse::json(200, {{"name", std::string("a\xff")}});
  EXPECT_EQ(bad.status, 200);
  EXPECT_TRUE(nlohmann::json::accept(bad.body));
  EXPECT_EQ(nlohmann::json::parse(bad.body)["name"], "a\xEF\xBF\xBD");  // U+FFFD
  const auto t = AdminResponse::text(200, "x 1\n", "text/plain");
  EXPECT_EQ(t.body, "x 1\n");
  EXPECT_EQ(t.content_type, "text/plain");
  EXPECT_FALSE(t.event_stream);
}

}  // namespace
}  // namespace ballast::control
