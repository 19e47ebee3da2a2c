"""tests/integration/test_accept_backoff.py — a listener whose process is out of file descriptors
must not spin. accept(2) failing with EMFILE leaves the connection queued, so retrying at once
(epoll's level-triggered event, io_uring's re-armed multishot accept) fails again at once: a core
at 100% until a descriptor frees. Ballast pauses that acceptor instead (100 ms doubling to 1 s),
counts it and logs it rate-limited. Checked on both I/O backends: ballast's CPU while saturated
with connections still queued, then service once descriptors free up, and the counter.

fd budget: ballast runs with RLIMIT_NOFILE 64 (see FD_LIMIT); the test holds about 60 sockets.
"""
import contextlib
import os
import re
import resource
import socket
import subprocess
import time
import unittest
import urllib.request

from harness import SANITIZED, IO_BACKENDS, Ballast, BallastTest, free_port, main, wait_until
from http_backends import HttpBackend

# Small enough that a few dozen idle clients exhaust it (ballast itself holds about twenty at
# rest: log, epoll or ring, eventfds, signalfd, inotify, listening sockets), large enough for
# that start-up with room to spare. The soft and hard limit are both set, since ballast raises
# its soft limit to the hard one at start.
FD_LIMIT = 64
# Connections beyond what ballast can accept: they wait in the kernel's accept queue, and each
# readiness of the listener is an accept that fails with EMFILE. Far below the backlog (4096).
QUEUED = 16
# A spin burns a whole core (or what the scheduler leaves it on a busy machine, still well above
# half); backing off wakes a handful of times in the window and costs next to nothing.
MAX_CPU_SHARE = 0.2
CPU_WINDOW_S = 2.0


def config(port, metrics_port, backend):
    # Long client timeouts: the idle connections that fill the fd table must stay open for the
    # whole test, not be answered 408 and closed.
    return f"""workers: 1
logging: {{level: info}}
metrics: {{bind: "127.0.0.1:{metrics_port}"}}
listeners:
  - name: web
    bind: "127.0.0.1:{port}"
    protocol: http
    pool: app
    timeouts: {{header: 60s, keep_alive: 60s}}
pools:
  - name: app
    backends:
      - {{address: "{backend.address}"}}
"""


@contextlib.contextmanager
def fd_limit_for_children(limit):
    """Starts processes (ballast) with RLIMIT_NOFILE `limit`; the test itself keeps its own."""
    orig = subprocess.Popen

    def low_limit():
        resource.setrlimit(resource.RLIMIT_NOFILE, (limit, limit))

    def popen(*a, **kw):
        return orig(*a, preexec_fn=low_limit, **kw)

    subprocess.Popen = popen
    try:
        yield
    finally:
        subprocess.Popen = orig


def open_fds(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


def cpu_seconds(pid):
    """utime + stime of every thread of the process (io_uring's workers included)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    # After the command name: state is field 3, utime 14 and stime 15 (1-based, proc(5)).
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def accept_queue(port):
    """Connections waiting in the accept queue of the socket listening on 127.0.0.1:port (for a
    listening socket, /proc/net/tcp's rx_queue is its accept queue)."""
    local = f"0100007F:{port:04X}"
    with open("/proc/net/tcp") as f:
        for line in f.readlines()[1:]:
            cols = line.split()
            if cols[1] == local and cols[3] == "0A":  # 0A: LISTEN
                return int(cols[4].split(":")[1], 16)
    return 0


def http_get(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2) as s:
            s.sendall(b"GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
            return s.recv(4096).split(b" ", 2)[1] == b"200"
    except (OSError, IndexError):
        return False


def accept_errors(metrics_port, reason):
    with urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics", timeout=5) as r:
        text = r.read().decode()
    m = re.search(rf'^ballast_listener_accept_errors_total\{{listener="web",reason="{reason}"\}}'
                  r" (\S+)$", text, re.M)
    return int(float(m.group(1))) if m else None


# UBSan checks an object's dynamic type the first time it meets a type pair, through a pipe it
# opens: with ballast's fd table full that fails and is reported in correct code.
@unittest.skipIf(SANITIZED, "fills ballast's fd table, which UBSan's type checks need")
class AcceptBackoffTest(BallastTest):
    def test_out_of_fds_backs_off_then_serves_again(self):
        for io in IO_BACKENDS:
            with self.subTest(io=io):
                self.run_backend(io)

    def run_backend(self, io):
        backend = HttpBackend("b1")
        held = []
        try:
            port, metrics_port = free_port(), free_port()
            # The test spawns nothing else, so only ballast gets the low limit.
            with fd_limit_for_children(FD_LIMIT), \
                    Ballast(config(port, metrics_port, backend), io=io) as b:
                pid = b.proc.pid
                self.assertTrue(http_get(port))  # served before the squeeze
                room = FD_LIMIT - open_fds(pid)
                self.assertGreater(room, QUEUED, "ballast's own fds leave too little room")
                # Every connect succeeds: the kernel completes the handshake and queues the
                # connection whether ballast accepts it or not.
                for _ in range(room + QUEUED):
                    held.append(socket.create_connection(("127.0.0.1", port), timeout=5))
                wait_until(lambda: open_fds(pid) >= FD_LIMIT and accept_queue(port) > 0,
                           what="fd table full with connections still queued")

                # Saturated: each accept would fail with EMFILE. A measurement window, not a
                # wait for anything: the CPU ballast burns over it is the result.
                cpu0, t0 = cpu_seconds(pid), time.monotonic()
                time.sleep(CPU_WINDOW_S)
                share = (cpu_seconds(pid) - cpu0) / (time.monotonic() - t0)
                self.assertLess(share, MAX_CPU_SHARE,
                                f"ballast burned {share:.0%} of a core while out of fds")
                self.assertGreater(accept_queue(port), 0, "the queued connections were dropped")
                paused = b.events("l4.accept_paused")
                self.assertTrue(paused, "no l4.accept_paused line")
                self.assertEqual(paused[0]["reason"], "emfile")
                self.assertEqual(paused[0]["listener"], "web")

                for s in held:
                    s.close()
                held.clear()
                # Descriptors free up as ballast sees the clients go: the back-off ends within
                # its cap (1 s) and the listener serves again.
                wait_until(lambda: http_get(port), what="a request served after the squeeze")
                self.assertGreater(accept_errors(metrics_port, "emfile") or 0, 0)
                self.assertEqual(accept_errors(metrics_port, "enomem"), 0)
        finally:
            for s in held:
                s.close()
            backend.close()


if __name__ == "__main__":
    main()
