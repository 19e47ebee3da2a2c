// src/tls/client_context.cpp — building a pool's client-side TLS context.
#include "tls/client_context.h"

namespace ballast::tls {
namespace {

// TLS 1.2 suites towards backends: the same forward-secret AEAD set we offer clients.
constexpr const char* kDefaultCiphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
    "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";

int sinkIndex() {
  static const int index = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return index;
}

int onNewSession(SSL* ssl, SSL_SESSION* session) {
  auto* sink = static_cast<SessionSink*>(SSL_get_ex_data(ssl, sinkIndex()));
  if (sink != nullptr) {
    sink->onSession(session);
  }
  return 0;  // we took no reference of OpenSSL's: the sink up-refs what it keeps
}

}  // namespace

void attachSink(SSL* ssl, SessionSink* sink) { SSL_set_ex_data(ssl, sinkIndex(), sink); }

std::shared_ptr<ClientContext> ClientContext::build(const config::UpstreamTls& settings,
                                                    std::string* error) {
  std::shared_ptr<ClientContext> out(new ClientContext());
  out->settings_ = settings;
  out->ctx_.reset(SSL_CTX_new(TLS_client_method()));
  SSL_CTX* ctx = out->ctx_.get();
  if (ctx == nullptr) {
    *error = "tls: " + lastError();
    return nullptr;
  }
  SSL_CTX_set_min_proto_version(
      ctx, settings.min_version == config::TlsVersion::k13 ? TLS1_3_VERSION : TLS1_2_VERSION);
  if (SSL_CTX_set_cipher_list(ctx, kDefaultCiphers) != 1) {
    *error = "tls: " + lastError();
    return nullptr;
  }
  SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION);
  SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);  // idle pooled connections hold no buffer
  if (settings.verify) {
    const int loaded = settings.ca.empty()
                           ? SSL_CTX_set_default_verify_paths(ctx)
                           : SSL_CTX_load_verify_locations(ctx, settings.ca.c_str(), nullptr);
    if (loaded != 1) {
      *error = "tls.ca: " + (settings.ca.empty() ? "the system trust store" : settings.ca) + ": " +
               lastError();
      return nullptr;
    }
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
  } else {
    SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nullptr);
  }
  if (!settings.client_cert.cert.empty()) {
    if (SSL_CTX_use_certificate_chain_file(ctx, settings.client_cert.cert.c_str()) != 1 ||
        SSL_CTX_use_PrivateKey_file(ctx, settings.client_cert.key.c_str(), SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_check_private_key(ctx) != 1) {
      *error = "tls.client_cert: " + settings.client_cert.cert + ": " + lastError();
      return nullptr;
    }
  }
  if (settings.alpn_h2) {
    static constexpr unsigned char kAlpnH2[] = {2, 'h', '2'};  // length-prefixed list
    if (SSL_CTX_set_alpn_protos(ctx, kAlpnH2, sizeof(kAlpnH2)) != 0) {
      *error = "tls: cannot offer h2 by ALPN: " + lastError();
      return nullptr;
    }
  }
  // Sessions come back through the new-session callback the upstream pool installs per
  // connection (TLS 1.3 tickets arrive after the handshake); OpenSSL's own store stays off.
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
  if (settings.session_reuse) {
    SSL_CTX_sess_set_new_cb(ctx, &onNewSession);
  }
  return out;
}

}  // namespace ballast::tls
