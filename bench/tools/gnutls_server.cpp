// bench/tools/gnutls_server.cpp — a GnuTLS server with Ballast's listener settings, over memory
// buffers (GnuTLS's push/pull transport callbacks, the equivalent of OpenSSL's memory BIOs).
// GnuTLS exports no OpenSSL names (unlike wolfSSL); it has a file of its own like wolfSSL's
// server all the same, so that each library's server reads on its own.
//
// Ballast's settings (src/tls/server_context.cpp) and what stands for each here:
//   TLS 1.3 suites, AES-128-GCM first, server order  -> priority string (kPriority), TLS 1.3 only
//   X25519 first                                     -> GROUP-X25519 first in kPriority
//   one session ticket per handshake                 -> GNUTLS_NO_AUTO_SEND_TICKET, then
//                                                       gnutls_session_ticket_send(1) per handshake
//                                                       (resumed ones too, as Ballast does since
//                                                       5bfa7aa)
//   ticket key callback (shared key ring)            -> gnutls_session_ticket_enable_server with
//                                                       one master key made at start (GnuTLS
//                                                       derives and rotates its keys from it)
//   SNI callback that may switch context             -> post-client-hello function: looks the
//                                                       name up, sets that name's credentials
//   ALPN select callback (http/1.1)                  -> gnutls_alpn_set_protocols, server order
#include "gnutls_server.h"

#include <gnutls/gnutls.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <unordered_map>

namespace ballast::bench {
namespace {

constexpr size_t kRecordBytes = 16384;
// TLS 1.3 only (the bench's checks require it; the client offers 1.2 too). Server precedence
// makes AES-128-GCM win over the client's AES-256-GCM-first order, as Ballast's
// SSL_OP_CIPHER_SERVER_PREFERENCE does.
constexpr const char* kPriority =
    "NONE:+VERS-TLS1.3:+AES-128-GCM:+AES-256-GCM:+CHACHA20-POLY1305:+AEAD:"
    "+SIGN-ECDSA-SECP256R1-SHA256:+SIGN-ECDSA-SHA256:+SIGN-RSA-PSS-RSAE-SHA256:"
    "+GROUP-X25519:+GROUP-SECP256R1:+GROUP-SECP384R1:+CTYPE-X509:+COMP-NULL:%SERVER_PRECEDENCE";
constexpr const char* kPriorityP256First =
    "NONE:+VERS-TLS1.3:+AES-128-GCM:+AES-256-GCM:+CHACHA20-POLY1305:+AEAD:"
    "+SIGN-ECDSA-SECP256R1-SHA256:+SIGN-ECDSA-SHA256:+SIGN-RSA-PSS-RSAE-SHA256:"
    "+GROUP-SECP256R1:+GROUP-X25519:+GROUP-SECP384R1:+CTYPE-X509:+COMP-NULL:%SERVER_PRECEDENCE";

std::string errorText(int code) { return std::to_string(code) + " " + gnutls_strerror(code); }

gnutls_datum_t datum(const std::string& s) {
  // GnuTLS takes non-const pointers but only reads through them here.
  return {reinterpret_cast<unsigned char*>(const_cast<char*>(s.data())),
          static_cast<unsigned int>(s.size())};
}

class GnutlsServer;

class GnutlsConnection final : public ServerConnection {
 public:
  GnutlsConnection(const GnutlsServer& server, bool* ok, std::string* error);
  ~GnutlsConnection() override { gnutls_deinit(session_); }
  GnutlsConnection(const GnutlsConnection&) = delete;
  GnutlsConnection& operator=(const GnutlsConnection&) = delete;

  bool receive(const std::string& from_client, std::string* wire, std::string* plain) override {
    in_.erase(0, in_pos_);
    in_pos_ = 0;
    in_ += from_client;
    out_ = wire;
    bool ok = true;
    if (!done_) {
      const int r = gnutls_handshake(session_);
      if (r == GNUTLS_E_SUCCESS) {
        done_ = true;
        ok = sendTicket();
      } else {
        ok = wantsMore(r);
      }
    }
    std::array<char, kRecordBytes> buf;  // NOLINT(cppcoreguidelines-pro-type-member-init)
    while (ok && done_) {
      const ssize_t n = gnutls_record_recv(session_, buf.data(), buf.size());
      if (n <= 0) {
        ok = n != 0 && wantsMore(static_cast<int>(n));
        break;
      }
      plain->append(buf.data(), static_cast<size_t>(n));
    }
    out_ = nullptr;
    return ok;
  }

  bool send(const std::string& plain, std::string* wire) override {
    out_ = wire;
    const ssize_t n = gnutls_record_send(session_, plain.data(), plain.size());
    out_ = nullptr;
    if (n != static_cast<ssize_t>(plain.size())) {
      last_error_ = static_cast<int>(n);
      return false;
    }
    return true;
  }

  bool handshakeDone() const override { return done_; }
  std::string version() const override {
    // "TLS1.3" in GnuTLS's spelling; the bench compares OpenSSL's.
    const gnutls_protocol_t v = gnutls_protocol_get_version(session_);
    return v == GNUTLS_TLS1_3 ? "TLSv1.3" : gnutls_protocol_get_name(v);
  }
  std::string cipher() const override {
    const char* name = gnutls_ciphersuite_get(session_);
    return name != nullptr ? name : "(none)";
  }
  bool resumed() const override { return gnutls_session_is_resumed(session_) != 0; }
  std::string error() const override { return errorText(last_error_); }

 private:
  static ssize_t onPull(gnutls_transport_ptr_t ptr, void* buf, size_t size) {
    auto* self = static_cast<GnutlsConnection*>(ptr);
    const size_t left = self->in_.size() - self->in_pos_;
    if (left == 0) {
      gnutls_transport_set_errno(self->session_, EAGAIN);
      return -1;
    }
    const size_t n = std::min(left, size);
    std::memcpy(buf, self->in_.data() + self->in_pos_, n);
    self->in_pos_ += n;
    return static_cast<ssize_t>(n);
  }
  // GnuTLS's manual asks for one with any custom pull function; under GNUTLS_NONBLOCK it is not
  // called, but it must not fall back to select() on the transport pointer as a descriptor.
  static int onPullTimeout(gnutls_transport_ptr_t ptr, unsigned int /*ms*/) {
    const auto* self = static_cast<const GnutlsConnection*>(ptr);
    return self->in_.size() > self->in_pos_ ? 1 : 0;
  }
  static ssize_t onPush(gnutls_transport_ptr_t ptr, const void* buf, size_t size) {
    auto* self = static_cast<GnutlsConnection*>(ptr);
    if (self->out_ == nullptr) {
      gnutls_transport_set_errno(self->session_, EAGAIN);  // only inside receive() and send()
      return -1;
    }
    self->out_->append(static_cast<const char*>(buf), size);
    return static_cast<ssize_t>(size);
  }

  bool sendTicket() {
    if (!tickets_) {
      return true;
    }
    const int r = gnutls_session_ticket_send(session_, 1, 0);
    if (r != GNUTLS_E_SUCCESS) {
      last_error_ = r;
      return false;
    }
    return true;
  }
  bool wantsMore(int r) {
    if (r == GNUTLS_E_AGAIN || r == GNUTLS_E_INTERRUPTED) {
      return true;
    }
    last_error_ = r;
    return false;
  }

  gnutls_session_t session_ = nullptr;
  bool tickets_ = false;
  std::string in_;
  size_t in_pos_ = 0;
  std::string* out_ = nullptr;
  bool done_ = false;
  int last_error_ = 0;
};

class GnutlsServer final : public ServerFactory {
 public:
  ~GnutlsServer() override {
    if (ticket_key_.data != nullptr) {
      gnutls_memset(ticket_key_.data, 0, ticket_key_.size);
      gnutls_free(ticket_key_.data);
    }
    gnutls_priority_deinit(priority_);
    gnutls_certificate_free_credentials(credentials_);
  }

  bool build(const BenchIdentity& id, const GnutlsServerOptions& options, std::string* error) {
    const auto check = [&](int r, const char* what) {
      if (r < 0) {
        *error = std::string(what) + ": " + errorText(r);
      }
      return r >= 0;
    };
    const gnutls_datum_t cert = datum(id.cert_pem);
    const gnutls_datum_t key = datum(id.key_pem);
    const char* bad_at = nullptr;
    if (!check(gnutls_certificate_allocate_credentials(&credentials_), "credentials") ||
        !check(gnutls_certificate_set_x509_key_mem(credentials_, &cert, &key, GNUTLS_X509_FMT_PEM),
               "certificate and key") ||
        !check(gnutls_priority_init(&priority_,
                                    options.prefer_p256 ? kPriorityP256First : kPriority, &bad_at),
               "priority string")) {
      if (bad_at != nullptr) {
        *error += std::string(" at \"") + bad_at + "\"";
      }
      return false;
    }
    tickets_ = options.tickets;
    if (tickets_ && !check(gnutls_session_ticket_key_generate(&ticket_key_), "ticket key")) {
      return false;
    }
    names_.emplace(kBenchHost, credentials_);
    return true;
  }

  std::unique_ptr<ServerConnection> accept() override {
    bool ok = false;
    std::string error;
    auto conn = std::make_unique<GnutlsConnection>(*this, &ok, &error);
    if (!ok) {
      std::fprintf(stderr, "gnutls: cannot set up a session: %s\n", error.c_str());
      std::abort();  // a setup that worked for the first session cannot fail later
    }
    return conn;
  }

  // Sets one session up as the listener would; false and *error if GnuTLS refuses.
  bool configure(gnutls_session_t session, std::string* error) const {
    static const std::string kAlpn = "http/1.1";
    const gnutls_datum_t alpn = datum(kAlpn);
    const auto check = [&](int r, const char* what) {
      if (r < 0) {
        *error = std::string(what) + ": " + errorText(r);
      }
      return r >= 0;
    };
    if (!check(gnutls_priority_set(session, priority_), "priority") ||
        !check(gnutls_credentials_set(session, GNUTLS_CRD_CERTIFICATE, credentials_),
               "credentials") ||
        !check(gnutls_alpn_set_protocols(session, &alpn, 1, GNUTLS_ALPN_SERVER_PRECEDENCE),
               "ALPN") ||
        (tickets_ &&
         !check(gnutls_session_ticket_enable_server(session, &ticket_key_), "tickets"))) {
      return false;
    }
    gnutls_session_set_ptr(session, const_cast<GnutlsServer*>(this));
    gnutls_handshake_set_post_client_hello_function(session, &GnutlsServer::onClientHello);
    gnutls_handshake_set_timeout(session, 0);  // the bench drives it; no clock
    return true;
  }
  bool tickets() const { return tickets_; }

 private:
  // As Ballast's onServerName: look the name up, use that name's certificate when another set
  // covers it.
  static int onClientHello(gnutls_session_t session) {
    std::array<char, 256> name{};
    size_t size = name.size();
    unsigned int type = 0;
    if (gnutls_server_name_get(session, name.data(), &size, &type, 0) != GNUTLS_E_SUCCESS ||
        type != GNUTLS_NAME_DNS) {
      return 0;
    }
    const auto* self = static_cast<const GnutlsServer*>(gnutls_session_get_ptr(session));
    std::string key(name.data(), strnlen(name.data(), size));
    std::transform(key.begin(), key.end(), key.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    const auto it = self->names_.find(key);
    if (it != self->names_.end() && it->second != self->credentials_) {
      return gnutls_credentials_set(session, GNUTLS_CRD_CERTIFICATE, it->second);
    }
    return 0;
  }

  gnutls_certificate_credentials_t credentials_ = nullptr;
  gnutls_priority_t priority_ = nullptr;
  gnutls_datum_t ticket_key_{nullptr, 0};
  bool tickets_ = false;
  std::unordered_map<std::string, gnutls_certificate_credentials_t> names_;
};

GnutlsConnection::GnutlsConnection(const GnutlsServer& server, bool* ok, std::string* error) {
  // No automatic tickets: GnuTLS would send two per handshake; Ballast sends one.
  unsigned int flags = GNUTLS_SERVER | GNUTLS_NONBLOCK | GNUTLS_NO_AUTO_SEND_TICKET;
  if (!server.tickets()) {
    flags |= GNUTLS_NO_TICKETS;
  }
  const int r = gnutls_init(&session_, flags);
  if (r != GNUTLS_E_SUCCESS) {
    *error = "gnutls_init: " + errorText(r);
    *ok = false;
    return;
  }
  tickets_ = server.tickets();
  gnutls_transport_set_ptr(session_, this);
  gnutls_transport_set_pull_function(session_, &GnutlsConnection::onPull);
  gnutls_transport_set_pull_timeout_function(session_, &GnutlsConnection::onPullTimeout);
  gnutls_transport_set_push_function(session_, &GnutlsConnection::onPush);
  *ok = server.configure(session_, error);
}

}  // namespace

std::unique_ptr<ServerFactory> makeGnutlsServer(const BenchIdentity& id,
                                                const GnutlsServerOptions& options,
                                                std::string* error) {
  auto server = std::make_unique<GnutlsServer>();
  if (!server->build(id, options, error)) {
    return nullptr;
  }
  // One session made up front, so that a setting GnuTLS refuses fails here and not in accept().
  bool ok = false;
  GnutlsConnection probe(*server, &ok, error);
  if (!ok) {
    return nullptr;
  }
  return server;
}

std::string gnutlsVersion() { return std::string("GnuTLS ") + gnutls_check_version(nullptr); }

}  // namespace ballast::bench
