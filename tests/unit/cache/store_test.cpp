// tests/unit/cache/store_test.cpp — the shared store: variants, freshness by age, fill claims
// (coalescing), LRU eviction within max_size, purge by key and prefix, and many threads at once.
#include "cache/store.h"

#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

namespace ballast::cache {
namespace {

namespace h1 = proto::http1;

StoredPtr response(std::string body, uint32_t lifetime_s = 60,
                   std::vector<std::pair<std::string, std::string>> vary = {}) {
  auto r = std::make_shared<StoredResponse>();
  r->status = 200;
  std::vector<h1::Header> fields = {{"Content-Type", "text/plain"}};
  r->setFields(fields);
  r->body = std::make_shared<const std::string>(std::move(body));
  r->lifetime_s = lifetime_s;
  r->response_ms = 1'000'000;
  r->vary = std::move(vary);
  return r;
}

TEST(Store, FindsWhatItStoredAndAgesIt) {
  Store store(1 << 20);
  store.insert("k", response("hello"));
  const auto found = store.find("k", {}, 1'000'000);
  ASSERT_TRUE(found.entry);
  EXPECT_EQ(*found.entry->body, "hello");
  EXPECT_EQ(found.entry->fields[0].name, "Content-Type");
  EXPECT_TRUE(found.entry->fresh(1'059'000));
  EXPECT_FALSE(found.entry->fresh(1'060'000));
  EXPECT_EQ(found.entry->staleS(1'070'000), 10U);
  EXPECT_FALSE(store.find("other", {}, 0).entry);
}

TEST(Store, KeepsOneVariantPerVaryValue) {
  Store store(1 << 20);
  store.insert("k", response("en", 60, {{"accept-language", "en"}}));
  store.insert("k", response("fr", 60, {{"accept-language", "fr"}}));
  store.insert("k", response("en2", 60, {{"accept-language", "en"}}));  // replaces "en"
  const std::vector<h1::Header> en = {{"Accept-Language", "en"}};
  const std::vector<h1::Header> fr = {{"accept-language", " fr "}};
  const std::vector<h1::Header> de = {{"Accept-Language", "de"}};
  EXPECT_EQ(*store.find("k", en, 0).entry->body, "en2");
  EXPECT_EQ(*store.find("k", fr, 0).entry->body, "fr");
  EXPECT_FALSE(store.find("k", de, 0).entry);
  EXPECT_EQ(store.entries(), 2U);
}

TEST(Store, VaryValuesJoinRepeatsAndSkipDuplicates) {
  const std::vector<h1::Header> req = {{"Accept", "a"}, {"X-B", "1"}, {"accept", "b"}};
  std::vector<std::pair<std::string, std::string>> out;
  const std::vector<std::string_view> vary = {"Accept, X-B", "accept"};
  ASSERT_TRUE(varyValues(vary, req, out));
  ASSERT_EQ(out.size(), 2U);
  EXPECT_EQ(out[0], (std::pair<std::string, std::string>{"accept", "a, b"}));
  EXPECT_EQ(out[1], (std::pair<std::string, std::string>{"x-b", "1"}));
}

TEST(Store, OneFillAtATimeUntilReleasedOrExpired) {
  Store store(1 << 20);
  EXPECT_TRUE(store.claimFill("k", 0, 100));
  EXPECT_FALSE(store.claimFill("k", 50, 100));
  EXPECT_TRUE(store.find("k", {}, 50).filling);
  EXPECT_TRUE(store.claimFill("k", 100, 100));  // the first one gave up by then
  store.releaseFill("k");
  EXPECT_FALSE(store.find("k", {}, 120).filling);
  EXPECT_TRUE(store.claimFill("k", 120, 100));
  store.insert("k", response("x"));  // storing ends the fill
  EXPECT_FALSE(store.find("k", {}, 130).filling);
  EXPECT_EQ(store.entries(), 1U);
}

TEST(Store, EvictsLeastRecentlyUsedWithinMaxSize) {
  Store store(16 * 64 * 1024);  // 64 KiB per shard
  for (int i = 0; i < 400; ++i) {
    store.insert("key" + std::to_string(i), response(std::string(8 * 1024, 'x')));
  }
  EXPECT_LE(store.bytes(), 16U * 64 * 1024);
  EXPECT_GT(store.counters().evictions.load(), 0U);
  EXPECT_TRUE(store.find("key399", {}, 0).entry);  // the newest stays
  EXPECT_FALSE(store.find("key0", {}, 0).entry);
  // Bigger than a shard's whole share: not kept.
  store.insert("huge", response(std::string(128 * 1024, 'y')));
  EXPECT_FALSE(store.find("huge", {}, 0).entry);
}

TEST(Store, PurgesByKeyAndPrefix) {
  Store store(1 << 20);
  for (const char* k : {"http://a/x/1", "http://a/x/2", "http://a/y", "http://b/x/1"}) {
    store.insert(k, response("v"));
  }
  EXPECT_EQ(store.purgeKey("http://a/y"), 1U);
  EXPECT_EQ(store.purgeKey("http://a/y"), 0U);
  EXPECT_EQ(store.purgePrefix("http://a/x/"), 2U);
  EXPECT_EQ(store.entries(), 1U);
  EXPECT_TRUE(store.find("http://b/x/1", {}, 0).entry);
  EXPECT_EQ(store.counters().purged.load(), 3U);
}

TEST(Store, ManyThreadsAtOnce) {
  Store store(1 << 20);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&store, t] {
      for (int i = 0; i < 2000; ++i) {
        const std::string key = "k" + std::to_string((i * 7 + t) % 300);
        if (!store.find(key, {}, 0).entry && store.claimFill(key, 0, 1000)) {
          store.insert(key, response(std::string(512, 'z')));
        }
        if (i % 500 == 0) {
          store.purgePrefix("k1");
        }
      }
    });
  }
  for (auto& th : threads) {
    th.join();
  }
  EXPECT_LE(store.bytes(), 1U << 20);
  EXPECT_GT(store.entries(), 0U);
}

TEST(Store, EncodedCopiesAreCountedOnceAndLeaveWithTheirEntry) {
  Store store(1 << 20);
  store.insert("k", response("hello hello hello"));
  const uint64_t plain = store.bytes();
  const StoredPtr entry = store.find("k", {}, 0).entry;
  const auto gz = std::make_shared<const std::string>("GZ");
  EXPECT_EQ(store.attachEncoded("k", *entry, compress::Encoding::kGzip, gz), gz);
  EXPECT_EQ(store.bytes(), plain + 2);
  // A second worker that compressed the same body gets the first copy; nothing is counted twice.
  const auto late = std::make_shared<const std::string>("GZ-late");
  EXPECT_EQ(store.attachEncoded("k", *entry, compress::Encoding::kGzip, late), gz);
  EXPECT_EQ(store.bytes(), plain + 2);
  EXPECT_EQ(entry->encoded.get(compress::Encoding::kGzip), gz);
  EXPECT_FALSE(entry->encoded.get(compress::Encoding::kZstd));
  // A revalidated copy of the entry keeps its copies (a 304: the same body).
  EXPECT_EQ(StoredResponse(*entry).encoded.get(compress::Encoding::kGzip), gz);
  // Replaced, the entry's bytes leave with its copies; one attached after that is not counted.
  store.insert("k", response("new"));
  const uint64_t replaced = store.bytes();
  EXPECT_EQ(replaced, store.find("k", {}, 0).entry->charge());
  store.attachEncoded("k", *entry, compress::Encoding::kZstd,
                      std::make_shared<const std::string>("ZSTD"));
  EXPECT_EQ(store.bytes(), replaced);
  EXPECT_EQ(store.purgeKey("k"), 1U);
  EXPECT_EQ(store.bytes(), 0U);
}

TEST(Store, RegistryKeepsOneStorePerListenerAcrossResizes) {
  const auto a = storeFor("store-test-listener", 1 << 20);
  const auto b = storeFor("store-test-listener", 2 << 20);
  EXPECT_EQ(a.get(), b.get());
  EXPECT_EQ(a->maxBytes(), 2U << 20);
}

}  // namespace
}  // namespace ballast::cache
