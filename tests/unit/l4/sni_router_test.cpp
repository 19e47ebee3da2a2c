// tests/unit/l4/sni_router_test.cpp — SNI routing: exact names beat wildcards, a wildcard covers
// exactly one label, case does not matter, and the default pool (or none) takes the rest.
#include "l4/sni_router.h"

#include <gtest/gtest.h>

#include <array>
#include <atomic>
#include <memory>
#include <string>

#include "upstream/worker_pool.h"

namespace ballast::l4 {
namespace {

// Real per-worker pools (one backend each), named so a match can be read back.
class Pools {
 public:
  Pools() {
    for (size_t i = 0; i < kNames.size(); ++i) {
      configs_[i].name = kNames[i];
      configs_[i].backends.push_back({*net::SocketAddress::parse("127.0.0.1:9000"), 1});
      runtimes_[i].config = &configs_[i];
      runtimes_[i].backends.push_back(
          std::make_shared<upstream::BackendState>(configs_[i].backends[0].address));
      runtimes_[i].generation = std::make_shared<std::atomic<uint64_t>>(0);
      pools_[i] = std::make_unique<upstream::WorkerPool>(&runtimes_[i], 1);
    }
  }
  upstream::WorkerPool* find(const std::string& name) {
    for (size_t i = 0; i < kNames.size(); ++i) {
      if (kNames[i] == name) {
        return pools_[i].get();
      }
    }
    return nullptr;
  }

 private:
  static constexpr std::array<const char*, 4> kNames = {"exact", "wild", "deep", "fallback"};
  std::array<config::Pool, kNames.size()> configs_;
  std::array<upstream::PoolRuntime, kNames.size()> runtimes_;
  std::array<std::unique_ptr<upstream::WorkerPool>, kNames.size()> pools_;
};

config::Listener listener(std::string default_pool) {
  config::Listener l;
  l.name = "tls";
  l.protocol = config::Protocol::kTlsPassthrough;
  l.pool = std::move(default_pool);
  l.sni = {
      {{"a.example.test", "www.example.test"}, "exact"},
      {{"*.example.test"}, "wild"},
      {{"*.b.example.test", "Upper.Example.Test"}, "deep"},
  };
  return l;
}

std::string poolOf(const SniRouter& router, std::string_view name) {
  const upstream::WorkerPool* pool = router.match(name);
  return pool == nullptr ? "(none)" : pool->runtime().config->name;
}

TEST(SniRouter, ExactWildcardDefault) {
  Pools pools;
  const SniRouter router(listener("fallback"),
                         [&](const std::string& name) { return pools.find(name); });
  EXPECT_EQ(poolOf(router, "a.example.test"), "exact");
  EXPECT_EQ(poolOf(router, "www.example.test"), "exact");  // exact beats *.example.test
  EXPECT_EQ(poolOf(router, "other.example.test"), "wild");
  EXPECT_EQ(poolOf(router, "x.b.example.test"), "deep");      // the longer wildcard's own label
  EXPECT_EQ(poolOf(router, "b.example.test"), "wild");        // one label under *.example.test
  EXPECT_EQ(poolOf(router, "x.y.example.test"), "fallback");  // two labels: no wildcard
  EXPECT_EQ(poolOf(router, "example.test"), "fallback");      // the apex is not *.example.test
  EXPECT_EQ(poolOf(router, ".example.test"), "fallback");     // an empty label is no label
  EXPECT_EQ(poolOf(router, "unrelated.test"), "fallback");
  EXPECT_EQ(poolOf(router, ""), "fallback");  // no SNI at all
}

TEST(SniRouter, CaseInsensitive) {
  Pools pools;
  const SniRouter router(listener("fallback"),
                         [&](const std::string& name) { return pools.find(name); });
  EXPECT_EQ(poolOf(router, "A.EXAMPLE.TEST"), "exact");
  EXPECT_EQ(poolOf(router, "Other.Example.TEST"), "wild");
  EXPECT_EQ(poolOf(router, "upper.example.test"), "deep");  // hand-built names are folded too
}

TEST(SniRouter, NoDefaultMeansNoRoute) {
  Pools pools;
  const SniRouter router(listener(""), [&](const std::string& name) { return pools.find(name); });
  EXPECT_EQ(poolOf(router, "a.example.test"), "exact");
  EXPECT_EQ(poolOf(router, "nothing.test"), "(none)");
  EXPECT_EQ(poolOf(router, ""), "(none)");
  const std::string too_long(300, 'a');
  EXPECT_EQ(poolOf(router, too_long), "(none)");
}

}  // namespace
}  // namespace ballast::l4
