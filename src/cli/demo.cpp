// src/cli/demo.cpp — writes a demo configuration naming the built-in backends' ports and runs it
// like `ballast run` would.
#include "cli/demo.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "cli/demo_backends.h"
#include "server/server.h"

namespace ballast::cli {
namespace {
constexpr int kBackends = 3;
constexpr int kExitFailure = 1;
}  // namespace

int runDemo(int /*argc*/, char** /*argv*/) {
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
  char path[] = "/tmp/ballast-demo-XXXXXX.yaml";  // NOLINT(modernize-avoid-c-arrays): mkstemps
  const int fd = mkstemps(path, static_cast<int>(std::string_view(".yaml").size()));
  if (fd < 0) {
    fprintf(stderr, "ballast demo: cannot write the demo configuration in /tmp\n");
    return kExitFailure;
  }
  const ssize_t written = ::write(fd, config.data(), config.size());
  ::close(fd);
  if (written != static_cast<ssize_t>(config.size())) {
    unlink(path);
    return kExitFailure;
  }
  printf("%s\n# written to %s\n# try: curl localhost:8080   (Ctrl-C stops the demo)\n\n",
         config.c_str(), path);
  fflush(stdout);
  server::RunOptions options;
  options.config_path = path;
  const int rc = server::run(options);
  unlink(path);
  return rc;
}

}  // namespace ballast::cli
