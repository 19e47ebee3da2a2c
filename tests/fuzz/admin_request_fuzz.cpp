// tests/fuzz/admin_request_fuzz.cpp — libFuzzer target for the admin API behind the HTTP parser:
// AdminApi::handle with a fake ControlOps. The request is built from the input the way
// AdminServer builds it from a parsed head (path percent-decoded up to '?', raw query, header
// names lower-cased), so routing, query parameters, JSON bodies and the bearer-token checks
// (static token, HS256 JWT via libjwt, allowlist, rate buckets) see attacker bytes. Beyond "no
// crash": no exception escapes (AdminServer would turn it into a 500, but it is a handler bug), the
// status is a real one, a JSON response parses, and no response header carries CR or LF.
//
// Input: one flags byte (bit 0: unix-socket peer, bit 1: IPv6 peer), then "METHOD TARGET\n",
// then "name: value\n" header lines up to an empty line, then the body.
//
// The token and secret files AdminAuth::load reads are memfds, written once; each input gets a
// fresh copy of the loaded AdminAuth, AuditLog and AdminApi, so no rate bucket carries over.
#include <sys/mman.h>
#include <unistd.h>

#include <cctype>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "control/admin_api.h"
#include "net/cidr.h"

namespace {

namespace control = ballast::control;
using nlohmann::json;

constexpr uint8_t kUnixPeerBit = 0x01;
constexpr uint8_t kV6PeerBit = 0x02;
// 2027-01-15: the seed JWTs expire in 2100, and one has an nbf in 2099.
constexpr uint64_t kNowMs = 1'800'000'000'000;
constexpr uint16_t kMinStatus = 100;
constexpr uint16_t kMaxStatus = 599;
constexpr uint16_t kOk = 200;
constexpr uint16_t kAccepted = 202;
constexpr uint16_t kUnauthorized = 401;
constexpr uint16_t kNotFound = 404;
constexpr uint16_t kConflict = 409;
constexpr std::string_view kStaticToken = "fuzz-static-token";
constexpr std::string_view kHs256Secret = "fuzz-hs256-secret";

void check(bool ok) {
  if (!ok) {
    std::abort();
  }
}

class FakeOps final : public control::ControlOps {
 public:
  bool ready() const override { return true; }
  json status() const override { return {{"version", "fuzz"}, {"workers", 2}}; }
  json listeners() const override { return json::array({{{"name", "web"}, {"port", 80}}}); }
  json pools() const override { return json::array({pool("web").value()}); }
  std::optional<json> pool(const std::string& name) const override {
    if (name != "web") {
      return std::nullopt;
    }
    return json{{"name", name}, {"backends", json::array({{{"address", "198.18.1.2:8080"}}})}};
  }
  control::AdminResponse backendAction(const control::BackendAction& a) override {
    if (a.pool != "web") {
      return control::AdminResponse::error(kNotFound, "not_found", "no pool named " + a.pool);
    }
    return control::AdminResponse::json(kOk, {{"verb", static_cast<int>(a.verb)},
                                              {"backend", a.backend},
                                              {"weight", a.weight},
                                              {"actor", a.actor}});
  }
  control::ReloadOutcome reload(const std::string& actor) override {
    return {actor.size() % 2 == 0, 1, {"fuzz.yaml:1:1: " + actor}};
  }
  json effectiveConfig() const override { return {{"listeners", json::array()}}; }
  nlohmann::json caches() const override { return nlohmann::json::array(); }
  control::AdminResponse purgeCache(const control::CachePurge& purge) override {
    return control::AdminResponse::json(kAccepted, {{"purged", 0}, {"actor", purge.actor}});
  }
  control::AdminResponse poolFailback(const std::string& pool, const std::string& actor) override {
    return control::AdminResponse::json(kAccepted, {{"pool", pool}, {"actor", actor}});
  }
  control::AdminResponse drainNode(const std::string& actor) override {
    return control::AdminResponse::json(kAccepted, {{"draining", true}, {"actor", actor}});
  }
  std::string metricsText() const override { return "ballast_fuzz_total 1\n"; }
  std::optional<json> planeStatus(std::string_view plane) const override {
    if (plane == "services") {
      return json{{"services", json::array()}};
    }
    return std::nullopt;
  }
  json certificates() const override { return {{"listeners", json::array()}}; }
  control::AdminResponse upgrade(const control::AdminRequest&) override {
    return control::AdminResponse::error(kConflict, "busy", "an upgrade is running");
  }
};

// A file that lives in memory only, named through /proc/self/fd.
std::string memFile(const char* name, std::string_view text) {
  const int fd = memfd_create(name, 0);
  check(fd >= 0);
  check(write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()));
  return "/proc/self/fd/" + std::to_string(fd);  // kept open for the process's life
}

const control::AdminAuth& prototypeAuth() {
  static const control::AdminAuth auth = [] {
    ballast::config::AdminAuth settings;
    settings.tokens_file = memFile("tokens", "# fuzz\n" + std::string(kStaticToken) + "\n");
    settings.jwt_hs256_secret_file = memFile("hs256", kHs256Secret);
    settings.allow = {*ballast::net::Cidr::parse("198.18.0.0/15"),
                      *ballast::net::Cidr::parse("2001:db8::/32")};
    std::string error;
    auto loaded = control::AdminAuth::load(settings, &error);
    check(loaded.has_value());
    return *loaded;
  }();
  return auth;
}

std::string_view takeLine(std::string_view& in) {
  const size_t nl = in.find('\n');
  const std::string_view line = in.substr(0, nl);
  in = nl == std::string_view::npos ? std::string_view{} : in.substr(nl + 1);
  return line;
}

std::optional<control::AdminRequest> buildRequest(uint8_t flags, std::string_view in) {
  control::AdminRequest r;
  r.peer.unix_socket = (flags & kUnixPeerBit) != 0;
  if (!r.peer.unix_socket) {
    r.peer.address = (flags & kV6PeerBit) != 0 ? "2001:db8::1" : "198.18.0.1";
  }
  const std::string_view start = takeLine(in);
  const size_t sp = start.find(' ');
  r.method = std::string(start.substr(0, sp));
  const std::string_view target =
      sp == std::string_view::npos ? std::string_view{} : start.substr(sp + 1);
  const size_t q = target.find('?');
  if (!control::percentDecode(target.substr(0, q), r.path)) {
    return std::nullopt;  // AdminServer answers 400 without calling the API
  }
  if (q != std::string_view::npos) {
    r.query = std::string(target.substr(q + 1));
  }
  while (!in.empty()) {
    const std::string_view line = takeLine(in);
    if (line.empty()) {
      break;
    }
    const size_t colon = line.find(':');
    std::string name(line.substr(0, colon));
    for (char& c : name) {
      c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    std::string_view value = colon == std::string_view::npos ? "" : line.substr(colon + 1);
    while (!value.empty() && value.front() == ' ') {
      value.remove_prefix(1);
    }
    r.headers.emplace_back(std::move(name), std::string(value));
  }
  r.body = std::string(in);
  return r;
}

bool hasLineBreak(std::string_view s) { return s.find_first_of("\r\n") != std::string_view::npos; }

}  // namespace

// NOLINTNEXTLINE(readability-identifier-naming): the name libFuzzer looks for
extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) {
    return 0;
  }
  auto request =
      buildRequest(data[0], std::string_view(reinterpret_cast<const char*>(data) + 1, size - 1));
  if (!request) {
    return 0;
  }
  FakeOps ops;
  control::AuditLog audit;
  control::AdminApi api(ops, audit, prototypeAuth());
  const control::AdminResponse r = api.handle(*request, kNowMs);
  check(r.status >= kMinStatus && r.status <= kMaxStatus);
  if (r.content_type == "application/json") {
    check(!json::parse(r.body, nullptr, /*allow_exceptions=*/false).is_discarded());
  }
  for (const auto& [name, value] : r.headers) {
    check(!name.empty() && !hasLineBreak(name) && !hasLineBreak(value));
  }
  if (r.status == kUnauthorized) {
    check(!r.headers.empty());
  }
  (void)request->queryParam("since");
  (void)request->header("authorization");
  return 0;
}
