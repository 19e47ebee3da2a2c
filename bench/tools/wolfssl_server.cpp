// bench/tools/wolfssl_server.cpp — a wolfSSL server with Ballast's listener settings, over
// memory buffers (wolfSSL's I/O callbacks, the equivalent of OpenSSL's memory BIOs).
//
// Only wolfSSL's native API is used, and this is the only file that includes wolfSSL headers:
// Debian's build defines OPENSSL_EXTRA, under which <wolfssl/openssl/*.h> would #define SSL_*
// and friends onto wolfSSL's functions and clash with OpenSSL's declarations.
//
// Ballast's settings (src/tls/server_context.cpp) and what stands for each here:
//   TLS 1.2 minimum, its TLS 1.3 suites in its order  -> SetMinVersion, set_cipher_list
//   server preference                                  -> wolfSSL's default (server order)
//   X25519 first                                       -> set_groups {X25519, P-256, P-384}
//   one session ticket per handshake                   -> set_num_tickets(1)
//   ticket key callback (AES-256-CBC + HMAC-SHA256)    -> wolfSSL's built-in ticket callback
//                                                         (one key per context)
//   server session cache, id context "ballast"         -> the default cache, set_session_id_context
//   SNI callback that may switch context               -> set_servername_callback (+ set_SSL_CTX)
//   ALPN select callback (http/1.1)                    -> set_alpn_select_cb
#include "wolfssl_server.h"

// clang-format off
#include <wolfssl/options.h>  // must come first: the build's feature macros
#include <wolfssl/ssl.h>
// clang-format on

#include <algorithm>
#include <array>
#include <cctype>
#include <cstring>
#include <unordered_map>

namespace ballast::bench {
namespace {

constexpr size_t kRecordBytes = 16384;
constexpr const char* kCipherList =
    "TLS13-AES128-GCM-SHA256:TLS13-AES256-GCM-SHA384:TLS13-CHACHA20-POLY1305-SHA256:"
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
    "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";
// wolfSSL's callback return codes, as the OpenSSL-compatible header spells them.
constexpr int kExtensionOk = 0;
constexpr int kExtensionFatal = fatal_return;

std::string errorText(int code) {
  std::array<char, WOLFSSL_MAX_ERROR_SZ> buf{};
  wolfSSL_ERR_error_string_n(static_cast<unsigned long>(code), buf.data(), buf.size());
  return std::to_string(code) + " " + buf.data();
}

class WolfConnection final : public ServerConnection {
 public:
  explicit WolfConnection(WOLFSSL_CTX* ctx) : ssl_(wolfSSL_new(ctx)) {
    wolfSSL_SetIOReadCtx(ssl_, this);
    wolfSSL_SetIOWriteCtx(ssl_, this);
  }
  ~WolfConnection() override { wolfSSL_free(ssl_); }
  WolfConnection(const WolfConnection&) = delete;
  WolfConnection& operator=(const WolfConnection&) = delete;

  bool receive(const std::string& from_client, std::string* wire, std::string* plain) override {
    in_.erase(0, in_pos_);
    in_pos_ = 0;
    in_ += from_client;
    out_ = wire;
    bool ok = true;
    if (!done_) {
      const int r = wolfSSL_accept(ssl_);
      if (r == WOLFSSL_SUCCESS) {
        done_ = true;
      } else {
        ok = wantsMore(r);
      }
    }
    std::array<char, kRecordBytes> buf;  // NOLINT(cppcoreguidelines-pro-type-member-init)
    while (ok && done_) {
      const int n = wolfSSL_read(ssl_, buf.data(), static_cast<int>(buf.size()));
      if (n <= 0) {
        ok = wantsMore(n);
        break;
      }
      plain->append(buf.data(), static_cast<size_t>(n));
    }
    out_ = nullptr;
    return ok;
  }

  bool send(const std::string& plain, std::string* wire) override {
    out_ = wire;
    const int n = wolfSSL_write(ssl_, plain.data(), static_cast<int>(plain.size()));
    out_ = nullptr;
    if (n != static_cast<int>(plain.size())) {
      last_error_ = wolfSSL_get_error(ssl_, n);
      return false;
    }
    return true;
  }

  bool handshakeDone() const override { return done_; }
  std::string version() const override { return wolfSSL_get_version(ssl_); }
  std::string cipher() const override { return wolfSSL_get_cipher_name(ssl_); }
  bool resumed() const override { return wolfSSL_session_reused(ssl_) == 1; }
  std::string error() const override { return errorText(last_error_); }

  static int onReceive(WOLFSSL* /*ssl*/, char* buf, int size, void* arg) {
    auto* self = static_cast<WolfConnection*>(arg);
    const size_t left = self->in_.size() - self->in_pos_;
    if (left == 0) {
      return WOLFSSL_CBIO_ERR_WANT_READ;
    }
    const size_t n = std::min(left, static_cast<size_t>(size));
    std::memcpy(buf, self->in_.data() + self->in_pos_, n);
    self->in_pos_ += n;
    return static_cast<int>(n);
  }
  static int onSend(WOLFSSL* /*ssl*/, char* buf, int size, void* arg) {
    auto* self = static_cast<WolfConnection*>(arg);
    if (self->out_ == nullptr) {
      return WOLFSSL_CBIO_ERR_WANT_WRITE;  // only inside receive() and send()
    }
    self->out_->append(buf, static_cast<size_t>(size));
    return size;
  }

 private:
  bool wantsMore(int r) {
    const int err = wolfSSL_get_error(ssl_, r);
    if (err == WOLFSSL_ERROR_WANT_READ || err == WOLFSSL_ERROR_WANT_WRITE) {
      return true;
    }
    last_error_ = err;
    return false;
  }

  WOLFSSL* ssl_;
  std::string in_;
  size_t in_pos_ = 0;
  std::string* out_ = nullptr;
  bool done_ = false;
  int last_error_ = 0;
};

class WolfServer final : public ServerFactory {
 public:
  ~WolfServer() override { wolfSSL_CTX_free(ctx_); }

  bool build(const BenchIdentity& id, const WolfServerOptions& options, std::string* error) {
    ctx_ = wolfSSL_CTX_new(wolfSSLv23_server_method());
    if (ctx_ == nullptr) {
      *error = "wolfSSL_CTX_new failed";
      return false;
    }
    std::array<int, 3> groups{WOLFSSL_ECC_X25519, WOLFSSL_ECC_SECP256R1, WOLFSSL_ECC_SECP384R1};
    static constexpr unsigned char kSessionId[] = "ballast";
    const auto check = [&](int r, const char* what) {
      if (r != WOLFSSL_SUCCESS) {
        *error = std::string(what) + ": " + errorText(r);
      }
      return r == WOLFSSL_SUCCESS;
    };
    if (!check(wolfSSL_CTX_use_certificate_chain_buffer(
                   ctx_, reinterpret_cast<const unsigned char*>(id.cert_pem.data()),
                   static_cast<long>(id.cert_pem.size())),
               "certificate") ||
        !check(wolfSSL_CTX_use_PrivateKey_buffer(
                   ctx_, reinterpret_cast<const unsigned char*>(id.key_pem.data()),
                   static_cast<long>(id.key_pem.size()), WOLFSSL_FILETYPE_PEM),
               "key") ||
        !check(wolfSSL_CTX_SetMinVersion(ctx_, WOLFSSL_TLSV1_2), "min version") ||
        !check(wolfSSL_CTX_set_cipher_list(ctx_, kCipherList), "cipher list") ||
        !check(wolfSSL_CTX_set_groups(ctx_, groups.data(), static_cast<int>(groups.size())),
               "groups") ||
        !check(wolfSSL_CTX_set_session_id_context(ctx_, kSessionId, sizeof(kSessionId) - 1),
               "session id context")) {
      return false;
    }
    if (options.tickets) {
      if (!check(wolfSSL_CTX_set_num_tickets(ctx_, 1), "tickets")) {
        return false;
      }
    } else {
      wolfSSL_CTX_no_ticket_TLSv13(ctx_);
      wolfSSL_CTX_NoTicketTLSv12(ctx_);
    }
    wolfSSL_CTX_SetIORecv(ctx_, &WolfConnection::onReceive);
    wolfSSL_CTX_SetIOSend(ctx_, &WolfConnection::onSend);
    wolfSSL_CTX_set_servername_callback(ctx_, &WolfServer::onServerName);
    wolfSSL_CTX_set_servername_arg(ctx_, this);
    wolfSSL_CTX_set_alpn_select_cb(ctx_, &WolfServer::onAlpn, nullptr);
    names_.emplace(kBenchHost, ctx_);
    return true;
  }

  std::unique_ptr<ServerConnection> accept() override {
    return std::make_unique<WolfConnection>(ctx_);
  }

 private:
  // As Ballast's onServerName: look the name up, switch context when another one covers it.
  static int onServerName(WOLFSSL* ssl, int* /*alert*/, void* arg) {
    const char* name = wolfSSL_get_servername(ssl, WOLFSSL_SNI_HOST_NAME);
    if (name == nullptr) {
      return kExtensionOk;
    }
    const auto* self = static_cast<const WolfServer*>(arg);
    std::string key(name);
    std::transform(key.begin(), key.end(), key.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    const auto it = self->names_.find(key);
    WOLFSSL_CTX* chosen = it != self->names_.end() ? it->second : self->ctx_;
    if (chosen != wolfSSL_get_SSL_CTX(ssl)) {
      wolfSSL_set_SSL_CTX(ssl, chosen);
    }
    return kExtensionOk;
  }
  static int onAlpn(WOLFSSL* /*ssl*/, const unsigned char** out, unsigned char* outlen,
                    const unsigned char* in, unsigned int inlen, void* /*arg*/) {
    static constexpr unsigned char kOurs[] = "\x08http/1.1";
    unsigned char* selected = nullptr;
    if (wolfSSL_select_next_proto(&selected, outlen, kOurs, sizeof(kOurs) - 1, in, inlen) !=
        1) {  // OPENSSL_NPN_NEGOTIATED
      return kExtensionFatal;
    }
    *out = selected;
    return kExtensionOk;
  }

  WOLFSSL_CTX* ctx_ = nullptr;
  std::unordered_map<std::string, WOLFSSL_CTX*> names_;
};

}  // namespace

std::unique_ptr<ServerFactory> makeWolfServer(const BenchIdentity& id,
                                              const WolfServerOptions& options,
                                              std::string* error) {
  static const bool initialized = wolfSSL_Init() == WOLFSSL_SUCCESS;
  if (!initialized) {
    *error = "wolfSSL_Init failed";
    return nullptr;
  }
  auto server = std::make_unique<WolfServer>();
  if (!server->build(id, options, error)) {
    return nullptr;
  }
  return server;
}

std::string wolfVersion() { return std::string("wolfSSL ") + wolfSSL_lib_version(); }

}  // namespace ballast::bench
