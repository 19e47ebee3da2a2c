// src/tls/tls_channel.cpp — OpenSSL plumbing for TlsChannel.
#include "tls/tls_channel.h"

#include <openssl/err.h>

#include <array>

namespace ballast::tls {
namespace {

std::string opensslError() {
  const unsigned long code = ERR_get_error();
  if (code == 0) {
    return "unknown TLS error";
  }
  std::array<char, 256> buf{};  // NOLINT(readability-magic-numbers)
  ERR_error_string_n(code, buf.data(), buf.size());
  ERR_clear_error();
  return buf.data();
}

}  // namespace

SharedSslCtx makeServerTlsContext(const std::string& cert_file, const std::string& key_file,
                                  std::string* error) {
  SharedSslCtx ctx(SSL_CTX_new(TLS_server_method()), &SSL_CTX_free);
  if (!ctx) {
    *error = opensslError();
    return nullptr;
  }
  SSL_CTX_set_min_proto_version(ctx.get(), TLS1_2_VERSION);
  if (SSL_CTX_use_certificate_chain_file(ctx.get(), cert_file.c_str()) != 1) {
    *error = cert_file + ": " + opensslError();
    return nullptr;
  }
  if (SSL_CTX_use_PrivateKey_file(ctx.get(), key_file.c_str(), SSL_FILETYPE_PEM) != 1) {
    *error = key_file + ": " + opensslError();
    return nullptr;
  }
  if (SSL_CTX_check_private_key(ctx.get()) != 1) {
    *error = key_file + " does not match " + cert_file;
    return nullptr;
  }
  return ctx;
}

TlsChannel::TlsChannel(SSL_CTX* ctx)
    : ssl_(SSL_new(ctx)), rbio_(BIO_new(BIO_s_mem())), wbio_(BIO_new(BIO_s_mem())) {
  SSL_set_bio(ssl_, rbio_, wbio_);  // ssl_ owns both BIOs from here
  SSL_set_accept_state(ssl_);
}

TlsChannel::~TlsChannel() { SSL_free(ssl_); }

void TlsChannel::drain(std::string& wire) {
  std::array<char, 16384> buf{};  // NOLINT(readability-magic-numbers): one TLS record
  for (;;) {
    const int n = BIO_read(wbio_, buf.data(), static_cast<int>(buf.size()));
    if (n <= 0) {
      return;
    }
    wire.append(buf.data(), static_cast<size_t>(n));
  }
}

bool TlsChannel::receive(std::span<const uint8_t> in, std::string& plain, std::string& wire,
                         std::string* why) {
  if (!in.empty() && BIO_write(rbio_, in.data(), static_cast<int>(in.size())) <= 0) {
    *why = "BIO_write failed";
    return false;
  }
  std::array<char, 16384> buf{};  // NOLINT(readability-magic-numbers)
  for (;;) {
    const int n = SSL_read(ssl_, buf.data(), static_cast<int>(buf.size()));
    if (n > 0) {
      plain.append(buf.data(), static_cast<size_t>(n));
      continue;
    }
    const int err = SSL_get_error(ssl_, n);
    drain(wire);  // handshake messages and alerts
    if (err == SSL_ERROR_WANT_READ) {
      return true;
    }
    if (err == SSL_ERROR_ZERO_RETURN) {
      return true;  // close_notify; the TCP close follows
    }
    *why = opensslError();
    return false;
  }
}

bool TlsChannel::send(std::string_view plain, std::string& wire) {
  size_t off = 0;
  while (off < plain.size()) {
    const int n = SSL_write(ssl_, plain.data() + off, static_cast<int>(plain.size() - off));
    if (n <= 0) {
      drain(wire);
      return false;
    }
    off += static_cast<size_t>(n);
  }
  drain(wire);
  return true;
}

}  // namespace ballast::tls
