// tests/unit/l7/exchange_core_test.cpp — the wire-independent steps of an exchange: routing and
// the request id, the filter chain's order and its power to answer, picking without repeating a
// backend within connect_retries, sticky first, and the counters at the end.
#include "l7/exchange_core.h"

#include <gtest/gtest.h>

#include <memory>
#include <set>
#include <string>
#include <vector>

#include "core/clock.h"
#include "l7/sticky.h"

namespace ballast::l7 {
namespace {

using proto::http1::Header;

net::SocketAddress addr(const std::string& text) { return *net::SocketAddress::parse(text); }

class ExchangeCoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const std::string name : {"app", "api"}) {
      config::Pool p;
      p.name = name;
      p.connect_retries = 2;
      for (int i = 1; i <= 4; ++i) {
        p.backends.push_back({addr("198.18.0." + std::to_string(i) + ":80"), 1});
      }
      pools_config_.push_back(p);
    }
    pools_config_[1].sticky_cookie = "srv";
    for (const auto& p : pools_config_) {
      auto rt = std::make_unique<upstream::PoolRuntime>();
      rt->config = &p;
      rt->generation = std::make_shared<std::atomic<uint64_t>>(0);
      for (const auto& b : p.backends) {
        rt->backends.push_back(std::make_shared<upstream::BackendState>(b.address));
      }
      pools_.push_back(std::make_unique<upstream::WorkerPool>(rt.get(), 1));
      runtimes_.push_back(std::move(rt));
    }
    listener_.name = "web";
    listener_.protocol = config::Protocol::kHttp;
    config::Route api;
    api.name = "api";
    api.pool = "api";
    api.match.path_kind = config::RouteMatch::PathKind::kPrefix;
    api.match.path = "/api";
    listener_.http.routes.push_back(api);
    listener_.pool = "app";
    router_ = std::make_unique<Router>(listener_, [](const std::string& n) {
      return n == "app" ? 0 : n == "api" ? 1 : -1;
    });
    env_.listener = &listener_;
    env_.router = router_.get();
    env_.pools = &pools_;
    env_.scratch = &scratch_;
    env_.counters = &counters_;
    env_.worker = 3;
  }

  Verdict begin(std::string_view target, std::vector<Header> headers = {}) {
    headers_ = std::move(headers);
    RequestView r;
    r.method = "GET";
    r.target = target;
    r.host = "example.test";
    r.headers = headers_;
    ex_ = Exchange{};
    ex_.start_ms = 1000;
    return beginRequest(env_, ex_, r, addr("198.18.1.1:5000"));
  }

  std::vector<config::Pool> pools_config_;
  std::vector<std::unique_ptr<upstream::PoolRuntime>> runtimes_;
  std::vector<std::unique_ptr<upstream::WorkerPool>> pools_;
  config::Listener listener_;
  std::unique_ptr<Router> router_;
  WorkerScratch scratch_;
  metrics::ListenerCounters counters_;
  ExchangeEnv env_;
  std::vector<Header> headers_;
  Exchange ex_;
};

TEST_F(ExchangeCoreTest, RoutesAndNamesTheRequest) {
  ASSERT_TRUE(begin("/api/v1").proceed());
  EXPECT_EQ(ex_.route, "api");
  EXPECT_EQ(ex_.pool, "api");
  EXPECT_EQ(ex_.pool_index, 1);
  EXPECT_EQ(ex_.request_id.size(), 24U);  // 16 + 8 hex digits
  EXPECT_EQ(ex_.request_id.find_first_not_of("0123456789abcdef"), std::string::npos)
      << ex_.request_id;
  // The last 8 digits are the worker (3, shifted 16 bits) xor the worker's request counter.
  EXPECT_EQ(ex_.request_id.substr(16), "00030001");

  ASSERT_TRUE(begin("/other").proceed());
  EXPECT_EQ(ex_.route, "");  // the listener's default pool
  EXPECT_EQ(ex_.pool, "app");
}

TEST_F(ExchangeCoreTest, KeepsAWellFormedClientRequestIdOnly) {
  ASSERT_TRUE(begin("/", {{"X-Request-Id", "abc-123"}}).proceed());
  EXPECT_EQ(ex_.request_id, "abc-123");
  ASSERT_TRUE(begin("/", {{"X-Request-Id", "bad id\x01"}}).proceed());
  EXPECT_NE(ex_.request_id, "bad id\x01");
  EXPECT_EQ(ex_.request_id.size(), 24U);
}

TEST_F(ExchangeCoreTest, NoRouteAndNoDefaultPoolIs404) {
  listener_.pool.clear();
  router_ =
      std::make_unique<Router>(listener_, [](const std::string& n) { return n == "api" ? 1 : -1; });
  env_.router = router_.get();
  const Verdict v = begin("/other");
  EXPECT_EQ(v.status, 404);
  EXPECT_TRUE(begin("/api").proceed());
}

TEST_F(ExchangeCoreTest, RedirectsToHttpsBeforeLookingForAPool) {
  listener_.pool.clear();
  listener_.http.redirect = {true, 308, 443};
  listener_.http.routes[0].redirect = {true, 301, 8443};
  router_ =
      std::make_unique<Router>(listener_, [](const std::string& n) { return n == "api" ? 1 : -1; });
  env_.router = router_.get();
  Verdict v = begin("/a?b=c");
  EXPECT_EQ(v.status, 308);
  EXPECT_EQ(v.location, "https://example.test/a?b=c");
  v = begin("/api/x");
  EXPECT_EQ(v.status, 301);
  EXPECT_EQ(v.location, "https://example.test:8443/api/x");
  // An absolute-form target keeps only its path and query; the Host's port is dropped.
  headers_.clear();
  RequestView r;
  r.method = "GET";
  r.target = "http://example.test:8080/p?q";
  r.host = "example.test:8080";
  ex_ = Exchange{};
  v = beginRequest(env_, ex_, r, addr("198.18.1.1:5000"));
  EXPECT_EQ(v.location, "https://example.test/p?q");
  r.target = "/v6";
  r.host = "[2001:db8::1]:8080";
  v = beginRequest(env_, ex_, r, addr("198.18.1.1:5000"));
  EXPECT_EQ(v.location, "https://[2001:db8::1]/v6");
  r.host = "";
  EXPECT_EQ(beginRequest(env_, ex_, r, addr("198.18.1.1:5000")).status, 400);
}

// Records the order it ran in, and answers with `status` when it is not 0.
class RecordingFilter final : public Filter {
 public:
  RecordingFilter(std::vector<std::string>& log, std::string name, uint16_t status)
      : log_(log), name_(std::move(name)), status_(status) {}
  Verdict onRequest(Exchange& ex, const RequestView& request,
                    const net::SocketAddress& /*client*/) override {
    log_.push_back(name_ + ":" + ex.pool + ":" + std::string(request.target));
    return {status_, "refused by test"};
  }

 private:
  std::vector<std::string>& log_;
  std::string name_;
  uint16_t status_;
};

TEST_F(ExchangeCoreTest, FiltersRunInOrderAfterRoutingAndTheFirstRefusalAnswers) {
  std::vector<std::string> log;
  FilterChain chain;
  chain.push_back(std::make_unique<RecordingFilter>(log, "first", 0));
  chain.push_back(std::make_unique<RecordingFilter>(log, "second", 403));
  chain.push_back(std::make_unique<RecordingFilter>(log, "third", 0));
  env_.filters = &chain;
  const Verdict v = begin("/api/x");
  EXPECT_EQ(v.status, 403);
  EXPECT_EQ(log, (std::vector<std::string>{"first:api:/api/x", "second:api:/api/x"}));
}

TEST_F(ExchangeCoreTest, PicksNeverRepeatABackendAndStopAfterConnectRetries) {
  ASSERT_TRUE(begin("/").proceed());
  std::set<uint32_t> seen;
  while (const auto choice = pickBackend(env_, ex_)) {
    EXPECT_TRUE(seen.insert(*choice).second) << "backend " << *choice << " picked twice";
    EXPECT_EQ(ex_.backend->name, pools_config_[0].backends[*choice].address.toString());
  }
  EXPECT_EQ(seen.size(), 3U);  // the first pick and connect_retries: 2
  EXPECT_EQ(ex_.tries, 3);
}

TEST_F(ExchangeCoreTest, TheStickyBackendIsTriedFirst) {
  const std::string cookie = "srv=" + stickyValue(pools_config_[1], *runtimes_[1]->backends[2], 0);
  ASSERT_TRUE(begin("/api", {{"Cookie", cookie}}).proceed());
  EXPECT_EQ(ex_.sticky, 2);
  EXPECT_EQ(pickBackend(env_, ex_), 2U);
  EXPECT_NE(pickBackend(env_, ex_), 2U);  // a retry goes elsewhere
}

TEST_F(ExchangeCoreTest, ASignedCookieIsHonouredUntilItExpires) {
  pools_config_[1].sticky_key = "0123456789abcdef0123456789abcdef";
  const uint64_t now_s = core::unixMs() / core::kMsPerSecond;
  const auto& b2 = *runtimes_[1]->backends[2];
  const std::string fresh = stickyValue(pools_config_[1], b2, now_s);
  EXPECT_EQ(fresh.size(), 16U + 1 + std::to_string(now_s + 3600).size() + 1 + 32) << fresh;
  ASSERT_TRUE(begin("/api", {{"Cookie", "srv=" + fresh}}).proceed());
  EXPECT_EQ(ex_.sticky, 2);
  EXPECT_EQ(counters_.sticky_rejected_total.value(), 0U);
  // Issued more than a TTL (1h) ago: refused, and the algorithm picks.
  const std::string old = stickyValue(pools_config_[1], b2, now_s - 3600 - 10);
  ASSERT_TRUE(begin("/api", {{"Cookie", "srv=" + old}}).proceed());
  EXPECT_EQ(ex_.sticky, -1);
  EXPECT_EQ(counters_.sticky_rejected_total.value(), 1U);
}

TEST_F(ExchangeCoreTest, AForgedOrAlteredSignedCookieIsRefused) {
  pools_config_[1].sticky_key = "0123456789abcdef0123456789abcdef";
  const uint64_t now_s = core::unixMs() / core::kMsPerSecond;
  const std::string good = stickyValue(pools_config_[1], *runtimes_[1]->backends[2], now_s);
  config::Pool unsigned_pool = pools_config_[1];
  unsigned_pool.sticky_key.clear();
  const std::string other_id = stickyValue(unsigned_pool, *runtimes_[1]->backends[3], 0);
  config::Pool other_key = pools_config_[1];
  other_key.sticky_key = "fedcba9876543210fedcba9876543210";
  const std::vector<std::string> bad = {
      other_id,                                                   // unsigned
      other_id + good.substr(16),                                 // another backend, same tag
      good.substr(0, 17) + "9" + good.substr(18),                 // a later expiry
      stickyValue(other_key, *runtimes_[1]->backends[2], now_s),  // another key
      good + "0",                                                 // too long
      good.substr(0, 16) + ".." + good.substr(good.size() - 32),  // no expiry
  };
  uint64_t refused = 0;
  for (const auto& value : bad) {
    ASSERT_TRUE(begin("/api", {{"Cookie", "srv=" + value}}).proceed());
    EXPECT_EQ(ex_.sticky, -1) << value;
    EXPECT_EQ(counters_.sticky_rejected_total.value(), ++refused) << value;
  }
  // The same cookie in another pool that shares the key means nothing there.
  pools_config_[0].sticky_cookie = "srv";
  pools_config_[0].sticky_key = pools_config_[1].sticky_key;
  ASSERT_TRUE(begin("/", {{"Cookie", "srv=" + good}}).proceed());
  EXPECT_EQ(ex_.sticky, -1);
}

TEST_F(ExchangeCoreTest, NothingUpMeansNoPick) {
  for (auto& b : runtimes_[0]->backends) {
    b->healthy = false;
  }
  runtimes_[0]->generation->fetch_add(1);
  ASSERT_TRUE(begin("/").proceed());
  EXPECT_FALSE(pickBackend(env_, ex_).has_value());
  EXPECT_EQ(ex_.tries, 0);
}

TEST_F(ExchangeCoreTest, EndCountsTheRequestAndItsStatusClass) {
  ASSERT_TRUE(begin("/").proceed());
  ex_.status = 503;
  endExchange(env_, ex_, addr("198.18.1.1:5000"), 1005);
  EXPECT_EQ(counters_.requests_total.value(), 1U);
  EXPECT_EQ(counters_.responses_total[4].value(), 1U);
}

}  // namespace
}  // namespace ballast::l7
