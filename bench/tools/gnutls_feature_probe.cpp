// bench/tools/gnutls_feature_probe.cpp — checks, on the installed GnuTLS, the listener features
// docs/benchmarks.md ("TLS handshake cost by library") reports beyond what the headers say:
// choosing a certificate by SNI and by ALPN (ACME tls-alpn-01) in the post-client-hello function,
// RSA beside ECDSA in one credentials object, resuming on a second server that shares only the
// ticket master key (another worker), an OCSP staple loaded from a file, and client certificate
// verification. A GnuTLS client and server talk TLS 1.3 over a socketpair (no network). Run it
// through gnutls_feature_probe.sh, which makes the certificates. Prints one line per fact; exits
// 1 when a fact does not hold or the probe itself breaks.
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <thread>

namespace {

std::string g_dir;
int g_failures = 0;

std::string path(const char* name) { return g_dir + "/" + name; }

[[noreturn]] void die(const std::string& why) {
  std::fprintf(stderr, "gnutls_feature_probe: %s\n", why.c_str());
  std::exit(1);
}

void check(int r, const std::string& what) {
  if (r < 0) {
    die(what + ": " + gnutls_strerror(r));
  }
}

void fact(bool holds, const std::string& what) {
  std::printf("%s: %s\n", holds ? "yes" : "NO", what.c_str());
  g_failures += holds ? 0 : 1;
}

gnutls_certificate_credentials_t credentialsWith(
    std::initializer_list<std::pair<const char*, const char*>> pairs) {
  gnutls_certificate_credentials_t cred = nullptr;
  check(gnutls_certificate_allocate_credentials(&cred), "credentials");
  for (const auto& [cert, key] : pairs) {
    check(gnutls_certificate_set_x509_key_file(cred, path(cert).c_str(), path(key).c_str(),
                                               GNUTLS_X509_FMT_PEM),
          std::string("load ") + cert);
  }
  return cred;
}

// One server as a listener would have it: default credentials, another set for other.test (and
// for the ACME challenge), a ticket master key, ALPN.
struct Server {
  gnutls_certificate_credentials_t main = nullptr;
  gnutls_certificate_credentials_t other = nullptr;
  gnutls_datum_t* ticket_key = nullptr;
  std::function<void(gnutls_session_t)> extra;  // a probe's own settings
  std::string alpn_seen_in_hook;                // the ALPN the post-client-hello function saw
};

int onClientHello(gnutls_session_t session) {
  auto* server = static_cast<Server*>(gnutls_session_get_ptr(session));
  std::array<char, 256> name{};
  size_t size = name.size();
  unsigned int type = 0;
  gnutls_datum_t alpn{};
  server->alpn_seen_in_hook.clear();
  if (gnutls_alpn_get_selected_protocol(session, &alpn) == GNUTLS_E_SUCCESS) {
    server->alpn_seen_in_hook.assign(reinterpret_cast<const char*>(alpn.data), alpn.size);
  }
  const bool other_name =
      gnutls_server_name_get(session, name.data(), &size, &type, 0) == GNUTLS_E_SUCCESS &&
      std::string(name.data()) == "other.test";
  if (other_name || server->alpn_seen_in_hook == "acme-tls/1") {
    return gnutls_credentials_set(session, GNUTLS_CRD_CERTIFICATE, server->other);
  }
  return 0;
}

struct Result {
  bool ok = false;
  std::string error;
  std::string peer_cn;        // client's view of the server certificate
  int peer_pk = 0;            // its key algorithm
  bool resumed = false;       // client's view
  gnutls_datum_t ticket{};    // session data for the next connection, when asked
  bool stapled = false;       // the client got an OCSP response
  std::string staple;         // and its bytes
  unsigned int verify = ~0U;  // server's verification of a client certificate
  std::string client_dn;
  std::string server_error;
};

std::string commonName(const gnutls_datum_t& der, int* pk) {
  gnutls_x509_crt_t crt = nullptr;
  gnutls_x509_crt_init(&crt);
  std::string cn;
  if (gnutls_x509_crt_import(crt, &der, GNUTLS_X509_FMT_DER) == GNUTLS_E_SUCCESS) {
    std::array<char, 256> buf{};
    size_t size = buf.size();
    if (gnutls_x509_crt_get_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME, 0, 0, buf.data(), &size) ==
        GNUTLS_E_SUCCESS) {
      cn.assign(buf.data(), size);
    }
    *pk = gnutls_x509_crt_get_pk_algorithm(crt, nullptr);
  }
  gnutls_x509_crt_deinit(crt);
  return cn;
}

// One TLS 1.3 connection; the client is set up by `client_setup`.
Result connect(Server& server, const std::function<void(gnutls_session_t)>& client_setup,
               bool want_ticket = false) {
  std::array<int, 2> fds{};
  if (socketpair(AF_UNIX, SOCK_STREAM, 0, fds.data()) != 0) {
    die("socketpair");
  }
  Result result;
  std::thread server_thread([&] {
    gnutls_session_t s = nullptr;
    check(gnutls_init(&s, GNUTLS_SERVER), "server init");
    check(gnutls_priority_set_direct(s, "NORMAL:-VERS-ALL:+VERS-TLS1.3", nullptr), "priority");
    check(gnutls_credentials_set(s, GNUTLS_CRD_CERTIFICATE, server.main), "server credentials");
    std::array<gnutls_datum_t, 2> protos{
        gnutls_datum_t{reinterpret_cast<unsigned char*>(const_cast<char*>("http/1.1")), 8},
        gnutls_datum_t{reinterpret_cast<unsigned char*>(const_cast<char*>("acme-tls/1")), 10}};
    check(gnutls_alpn_set_protocols(s, protos.data(), 2, GNUTLS_ALPN_SERVER_PRECEDENCE), "alpn");
    if (server.ticket_key != nullptr) {
      check(gnutls_session_ticket_enable_server(s, server.ticket_key), "tickets");
    }
    gnutls_session_set_ptr(s, &server);
    gnutls_handshake_set_post_client_hello_function(s, onClientHello);
    if (server.extra) {
      server.extra(s);
    }
    gnutls_transport_set_int(s, fds[0]);
    int r = 0;
    do {
      r = gnutls_handshake(s);
    } while (r < 0 && gnutls_error_is_fatal(r) == 0);
    if (r != GNUTLS_E_SUCCESS) {
      result.server_error = std::string(" (server: ") + gnutls_strerror(r) + ")";
    } else {
      if (gnutls_certificate_type_get(s) == GNUTLS_CRT_X509 &&
          gnutls_certificate_verify_peers3(s, nullptr, &result.verify) == GNUTLS_E_SUCCESS) {
        unsigned int n = 0;
        const gnutls_datum_t* chain = gnutls_certificate_get_peers(s, &n);
        gnutls_x509_crt_t crt = nullptr;
        gnutls_datum_t dn{};
        if (n > 0 && gnutls_x509_crt_init(&crt) == 0 &&
            gnutls_x509_crt_import(crt, chain, GNUTLS_X509_FMT_DER) == 0 &&
            gnutls_x509_crt_get_dn3(crt, &dn, 0) == 0) {
          result.client_dn.assign(reinterpret_cast<const char*>(dn.data), dn.size);
          gnutls_free(dn.data);
        }
        gnutls_x509_crt_deinit(crt);
      }
      gnutls_record_send(s, "x", 1);  // after the tickets, so the client reads them first
    }
    gnutls_bye(s, GNUTLS_SHUT_WR);
    gnutls_deinit(s);
    close(fds[0]);
  });
  gnutls_session_t c = nullptr;
  check(gnutls_init(&c, GNUTLS_CLIENT), "client init");
  gnutls_certificate_credentials_t none = nullptr;
  check(gnutls_certificate_allocate_credentials(&none), "client credentials");
  check(gnutls_credentials_set(c, GNUTLS_CRD_CERTIFICATE, none), "client credentials");
  check(gnutls_priority_set_direct(c, "NORMAL:-VERS-ALL:+VERS-TLS1.3", nullptr), "priority");
  check(gnutls_server_name_set(c, GNUTLS_NAME_DNS, "bench.test", 10), "sni");
  client_setup(c);
  gnutls_transport_set_int(c, fds[1]);
  int r = 0;
  do {
    r = gnutls_handshake(c);
  } while (r < 0 && gnutls_error_is_fatal(r) == 0);
  result.ok = r == GNUTLS_E_SUCCESS;
  if (!result.ok) {
    result.error = std::string(" (client: ") + gnutls_strerror(r) + ")";
  } else {
    std::array<char, 1> byte{};
    gnutls_record_recv(c, byte.data(), byte.size());  // processes the tickets before it
    unsigned int n = 0;
    const gnutls_datum_t* chain = gnutls_certificate_get_peers(c, &n);
    if (n > 0) {
      result.peer_cn = commonName(chain[0], &result.peer_pk);
    }
    result.resumed = gnutls_session_is_resumed(c) != 0;
    gnutls_datum_t staple{};
    if (gnutls_ocsp_status_request_get(c, &staple) == GNUTLS_E_SUCCESS) {
      result.stapled = true;
      result.staple.assign(reinterpret_cast<const char*>(staple.data), staple.size);
    }
    if (want_ticket) {
      check(gnutls_session_get_data2(c, &result.ticket), "session data");
    }
  }
  gnutls_deinit(c);
  gnutls_certificate_free_credentials(none);
  close(fds[1]);
  server_thread.join();
  result.error += result.server_error;
  return result;
}

std::string fileBytes(const std::string& name) {
  std::ifstream in(name, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    die("usage: gnutls_feature_probe CERT_DIR (see gnutls_feature_probe.sh)");
  }
  g_dir = argv[1];
  std::signal(SIGPIPE, SIG_IGN);  // a side that gave up closes its socket; the other must not die
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  std::printf("GnuTLS %s\n", gnutls_check_version(nullptr));
  gnutls_datum_t ticket_key{};
  check(gnutls_session_ticket_key_generate(&ticket_key), "ticket key");
  Server server{credentialsWith({{"ec.pem", "ec.key"}, {"rsa.pem", "rsa.key"}}),
                credentialsWith({{"other.pem", "other.key"}}),
                &ticket_key,
                {},
                {}};
  const auto sigs = [](const char* priority) {
    return [=](gnutls_session_t c) {
      check(gnutls_priority_set_direct(c, priority, nullptr), priority);
    };
  };

  // SNI: the post-client-hello function switches credentials.
  Result r = connect(server, [](gnutls_session_t c) {
    check(gnutls_server_name_set(c, GNUTLS_NAME_DNS, "other.test", 10), "sni");
  });
  fact(r.ok && r.peer_cn == "other.test",
       "SNI other.test, credentials switched in the post-client-hello function: got " + r.peer_cn +
           r.error);

  // ACME tls-alpn-01: the negotiated ALPN is known in the same function.
  r = connect(server, [](gnutls_session_t c) {
    gnutls_datum_t acme{reinterpret_cast<unsigned char*>(const_cast<char*>("acme-tls/1")), 10};
    check(gnutls_alpn_set_protocols(c, &acme, 1, 0), "client alpn");
  });
  fact(r.ok && server.alpn_seen_in_hook == "acme-tls/1" && r.peer_cn == "other.test",
       "ALPN acme-tls/1 seen in the post-client-hello function (\"" + server.alpn_seen_in_hook +
           "\"), challenge certificate served: got " + r.peer_cn + r.error);

  // RSA and ECDSA for one name in one credentials object, chosen by the client's signatures.
  r = connect(server, sigs("NORMAL:-VERS-ALL:+VERS-TLS1.3:-SIGN-ALL:+SIGN-ECDSA-SECP256R1-SHA256"));
  const bool ecdsa = r.ok && r.peer_pk == GNUTLS_PK_ECDSA;
  r = connect(server, sigs("NORMAL:-VERS-ALL:+VERS-TLS1.3:-SIGN-ALL:+SIGN-RSA-PSS-RSAE-SHA256"));
  const bool rsa = r.ok && r.peer_pk == GNUTLS_PK_RSA;
  fact(ecdsa && rsa, "RSA and ECDSA in one credentials object: an ECDSA-only client gets ECDSA (" +
                         std::to_string(ecdsa) + "), an RSA-only client RSA (" +
                         std::to_string(rsa) + ")" + r.error);

  // A ticket from one server resumes on another that shares only the master key (a worker).
  r = connect(
      server, [](gnutls_session_t) {}, true);
  Server worker{credentialsWith({{"ec.pem", "ec.key"}}),
                credentialsWith({{"other.pem", "other.key"}}),
                &ticket_key,
                {},
                {}};
  const gnutls_datum_t ticket = r.ticket;
  r = connect(worker, [&](gnutls_session_t c) {
    check(gnutls_session_set_data(c, ticket.data, ticket.size), "set session");
  });
  gnutls_free(ticket.data);
  fact(r.ok && r.resumed, "ticket issued by one server resumes on another with the same key");

  // OCSP stapling from a file (a response the probe's CA signed for leaf.pem).
  Server stapling{credentialsWith({{"chain.pem", "leaf.key"}}),
                  credentialsWith({{"other.pem", "other.key"}}),
                  nullptr,
                  {},
                  {}};
  check(
      gnutls_certificate_set_ocsp_status_request_file(stapling.main, path("leaf.ocsp").c_str(), 0),
      "ocsp file");
  r = connect(stapling, [](gnutls_session_t c) {
    check(gnutls_ocsp_status_request_enable_client(c, nullptr, 0, nullptr), "status request");
  });
  fact(r.ok && r.stapled && r.staple == fileBytes(path("leaf.ocsp")),
       "OCSP response from a file stapled (" + std::to_string(r.staple.size()) + " bytes)" +
           r.error);

  // Client certificates: required, verified against a CA, DN readable.
  gnutls_certificate_credentials_t trusting = credentialsWith({{"ec.pem", "ec.key"}});
  check(
      gnutls_certificate_set_x509_trust_file(trusting, path("ca.pem").c_str(), GNUTLS_X509_FMT_PEM),
      "trust file");
  Server verifying{
      trusting,
      server.other,
      nullptr,
      [](gnutls_session_t s) { gnutls_certificate_server_set_request(s, GNUTLS_CERT_REQUIRE); },
      {}};
  gnutls_certificate_credentials_t client_cert = credentialsWith({{"leaf.pem", "leaf.key"}});
  r = connect(verifying, [&](gnutls_session_t c) {
    check(gnutls_credentials_set(c, GNUTLS_CRD_CERTIFICATE, client_cert), "client cert");
  });
  fact(r.ok && r.verify == 0 && r.client_dn == "CN=bench.test",
       "client certificate required and verified against a CA, subject " + r.client_dn);
  std::printf("%d fact(s) did not hold\n", g_failures);
  return g_failures == 0 ? 0 : 1;
}
