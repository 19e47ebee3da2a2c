// tests/unit/etcd/etcd_replies_test.cpp — the gateway's replies as etcd 3.4 sends them, and
// the malformed ones a broken peer could send.
#include "etcd/etcd_replies.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace ballast::etcd {
namespace {

TEST(EtcdBase64, RoundTripsEveryLength) {
  const std::string bytes = std::string("\0\xff/ballast/prod/main", 20);
  for (size_t n = 0; n <= bytes.size(); ++n) {
    const auto text = base64Encode(bytes.substr(0, n));
    EXPECT_EQ(text.size() % 4, 0U);
    EXPECT_EQ(base64Decode(text), bytes.substr(0, n));
  }
  EXPECT_EQ(base64Encode("/a/"), "L2Ev");
  EXPECT_EQ(base64Decode("Zm9vYg=="), "foob");
  EXPECT_FALSE(base64Decode("Zm9"));       // not a multiple of 4
  EXPECT_FALSE(base64Decode("Zm9v!A=="));  // not the alphabet
}

TEST(EtcdPrefixEnd, IncrementsTheLastByteBelowFf) {
  EXPECT_EQ(prefixEnd("/ballast/"), "/ballast0");
  EXPECT_EQ(prefixEnd(std::string("a\xff", 2)), "b");
  EXPECT_EQ(prefixEnd(""), std::string(1, '\0'));
}

TEST(EtcdRange, ReadsKeysValuesAndRevision) {
  const std::string body = R"({"header":{"cluster_id":"1","revision":"7"},"kvs":[{"key":")" +
                           base64Encode("/p/a") +
                           R"(","create_revision":"2","mod_revision":"5","version":"1","value":")" +
                           base64Encode("pools: []\n") + R"("}],"count":"1"})";
  std::string error;
  const auto r = parseRange(body, &error);
  ASSERT_TRUE(r) << error;
  EXPECT_EQ(r->revision, 7);
  ASSERT_EQ(r->kvs.size(), 1U);
  EXPECT_EQ(r->kvs[0].key, "/p/a");
  EXPECT_EQ(r->kvs[0].value, "pools: []\n");
  EXPECT_EQ(r->kvs[0].mod_revision, 5);
}

TEST(EtcdRange, EmptyPrefixHasNoKvs) {
  std::string error;
  const auto r = parseRange(R"({"header":{"revision":"3"}})", &error);
  ASSERT_TRUE(r) << error;
  EXPECT_TRUE(r->kvs.empty());
}

TEST(EtcdRange, RefusesMalformedReplies) {
  std::string error;
  EXPECT_FALSE(parseRange("not json", &error));
  EXPECT_EQ(error, "not a JSON object");
  EXPECT_FALSE(parseRange(R"({"kvs":[]})", &error));  // no header
  EXPECT_FALSE(parseRange(R"({"header":{"revision":"x"}})", &error));
  EXPECT_FALSE(parseRange(R"({"header":{"revision":"3"},"kvs":[{"key":"%%%"}]})", &error));
  EXPECT_FALSE(parseRange(R"({"header":{"revision":"3"},"kvs":{}})", &error));
  EXPECT_FALSE(
      parseRange(R"({"error":"etcdserver: mvcc: required revision has been compacted","code":11,)"
                 R"("message":"etcdserver: mvcc: required revision has been compacted"})",
                 &error));
  EXPECT_EQ(error, "etcd: etcdserver: mvcc: required revision has been compacted");
}

TEST(EtcdWatch, ReadsCreatedEventsAndCompaction) {
  std::string error;
  auto w = parseWatchLine(R"({"result":{"header":{"revision":"4"},"created":true}})", &error);
  ASSERT_TRUE(w) << error;
  EXPECT_TRUE(w->created);
  EXPECT_EQ(w->events, 0U);
  w = parseWatchLine(
      R"({"result":{"header":{"revision":"5"},"events":[{"kv":{"key":"L3Av"}},{"type":"DELETE"}]}})",
      &error);
  ASSERT_TRUE(w) << error;
  EXPECT_EQ(w->revision, 5);
  EXPECT_EQ(w->events, 2U);
  w = parseWatchLine(
      R"({"result":{"header":{"raft_term":"2"},"canceled":true,"compact_revision":"8"}})", &error);
  ASSERT_TRUE(w) << error;
  EXPECT_TRUE(w->canceled);
  EXPECT_EQ(w->compact_revision, 8);
  EXPECT_FALSE(parseWatchLine(R"({"error":{"grpc_code":14,"message":"unavailable"}})", &error));
  EXPECT_EQ(error, "etcd: unavailable");
  EXPECT_FALSE(parseWatchLine(R"({"result":{"events":3}})", &error));
}

TEST(EtcdTxn, ReadsRevision) {
  std::string error;
  const auto t = parseTxn(R"({"header":{"revision":"12"},"succeeded":true})", &error);
  ASSERT_TRUE(t) << error;
  EXPECT_TRUE(t->succeeded);
  EXPECT_EQ(t->revision, 12);
}

// etcd refuses a put inside a delete range of the same transaction: the deletes must go
// around the keys put.
TEST(EtcdPush, DeletesAroundThePutKeys) {
  const auto body = nlohmann::json::parse(pushRequest("/p/", {{"/p/b", "x", 0}}));
  const auto& ops = body.at("success");
  ASSERT_EQ(ops.size(), 3U);
  const auto range = [](const nlohmann::json& op) {
    const auto& d = op.at("request_delete_range");
    return *base64Decode(d.at("key").get<std::string>()) + ".." +
           *base64Decode(d.at("range_end").get<std::string>());
  };
  EXPECT_EQ(range(ops[0]), "/p/../p/b");
  EXPECT_EQ(*base64Decode(ops[1].at("request_put").at("key").get<std::string>()), "/p/b");
  EXPECT_EQ(range(ops[2]), std::string("/p/b\0", 5) + "../p0");
}

}  // namespace
}  // namespace ballast::etcd
