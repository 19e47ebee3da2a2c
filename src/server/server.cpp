// src/server/server.cpp — `ballast run`: hands over to the control thread.
#include "server/server.h"

#include "server/control_thread.h"

namespace ballast::server {

int run(const RunOptions& options) {
  ControlThread control(options);
  return control.run();
}

}  // namespace ballast::server
