// src/l4/splice_pipe.h — the kernel pipe one direction of a TCP pair relays through once it
// carries bulk data (splice: socket → pipe → socket, no copy to user space). Made lazily, so
// an idle pair owns none; its two fds count against a process-wide budget.
#pragma once

#include <cstdint>
#include <memory>

namespace ballast::l4 {

class SplicePipe {
 public:
  // Whether splicing is on (BALLAST_SPLICE=off turns it off; read once).
  static bool enabled();
  // Bytes a direction must have moved before it gets a pipe (BALLAST_SPLICE_AFTER, read once).
  static uint32_t threshold();
  // The bytes to move before the next try after `failures` pipes in a row could not be made:
  // threshold() doubled per failure, at most kMaxBackoffShift times (64 MiB by default), so a
  // lasting shortage costs a try per 64 MiB, not per 64 KiB.
  static uint32_t thresholdAfter(uint32_t failures);
  static constexpr uint32_t kMaxBackoffShift = 10;
  // How long an empty pipe may sit unused before its session closes it
  // (BALLAST_SPLICE_IDLE_MS, read once; 0 keeps pipes for the session's life).
  static uint32_t idleMs();
  // A new pipe (1 MiB asked; BALLAST_SPLICE_PIPE_BYTES), or nullptr with the errno in *err:
  // EMFILE when the budget is spent or pipe2 failed so; ENOBUFS when the kernel gave a pipe
  // under 64 KiB (the user's pipe pages, fs.pipe-user-pages-soft, are spent).
  static std::unique_ptr<SplicePipe> make(int* err);
  // The fds all pipes together may hold. The server sets it from the open-file limit and what
  // the config's sockets could need (config::pipeFdBudget), at start and at each reload; a
  // lower budget refuses new pipes, open ones stay. Unset (tests, tools): a quarter of
  // RLIMIT_NOFILE.
  static void setBudget(uint64_t fds);
  static uint32_t budget();
  // Pipe fds open in this process now (tests and the budget).
  static uint32_t openFds();

  SplicePipe(const SplicePipe&) = delete;
  SplicePipe& operator=(const SplicePipe&) = delete;
  ~SplicePipe();

  int readEnd() const { return fds_[0]; }
  int writeEnd() const { return fds_[1]; }
  uint32_t bytes = 0;  // spliced in, not yet written out

 private:
  SplicePipe(int r, int w) : fds_{r, w} {}
  int fds_[2];
};

}  // namespace ballast::l4
