// bench/tools/tls_server_cost_single.cpp — server CPU per TLS 1.3 handshake for ONE library,
// client and server of that same library in one thread over a BIO pair (#14). The same source
// builds twice: against the system OpenSSL 3.0 (tls_server_cost_openssl) and against Debian's
// Android BoringSSL (tls_server_cost_boringssl). BoringSSL exports OpenSSL's symbol names, so the
// two cannot share a process; this is why the bench is one library per binary.
//
//   tls_server_cost_<lib> --cert c.pem --key k.pem [--handshakes N] [--repeats R] [--warmup W]
//                         [--mode both|full|resumed]
//
// Only the server's calls are measured: thread CPU time around each of them (SSL_new to
// SSL_free), and, under `valgrind --tool=callgrind --collect-atstart=no`, instructions
// (collection is toggled on around the same calls, off for warm-up). Every handshake is checked
// from both ends (TLS 1.3, TLS_AES_128_GCM_SHA256, X25519, ALPN http/1.1, the ECDSA
// certificate, resumed or not, a GET-sized record each way); any mismatch ends the run with an
// error.
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <valgrind/callgrind.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <string>
#include <string_view>
#include <vector>

namespace {

#ifdef OPENSSL_IS_BORINGSSL
constexpr const char* kLibrary = "boringssl";
#else
constexpr const char* kLibrary = "openssl";
#endif

// A browser's GET and a small response: one record each way proves the keys work.
constexpr std::string_view kRequest =
    "GET /index.html HTTP/1.1\r\nHost: bench.test\r\nUser-Agent: ballast-bench/1\r\n"
    "Accept: */*\r\nAccept-Encoding: gzip, deflate, br\r\nAccept-Language: en-US,en;q=0.9\r\n\r\n";
constexpr std::string_view kResponse =
    "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nok";
constexpr unsigned char kAlpnWire[] = {8, 'h', 't', 't', 'p', '/', '1', '.', '1'};

[[noreturn]] void fail(const std::string& what) {
  std::fprintf(stderr, "tls_server_cost_%s: %s\n", kLibrary, what.c_str());
  ERR_print_errors_fp(stderr);
  std::exit(1);
}

double threadSeconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

// Accumulates the server's CPU time, and toggles callgrind collection around the same calls.
struct ServerMeter {
  bool counting = false;  // false during warm-up: neither clock nor callgrind
  double seconds = 0;
  double started = 0;
  void begin() {
    if (counting) {
      CALLGRIND_TOGGLE_COLLECT;
      started = threadSeconds();
    }
  }
  void end() {
    if (counting) {
      seconds += threadSeconds() - started;
      CALLGRIND_TOGGLE_COLLECT;
    }
  }
};

// Server call wrapper: the meter runs only while the server works.
template <typename F>
auto onServer(ServerMeter& meter, F&& call) {
  meter.begin();
  auto result = call();
  meter.end();
  return result;
}

int selectAlpn(SSL* /*ssl*/, const unsigned char** out, unsigned char* outlen,
               const unsigned char* in, unsigned int inlen, void* /*arg*/) {
  unsigned char* selected = nullptr;
  if (SSL_select_next_proto(&selected, outlen, kAlpnWire, sizeof(kAlpnWire), in, inlen) !=
      OPENSSL_NPN_NEGOTIATED) {
    return SSL_TLSEXT_ERR_ALERT_FATAL;
  }
  *out = selected;
  return SSL_TLSEXT_ERR_OK;
}

// Ballast's server settings (src/tls/server_context.cpp) restricted to what a TLS 1.3 client
// of this bench reaches: TLS 1.3, AES-128-GCM first, X25519, one ticket, a server session cache.
// The ticket key is the library's own (Ballast's TicketKeyRing is OpenSSL-only code).
SSL_CTX* serverContext(const char* cert, const char* key) {
  SSL_CTX* ctx = SSL_CTX_new(TLS_method());
  if (ctx == nullptr || SSL_CTX_use_certificate_chain_file(ctx, cert) != 1 ||
      SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1 ||
      SSL_CTX_check_private_key(ctx) != 1) {
    fail("server certificate/key");
  }
  SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION);
  SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION);
#ifndef OPENSSL_IS_BORINGSSL
  // BoringSSL has no TLS 1.3 suite setting: it puts AES-128-GCM first on AES-NI hardware.
  if (SSL_CTX_set_ciphersuites(ctx,
                               "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:"
                               "TLS_CHACHA20_POLY1305_SHA256") != 1) {
    fail("ciphersuites");
  }
#endif
  if (SSL_CTX_set1_curves_list(ctx, "X25519:P-256:P-384") != 1) {
    fail("server groups");
  }
  SSL_CTX_set_options(ctx, SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_COMPRESSION);
  SSL_CTX_set_num_tickets(ctx, 1);
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_SERVER);
  SSL_CTX_sess_set_cache_size(ctx, 20'000);
  static constexpr unsigned char kSessionId[] = "ballast";
  SSL_CTX_set_session_id_context(ctx, kSessionId, sizeof(kSessionId) - 1);
  SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
  SSL_CTX_set_alpn_select_cb(ctx, selectAlpn, nullptr);
  return ctx;
}

// The newest ticket the client received; each handshake resumes from it.
SSL_SESSION* g_newest_ticket = nullptr;
int g_tickets_received = 0;

int onNewSession(SSL* /*ssl*/, SSL_SESSION* session) {
  if (g_newest_ticket != nullptr) {
    SSL_SESSION_free(g_newest_ticket);
  }
  g_newest_ticket = session;  // returning 1 keeps the reference
  ++g_tickets_received;
  return 1;
}

SSL_CTX* clientContext() {
  SSL_CTX* ctx = SSL_CTX_new(TLS_method());
  if (ctx == nullptr) {
    fail("client context");
  }
  SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION);
  SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION);
  if (SSL_CTX_set1_curves_list(ctx, "X25519:P-256") != 1) {
    fail("client groups");
  }
  // ALPN as a browser offers it; the server picks http/1.1.
  static constexpr unsigned char kOffer[] = {2,   'h', '2', 8,   'h', 't',
                                             't', 'p', '/', '1', '.', '1'};
  if (SSL_CTX_set_alpn_protos(ctx, kOffer, sizeof(kOffer)) != 0) {
    fail("client ALPN");
  }
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
  SSL_CTX_sess_set_new_cb(ctx, onNewSession);
  SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nullptr);  // the client's cost is not measured
  return ctx;
}

bool wouldBlock(SSL* ssl, int rc) {
  const int err = SSL_get_error(ssl, rc);
  return err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE;
}

uint16_t negotiatedGroup(SSL* ssl) {
#ifdef OPENSSL_IS_BORINGSSL
  return SSL_get_curve_id(ssl);  // TLS group id: 29 is X25519
#else
  return SSL_get_negotiated_group(ssl) == NID_X25519 ? 29 : 0;
#endif
}

void checkSide(SSL* ssl, const char* side, bool resumed) {
  const std::string who = side;
  if (SSL_version(ssl) != TLS1_3_VERSION) {
    fail(who + ": not TLS 1.3");
  }
  const char* suite = SSL_CIPHER_standard_name(SSL_get_current_cipher(ssl));
  if (suite == nullptr || std::strcmp(suite, "TLS_AES_128_GCM_SHA256") != 0) {
    fail(who + ": suite " + (suite != nullptr ? suite : "(none)"));
  }
  if (negotiatedGroup(ssl) != 29) {
    fail(who + ": group is not X25519");
  }
  const unsigned char* alpn = nullptr;
  unsigned alpn_len = 0;
  SSL_get0_alpn_selected(ssl, &alpn, &alpn_len);
  if (std::string_view(reinterpret_cast<const char*>(alpn), alpn_len) != "http/1.1") {
    fail(who + ": ALPN is not http/1.1");
  }
  if ((SSL_session_reused(ssl) == 1) != resumed) {
    fail(who + (resumed ? ": not resumed" : ": resumed unexpectedly"));
  }
}

// The client saw the bench's ECDSA certificate (from the handshake, or the resumed session).
void checkServerKey(SSL* client) {
  STACK_OF(X509)* chain = SSL_get_peer_cert_chain(client);
  // X509_get_pubkey, not get0: the Android BoringSSL has no X509_get0_pubkey.
  EVP_PKEY* key = (chain != nullptr && sk_X509_num(chain) > 0)
                      ? X509_get_pubkey(sk_X509_value(chain, 0))
                      : nullptr;
  const bool ecdsa = key != nullptr && EVP_PKEY_id(key) == EVP_PKEY_EC;
  EVP_PKEY_free(key);
  if (!ecdsa) {
    fail("client: the server's certificate is not the ECDSA one");
  }
}

// Reads exactly `want` bytes of application data, pumping the handshake of the other side.
std::string readAll(SSL* ssl, size_t want, ServerMeter* meter) {
  std::string got(want, '\0');
  size_t have = 0;
  while (have < want) {
    int rc = 0;
    if (meter != nullptr) {
      rc = onServer(
          *meter, [&] { return SSL_read(ssl, got.data() + have, static_cast<int>(want - have)); });
    } else {
      rc = SSL_read(ssl, got.data() + have, static_cast<int>(want - have));
    }
    if (rc <= 0) {
      fail(std::string(meter != nullptr ? "server" : "client") + " read failed");
    }
    have += static_cast<size_t>(rc);
  }
  return got;
}

// One connection: handshake, request, response; the server's calls are metered.
void connection(SSL_CTX* server_ctx, SSL_CTX* client_ctx, bool resume, ServerMeter& meter) {
  BIO* client_bio = nullptr;
  BIO* server_bio = nullptr;
  if (BIO_new_bio_pair(&client_bio, 0, &server_bio, 0) != 1) {
    fail("BIO pair");
  }
  SSL* client = SSL_new(client_ctx);
  SSL_set_tlsext_host_name(client, "bench.test");
  if (resume) {
    if (g_newest_ticket == nullptr || SSL_set_session(client, g_newest_ticket) != 1) {
      fail("no ticket to resume from");
    }
  }
  SSL_set_bio(client, client_bio, client_bio);
  SSL_set_connect_state(client);
  SSL* server = onServer(meter, [&] {
    SSL* s = SSL_new(server_ctx);
    if (s != nullptr) {
      SSL_set_bio(s, server_bio, server_bio);
      SSL_set_accept_state(s);
    }
    return s;
  });
  if (server == nullptr) {
    fail("server SSL_new");
  }
  bool client_done = false;
  bool server_done = false;
  for (int round = 0; !(client_done && server_done); ++round) {
    if (round > 10) {
      fail("handshake does not finish");
    }
    if (!client_done) {
      const int rc = SSL_do_handshake(client);
      client_done = rc == 1;
      if (!client_done && !wouldBlock(client, rc)) {
        fail("client handshake");
      }
    }
    if (!server_done) {
      const int rc = onServer(meter, [&] { return SSL_do_handshake(server); });
      server_done = rc == 1;
      if (!server_done && !wouldBlock(server, rc)) {
        fail("server handshake");
      }
    }
  }
  const int tickets_before = g_tickets_received;
  if (SSL_write(client, kRequest.data(), static_cast<int>(kRequest.size())) !=
      static_cast<int>(kRequest.size())) {
    fail("client write");
  }
  if (readAll(server, kRequest.size(), &meter) != kRequest) {
    fail("server read the wrong request");
  }
  const int written = onServer(meter, [&] {
    return SSL_write(server, kResponse.data(), static_cast<int>(kResponse.size()));
  });
  if (written != static_cast<int>(kResponse.size())) {
    fail("server write");
  }
  if (readAll(client, kResponse.size(), nullptr) != kResponse) {
    fail("client read the wrong response");
  }
  checkSide(server, "server", resume);
  checkSide(client, "client", resume);
  checkServerKey(client);
  if (!resume && g_tickets_received == tickets_before) {
    fail("client received no ticket after a full handshake");
  }
  // A clean close on both sides (without the close_notify records): OpenSSL's SSL_free of an
  // unclosed connection removes its session from the cache and marks it not resumable.
  SSL_set_shutdown(client, SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
  SSL_free(client);
  onServer(meter, [&] {
    SSL_set_shutdown(server, SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
    SSL_free(server);
    return 0;
  });
}

struct Options {
  const char* cert = nullptr;
  const char* key = nullptr;
  int handshakes = 200;
  int repeats = 7;
  int warmup = 50;
  std::string mode = "both";
};

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    if (i + 1 >= argc) {
      fail("option without value: " + std::string(a));
    }
    const char* v = argv[++i];
    if (a == "--cert") {
      o.cert = v;
    } else if (a == "--key") {
      o.key = v;
    } else if (a == "--handshakes") {
      o.handshakes = std::atoi(v);
    } else if (a == "--repeats") {
      o.repeats = std::atoi(v);
    } else if (a == "--warmup") {
      o.warmup = std::atoi(v);
    } else if (a == "--mode") {
      o.mode = v;
    } else {
      fail("unknown option " + std::string(a));
    }
  }
  if (o.cert == nullptr || o.key == nullptr || o.handshakes < 1 || o.repeats < 1 || o.warmup < 0 ||
      (o.mode != "both" && o.mode != "full" && o.mode != "resumed")) {
    fail(
        "usage: --cert PEM --key PEM [--handshakes N] [--repeats R] [--warmup W] "
        "[--mode both|full|resumed]");
  }
  return o;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  const Options o = parse(argc, argv);
  SSL_CTX* server_ctx = serverContext(o.cert, o.key);
  SSL_CTX* client_ctx = clientContext();
  ServerMeter meter;
  // Warm-up, and the first ticket for the resumed case.
  for (int i = 0; i < std::max(o.warmup, 1); ++i) {
    connection(server_ctx, client_ctx, false, meter);
    connection(server_ctx, client_ctx, true, meter);
  }
  std::vector<std::string> cases;
  if (o.mode != "resumed") {
    cases.emplace_back("full");
  }
  if (o.mode != "full") {
    cases.emplace_back("resumed");
  }
  // Blocks round-robin over the cases, so a noisy neighbour hits both alike.
  std::vector<std::vector<double>> per_block(cases.size());
  std::vector<double> tickets(cases.size());  // tickets the server sent per handshake
  meter.counting = true;
  for (int r = 0; r < o.repeats; ++r) {
    for (size_t c = 0; c < cases.size(); ++c) {
      meter.seconds = 0;
      const int tickets_before = g_tickets_received;
      for (int i = 0; i < o.handshakes; ++i) {
        connection(server_ctx, client_ctx, cases[c] == "resumed", meter);
      }
      per_block[c].push_back(meter.seconds * 1e6 / o.handshakes);
      tickets[c] = static_cast<double>(g_tickets_received - tickets_before) / o.handshakes;
    }
  }
  for (size_t c = 0; c < cases.size(); ++c) {
    const auto [lo, hi] = std::minmax_element(per_block[c].begin(), per_block[c].end());
    std::printf("%-9s %-7s us/handshake median %.1f (blocks %.1f-%.1f) tickets %.1f n=%d\n",
                kLibrary, cases[c].c_str(), median(per_block[c]), *lo, *hi, tickets[c],
                o.repeats * o.handshakes);
  }
  if (g_newest_ticket != nullptr) {
    SSL_SESSION_free(g_newest_ticket);
  }
  SSL_CTX_free(client_ctx);
  SSL_CTX_free(server_ctx);
  return 0;
}
