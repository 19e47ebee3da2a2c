// src/cli/demo.h — `ballast demo`: three built-in HTTP backends behind an HTTP listener on
// 127.0.0.1:8080, with the configuration it runs printed first.
#pragma once

namespace ballast::cli {

int runDemo(int argc, char** argv);

}  // namespace ballast::cli
