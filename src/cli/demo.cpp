// src/cli/demo.cpp — writes a demo configuration naming the built-in backends' ports and runs it
// like `ballast run` would.
#include "cli/demo.h"

#include <pthread.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "acme/jws.h"
#include "acme/x509_build.h"
#include "cli/demo_backends.h"
#include "server/server.h"

namespace ballast::cli {
namespace {
constexpr int kBackends = 3;
constexpr int kExitFailure = 1;
constexpr int kDemoCertificateDays = 7;

// Writes `text` to a new file named from `pattern` (mode 0600); empty on failure.
std::string writeTemp(std::string pattern, std::string_view suffix, const std::string& text) {
  const int fd = mkstemps(pattern.data(), static_cast<int>(suffix.size()));
  if (fd < 0) {
    return {};
  }
  const ssize_t written = ::write(fd, text.data(), text.size());
  ::close(fd);
  if (written != static_cast<ssize_t>(text.size())) {
    unlink(pattern.c_str());
    return {};
  }
  return pattern;
}

}  // namespace

int runDemo(bool with_tls) {
  // The backends' threads start before the server blocks its signals for its signalfd; block
  // them first so that threads inherit the mask and Ctrl-C or SIGTERM reach the server, which
  // then stops cleanly, instead of a backend thread, whose default action kills the process.
  sigset_t signals;
  sigemptyset(&signals);
  for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGUSR1}) {
    sigaddset(&signals, sig);
  }
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  std::vector<std::unique_ptr<DemoBackend>> backends;
  for (int i = 1; i <= kBackends; ++i) {
    backends.push_back(std::make_unique<DemoBackend>("backend-" + std::to_string(i)));
    if (!backends.back()->ok()) {
      fprintf(stderr, "ballast demo: cannot start a demo backend on 127.0.0.1\n");
      return kExitFailure;
    }
  }
  std::string config =
      "# ballast demo: three built-in backends behind one HTTP listener.\n"
      "workers: 1\n"
      "logging: {level: info}\n"
      "listeners:\n"
      "  - name: demo\n"
      "    bind: \"127.0.0.1:8080\"\n"
      "    protocol: http\n"
      "    pool: demo\n"
      "pools:\n"
      "  - name: demo\n"
      "    algorithm: round_robin\n"
      "    health_check: {type: tcp, interval: 2s}\n"
      "    backends:\n";
  for (const auto& b : backends) {
    config += "      - {address: \"127.0.0.1:" + std::to_string(b->port()) + "\"}\n";
  }
  std::string cert_path;
  std::string key_path;
  if (with_tls) {
    // A certificate made now, for names a new user can reach without a domain.
    const acme::PkeyPtr key = acme::newP256Key();
    const std::string cert = key ? acme::selfSignedPem(key.get(), {"localhost", "127.0.0.1", "::1"},
                                                       kDemoCertificateDays)
                                 : "";
    cert_path = writeTemp("/tmp/ballast-demo-XXXXXX.crt", ".crt", cert);
    key_path = writeTemp("/tmp/ballast-demo-XXXXXX.key", ".key",
                         key ? acme::privateKeyPem(key.get()) : "");
    if (cert.empty() || cert_path.empty() || key_path.empty()) {
      fprintf(stderr, "ballast demo: cannot make a self-signed certificate in /tmp\n");
      return kExitFailure;
    }
    const std::string listeners = "listeners:\n";
    config.insert(config.find(listeners) + listeners.size(),
                  "  - name: demo-tls\n"
                  "    bind: \"127.0.0.1:8443\"\n"
                  "    protocol: https\n"
                  "    pool: demo\n"
                  "    tls:\n"
                  "      certificates: [{cert: \"" +
                      cert_path + "\", key: \"" + key_path + "\"}]\n");
  }
  const std::string path = writeTemp("/tmp/ballast-demo-XXXXXX.yaml", ".yaml", config);
  if (path.empty()) {
    fprintf(stderr, "ballast demo: cannot write the demo configuration in /tmp\n");
    return kExitFailure;
  }
  printf("%s\n# written to %s\n# try: curl localhost:8080%s   (Ctrl-C stops the demo)\n\n",
         config.c_str(), path.c_str(),
         with_tls ? "   or   curl -k https://localhost:8443 (self-signed)" : "");
  fflush(stdout);
  server::RunOptions options;
  options.config_path = path;
  const int rc = server::run(options);
  unlink(path.c_str());
  for (const auto& p : {cert_path, key_path}) {
    if (!p.empty()) {
      unlink(p.c_str());
    }
  }
  return rc;
}

}  // namespace ballast::cli
