// src/cli/demo.h — `ballast demo`: three built-in HTTP backends behind an HTTP listener on
// 127.0.0.1:8080 (and, with --tls, an HTTPS listener on 127.0.0.1:8443 with a self-signed
// certificate made at start), with the configuration it runs printed first.
#pragma once

namespace ballast::cli {

int runDemo(bool with_tls);

}  // namespace ballast::cli
