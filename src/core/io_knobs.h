// src/core/io_knobs.h — switches for measuring the bulk copy path (#19), read once from the
// environment so one binary can be measured with each choice on and off in the same run;
// docs/benchmarks.md has what each one measured.
#pragma once

namespace ballast::core {

// io_uring: the multishot recv takes bundles, several ring buffers per completion, where the
// kernel offers them (6.10+); BALLAST_RECV_BUNDLE=off takes one buffer per completion.
bool recvBundles();

}  // namespace ballast::core
