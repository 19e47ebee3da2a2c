// bench/tools/tls_handshake_cost.cpp — server-side CPU per TLS 1.3 handshake, by TLS library
// (issue #14). One process, no sockets: an OpenSSL client (the same for every case, so the
// server sees the same ClientHello) talks through memory buffers to an OpenSSL, wolfSSL or
// GnuTLS server (wolfSSL and GnuTLS cases exist when the build found the library). Only calls into
// the server are timed (CLOCK_THREAD_CPUTIME_ID) and, under `valgrind --tool=callgrind
// --collect-atstart=no --toggle-collect=tls_cost_server_side`, counted: each block of handshakes
// ends in a dump named after its case (bench/tools/tls_handshake_cost_callgrind.sh runs that and
// sums the dumps).
//
// Every handshake is checked from the client (TLS 1.3, TLS_AES_128_GCM_SHA256, the case's
// group, ALPN http/1.1, the bench certificate, resumed or not, tickets received) and from the
// server, and a GET-sized record goes each way, so a case cannot win by doing less.
//
//   tls_handshake_cost [--handshakes N] [--repeats R] [--warmup W] [--cases a,b,...] [--list]
#include <dlfcn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <valgrind/callgrind.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <functional>
#include <memory>
#include <sstream>
#include <string>
#include <type_traits>
#include <vector>

#include "acme/x509_build.h"
#include "openssl_server.h"
#include "server_endpoint.h"
#if BALLAST_BENCH_WOLFSSL
#include "wolfssl_server.h"
#endif
#if BALLAST_BENCH_GNUTLS
#include "gnutls_server.h"
#endif

// The only function whose cost callgrind collects: every server-side call goes through it.
extern "C" __attribute__((noinline)) void tls_cost_server_side(void (*fn)(void*), void* arg) {
  fn(arg);
  asm volatile("" ::: "memory");  // not a tail call: the toggle must see the whole call
}

namespace ballast::bench {
namespace {

constexpr const char* kRequest =
    "GET /index.html HTTP/1.1\r\nHost: bench.test\r\nUser-Agent: tls-handshake-cost/1\r\n"
    "Accept: */*\r\nAccept-Encoding: gzip, br\r\n\r\n";
constexpr size_t kResponseBody = 512;
constexpr int kMaxFlights = 6;

[[noreturn]] void die(const std::string& why) {
  std::fprintf(stderr, "tls_handshake_cost: %s\n", why.c_str());
  std::exit(1);
}

int64_t threadCpuNs() {
  timespec t{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return static_cast<int64_t>(t.tv_sec) * 1'000'000'000 + t.tv_nsec;
}

// Runs f as server-side work: timed, and visible to callgrind's toggle.
int64_t g_server_ns = 0;
template <typename F>
void onServer(F&& f) {
  using Fn = std::remove_reference_t<F>;
  const int64_t start = threadCpuNs();
  tls_cost_server_side([](void* p) { (*static_cast<Fn*>(p))(); }, &f);
  g_server_ns += threadCpuNs() - start;
}

// wolfSSL exports a few OpenSSL names of its own (nm -D shows six, e.g.
// SSL_SESSION_set1_id_context). Whichever library comes first in the link order answers for
// them, libssl's own internal calls included, so OpenSSL must come first.
void checkSymbolOwners() {
#if BALLAST_BENCH_WOLFSSL
  for (const char* name :
       {"ERR_load_SSL_strings", "SSL_COMP_get_compression_methods", "SSL_CTX_set_tmp_dh_callback",
        "SSL_SESSION_get0_id_context", "SSL_SESSION_set1_id", "SSL_SESSION_set1_id_context"}) {
    Dl_info info{};
    void* sym = dlsym(RTLD_DEFAULT, name);
    if (sym == nullptr || dladdr(sym, &info) == 0 || info.dli_fname == nullptr ||
        std::string(info.dli_fname).find("libssl") == std::string::npos) {
      die(std::string(name) + " does not resolve to libssl: " +
          (info.dli_fname != nullptr ? info.dli_fname : "nowhere") + " (link OpenSSL first)");
    }
  }
  std::printf("symbols both libraries export resolve to libssl (checked 6)\n");
#endif
}

// "OpenSSL 3.0.19 ..., wolfSSL 5.5.4, GnuTLS 3.7.9": the libraries as loaded.
std::string libraryVersions() {
  std::string out = OpenSSL_version(OPENSSL_VERSION);
#if BALLAST_BENCH_WOLFSSL
  out += ", " + wolfVersion();
#endif
#if BALLAST_BENCH_GNUTLS
  out += ", " + gnutlsVersion();
#endif
  return out;
}

BenchIdentity makeIdentity() {
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(EVP_EC_gen("P-256"), &EVP_PKEY_free);
  if (!key) {
    die("cannot make a P-256 key");
  }
  BenchIdentity id;
  id.cert_pem = acme::selfSignedPem(key.get(), {kBenchHost}, 30);
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), &BIO_free);
  PEM_write_bio_PrivateKey(bio.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr);
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio.get(), &data);
  id.key_pem.assign(data, static_cast<size_t>(n));
  std::array<char, 32> dir{"/tmp/tls_handshake_cost.XXXXXX"};
  if (id.cert_pem.empty() || mkdtemp(dir.data()) == nullptr) {
    die("cannot write the bench certificate");
  }
  id.cert_path = std::string(dir.data()) + "/cert.pem";
  id.key_path = std::string(dir.data()) + "/key.pem";
  std::ofstream(id.cert_path) << id.cert_pem;
  std::ofstream(id.key_path) << id.key_pem;
  return id;
}

// The client: OpenSSL with its defaults (TLS 1.2 and 1.3 offered, its suite order), SNI and
// ALPN as a browser sends them. It keeps the newest ticket for the next resumed handshake.
struct ClientSide {
  SSL_CTX* ctx = nullptr;
  SSL_SESSION* latest = nullptr;
  int tickets_seen = 0;

  static int onNewSession(SSL* ssl, SSL_SESSION* session) {
    auto* self = static_cast<ClientSide*>(SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl)));
    SSL_SESSION_free(self->latest);
    self->latest = session;  // we keep the reference OpenSSL hands us
    ++self->tickets_seen;
    return 1;
  }
  ClientSide() {
    ctx = SSL_CTX_new(TLS_client_method());
    SSL_CTX_set_app_data(ctx, this);
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
    SSL_CTX_sess_set_new_cb(ctx, onNewSession);
  }
  ~ClientSide() {
    SSL_SESSION_free(latest);
    SSL_CTX_free(ctx);
  }
  ClientSide(const ClientSide&) = delete;
  ClientSide& operator=(const ClientSide&) = delete;
};

class ClientConnection {
 public:
  ClientConnection(ClientSide& side, const std::string& groups, bool resume)
      : ssl_(SSL_new(side.ctx)), rbio_(BIO_new(BIO_s_mem())), wbio_(BIO_new(BIO_s_mem())) {
    SSL_set_bio(ssl_, rbio_, wbio_);
    SSL_set_connect_state(ssl_);
    SSL_set_tlsext_host_name(ssl_, kBenchHost);
    static constexpr unsigned char kAlpn[] = "\x02h2\x08http/1.1";
    SSL_set_alpn_protos(ssl_, kAlpn, sizeof(kAlpn) - 1);
    if (SSL_set1_groups_list(ssl_, groups.c_str()) != 1) {
      die("client groups " + groups);
    }
    if (resume) {
      // A copy: OpenSSL marks a TLS 1.3 session it resumed with not resumable, and a server
      // that sends no fresh ticket on resumption (OpenSSL with a ticket key callback that does
      // not ask for renewal) leaves the client only this one.
      SSL_SESSION* copy = side.latest != nullptr ? SSL_SESSION_dup(side.latest) : nullptr;
      const bool set = copy != nullptr && SSL_set_session(ssl_, copy) == 1;
      SSL_SESSION_free(copy);
      if (!set) {
        die("no session to resume");
      }
    }
  }
  ~ClientConnection() {
    // Freed without close_notify, OpenSSL would mark the connection's session (the newest
    // ticket) not resumable.
    SSL_set_shutdown(ssl_, SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
    SSL_free(ssl_);
  }
  ClientConnection(const ClientConnection&) = delete;
  ClientConnection& operator=(const ClientConnection&) = delete;

  void feed(const std::string& from_server) {
    if (!from_server.empty()) {
      BIO_write(rbio_, from_server.data(), static_cast<int>(from_server.size()));
    }
  }
  bool handshake(std::string* wire) {
    const int r = SSL_do_handshake(ssl_);
    if (r != 1 && SSL_get_error(ssl_, r) != SSL_ERROR_WANT_READ) {
      die("client handshake failed: " + std::string(ERR_reason_error_string(ERR_get_error())));
    }
    drain(wire);
    return r == 1;
  }
  void write(const std::string& plain, std::string* wire) {
    if (SSL_write(ssl_, plain.data(), static_cast<int>(plain.size())) !=
        static_cast<int>(plain.size())) {
      die("client write failed");
    }
    drain(wire);
  }
  std::string read() {
    std::string out;
    std::array<char, 16384> buf;  // NOLINT(cppcoreguidelines-pro-type-member-init)
    int n = 0;
    while ((n = SSL_read(ssl_, buf.data(), static_cast<int>(buf.size()))) > 0) {
      out.append(buf.data(), static_cast<size_t>(n));
    }
    return out;
  }
  SSL* ssl() const { return ssl_; }

 private:
  void drain(std::string* wire) {
    std::array<char, 16384> buf;  // NOLINT(cppcoreguidelines-pro-type-member-init)
    int n = 0;
    while ((n = BIO_read(wbio_, buf.data(), static_cast<int>(buf.size()))) > 0) {
      wire->append(buf.data(), static_cast<size_t>(n));
    }
  }
  SSL* ssl_;
  BIO* rbio_;
  BIO* wbio_;
};

struct Case {
  std::string name;
  std::function<std::unique_ptr<ServerFactory>(const BenchIdentity&, std::string*)> make;
  int tickets = 1;    // per full handshake
  bool p256 = false;  // the client's key share is P-256 instead of X25519
  bool resumed = false;
};

struct HandshakeStats {
  size_t server_bytes = 0;  // server→client bytes of the last handshake
  int tickets = 0;          // tickets the client received in it
};

std::string clientGroups(const Case& c) {
  // OpenSSL 3.0's default list; the first group gets the key share.
  return c.p256 ? "P-256:X25519:X448:P-521:P-384" : "X25519:P-256:X448:P-521:P-384";
}

// One connection: handshake, a request and its response. Dies on anything unexpected.
HandshakeStats runOne(const Case& c, ServerFactory& server, ClientSide& client,
                      EVP_PKEY* server_key, bool resume) {
  const std::string response =
      "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(kResponseBody) + "\r\n\r\n" +
      std::string(kResponseBody, 'x');
  const int tickets_before = client.tickets_seen;
  ClientConnection conn(client, clientGroups(c), resume);
  std::unique_ptr<ServerConnection> s;
  onServer([&] { s = server.accept(); });
  std::string c2s;
  std::string s2c;
  std::string server_plain;
  HandshakeStats stats;
  bool ok = true;
  bool done = conn.handshake(&c2s);
  for (int flight = 0; !done; ++flight) {
    if (flight == kMaxFlights || c2s.empty()) {
      die(c.name + ": handshake stalled");
    }
    onServer([&] { ok = s->receive(c2s, &s2c, &server_plain); });
    if (!ok) {
      die(c.name + ": server failed: " + s->error());
    }
    c2s.clear();
    stats.server_bytes += s2c.size();
    conn.feed(s2c);
    s2c.clear();
    done = conn.handshake(&c2s);
  }
  conn.write(kRequest, &c2s);
  onServer([&] {
    ok =
        s->receive(c2s, &s2c, &server_plain) && server_plain == kRequest && s->send(response, &s2c);
  });
  if (!ok || !s->handshakeDone()) {
    die(c.name + ": server did not finish or read the request: " + s->error());
  }
  stats.server_bytes += s2c.size();
  conn.feed(s2c);
  if (conn.read() != response) {
    die(c.name + ": response did not round-trip");
  }
  // What was negotiated, seen from both ends.
  SSL* ssl = conn.ssl();
  const unsigned char* alpn = nullptr;
  unsigned int alpn_len = 0;
  SSL_get0_alpn_selected(ssl, &alpn, &alpn_len);
  const int want_group = c.p256 ? NID_X9_62_prime256v1 : NID_X25519;
  std::unique_ptr<X509, decltype(&X509_free)> peer(SSL_get1_peer_certificate(ssl), &X509_free);
  const std::string server_cipher = s->cipher();
  if (SSL_version(ssl) != TLS1_3_VERSION || s->version() != "TLSv1.3") {
    die(c.name + ": not TLS 1.3 (" + SSL_get_version(ssl) + ", server " + s->version() + ")");
  }
  if (std::string(SSL_get_cipher_name(ssl)) != "TLS_AES_128_GCM_SHA256" ||
      (server_cipher.find("AES128-GCM-SHA256") == std::string::npos &&
       server_cipher.find("AES_128_GCM_SHA256") == std::string::npos)) {
    die(c.name + ": cipher " + SSL_get_cipher_name(ssl) + ", server " + server_cipher);
  }
  if (SSL_get_negotiated_group(ssl) != want_group) {
    die(c.name + ": group " + std::to_string(SSL_get_negotiated_group(ssl)));
  }
  if (std::string_view(reinterpret_cast<const char*>(alpn), alpn_len) != "http/1.1") {
    die(c.name + ": ALPN not http/1.1");
  }
  if (!peer || EVP_PKEY_eq(X509_get0_pubkey(peer.get()), server_key) != 1) {
    die(c.name + ": not the bench certificate");
  }
  if ((SSL_session_reused(ssl) == 1) != resume || s->resumed() != resume) {
    die(c.name + (resume ? ": did not resume" : ": resumed unexpectedly") + " (client " +
        std::to_string(SSL_session_reused(ssl)) + ", server " + std::to_string(s->resumed()) + ")");
  }
  // A resumed handshake may or may not bring a fresh ticket (OpenSSL sends one only when the
  // ticket callback asks for renewal); a full one brings exactly the configured one.
  stats.tickets = client.tickets_seen - tickets_before;
  if (resume ? stats.tickets > 1 : stats.tickets != c.tickets) {
    die(c.name + ": " + std::to_string(client.tickets_seen - tickets_before) +
        " tickets, expected " + std::to_string(c.tickets));
  }
  onServer([&] { s.reset(); });
  return stats;
}

struct Options {
  int handshakes = 300;
  int repeats = 7;
  int warmup = 30;
  std::vector<std::string> cases;
  bool list = false;
};

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    const bool has_value = i + 1 < argc;
    if (a == "--handshakes" && has_value) {
      o.handshakes = std::atoi(argv[++i]);
    } else if (a == "--repeats" && has_value) {
      o.repeats = std::atoi(argv[++i]);
    } else if (a == "--warmup" && has_value) {
      o.warmup = std::atoi(argv[++i]);
    } else if (a == "--cases" && has_value) {
      std::stringstream ss(argv[++i]);
      std::string name;
      while (std::getline(ss, name, ',')) {
        o.cases.push_back(name);
      }
    } else if (a == "--list") {
      o.list = true;
    } else {
      die("usage: tls_handshake_cost [--handshakes N] [--repeats R] [--warmup W] "
          "[--cases a,b] [--list]");
    }
  }
  if (o.handshakes < 1 || o.repeats < 1 || o.warmup < 0) {
    die("--handshakes and --repeats must be positive");
  }
  return o;
}

std::vector<Case> allCases() {
  const auto openssl = [](Tickets tickets, bool own_libctx) {
    return [=](const BenchIdentity& id, std::string* error) {
      return makeOpensslServer(id, {.tickets = tickets, .own_libctx = own_libctx}, error);
    };
  };
  const auto stateless = Tickets::kStateless;
  std::vector<Case> cases{
      {"openssl-ballast", openssl(stateless, false)},
      {"openssl-ballast-resumed", openssl(stateless, false), 1, false, true},
      {"openssl-ballast-stateful", openssl(Tickets::kStateful, false)},
      {"openssl-ballast-stateful-resumed", openssl(Tickets::kStateful, false), 1, false, true},
      {"openssl-ballast-noticket", openssl(Tickets::kNone, false), 0},
      {"openssl-ballast-p256", openssl(stateless, false), 1, true},
      {"openssl-ownlibctx", openssl(stateless, true)},
      {"openssl-ownlibctx-resumed", openssl(stateless, true), 1, false, true},
  };
#if BALLAST_BENCH_WOLFSSL
  const auto wolf = [](bool tickets) {
    return [=](const BenchIdentity& id, std::string* error) {
      return makeWolfServer(id, {.tickets = tickets}, error);
    };
  };
  cases.insert(cases.end(), {
                                {"wolfssl", wolf(true)},
                                {"wolfssl-resumed", wolf(true), 1, false, true},
                                {"wolfssl-noticket", wolf(false), 0},
                                {"wolfssl-p256", wolf(true), 1, true},
                            });
#endif
#if BALLAST_BENCH_GNUTLS
  const auto gnutls = [](bool tickets, bool prefer_p256) {
    return [=](const BenchIdentity& id, std::string* error) {
      return makeGnutlsServer(id, {.tickets = tickets, .prefer_p256 = prefer_p256}, error);
    };
  };
  cases.insert(cases.end(), {
                                {"gnutls", gnutls(true, false)},
                                {"gnutls-resumed", gnutls(true, false), 1, false, true},
                                {"gnutls-noticket", gnutls(false, false), 0},
                                {"gnutls-p256", gnutls(true, true), 1, true},
                            });
#endif
  return cases;
}

// A case under measurement: its server, its client (and so its tickets), its results.
struct Running {
  const Case* c = nullptr;
  std::unique_ptr<ServerFactory> server;
  std::unique_ptr<ClientSide> client;
  std::vector<double> us;  // server CPU per handshake, one entry per block
  HandshakeStats last;
};

Running start(const Case& c, const Options& o, const BenchIdentity& id, EVP_PKEY* key) {
  Running r{&c, nullptr, std::make_unique<ClientSide>(), {}, {}};
  std::string error;
  r.server = c.make(id, &error);
  if (!r.server) {
    die(c.name + ": " + error);
  }
  if (c.resumed) {
    runOne(c, *r.server, *r.client, key, false);  // the first ticket
  }
  for (int i = 0; i < o.warmup; ++i) {
    runOne(c, *r.server, *r.client, key, c.resumed);
  }
  return r;
}

// One block of handshakes; under callgrind, one dump named after the case.
void measureBlock(Running& r, const Options& o, EVP_PKEY* key) {
  CALLGRIND_ZERO_STATS;
  g_server_ns = 0;
  for (int i = 0; i < o.handshakes; ++i) {
    r.last = runOne(*r.c, *r.server, *r.client, key, r.c->resumed);
  }
  CALLGRIND_DUMP_STATS_AT(r.c->name.c_str());
  r.us.push_back(static_cast<double>(g_server_ns) / 1000.0 / o.handshakes);
}

void report(const Running& r, const Options& o) {
  std::vector<double> sorted = r.us;
  std::sort(sorted.begin(), sorted.end());
  std::printf("%-34s %9.1f %9.1f %9.1f %9zu %7d %7d\n", r.c->name.c_str(),
              sorted[sorted.size() / 2], sorted.front(), sorted.back(), r.last.server_bytes,
              r.last.tickets, o.handshakes * o.repeats);
}

}  // namespace
}  // namespace ballast::bench

int main(int argc, char** argv) {
  using namespace ballast::bench;
  const Options o = parse(argc, argv);
  const std::vector<Case> cases = allCases();
  if (o.list) {
    for (const auto& c : cases) {
      std::printf("%s\n", c.name.c_str());
    }
    return 0;
  }
  checkSymbolOwners();
  std::printf("%s\n", libraryVersions().c_str());
  const BenchIdentity id = makeIdentity();
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(
      BIO_new_mem_buf(id.key_pem.data(), static_cast<int>(id.key_pem.size())), &BIO_free);
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(
      PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr), &EVP_PKEY_free);
  std::printf("%-34s %9s %9s %9s %9s %7s %7s\n", "case (server side)", "median_us", "min_us",
              "max_us", "srv_bytes", "tickets", "n");
  std::vector<Running> running;
  for (const auto& c : cases) {
    if (o.cases.empty() || std::find(o.cases.begin(), o.cases.end(), c.name) != o.cases.end()) {
      running.push_back(start(c, o, id, key.get()));
    }
  }
  // Round-robin over the cases, so that a load change on the host (a build starting) shifts
  // every case's blocks alike instead of one case's median.
  for (int r = 0; r < o.repeats; ++r) {
    for (auto& run : running) {
      measureBlock(run, o, key.get());
    }
  }
  for (const auto& run : running) {
    report(run, o);
  }
  std::remove(id.cert_path.c_str());
  std::remove(id.key_path.c_str());
  std::remove(id.cert_path.substr(0, id.cert_path.rfind('/')).c_str());
  return 0;
}
