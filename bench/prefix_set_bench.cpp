// bench/prefix_set_bench.cpp — an ACL lookup against 100,000 prefixes (IPv4 /16–/32 and IPv6
// /32–/64, random), for addresses that hit and that miss: the aim is under 1 µs.
#include <arpa/inet.h>
#include <benchmark/benchmark.h>

#include <array>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "net/prefix_set.h"

namespace ballast::net {
namespace {

constexpr size_t kPrefixes = 100'000;
constexpr size_t kProbes = 4'096;  // a power of two: the index wraps with a mask

std::string v4(uint32_t a) {
  std::array<char, INET_ADDRSTRLEN> buf{};
  const uint32_t n = htonl(a);
  inet_ntop(AF_INET, &n, buf.data(), buf.size());
  return buf.data();
}

struct Fixture {
  PrefixSet set;
  std::vector<SocketAddress> probes;
  Fixture(bool v6) {
    std::mt19937_64 rng(1);
    for (size_t i = 0; i < kPrefixes; ++i) {
      if (!v6) {
        const uint32_t len = 16 + static_cast<uint32_t>(rng() % 17);
        set.add(*Cidr::parse(v4(static_cast<uint32_t>(rng())) + "/" + std::to_string(len)));
      } else {
        const uint32_t len = 32 + static_cast<uint32_t>(rng() % 33);
        char text[64];
        snprintf(text, sizeof(text), "2001:%x:%x:%x::/%u", static_cast<unsigned>(rng() & 0xffff),
                 static_cast<unsigned>(rng() & 0xffff), static_cast<unsigned>(rng() & 0xffff), len);
        set.add(*Cidr::parse(text));
      }
    }
    set.seal();
    for (size_t i = 0; i < kProbes; ++i) {
      if (!v6) {
        probes.push_back(*SocketAddress::parse(v4(static_cast<uint32_t>(rng())) + ":1"));
      } else {
        char text[64];
        snprintf(text, sizeof(text), "[2001:%x:%x::1]:1", static_cast<unsigned>(rng() & 0xffff),
                 static_cast<unsigned>(rng() & 0xffff));
        probes.push_back(*SocketAddress::parse(text));
      }
    }
  }
};

void BM_AclLookup100k(benchmark::State& state) {
  static const Fixture v4(false);
  static const Fixture v6(true);
  const Fixture& f = state.range(0) == 6 ? v6 : v4;
  size_t i = 0;
  size_t hits = 0;
  for (auto _ : state) {
    hits += f.set.contains(f.probes[i++ & (kProbes - 1)]) ? 1 : 0;
  }
  benchmark::DoNotOptimize(hits);
  state.counters["ranges"] = static_cast<double>(f.set.ranges());
  state.counters["hit_share"] =
      static_cast<double>(hits) / static_cast<double>(std::max<size_t>(state.iterations(), 1));
}
BENCHMARK(BM_AclLookup100k)->Arg(4)->Arg(6);

}  // namespace
}  // namespace ballast::net
