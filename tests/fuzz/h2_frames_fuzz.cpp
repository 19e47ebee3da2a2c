// tests/fuzz/h2_frames_fuzz.cpp — libFuzzer target for the HTTP/2 downstream codec with the
// HTTP/2 → HTTP/1.1 translation behind it: the input, after the client connection preface, is
// what a client sends on an h2c connection (frames, HPACK blocks, flow control, resets), cut into
// reads by its first byte. Each stream that nghttp2 and our RFC 9113 §8.2 checks accept is
// routed by the exchange core and its request head written as HTTP/1.1 (h2_session.cpp), then
// sent to a backend address where nothing listens, so the connect fails on loopback, the 502
// goes back through the codec, and the connection is aborted at the end of the input. Beyond "no
// crash", the last HTTP/1.1 head written must parse as exactly one complete request: nothing a
// client sends can be turned into a second request for the backend.
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "config/loader.h"
#include "core/event_loop.h"
#include "core/log.h"
#include "l7/exchange_core.h"
#include "l7/h2_session.h"
#include "l7/router.h"
#include "l7/upstream_pool.h"
#include "metrics/proxy_metrics.h"
#include "proto/http1/request_parser.h"
#include "upstream/pool_runtime.h"
#include "upstream/worker_pool.h"

namespace {

using namespace ballast;  // NOLINT: a fuzz harness touches every layer

constexpr std::string_view kPreface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
constexpr int kLoopTurns = 4;  // connects to a closed loopback port fail within a turn or two
constexpr uint8_t kPieceMask = 0x3F;

void check(bool ok) {
  if (!ok) {
    std::abort();
  }
}

// A port on 127.0.0.1 that is bound (so no one else takes it) but not listening: a connect to
// it is refused at once, without leaving loopback.
int closedLoopbackPort() {
  static int fd = -1;
  static int port = 0;
  if (fd < 0) {
    fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    check(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0);
    socklen_t len = sizeof(a);
    check(::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0);
    port = ntohs(a.sin_port);
  }
  return port;
}

// The client side of the connection: what the codec writes is dropped.
class DiscardTransport final : public l7::H2Transport {
 public:
  bool h2Write(const uint8_t* /*data*/, size_t /*len*/) override { return !closed; }
  void h2Flush() override {}
  uint32_t h2Backlog() const override { return 0; }
  void h2Close() override { closed = true; }
  bool closed = false;
};

// One worker's view of one h2c listener and its pool, built once from YAML.
struct World {
  World() {
    core::setLogLevel(core::LogLevel::kError);
    const std::string yaml = R"(
listeners:
  - name: h2
    bind: "127.0.0.1:1"
    protocol: http
    http2: true
    pool: app
    routes:
      - {name: api, match: {path: {prefix: /api}}, pool: app,
         request_headers: {add: {X-Route: api}}}
pools:
  - name: app
    connect_retries: 0
    backends: [{address: "127.0.0.1:)" +
                             std::to_string(closedLoopbackPort()) +
                             R"("}]
)";
    auto loaded = config::loadConfigText(yaml, "h2_frames_fuzz.yaml");
    check(loaded.errors.empty());
    cfg = loaded.config;
    std::string why;
    loop = core::EventLoop::create(core::IoKind::kEpoll, &why);
    check(loop != nullptr);
    upstreams = std::make_unique<l7::UpstreamPool>(*loop);
    for (const auto& p : cfg->pools) {
      auto rt = std::make_unique<upstream::PoolRuntime>();
      rt->config = &p;
      rt->generation = std::make_shared<std::atomic<uint64_t>>(0);
      for (const auto& b : p.backends) {
        rt->backends.push_back(std::make_shared<upstream::BackendState>(b.address));
      }
      pools.push_back(std::make_unique<upstream::WorkerPool>(rt.get(), 1));
      runtimes.push_back(std::move(rt));
    }
    const config::Listener& listener = cfg->listeners.front();
    router = std::make_unique<l7::Router>(listener, [this](const std::string& name) {
      for (size_t i = 0; i < cfg->pools.size(); ++i) {
        if (cfg->pools[i].name == name) {
          return static_cast<int>(i);
        }
      }
      return -1;
    });
    exchange.listener = &listener;
    exchange.router = router.get();
    exchange.pools = &pools;
    exchange.scratch = &scratch;
    exchange.counters = &counters;
    h2.exchange = &exchange;
    h2.loop = loop.get();
    h2.upstreams = upstreams.get();
    h2.peer = *net::SocketAddress::parse("127.0.0.1:40000");
  }

  void turns() {
    for (int i = 0; i < kLoopTurns; ++i) {
      loop->runOnce(0);
    }
  }

  config::ConfigPtr cfg;
  std::unique_ptr<core::EventLoop> loop;
  std::unique_ptr<l7::UpstreamPool> upstreams;
  std::vector<std::unique_ptr<upstream::PoolRuntime>> runtimes;
  std::vector<std::unique_ptr<upstream::WorkerPool>> pools;
  std::unique_ptr<l7::Router> router;
  l7::WorkerScratch scratch;
  metrics::ListenerCounters counters;
  l7::ExchangeEnv exchange;
  l7::H2Env h2;
};

// The last head written upstream is one whole HTTP/1.1 request head and nothing after it. The
// parser's size limits are lifted: the h2 side has its own, and they are not what this checks.
void checkLastHead(const std::string& head) {
  if (head.empty()) {
    return;
  }
  namespace http1 = proto::http1;
  constexpr size_t kNoLimit = size_t{1} << 30;
  http1::Limits limits;
  limits.max_request_line = kNoLimit;
  limits.max_header_bytes = kNoLimit;
  limits.max_headers = kNoLimit;
  http1::RequestParser parser(limits);
  const auto in =
      std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(head.data()), head.size());
  const http1::Progress step = parser.next(in);
  if (step.event != http1::Event::kHead || step.consumed != head.size()) {
    std::fprintf(stderr,
                 "h2_frames_fuzz: upstream head (%zu bytes, event %d, consumed %zu, %s):\n%s\n",
                 head.size(), static_cast<int>(step.event), step.consumed,
                 std::string(parser.errorReason()).c_str(), head.c_str());
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static World world;
  if (size == 0) {
    return 0;
  }
  const size_t piece = (data[0] & kPieceMask) + 1;
  std::span<const uint8_t> rest(data + 1, size - 1);
  world.scratch.head.clear();
  {
    DiscardTransport transport;
    l7::H2Connection conn(world.h2, transport);
    if (conn.start()) {
      bool alive = conn.receive(std::span<const uint8_t>(
          reinterpret_cast<const uint8_t*>(kPreface.data()), kPreface.size()));
      while (alive && !rest.empty()) {
        const size_t n = std::min(piece, rest.size());
        alive = conn.receive(rest.first(n));
        rest = rest.subspan(n);
        world.turns();
        conn.onTransportSent();
      }
      checkLastHead(world.scratch.head);
      conn.abort();
    }
  }
  world.turns();
  return 0;
}
