// src/tls/tls_stream.cpp — the memory-BIO plumbing of TlsStream.
#include "tls/tls_stream.h"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <array>

#include "tls/server_context.h"

namespace ballast::tls {
namespace {

constexpr size_t kRecordBytes = 16384;  // one TLS record's plaintext at most

}  // namespace

TlsStream::TlsStream(SSL_CTX* ctx, Role role)
    : ssl_(SSL_new(ctx)), rbio_(BIO_new(BIO_s_mem())), wbio_(BIO_new(BIO_s_mem())) {
  SSL_set_bio(ssl_, rbio_, wbio_);  // ssl_ owns both BIOs from here
  if (role == Role::kServer) {
    SSL_set_accept_state(ssl_);
  } else {
    SSL_set_connect_state(ssl_);
  }
}

void TlsStream::setServerName(const std::string& name) {
  SSL_set_tlsext_host_name(ssl_, name.c_str());
}

bool TlsStream::expectName(const std::string& host, bool is_ip) {
  X509_VERIFY_PARAM* param = SSL_get0_param(ssl_);
  X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
  const int ok = is_ip ? X509_VERIFY_PARAM_set1_ip_asc(param, host.c_str())
                       : X509_VERIFY_PARAM_set1_host(param, host.c_str(), host.size());
  return ok == 1;
}

TlsStream::Status TlsStream::start() {
  const int n = SSL_do_handshake(ssl_);
  if (n == 1) {
    return Status::kOk;
  }
  const int err = SSL_get_error(ssl_, n);
  if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
    return Status::kOk;
  }
  fail();
  return Status::kFailed;
}

TlsStream::~TlsStream() {
  if (!failed_ && handshakeDone()) {
    // OpenSSL drops the session of a connection freed without a close_notify from its cache
    // (and marks it not resumable). Ours end without one by choice (keep-alive limits, idle
    // timeouts, a client that just closes); only a TLS failure should cost the session.
    SSL_set_shutdown(ssl_, SSL_get_shutdown(ssl_) | SSL_SENT_SHUTDOWN);
  }
  SSL_free(ssl_);
}

TlsStream::Status TlsStream::receive(std::span<const uint8_t> ciphertext, core::ChunkPool& pool,
                                     core::ChunkQueue& plain) {
  if (!ciphertext.empty() &&
      BIO_write(rbio_, ciphertext.data(), static_cast<int>(ciphertext.size())) <= 0) {
    reason_ = "BIO_write failed";
    return Status::kFailed;
  }
  // Not zeroed: SSL_read fills what it returns, and clearing 16 KiB per call showed up in the
  // handshake profile (two to nine calls per connection).
  std::array<uint8_t, kRecordBytes> buf;  // NOLINT(cppcoreguidelines-pro-type-member-init)
  for (;;) {
    const int n = SSL_read(ssl_, buf.data(), static_cast<int>(buf.size()));
    if (n > 0) {
      if (!plain.append(pool, buf.data(), static_cast<size_t>(n))) {
        return Status::kNoBuffer;
      }
      continue;
    }
    switch (SSL_get_error(ssl_, n)) {
      case SSL_ERROR_WANT_READ:
      case SSL_ERROR_WANT_WRITE:  // memory BIOs never block writing; output is drained later
        return Status::kOk;
      case SSL_ERROR_ZERO_RETURN:
        return Status::kClosed;
      default:
        fail();
        return Status::kFailed;
    }
  }
}

bool TlsStream::send(std::span<const uint8_t> plaintext) {
  size_t done = 0;
  while (done < plaintext.size()) {
    size_t written = 0;
    if (SSL_write_ex(ssl_, plaintext.data() + done, plaintext.size() - done, &written) != 1) {
      fail();
      return false;
    }
    done += written;
  }
  return true;
}

void TlsStream::shutdown() {
  if (handshakeDone()) {
    SSL_shutdown(ssl_);
  }
  ERR_clear_error();
}

bool TlsStream::drainWire(core::ChunkPool& pool, core::ChunkQueue& wire) {
  std::array<uint8_t, kRecordBytes> buf;  // NOLINT(cppcoreguidelines-pro-type-member-init)
  for (;;) {
    const int n = BIO_read(wbio_, buf.data(), static_cast<int>(buf.size()));
    if (n <= 0) {
      return true;
    }
    if (!wire.append(pool, buf.data(), static_cast<size_t>(n))) {
      return false;
    }
  }
}

void TlsStream::fail() {
  failed_ = true;
  reason_code_ = ERR_GET_REASON(ERR_peek_last_error());
  reason_ = lastError();
}

bool TlsStream::peerIdentity(std::string* subject, std::string* fingerprint) const {
  X509* cert = SSL_get0_peer_certificate(ssl_);
  if (cert == nullptr || SSL_get_verify_result(ssl_) != X509_V_OK) {
    return false;
  }
  BIO* out = BIO_new(BIO_s_mem());
  if (out == nullptr) {
    return false;
  }
  // RFC 2253 with non-ASCII and control bytes escaped: always a valid header field value.
  X509_NAME_print_ex(out, X509_get_subject_name(cert), 0, XN_FLAG_RFC2253);
  char* text = nullptr;
  const long len = BIO_get_mem_data(out, &text);
  subject->assign(text, static_cast<size_t>(len));
  BIO_free(out);
  std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
  unsigned int md_len = 0;
  if (X509_digest(cert, EVP_sha256(), md.data(), &md_len) != 1) {
    return false;
  }
  static constexpr char kHex[] = "0123456789abcdef";
  fingerprint->clear();
  for (unsigned int i = 0; i < md_len; ++i) {
    fingerprint->push_back(kHex[md[i] >> 4]);
    fingerprint->push_back(kHex[md[i] & 0xf]);
  }
  return true;
}

std::string_view TlsStream::alpn() const {
  const unsigned char* p = nullptr;
  unsigned int len = 0;
  SSL_get0_alpn_selected(ssl_, &p, &len);
  return p == nullptr ? std::string_view()
                      : std::string_view(reinterpret_cast<const char*>(p), len);
}

}  // namespace ballast::tls
