// bench/tools/openssl_server.cpp — OpenSSL servers over memory BIOs, as tls::TlsStream drives
// them (SSL_do_handshake, then SSL_read until it wants more; both BIOs are memory BIOs).
#include "openssl_server.h"

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <chrono>
#include <unordered_map>

#include "tls/server_context.h"
#include "tls/ticket_keys.h"

namespace ballast::bench {
namespace {

constexpr size_t kRecordBytes = 16384;

class OpensslConnection final : public ServerConnection {
 public:
  explicit OpensslConnection(SSL_CTX* ctx)
      : ssl_(SSL_new(ctx)), rbio_(BIO_new(BIO_s_mem())), wbio_(BIO_new(BIO_s_mem())) {
    SSL_set_bio(ssl_, rbio_, wbio_);
    SSL_set_accept_state(ssl_);
  }
  ~OpensslConnection() override {
    // As TlsStream: a connection that ends without close_notify keeps its session cached.
    SSL_set_shutdown(ssl_, SSL_get_shutdown(ssl_) | SSL_SENT_SHUTDOWN);
    SSL_free(ssl_);
  }
  OpensslConnection(const OpensslConnection&) = delete;
  OpensslConnection& operator=(const OpensslConnection&) = delete;

  bool receive(const std::string& from_client, std::string* wire, std::string* plain) override {
    if (!from_client.empty() &&
        BIO_write(rbio_, from_client.data(), static_cast<int>(from_client.size())) <= 0) {
      return false;
    }
    if (SSL_is_init_finished(ssl_) == 0 && !wantsMore(SSL_do_handshake(ssl_))) {
      return false;
    }
    std::array<char, kRecordBytes> buf;  // NOLINT(cppcoreguidelines-pro-type-member-init)
    for (;;) {
      const int n = SSL_read(ssl_, buf.data(), static_cast<int>(buf.size()));
      if (n <= 0) {
        if (!wantsMore(n)) {
          return false;
        }
        break;
      }
      plain->append(buf.data(), static_cast<size_t>(n));
    }
    drain(wire);
    return true;
  }

  bool send(const std::string& plain, std::string* wire) override {
    if (SSL_write(ssl_, plain.data(), static_cast<int>(plain.size())) !=
        static_cast<int>(plain.size())) {
      return false;
    }
    drain(wire);
    return true;
  }

  bool handshakeDone() const override { return SSL_is_init_finished(ssl_) == 1; }
  std::string version() const override { return SSL_get_version(ssl_); }
  std::string cipher() const override { return SSL_get_cipher_name(ssl_); }
  bool resumed() const override { return SSL_session_reused(ssl_) == 1; }
  std::string error() const override { return tls::lastError(); }

 private:
  // SSL_do_handshake or SSL_read returned n: true unless that was a failure.
  bool wantsMore(int n) const {
    if (n == 1) {
      return true;
    }
    const int err = SSL_get_error(ssl_, n);
    return err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE;
  }
  void drain(std::string* wire) const {
    std::array<char, kRecordBytes> buf;  // NOLINT(cppcoreguidelines-pro-type-member-init)
    int n = 0;
    while ((n = BIO_read(wbio_, buf.data(), static_cast<int>(buf.size()))) > 0) {
      wire->append(buf.data(), static_cast<size_t>(n));
    }
  }

  SSL* ssl_;
  BIO* rbio_;
  BIO* wbio_;
};

// (a) Ballast's own listener contexts, built from a config as the control thread builds them.
class BallastServer final : public ServerFactory {
 public:
  explicit BallastServer(std::shared_ptr<tls::ServerContext> ctx) : ctx_(std::move(ctx)) {}
  std::unique_ptr<ServerConnection> accept() override {
    return std::make_unique<OpensslConnection>(ctx_->initial());
  }

 private:
  std::shared_ptr<tls::ServerContext> ctx_;
};

// (c) The same settings as tls::ServerContext (server_context.cpp's applyPolicy, SNI and ALPN
// callbacks, the ticket key ring) in an OSSL_LIB_CTX of its own. Mirrored rather than reused
// because ServerContext has no way to pass a library context in.
class OwnLibctxServer final : public ServerFactory {
 public:
  ~OwnLibctxServer() override {
    SSL_CTX_free(ctx_);
    OSSL_LIB_CTX_free(libctx_);
  }
  bool build(const BenchIdentity& id, Tickets tickets, std::string* error) {
    libctx_ = OSSL_LIB_CTX_new();
    ctx_ = libctx_ != nullptr ? SSL_CTX_new_ex(libctx_, nullptr, TLS_server_method()) : nullptr;
    if (ctx_ == nullptr || SSL_CTX_use_certificate_chain_file(ctx_, id.cert_path.c_str()) != 1 ||
        SSL_CTX_use_PrivateKey_file(ctx_, id.key_path.c_str(), SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_set_ciphersuites(
            ctx_, "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256") !=
            1) {
      *error = "own OSSL_LIB_CTX: " + tls::lastError();
      return false;
    }
    SSL_CTX_set_min_proto_version(ctx_, TLS1_2_VERSION);
    SSL_CTX_set_options(
        ctx_, SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION);
    if (tickets != Tickets::kStateless) {
      SSL_CTX_set_options(ctx_, SSL_OP_NO_TICKET);
    }
    SSL_CTX_set_num_tickets(ctx_, tickets == Tickets::kNone ? 0 : 1);
    SSL_CTX_set_session_cache_mode(ctx_, SSL_SESS_CACHE_SERVER);
    SSL_CTX_sess_set_cache_size(ctx_, 20'000);
    static constexpr unsigned char kSessionId[] = "ballast";
    SSL_CTX_set_session_id_context(ctx_, kSessionId, sizeof(kSessionId) - 1);
    SSL_CTX_set_mode(ctx_, SSL_MODE_RELEASE_BUFFERS);
    ring_ = tls::TicketKeyRing::forListener("bench-own-libctx", std::chrono::hours(1));
    ring_->install(ctx_);
    SSL_CTX_set_tlsext_servername_callback(ctx_, onServerName);
    SSL_CTX_set_tlsext_servername_arg(ctx_, this);
    SSL_CTX_set_alpn_select_cb(ctx_, onAlpn, nullptr);
    names_.emplace(kBenchHost, ctx_);
    return true;
  }
  std::unique_ptr<ServerConnection> accept() override {
    return std::make_unique<OpensslConnection>(ctx_);
  }

 private:
  // As Ballast's onServerName: look the name up, switch context when another one covers it.
  static int onServerName(SSL* ssl, int* /*alert*/, void* arg) {
    const char* name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
    if (name == nullptr) {
      return SSL_TLSEXT_ERR_OK;
    }
    const auto* self = static_cast<const OwnLibctxServer*>(arg);
    std::string key(name);
    std::transform(key.begin(), key.end(), key.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    const auto it = self->names_.find(key);
    SSL_CTX* chosen = it != self->names_.end() ? it->second : self->ctx_;
    if (chosen != SSL_get_SSL_CTX(ssl)) {
      SSL_set_SSL_CTX(ssl, chosen);
    }
    return SSL_TLSEXT_ERR_OK;
  }
  static int onAlpn(SSL* /*ssl*/, const unsigned char** out, unsigned char* outlen,
                    const unsigned char* in, unsigned int inlen, void* /*arg*/) {
    static constexpr unsigned char kOurs[] = "\x08http/1.1";
    unsigned char* selected = nullptr;
    if (SSL_select_next_proto(&selected, outlen, kOurs, sizeof(kOurs) - 1, in, inlen) !=
        OPENSSL_NPN_NEGOTIATED) {
      return SSL_TLSEXT_ERR_ALERT_FATAL;
    }
    *out = selected;
    return SSL_TLSEXT_ERR_OK;
  }

  OSSL_LIB_CTX* libctx_ = nullptr;
  SSL_CTX* ctx_ = nullptr;
  std::shared_ptr<tls::TicketKeyRing> ring_;
  std::unordered_map<std::string, SSL_CTX*> names_;
};

}  // namespace

std::unique_ptr<ServerFactory> makeOpensslServer(const BenchIdentity& id,
                                                 const OpensslServerOptions& options,
                                                 std::string* error) {
  if (options.own_libctx) {
    auto server = std::make_unique<OwnLibctxServer>();
    if (!server->build(id, options.tickets, error)) {
      return nullptr;
    }
    return server;
  }
  config::TlsServerSettings settings;
  settings.certificates.push_back({id.cert_path, id.key_path, ""});
  settings.session_tickets = options.tickets == Tickets::kStateless;
  auto ctx = tls::ServerContext::build("bench", settings, error);
  if (!ctx) {
    return nullptr;
  }
  if (options.tickets == Tickets::kNone) {
    SSL_CTX_set_num_tickets(ctx->initial(), 0);
  }
  return std::make_unique<BallastServer>(std::move(ctx));
}

}  // namespace ballast::bench
