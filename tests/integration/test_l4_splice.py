"""tests/integration/test_l4_splice.py — the TCP proxy's splice path: once a direction has moved
64 KiB its bytes go socket → pipe → socket in the kernel. Checked on both I/O backends (epoll
splices on readiness; io_uring polls, then splices itself): several MiB each way with their SHA-256, half-close both ways, a slow reader that must pause the sender
without the proxy growing, a backend reset mid-stream, pipe creation failing for want of
fds (the copy path goes on, counted, and tries again later), an idle pipe given back, and the
pipe budget yielding to what the config's sockets need. The metrics prove which path was taken.

fd budget: a handful of sockets per test; the budget tests run ballast with 48 fds.
"""
import contextlib
import hashlib
import os
import re
import resource
import socket
import struct
import subprocess
import threading
import time
import urllib.request

from harness import (IO_BACKENDS, Backend, Ballast, BallastTest, behaviour_digest, free_port,
                     main, rss_bytes, tcp_config, wait_until)

MIB = 1 << 20
# What the slow-reader test's backend offers, and the most it may get out before it stalls: the
# kernel's buffers on the path (loopback autotunes a receive buffer up to tcp_rmem's 32 MiB
# here, send buffers to tcp_wmem's 4 MiB) plus the 1 MiB pipe; anything past that would be
# the proxy buffering without bound.
FLOOD_BYTES = 96 * MIB
STALL_BOUND = 48 * MIB


def metric(port, name):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
        text = r.read().decode()
    m = re.search(rf'^{name}\{{listener="front"\}} (\S+)$', text, re.M)
    return int(float(m.group(1))) if m else None


def pattern(n, seed):
    """n deterministic bytes (cheap to make and hash on both ends)."""
    block = hashlib.sha256(seed).digest() * (MIB // 32)
    out = bytearray()
    while len(out) < n:
        out += block[: n - len(out)]
    return bytes(out)


def behaviour_download(sock, server):
    """Reads an 8-byte size, sends that many pattern bytes and its FIN, then reads what the
    client still sends after that FIN and records its digest on the server (half-close)."""
    size = struct.unpack("!Q", recv_exact(sock, 8))[0]
    sock.sendall(pattern(size, b"down"))
    sock.shutdown(socket.SHUT_WR)
    h = hashlib.sha256()
    while True:
        data = sock.recv(1 << 20)
        if not data:
            break
        h.update(data)
    server.after_fin = h.digest()
    server.done.set()


def behaviour_flood(sock, server):
    """Sends pattern bytes as fast as the client takes them, counting what it wrote."""
    payload = pattern(FLOOD_BYTES, b"flood")
    view = memoryview(payload)
    try:
        while server.sent < len(payload):
            n = sock.send(view[server.sent: server.sent + MIB])
            server.sent += n
        sock.shutdown(socket.SHUT_WR)
    except OSError:
        pass


def behaviour_reset_mid_stream(sock, server):
    """Sends 4 MiB, then resets the connection."""
    sock.sendall(pattern(4 * MIB, b"rst"))
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


def recv_exact(sock, n):
    buf = b""
    while len(buf) < n:
        data = sock.recv(n - len(buf))
        if not data:
            raise EOFError("peer closed early")
        buf += data
    return buf


def read_all(sock):
    h = hashlib.sha256()
    total = 0
    while True:
        data = sock.recv(1 << 20)
        if not data:
            return h.digest(), total
        h.update(data)
        total += len(data)


def config(port, mport, backend):
    return tcp_config(port, [backend.address], top=f'metrics: {{bind: "127.0.0.1:{mport}"}}')


class SpliceTest(BallastTest):
    def assert_path(self, io, mport, min_bytes):
        """The splice path was taken: a pipe made, most bytes moved through it."""
        self.assertGreaterEqual(metric(mport, "ballast_listener_splice_pipes_total"), 1)
        self.assertGreaterEqual(metric(mport, "ballast_listener_splice_bytes_total"), min_bytes)

    def test_upload_keeps_every_byte_and_the_fin(self):
        backend = Backend("digest", behaviour=behaviour_digest)
        payload = pattern(24 * MIB, b"up")
        try:
            for io in IO_BACKENDS:
                with self.subTest(io=io):
                    port, mport = free_port(), free_port()
                    with Ballast(config(port, mport, backend), io=io):
                        with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
                            s.sendall(payload)
                            s.shutdown(socket.SHUT_WR)  # must reach the backend via the pipe
                            reply, _ = recv_exact(s, 40), None
                            self.assertEqual(s.recv(1), b"")  # the backend's FIN, carried
                        self.assertEqual(reply[:32], hashlib.sha256(payload).digest())
                        self.assertEqual(struct.unpack("!Q", reply[32:])[0], len(payload))
                        self.assert_path(io, mport, 16 * MIB)
        finally:
            backend.close()

    def test_download_keeps_every_byte_and_half_close_works_the_other_way(self):
        backend = Backend("down", behaviour=behaviour_download)
        size = 24 * MIB
        try:
            for io in IO_BACKENDS:
                with self.subTest(io=io):
                    backend.done = threading.Event()
                    backend.after_fin = None
                    port, mport = free_port(), free_port()
                    with Ballast(config(port, mport, backend), io=io):
                        with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
                            s.sendall(struct.pack("!Q", size))
                            digest, total = read_all(s)  # ends at the backend's FIN
                            # Our direction is still open: bytes sent now must arrive.
                            tail = pattern(3 * MIB, b"tail")
                            s.sendall(tail)
                            s.shutdown(socket.SHUT_WR)
                            self.assertEqual(s.recv(1), b"")
                        self.assertEqual(total, size)
                        self.assertEqual(digest, hashlib.sha256(pattern(size, b"down")).digest())
                        self.assertTrue(backend.done.wait(10))
                        self.assertEqual(backend.after_fin, hashlib.sha256(tail).digest())
                        self.assert_path(io, mport, 16 * MIB)
        finally:
            backend.close()

    def test_slow_reader_pauses_the_sender_and_the_proxy_does_not_grow(self):
        backend = Backend("flood", behaviour=behaviour_flood)
        try:
            for io in IO_BACKENDS:
                with self.subTest(io=io):
                    backend.sent = 0
                    port, mport = free_port(), free_port()
                    # A pipe idle for 100 ms is freed only when empty: this one holds bytes
                    # the stalled reader has yet to take, longer than that.
                    with env_set(BALLAST_SPLICE_IDLE_MS="100"), \
                            Ballast(config(port, mport, backend), io=io) as b:
                        rss_before = rss_bytes(b.proc.pid)
                        with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
                            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
                            first = recv_exact(s, 128 * 1024)  # enough to start splicing
                            # Then stop reading: the backend must stall within the kernel's buffers.
                            wait_until(lambda: self._stable(backend), timeout=20,
                                       what="backend stalled")
                            self.assertLess(backend.sent, STALL_BOUND)
                            grown = rss_bytes(b.proc.pid) - rss_before
                            self.assertLess(grown, 8 * MIB)
                            self.assertEqual(metric(
                                mport, "ballast_listener_splice_pipes_idle_freed_total"), 0)
                            digest, total = read_all(s)
                        whole = pattern(FLOOD_BYTES, b"flood")
                        self.assertEqual(first + b"", whole[: len(first)])
                        self.assertEqual(total + len(first), len(whole))
                        self.assertEqual(digest, hashlib.sha256(whole[len(first):]).digest())
                        self.assert_path(io, mport, 8 * MIB)
        finally:
            backend.close()

    @staticmethod
    def _stable(backend):
        """The backend's count has not moved for 300 ms (a sender blocked on a full window)."""
        before = backend.sent
        time.sleep(0.3)  # measuring that nothing happens: there is no event to wait for
        return backend.sent == before

    def test_backend_reset_mid_stream_reaches_the_client_as_reset(self):
        backend = Backend("rst", behaviour=behaviour_reset_mid_stream)
        try:
            for io in IO_BACKENDS:
                with self.subTest(io=io):
                    port, mport = free_port(), free_port()
                    with Ballast(config(port, mport, backend), io=io):
                        with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
                            got = 0
                            with self.assertRaises(ConnectionResetError):
                                while True:
                                    data = s.recv(1 << 20)
                                    if not data:
                                        break
                                    got += len(data)
                            self.assertLess(got, 4 * MIB + 1)
                        wait_until(lambda: metric(mport, "ballast_listener_connections_active")
                                   in (0, None), what="session closed")
        finally:
            backend.close()

    def test_an_idle_direction_gives_its_pipe_back_and_can_splice_again(self):
        """A burst turns the upload bulk; once the pipe is empty and unused for
        BALLAST_SPLICE_IDLE_MS the session closes it (the connection stays), the next burst
        copies, turns bulk again and gets a new pipe, and the backend gets every byte."""
        backend = Backend("digest", behaviour=behaviour_digest)
        burst1, burst2 = pattern(2 * MIB, b"one"), pattern(3 * MIB, b"two")
        try:
            for io in IO_BACKENDS:
                with self.subTest(io=io):
                    port, mport = free_port(), free_port()
                    with env_set(BALLAST_SPLICE_IDLE_MS="300"), \
                            Ballast(config(port, mport, backend), io=io) as b:
                        base = pipe_fds(b.proc.pid)
                        with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
                            s.sendall(burst1)
                            wait_until(lambda: metric(
                                mport, "ballast_listener_splice_pipes_idle_freed_total") == 1,
                                what="idle pipe freed")
                            self.assertEqual(pipe_fds(b.proc.pid), base)
                            self.assertEqual(
                                metric(mport, "ballast_listener_splice_pipes_total"), 1)
                            s.sendall(burst2)
                            s.shutdown(socket.SHUT_WR)
                            reply = recv_exact(s, 40)
                        self.assertEqual(reply[:32], hashlib.sha256(burst1 + burst2).digest())
                        self.assertEqual(struct.unpack("!Q", reply[32:])[0], 5 * MIB)
                        self.assertEqual(metric(mport, "ballast_listener_splice_pipes_total"), 2)
        finally:
            backend.close()

    def test_pipe_failure_falls_back_to_copy_and_is_counted(self):
        """RLIMIT_NOFILE 48 gives pipes a budget of 12 fds: six pipes. Eight concurrent uploads
        want eight; the last two go on copying, counted, with every byte intact. (They try again
        after more bytes, so each refusal may be counted more than once, and one may get a pipe
        that an early session's end freed.)"""
        backend = Backend("digest", behaviour=behaviour_digest)
        try:
            port, mport = free_port(), free_port()
            with low_fd_ballast(small_config(port, mport, backend)) as b:
                payload = pattern(2 * MIB, b"few")
                socks = [socket.create_connection(("127.0.0.1", port), timeout=30)
                         for _ in range(8)]
                try:
                    for s in socks:
                        s.sendall(payload[: MIB])  # every direction past the threshold
                    for s in socks:
                        s.sendall(payload[MIB:])
                        s.shutdown(socket.SHUT_WR)
                    for s in socks:
                        reply = recv_exact(s, 40)
                        self.assertEqual(reply[:32], hashlib.sha256(payload).digest())
                finally:
                    for s in socks:
                        s.close()
                # Six at once; a refused direction that tries again after an early session
                # ended (and freed its pipe) may get a seventh or eighth: that is the retry.
                made = metric(mport, "ballast_listener_splice_pipes_total")
                self.assertGreaterEqual(made, 6)
                self.assertLessEqual(made, 8)
                self.assertGreaterEqual(metric(mport, "ballast_listener_splice_fallbacks_total"), 2)
                self.assertTrue(b.events("l4.splice_unavailable"))
        finally:
            backend.close()

    def test_sockets_come_first_in_the_fd_budget(self):
        """With RLIMIT_NOFILE 48, a config whose sockets fit (10 pairs) leaves pipes their
        quarter, 12 fds; the default limits (8192 pairs) could need every fd, so pipes get none:
        the upload copies, counted, and the start-up warning says so."""
        backend = Backend("digest", behaviour=behaviour_digest)
        payload = pattern(MIB, b"budget")
        try:
            port, mport = free_port(), free_port()
            with low_fd_ballast(small_config(port, mport, backend)) as b:
                budget = b.events("server.fd_budget")
                self.assertEqual([(e["sockets"], e["pipe_fds"]) for e in budget], [(21, 12)])
                self.assertFalse(b.events("server.fd_limit"))
            port, mport = free_port(), free_port()
            with low_fd_ballast(config(port, mport, backend)) as b:
                warning = b.events("server.fd_limit")
                self.assertEqual(len(warning), 1)
                self.assertEqual(warning[0]["pipe_fds"], 0)
                with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
                    s.sendall(payload)
                    s.shutdown(socket.SHUT_WR)
                    reply = recv_exact(s, 40)
                self.assertEqual(reply[:32], hashlib.sha256(payload).digest())
                self.assertIn(metric(mport, "ballast_listener_splice_pipes_total"), (0, None))
                self.assertGreaterEqual(metric(mport, "ballast_listener_splice_fallbacks_total"), 1)
        finally:
            backend.close()

    def test_a_refused_direction_splices_once_pipes_are_freed(self):
        """Six pipes fill the budget (RLIMIT_NOFILE 48). Two more uploads are refused and go
        on copying; once the first six sessions have ended and their pipes are closed, the two
        get a pipe on a later try (after twice the bytes per refusal), every byte intact."""
        backend = Backend("digest", behaviour=behaviour_digest)
        first, more = pattern(MIB, b"first"), pattern(8 * MIB, b"more")
        try:
            port, mport = free_port(), free_port()
            with low_fd_ballast(small_config(port, mport, backend)) as b:
                base = pipe_fds(b.proc.pid)
                early = [socket.create_connection(("127.0.0.1", port), timeout=30)
                         for _ in range(6)]
                late = []
                try:
                    for s in early:
                        s.sendall(first)
                    wait_until(lambda: metric(mport, "ballast_listener_splice_pipes_total") == 6,
                               what="six pipes")
                    late = [socket.create_connection(("127.0.0.1", port), timeout=30)
                            for _ in range(2)]
                    for s in late:
                        s.sendall(first)
                    # Ballast has read every byte: both late directions passed the threshold
                    # with the budget spent.
                    wait_until(lambda: metric(mport, "ballast_listener_received_bytes_total")
                               >= 8 * MIB, what="all first bytes read")
                    self.assertEqual(metric(mport, "ballast_listener_splice_pipes_total"), 6)
                    self.assertGreaterEqual(
                        metric(mport, "ballast_listener_splice_fallbacks_total"), 2)
                    for s in early:
                        s.shutdown(socket.SHUT_WR)
                        reply = recv_exact(s, 40)
                        self.assertEqual(reply[:32], hashlib.sha256(first).digest())
                        s.close()
                    wait_until(lambda: pipe_fds(b.proc.pid) == base, what="pipes closed")
                    for s in late:
                        s.sendall(more)
                        s.shutdown(socket.SHUT_WR)
                        reply = recv_exact(s, 40)
                        self.assertEqual(reply[:32], hashlib.sha256(first + more).digest())
                finally:
                    for s in early + late:
                        s.close()
                self.assertEqual(metric(mport, "ballast_listener_splice_pipes_total"), 8)
        finally:
            backend.close()


def pipe_fds(pid):
    """Pipes open in the process (what /proc/PID/fd links to pipe:[inode])."""
    count = 0
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            if os.readlink(f"/proc/{pid}/fd/{fd}").startswith("pipe:"):
                count += 1
        except OSError:
            pass  # closed meanwhile
    return count


@contextlib.contextmanager
def env_set(**values):
    """Environment variables for the processes started inside (ballast reads its BALLAST_SPLICE_*
    knobs once at start)."""
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def small_config(port, mport, backend):
    """A config whose sockets fit in 48 fds, so that the pipe budget is a quarter of them."""
    return tcp_config(port, [backend.address], top=f'metrics: {{bind: "127.0.0.1:{mport}"}}',
                      extra_listener="    limits: {max_connections: 10}")


@contextlib.contextmanager
def low_fd_ballast(config_yaml, limit=48, io="epoll"):
    """A running Ballast started with RLIMIT_NOFILE `limit`; the test keeps its own."""
    def low_fd_limit():
        resource.setrlimit(resource.RLIMIT_NOFILE, (limit, limit))

    orig = subprocess.Popen

    def popen(*a, **kw):
        return orig(*a, preexec_fn=low_fd_limit, **kw)

    b = Ballast(config_yaml, io=io)
    subprocess.Popen = popen  # only ballast's own start sees the low limit
    try:
        with b:
            subprocess.Popen = orig
            yield b
    finally:
        subprocess.Popen = orig


if __name__ == "__main__":
    main()
