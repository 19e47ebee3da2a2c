// src/control/log_outputs.h — where the application log goes besides stderr: a file (reopened
// on SIGUSR1, for logrotate) and GELF over UDP (Graylog and friends). Control thread only.
#pragma once

#include <string>

#include "config/config_types.h"

namespace ballast::control {

class LogOutputs {
 public:
  LogOutputs() = default;
  ~LogOutputs();
  LogOutputs(const LogOutputs&) = delete;
  LogOutputs& operator=(const LogOutputs&) = delete;

  // Start-up and every reload. False and *error when the file cannot be opened (the log then
  // stays where it was).
  bool apply(const config::Logging& logging, std::string* error);
  // SIGUSR1: reopen the file by name.
  void reopen();

 private:
  bool openFile(std::string* error);

  std::string path_;
  int fd_ = -1;
  int retired_fd_ = -1;  // the previous file, kept one generation: a worker may be mid-write
  std::string gelf_target_;
};

// Lines that could not be shipped as GELF (socket errors, over the datagram size).
uint64_t gelfDropped();

}  // namespace ballast::control
