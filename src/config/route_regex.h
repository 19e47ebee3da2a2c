// src/config/route_regex.h — how route regexes (path, header and query conditions) are compiled.
// The loader compiles each one to reject bad patterns with RE2's own message; the router compiles
// them again to run them. One set of options keeps the two in agreement.
#pragma once

#include <re2/re2.h>

namespace ballast::config {

// UTF-8 patterns (RE2's default), matched against whole values with RE2::FullMatch. Errors are
// returned to the loader, which reports them with a position, rather than logged by RE2.
inline RE2::Options routeRegexOptions() {
  RE2::Options options;
  options.set_log_errors(false);
  return options;
}

}  // namespace ballast::config
