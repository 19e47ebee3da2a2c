// src/core/limits.h — engine limits with their units. Config overrides the ones users tune;
// the rest are sized here with the reason next to each.
#pragma once

#include <cstdint>

namespace ballast::core {

// One data chunk. 16 KiB holds a full TLS record and keeps a 64 KiB queue at four chunks.
constexpr uint32_t kChunkBytes = 16 * 1024;
// Chunks per worker. Memory is only touched when used; 2048 × 16 KiB caps a worker's data
// buffers at 32 MiB whatever the connection count.
constexpr uint32_t kChunksPerWorker = 2048;
// io_uring: chunks lent to the kernel's provided-buffer ring at a time (a power of two); the
// rest wait in the pool's free list. Enough for 256 receives in one turn.
constexpr uint32_t kRingBuffers = 256;
// Reads one stream may do in a row before others get a turn (epoll backend fairness).
constexpr uint32_t kMaxReadsPerTurn = 16;
// Most bytes one splice(2) asks for: the pipe's free room is the real bound.
constexpr uint32_t kSpliceBytes = 1024 * 1024;
// io_uring submission queue depth; completions are twice that (kernel default).
constexpr uint32_t kRingEntries = 4096;
// Timer wheel: 1 ms ticks over 4096 slots; longer timers wait for the wheel to come round.
constexpr uint32_t kTimerTickMs = 1;
constexpr uint32_t kTimerSlots = 4096;
// The kernel's accept backlog for every listener.
constexpr int kListenBacklog = 4096;
// An acceptor whose accept(2) fails for want of resources (EMFILE, ENFILE, ENOBUFS, ENOMEM)
// stops accepting for this long: the connection stays queued, so retrying at once fails again
// and spins a core (level-triggered epoll, or a re-armed io_uring accept) while nothing frees
// a descriptor. NGINX waits 500 ms, HAProxy until a timer; we start shorter, since an fd often
// frees within milliseconds, and double while it keeps failing, up to a second, the longest a
// queued client should wait once room is back. A successful accept starts over.
constexpr uint32_t kAcceptBackoffFirstMs = 100;
constexpr uint32_t kAcceptBackoffMaxMs = 1000;
// Log lines a peer can cause at will (refusals, failed connects): per event kind, this many
// lines per interval, then one summary line with the count held back (logging.repeat_*).
// Five lines show the pattern; ten seconds keeps a summary timely without becoming a flood.
constexpr uint32_t kLogRepeatBurst = 5;
constexpr uint64_t kLogRepeatIntervalMs = 10'000;

}  // namespace ballast::core
