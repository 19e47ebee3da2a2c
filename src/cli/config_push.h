// src/cli/config_push.h — `ballast config push`: validate a configuration file as `ballast
// validate` does, then make it the whole content of an etcd prefix in one transaction.
#pragma once

namespace ballast::cli {

// argv[1] is "config". Returns the process exit code.
int configMain(int argc, char** argv);

}  // namespace ballast::cli
