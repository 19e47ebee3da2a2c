// bench/tools/wolfssl_feature_probe.cpp — checks, on the installed wolfSSL, the listener features
// docs/benchmarks.md ("TLS handshake cost by library") reports beyond what headers and exported
// symbols say: RSA beside ECDSA in one context, switching context from the SNI callback, the
// session cache size, and whether the OCSP status callback is called. A wolfSSL client and server
// talk TLS 1.3 over a socketpair (no network). Run it through wolfssl_feature_probe.sh, which
// makes the certificates. Prints one line per fact; exits 1 only when the probe itself breaks.
//
// wolfSSL headers only: they cannot share a translation unit with OpenSSL's.

// clang-format off
#include <wolfssl/options.h>  // must come first: the build's feature macros
#include <wolfssl/ssl.h>
// clang-format on

#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>

namespace {

std::string g_dir;
WOLFSSL_CTX* g_other = nullptr;  // the context the SNI callback switches to
int g_status_calls = 0;

std::string path(const char* name) { return g_dir + "/" + name; }

WOLFSSL_CTX* serverWith(const char* cert, const char* key) {
  WOLFSSL_CTX* ctx = wolfSSL_CTX_new(wolfSSLv23_server_method());
  if (ctx == nullptr ||
      wolfSSL_CTX_use_certificate_chain_file(ctx, path(cert).c_str()) != WOLFSSL_SUCCESS ||
      wolfSSL_CTX_use_PrivateKey_file(ctx, path(key).c_str(), WOLFSSL_FILETYPE_PEM) !=
          WOLFSSL_SUCCESS) {
    std::fprintf(stderr, "cannot load %s / %s from %s\n", cert, key, g_dir.c_str());
    std::exit(1);
  }
  return ctx;
}

int onServerName(WOLFSSL* ssl, int* /*alert*/, void* /*arg*/) {
  const char* name = wolfSSL_get_servername(ssl, WOLFSSL_SNI_HOST_NAME);
  if (name != nullptr && std::strcmp(name, "other.test") == 0) {
    wolfSSL_set_SSL_CTX(ssl, g_other);
  }
  return 0;
}

int onStatus(WOLFSSL* ssl, void* /*arg*/) {
  ++g_status_calls;
  // A syntactically valid OCSPResponse (status successful, no body): enough to see it sent.
  static constexpr unsigned char kResponse[] = {0x30, 0x03, 0x0a, 0x01, 0x00};
  auto* copy = static_cast<unsigned char*>(std::malloc(sizeof(kResponse)));
  std::memcpy(copy, kResponse, sizeof(kResponse));
  wolfSSL_set_tlsext_status_ocsp_resp(ssl, copy, sizeof(kResponse));
  return 0;
}

struct ClientOptions {
  const char* sigalgs = nullptr;  // restrict what the client accepts
  const char* server_name = nullptr;
  bool ask_status = false;
  bool verify = false;  // check the chain (and so a stapled response) against ca.pem
};

// One TLS 1.3 handshake; what the client saw: the certificate's subject and key type, or the
// errors on both sides.
std::string handshake(WOLFSSL_CTX* server_ctx, const ClientOptions& o) {
  int fds[2];
  if (socketpair(AF_UNIX, SOCK_STREAM, 0, fds) != 0) {
    std::perror("socketpair");
    std::exit(1);
  }
  int server_error = 0;
  std::thread server([&] {
    WOLFSSL* s = wolfSSL_new(server_ctx);
    wolfSSL_set_fd(s, fds[0]);
    const int r = wolfSSL_accept(s);
    if (r != WOLFSSL_SUCCESS) {
      server_error = wolfSSL_get_error(s, r);
    } else {
      wolfSSL_write(s, "x", 1);  // the client reads it: neither side closes mid-handshake
    }
    wolfSSL_shutdown(s);
    wolfSSL_free(s);
    close(fds[0]);
  });
  WOLFSSL_CTX* ctx = wolfSSL_CTX_new(wolfTLSv1_3_client_method());
  if (o.verify) {
    wolfSSL_CTX_load_verify_locations(ctx, path("ca.pem").c_str(), nullptr);
  }
  wolfSSL_CTX_set_verify(ctx, o.verify ? WOLFSSL_VERIFY_PEER : WOLFSSL_VERIFY_NONE, nullptr);
  if (o.ask_status) {
    wolfSSL_CTX_EnableOCSPStapling(ctx);
  }
  WOLFSSL* c = wolfSSL_new(ctx);
  if (o.sigalgs != nullptr) {
    wolfSSL_set1_sigalgs_list(c, o.sigalgs);
  }
  if (o.server_name != nullptr) {
    wolfSSL_UseSNI(c, WOLFSSL_SNI_HOST_NAME, o.server_name,
                   static_cast<unsigned short>(std::strlen(o.server_name)));
  }
  if (o.ask_status) {
    wolfSSL_UseOCSPStapling(c, WOLFSSL_CSR_OCSP, 0);
  }
  wolfSSL_set_fd(c, fds[1]);
  std::string out;
  const int r = wolfSSL_connect(c);
  if (r != WOLFSSL_SUCCESS) {
    out = "client error " + std::to_string(wolfSSL_get_error(c, r));
  } else {
    std::array<char, 1> byte{};
    wolfSSL_read(c, byte.data(), 1);
    WOLFSSL_X509* cert = wolfSSL_get_peer_certificate(c);
    std::array<char, 256> subject{};
    wolfSSL_X509_NAME_oneline(wolfSSL_X509_get_subject_name(cert), subject.data(),
                              static_cast<int>(subject.size()));
    WOLFSSL_EVP_PKEY* key = wolfSSL_X509_get_pubkey(cert);
    out = std::string(subject.data()) +
          (wolfSSL_EVP_PKEY_base_id(key) == EVP_PKEY_EC ? " ECDSA" : " RSA");
    wolfSSL_EVP_PKEY_free(key);
    wolfSSL_X509_free(cert);
    unsigned char* staple = nullptr;
    if (o.ask_status) {
      out += ", stapled response of " +
             std::to_string(wolfSSL_get_tlsext_status_ocsp_resp(c, &staple)) + " bytes";
    }
  }
  wolfSSL_shutdown(c);
  wolfSSL_free(c);
  close(fds[1]);
  server.join();
  wolfSSL_CTX_free(ctx);
  if (server_error != 0) {
    out += ", server error " + std::to_string(server_error);
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: wolfssl_feature_probe CERT_DIR (see wolfssl_feature_probe.sh)\n");
    return 2;
  }
  g_dir = argv[1];
  std::signal(SIGPIPE, SIG_IGN);  // a side that gives up closes its end mid-handshake
  wolfSSL_Init();
  std::printf("wolfSSL %s\n", wolfSSL_lib_version());

  // Ballast serves an RSA and an ECDSA certificate with the same names from one context.
  WOLFSSL_CTX* dual = serverWith("ec.pem", "ec.key");
  const bool rsa_loaded =
      wolfSSL_CTX_use_certificate_chain_file(dual, path("rsa.pem").c_str()) == WOLFSSL_SUCCESS &&
      wolfSSL_CTX_use_PrivateKey_file(dual, path("rsa.key").c_str(), WOLFSSL_FILETYPE_PEM) ==
          WOLFSSL_SUCCESS;
  std::printf("dual certificates: RSA loaded after ECDSA: %s\n", rsa_loaded ? "yes" : "no");
  std::printf("  client taking any: %s\n", handshake(dual, {}).c_str());
  std::printf("  client taking ECDSA only: %s\n", handshake(dual, {"ECDSA+SHA256"}).c_str());
  std::printf("  client taking RSA-PSS only: %s\n", handshake(dual, {"RSA-PSS+SHA256"}).c_str());

  // SNI: the callback moves the connection to the context holding the named certificate.
  WOLFSSL_CTX* first = serverWith("chain.pem", "leaf.key");
  g_other = serverWith("other.pem", "other.key");
  wolfSSL_CTX_set_servername_callback(first, onServerName);
  std::printf("SNI bench.test: %s\n", handshake(first, {nullptr, "bench.test"}).c_str());
  std::printf("SNI other.test: %s\n", handshake(first, {nullptr, "other.test"}).c_str());

  const long set = wolfSSL_CTX_sess_set_cache_size(first, 20'000);
  std::printf("session cache: set_cache_size(20000) returns %ld, size now %ld\n", set,
              wolfSSL_CTX_sess_get_cache_size(first));

  // OCSP stapling as Ballast does it: a status callback hands over the response from a file.
  wolfSSL_CTX_EnableOCSPStapling(first);
  wolfSSL_CTX_load_verify_locations(first, path("ca.pem").c_str(), nullptr);
  wolfSSL_CTX_set_tlsext_status_cb(first, onStatus);
  const std::string unverified = handshake(first, {nullptr, "bench.test", true});
  std::printf("OCSP status request: %s; status callback called %d times\n", unverified.c_str(),
              g_status_calls);
  // A verifying client checks the staple: the placeholder response must fail it if it arrived.
  const std::string verified = handshake(first, {nullptr, "bench.test", true, true});
  std::printf("  same, client verifying: %s; status callback called %d times\n", verified.c_str(),
              g_status_calls);
  const std::string no_status = handshake(first, {nullptr, "bench.test", false, true});
  std::printf("  client verifying, no status request: %s\n", no_status.c_str());

  // The same callback on a context whose certificate is self-signed (as Ballast's placeholder
  // before ACME delivers), without EnableOCSPStapling.
  WOLFSSL_CTX* self_signed = serverWith("ec.pem", "ec.key");
  wolfSSL_CTX_set_tlsext_status_cb(self_signed, onStatus);
  std::printf("  self-signed certificate, status request: %s\n",
              handshake(self_signed, {nullptr, nullptr, true}).c_str());
  wolfSSL_CTX_free(self_signed);

  wolfSSL_CTX_free(g_other);
  wolfSSL_CTX_free(first);
  wolfSSL_CTX_free(dual);
  wolfSSL_Cleanup();
  return 0;
}
