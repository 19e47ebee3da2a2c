// src/upstream/checks/tls_check.cpp — one SSL per check. Contexts are built once per thread
// and CA file (again when the file changes): loading a CA bundle on every check would cost more
// than the handshake.
#include "upstream/checks/tls_check.h"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>

#include <array>
#include <map>
#include <tuple>

namespace ballast::upstream::checks {
namespace {

constexpr size_t kErrorTextBytes = 256;
constexpr int kDrainChunk = 16 * 1024;

struct CtxFree {
  void operator()(SSL_CTX* c) const { SSL_CTX_free(c); }
};
struct SslFree {
  void operator()(SSL* s) const { SSL_free(s); }
};
using CtxPtr = std::unique_ptr<SSL_CTX, CtxFree>;

// A CA file's identity: a replaced or rewritten bundle is loaded again.
int64_t changeStamp(const std::string& path) {
  struct stat st {};
  if (path.empty() || ::stat(path.c_str(), &st) != 0) {
    return 0;
  }
  constexpr int64_t kNsPerS = 1000000000;
  return static_cast<int64_t>(st.st_mtim.tv_sec) * kNsPerS + st.st_mtim.tv_nsec +
         static_cast<int64_t>(st.st_ino);
}

struct CachedCtx {
  int64_t stamp = 0;
  CtxPtr ctx;
};

// nullptr when the CA file cannot be loaded (reported by the check's verdict).
SSL_CTX* contextFor(bool verify, const std::string& ca, const std::string& cert = {},
                    const std::string& key = {}) {
  thread_local std::map<std::tuple<bool, std::string, std::string>, CachedCtx> contexts;
  auto& cached = contexts[{verify, ca, cert}];
  const int64_t stamp = verify ? changeStamp(ca) : 0;
  if (cached.ctx && cached.stamp == stamp) {
    return cached.ctx.get();
  }
  cached.stamp = stamp;
  auto& slot = cached.ctx;
  slot.reset();
  CtxPtr ctx(SSL_CTX_new(TLS_client_method()));
  if (!ctx) {
    return nullptr;
  }
  SSL_CTX_set_min_proto_version(ctx.get(), TLS1_2_VERSION);
  if (verify) {
    const int loaded = ca.empty() ? SSL_CTX_set_default_verify_paths(ctx.get())
                                  : SSL_CTX_load_verify_locations(ctx.get(), ca.c_str(), nullptr);
    if (loaded != 1) {
      ERR_clear_error();
      return nullptr;  // not cached: the file may appear later
    }
    SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER, nullptr);
  } else {
    SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_NONE, nullptr);
  }
  if (!cert.empty() &&
      (SSL_CTX_use_certificate_chain_file(ctx.get(), cert.c_str()) != 1 ||
       SSL_CTX_use_PrivateKey_file(ctx.get(), key.c_str(), SSL_FILETYPE_PEM) != 1)) {
    ERR_clear_error();
    return nullptr;
  }
  slot = std::move(ctx);
  return slot.get();
}

std::string lastError() {
  const unsigned long e = ERR_get_error();
  ERR_clear_error();
  if (e == 0) {
    return "handshake failed";
  }
  std::array<char, kErrorTextBytes> text{};
  ERR_error_string_n(e, text.data(), text.size());
  return text.data();
}

class TlsConversation final : public CheckConversation {
 public:
  explicit TlsConversation(const config::HealthCheck& c,
                           std::unique_ptr<CheckConversation> inner = nullptr)
      : sni_(c.sni),
        verify_(c.verify),
        ca_(c.ca),
        cert_(c.client_cert),
        key_(c.client_key),
        want_h2_(c.type == config::HealthCheckType::kGrpc),
        inner_(std::move(inner)) {}

  Judgement start(std::string& out) override {
    SSL_CTX* ctx = contextFor(verify_, ca_, cert_, key_);
    if (ctx == nullptr) {
      return Judgement::unhealthy("cannot load CA " + (ca_.empty() ? "store" : ca_) +
                                  (cert_.empty() ? "" : " or client certificate " + cert_));
    }
    ssl_.reset(SSL_new(ctx));
    BIO* in = BIO_new(BIO_s_mem());
    BIO* out_bio = BIO_new(BIO_s_mem());
    if (!ssl_ || in == nullptr || out_bio == nullptr) {
      BIO_free(in);
      BIO_free(out_bio);
      return Judgement::unhealthy("out of memory");
    }
    SSL_set_bio(ssl_.get(), in, out_bio);  // the SSL owns both from here
    in_ = in;
    out_ = out_bio;
    SSL_set_connect_state(ssl_.get());
    // gRPC servers refuse a TLS connection that did not agree on h2 (RFC 9113 §3.2).
    static constexpr unsigned char kH2[] = {2, 'h', '2'};
    if (want_h2_ && SSL_set_alpn_protos(ssl_.get(), kH2, sizeof(kH2)) != 0) {
      return Judgement::unhealthy("out of memory");
    }
    if (!sni_.empty()) {
      SSL_set_tlsext_host_name(ssl_.get(), sni_.c_str());
      if (verify_) {
        SSL_set1_host(ssl_.get(), sni_.c_str());
      }
    }
    return step(out);
  }

  Judgement onBytes(std::span<const uint8_t> in, std::string& out) override {
    if (BIO_write(in_, in.data(), static_cast<int>(in.size())) != static_cast<int>(in.size())) {
      return Judgement::unhealthy("out of memory");
    }
    if (inner_ && established_) {
      return inner(out);
    }
    return step(out);
  }

  Judgement onEnd(int err) override {
    return inner_ && established_ ? inner_->onEnd(err) : CheckConversation::onEnd(err);
  }

 private:
  // After the handshake: decrypted bytes to the inner conversation, its answer encrypted.
  Judgement inner(std::string& out) {
    std::array<char, kDrainChunk> buf{};
    std::string plain_out;
    Judgement j;
    for (;;) {
      const int n = SSL_read(ssl_.get(), buf.data(), static_cast<int>(buf.size()));
      if (n <= 0) {
        const int err = SSL_get_error(ssl_.get(), n);
        if (err == SSL_ERROR_ZERO_RETURN) {
          j = inner_->onEnd(0);
        } else if (err != SSL_ERROR_WANT_READ) {
          j = Judgement::unhealthy(lastError());
        }
        break;
      }
      j = inner_->onBytes(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(buf.data()),
                                                   static_cast<size_t>(n)),
                          plain_out);
      if (j.done()) {
        break;
      }
    }
    if (!plain_out.empty()) {
      SSL_write(ssl_.get(), plain_out.data(), static_cast<int>(plain_out.size()));
    }
    drain(out);
    return j;
  }

  Judgement step(std::string& out) {
    const int r = SSL_do_handshake(ssl_.get());
    drain(out);
    if (r == 1) {
      if (want_h2_ && !agreedOnH2()) {
        return Judgement::unhealthy("the backend did not agree on h2 (ALPN)");
      }
      if (inner_) {
        established_ = true;
        std::string plain_out;
        Judgement j = inner_->start(plain_out);
        if (!plain_out.empty()) {
          SSL_write(ssl_.get(), plain_out.data(), static_cast<int>(plain_out.size()));
          drain(out);
        }
        if (j.done()) {
          return j;
        }
        // A server may have sent application data with its last handshake flight.
        return inner(out);
      }
      return Judgement::healthy(std::string(SSL_get_version(ssl_.get())) + " " +
                                SSL_get_cipher_name(ssl_.get()));
    }
    const int err = SSL_get_error(ssl_.get(), r);
    if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
      return Judgement::needMore();
    }
    const long vr = SSL_get_verify_result(ssl_.get());
    if (verify_ && vr != X509_V_OK) {
      ERR_clear_error();
      return Judgement::unhealthy(std::string("certificate: ") + X509_verify_cert_error_string(vr));
    }
    return Judgement::unhealthy(lastError());
  }

  bool agreedOnH2() const {
    const unsigned char* proto = nullptr;
    unsigned int len = 0;
    SSL_get0_alpn_selected(ssl_.get(), &proto, &len);
    return len == 2 && proto[0] == 'h' && proto[1] == '2';
  }

  void drain(std::string& out) {
    std::array<char, kDrainChunk> buf{};
    int n = 0;
    while ((n = BIO_read(out_, buf.data(), static_cast<int>(buf.size()))) > 0) {
      out.append(buf.data(), static_cast<size_t>(n));
    }
  }

  std::string sni_;
  bool verify_;
  std::string ca_;
  std::string cert_;
  std::string key_;
  bool want_h2_;                              // gRPC: offer h2 by ALPN and insist on it
  std::unique_ptr<CheckConversation> inner_;  // HTTP or gRPC over TLS; null: handshake only
  bool established_ = false;
  std::unique_ptr<SSL, SslFree> ssl_;
  BIO* in_ = nullptr;   // owned by ssl_
  BIO* out_ = nullptr;  // owned by ssl_
};

}  // namespace

std::unique_ptr<CheckConversation> makeTlsConversation(const config::HealthCheck& check) {
  return std::make_unique<TlsConversation>(check);
}

std::unique_ptr<CheckConversation> makeTlsWrapped(const config::HealthCheck& check,
                                                  std::unique_ptr<CheckConversation> inner) {
  return std::make_unique<TlsConversation>(check, std::move(inner));
}

}  // namespace ballast::upstream::checks
