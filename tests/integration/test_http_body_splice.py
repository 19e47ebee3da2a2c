"""tests/integration/test_http_body_splice.py — large Content-Length bodies go socket → kernel pipe →
socket (splice), both ways, on io_uring and epoll. Checked with SHA-256 and the splice counters:
response bodies of 256 KiB and up take the pipe and arrive whole, smaller ones and HEAD answers do
not, and the backend connection is reused after one; a request pipelined behind a spliced body is
answered in order; bytes a backend sends past its Content-Length never reach the client (the splice
stops at the body's end); a backend that cuts a body short, and a client that leaves mid-body
(counted and logged as abandoned), end only their own exchange; a client that stops reading stalls
the backend instead of growing the proxy; a compressed answer is never spliced. Uploads: spliced
whole with the connection reused, a request pipelined right behind the body left for the parser, an
early answer (413) ending the splice and the connection, a client leaving mid-upload never
completing the request at the backend (logged with status 499), an Upgrade with a large body left
to the tunnel whole; a pipe the kernel will not give is asked for once per body, and the copy path
serves.

fd budget: a handful of sockets and up to two pipes per test.
"""
import hashlib
import os
import re
import socket
import threading
import time
import urllib.request

from harness import IO_BACKENDS, SANITIZED, Ballast, BallastTest, free_port, main, rss_bytes, \
    wait_until

KIB = 1 << 10
MIB = 1 << 20
SPLICE_MIN = 256 * KIB  # H1Upstream::kBodySpliceMinBytes
# The slow-reader case: what the backend offers, and the most it may get out while the client
# reads nothing (loopback's autotuned socket buffers on both legs plus the 1 MiB pipe; see
# test_l4_splice.py). More would be the proxy buffering without bound.
FLOOD_BYTES = 96 * MIB
STALL_BOUND = 48 * MIB
TUNNEL_END = b"END-OF-TUNNEL-BYTES"


def pattern(n, seed=b"body"):
    block = hashlib.sha256(seed).digest() * (MIB // 32)
    out = bytearray()
    while len(out) < n:
        out += block[: n - len(out)]
    return bytes(out)


class RawBackend:
    """An HTTP/1.1 server written on sockets, so that the test decides every byte:
    GET /big/N      N pattern bytes with Content-Length (keep-alive)
    GET /overrun/N  the same, then stray bytes in the same write (a broken backend)
    GET /cut/N      Content-Length N, half the body, then a close
    GET /flood/N    N bytes, sent 1 MiB at a time, counting what the socket took
    GET /text/N     N bytes of compressible text/plain
    HEAD /big/N     the head only
    PUT /sink/0     reads the Content-Length body, answers its SHA-256 and length
    PUT /early/0    answers 413 after the head, reads nothing, closes
    GET /upgrade/0  answers 101 at once and keeps what follows, up to TUNNEL_END"""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        self.flood_sent = 0
        self.truncated_uploads = 0
        self.answered_uploads = 0
        self.empty_connections = 0  # closed before a request line
        self.tunnel_got = None
        self.lock = threading.Lock()
        threading.Thread(target=self.serve, daemon=True).start()

    def close(self):
        self.sock.close()

    def serve(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with self.lock:
                self.connections += 1
            threading.Thread(target=self.handle, args=(conn,), daemon=True).start()

    def handle(self, conn):
        f = conn.makefile("rb")
        seen_request = False
        try:
            while True:
                line = f.readline()
                if not line:
                    if not seen_request:
                        with self.lock:
                            self.empty_connections += 1
                    return
                seen_request = True
                headers = {}
                while True:
                    h = f.readline()
                    if h in (b"\r\n", b""):
                        break
                    k, v = h.decode().split(":", 1)
                    headers[k.strip().lower()] = v.strip()
                method, target = line.split()[:2]
                kind, n = target.decode().strip("/").split("/")
                n = int(n)
                if kind == "upgrade":
                    # Switches at once: whatever the client sends from here on is the tunnel's.
                    conn.sendall(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: test\r\n"
                                 b"Connection: Upgrade\r\n\r\n")
                    got = bytearray()
                    while not got.endswith(TUNNEL_END):
                        data = f.read1(MIB)
                        if not data:
                            break
                        got += data
                    with self.lock:
                        self.tunnel_got = bytes(got)
                    return
                if kind == "early":
                    conn.sendall(b"HTTP/1.1 413 Content Too Large\r\nContent-Length: 0\r\n"
                                 b"Connection: close\r\n\r\n")
                    return
                if kind == "sink":
                    left = int(headers["content-length"])
                    digest = hashlib.sha256()
                    total = 0
                    while left:
                        data = f.read(min(left, MIB))
                        if not data:
                            with self.lock:
                                self.truncated_uploads += 1
                            return
                        digest.update(data)
                        total += len(data)
                        left -= len(data)
                    answer = f"{digest.hexdigest()} {total}".encode()
                    with self.lock:
                        self.answered_uploads += 1
                    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(answer)
                                 + answer)
                    continue
                ctype = "text/plain" if kind == "text" else "application/octet-stream"
                head = (f"HTTP/1.1 200 OK\r\nContent-Type: {ctype}\r\n"
                        f"Content-Length: {n}\r\n\r\n").encode()
                body = (b"hello splice " * (n // 13 + 1))[:n] if kind == "text" else pattern(n)
                if method == b"HEAD":
                    conn.sendall(head)
                elif kind == "overrun":
                    conn.sendall(head + body + b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nEVIL!")
                elif kind == "cut":
                    conn.sendall(head + body[: n // 2])
                    conn.shutdown(socket.SHUT_RDWR)
                    return
                elif kind == "flood":
                    conn.sendall(head)
                    for off in range(0, n, MIB):
                        conn.sendall(body[off:off + MIB])
                        with self.lock:
                            self.flood_sent += MIB
                else:
                    conn.sendall(head + body)
        except OSError:
            pass
        finally:
            conn.close()


def read_response(sock, buf=b""):
    """One response from a raw socket: (status, headers, body, leftover bytes)."""
    while b"\r\n\r\n" not in buf:
        data = sock.recv(65536)
        if not data:
            raise ConnectionError(f"closed before a head: {buf[:200]!r}")
        buf += data
    head, buf = buf.split(b"\r\n\r\n", 1)
    lines = head.decode().split("\r\n")
    status = int(lines[0].split()[1])
    headers = {k.strip().lower(): v.strip() for k, v in (l.split(":", 1) for l in lines[1:])}
    length = int(headers.get("content-length", "0"))
    body = bytearray(buf[:length])
    buf = buf[length:]
    while len(body) < length:
        data = sock.recv(min(4 * MIB, length - len(body)))
        if not data:
            raise ConnectionError(f"closed after {len(body)} of {length} body bytes")
        body += data
    return status, headers, bytes(body), buf


def head_response(sock):
    """A HEAD answer: the head only."""
    buf = b""
    while b"\r\n\r\n" not in buf:
        data = sock.recv(65536)
        if not data:
            raise ConnectionError("closed before a head")
        buf += data
    head, rest = buf.split(b"\r\n\r\n", 1)
    return head.decode(), rest


def get(path, method="GET"):
    return f"{method} {path} HTTP/1.1\r\nHost: t\r\n\r\n".encode()


def put(path, n, seed=b"up"):
    return (f"PUT {path} HTTP/1.1\r\nHost: t\r\nContent-Length: {n}\r\n\r\n".encode()
            + pattern(n, seed))


def upload_answer(n, seed=b"up"):
    return f"{hashlib.sha256(pattern(n, seed)).hexdigest()} {n}".encode()


def metrics(port):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
        text = r.read().decode()
    out = {}
    for name, family in (("pipes", "splice_pipes"), ("bytes", "splice_bytes"),
                         ("fallbacks", "splice_fallbacks"), ("client_aborts", "client_aborts")):
        m = re.search(rf'^ballast_listener_{family}_total\{{listener="web"\}} (\S+)$', text, re.M)
        out[name] = int(float(m.group(1))) if m else 0
    return out


def access_lines(lb):
    return [line for line in lb.log_text().splitlines() if '"http.access"' in line]


def config(port, mport, backend_port, extra_listener=""):
    return f"""workers: 1
logging: {{level: info}}
metrics: {{bind: "127.0.0.1:{mport}"}}
listeners:
  - name: web
    bind: "127.0.0.1:{port}"
    protocol: http
    pool: app
{extra_listener}
pools:
  - name: app
    backends:
      - {{address: "127.0.0.1:{backend_port}"}}
"""


class HttpBodySpliceTest(BallastTest):
    def run_proxy(self, io, extra_listener=""):
        backend = RawBackend()
        self.addCleanup(backend.close)
        port, mport = free_port(), free_port()
        lb = Ballast(config(port, mport, backend.port, extra_listener), io=io)
        return backend, port, mport, lb

    def client(self, port):
        s = socket.create_connection(("127.0.0.1", port), timeout=20)
        self.addCleanup(s.close)
        return s

    def test_large_bodies_are_spliced_whole_and_the_backend_connection_reused(self):
        sizes = [8 * MIB, SPLICE_MIN + 1, SPLICE_MIN - 1, 64 * KIB, 3 * MIB]
        for io in IO_BACKENDS:
            with self.subTest(io=io):
                backend, port, mport, lb = self.run_proxy(io)
                with lb:
                    s = self.client(port)
                    for n in sizes:
                        s.sendall(get(f"/big/{n}"))
                        status, _, body, rest = read_response(s)
                        self.assertEqual((status, rest), (200, b""))
                        self.assertEqual(hashlib.sha256(body).hexdigest(),
                                         hashlib.sha256(pattern(n)).hexdigest(), f"{n} bytes")
                    s.sendall(get(f"/big/{4 * MIB}", "HEAD"))
                    head, rest = head_response(s)
                    self.assertIn(f"Content-Length: {4 * MIB}", head)
                    self.assertEqual(rest, b"")
                    m = metrics(mport)
                    # The 8 MiB, 256 KiB + 1 and 3 MiB bodies; not the small ones, not the HEAD.
                    self.assertEqual(m["pipes"], 3, m)
                    big = 8 * MIB + SPLICE_MIN + 1 + 3 * MIB
                    # Bytes read with the head, or before the switch reached the kernel (an
                    # io_uring multishot recv goes on filling chunks until its cancel lands),
                    # are copied; the rest is not.
                    self.assertGreater(m["bytes"], big // 2, m)
                    self.assertLessEqual(m["bytes"], big, m)
                    self.assertEqual(m["fallbacks"], 0, m)
                    # One backend connection carried all six answers.
                    self.assertEqual(backend.connections, 1)

    def test_a_pipelined_request_behind_a_spliced_body_is_answered_in_order(self):
        for io in IO_BACKENDS:
            with self.subTest(io=io):
                _, port, mport, lb = self.run_proxy(io)
                with lb:
                    s = self.client(port)
                    s.sendall(get(f"/big/{4 * MIB}") + get(f"/big/{2 * MIB}") + get("/big/100"))
                    rest = b""
                    for n in (4 * MIB, 2 * MIB, 100):
                        status, _, body, rest = read_response(s, rest)
                        self.assertEqual(status, 200)
                        self.assertEqual(body, pattern(n), f"{n} bytes")
                    self.assertEqual(rest, b"")
                    self.assertEqual(metrics(mport)["pipes"], 2)

    def test_bytes_past_the_content_length_never_reach_the_client(self):
        for io in IO_BACKENDS:
            with self.subTest(io=io):
                backend, port, _, lb = self.run_proxy(io)
                with lb:
                    s = self.client(port)
                    s.sendall(get(f"/overrun/{2 * MIB}"))
                    status, _, body, rest = read_response(s)
                    self.assertEqual((status, rest), (200, b""))
                    self.assertEqual(body, pattern(2 * MIB))
                    # The next answer is the backend's real one, on a new connection: the stray
                    # bytes retired the old one, and none of them was sent on.
                    s.sendall(get("/big/10"))
                    status, _, body, rest = read_response(s)
                    self.assertEqual((status, body, rest), (200, pattern(10), b""))
                    self.assertEqual(backend.connections, 2)

    def test_a_body_cut_short_by_the_backend_ends_only_that_exchange(self):
        for io in IO_BACKENDS:
            with self.subTest(io=io):
                _, port, mport, lb = self.run_proxy(io)
                with lb:
                    s = self.client(port)
                    s.sendall(get(f"/cut/{4 * MIB}"))
                    with self.assertRaises(ConnectionError):
                        read_response(s)  # the client must not take a short body as whole
                    # The cut exchange is still logged, once, with the status the backend gave;
                    # the backend cut it, so no client abort is counted.
                    wait_until(lambda: access_lines(lb), timeout=10,
                               what="the cut exchange's access line")
                    self.assertEqual(len(access_lines(lb)), 1, access_lines(lb))
                    self.assertIn('"status":200', access_lines(lb)[0])
                    self.assertIn(f'"path":"/cut/{4 * MIB}"', access_lines(lb)[0])
                    self.assertEqual(metrics(mport)["client_aborts"], 0)
                    s2 = self.client(port)
                    s2.sendall(get(f"/big/{MIB}"))
                    status, _, body, _ = read_response(s2)
                    self.assertEqual((status, body), (200, pattern(MIB)))
                    self.assertIsNone(lb.proc.poll())

    def test_a_client_leaving_mid_body_does_not_disturb_the_next(self):
        for io in IO_BACKENDS:
            with self.subTest(io=io):
                _, port, mport, lb = self.run_proxy(io)
                with lb:
                    s = socket.create_connection(("127.0.0.1", port), timeout=20)
                    s.sendall(get(f"/big/{32 * MIB}"))
                    got = 0
                    while got < 2 * MIB:
                        data = s.recv(MIB)
                        self.assertTrue(data)
                        got += len(data)
                    s.close()  # unread bytes in its buffer: a reset
                    # The cut download is counted and logged with the backend's status and the
                    # body bytes taken from the backend so far, as any other exchange.
                    wait_until(lambda: access_lines(lb), timeout=10,
                               what="the abandoned exchange's access line")
                    self.assertEqual(metrics(mport)["client_aborts"], 1)
                    access = access_lines(lb)
                    self.assertEqual(len(access), 1, access)
                    self.assertIn('"status":200', access[0])
                    sent = int(re.search(r'"bytes_out":(\d+)', access[0]).group(1))
                    self.assertTrue(0 < sent < 32 * MIB, sent)
                    s2 = self.client(port)
                    s2.sendall(get(f"/big/{2 * MIB}"))
                    status, _, body, _ = read_response(s2)
                    self.assertEqual((status, body), (200, pattern(2 * MIB)))
                    self.assertEqual(metrics(mport)["pipes"], 2)
                    self.assertIsNone(lb.proc.poll())

    def test_a_client_that_stops_reading_stalls_the_backend(self):
        for io in IO_BACKENDS:
            with self.subTest(io=io):
                backend, port, _, lb = self.run_proxy(io)
                with lb:
                    s = self.client(port)
                    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 256 * KIB)
                    s.sendall(get(f"/flood/{FLOOD_BYTES}"))
                    rss_before = rss_bytes(lb.proc.pid)

                    def stalled():
                        # The backend made no progress for half a second.
                        before = backend.flood_sent
                        time.sleep(0.5)
                        return backend.flood_sent == before and before > 0

                    wait_until(stalled, timeout=20, what="the backend stalls")
                    self.assertLess(backend.flood_sent, STALL_BOUND)
                    if not SANITIZED:
                        self.assertLess(rss_bytes(lb.proc.pid) - rss_before, 8 * MIB)
                    _, _, body, _ = read_response(s)
                    self.assertEqual(len(body), FLOOD_BYTES)
                    self.assertEqual(body, pattern(FLOOD_BYTES))

    def test_large_uploads_are_spliced_whole_and_the_backend_connection_reused(self):
        sizes = [8 * MIB, SPLICE_MIN + 1, SPLICE_MIN - 1, 64 * KIB]
        for io in IO_BACKENDS:
            with self.subTest(io=io):
                backend, port, mport, lb = self.run_proxy(io)
                with lb:
                    s = self.client(port)
                    for n in sizes:
                        s.sendall(put("/sink/0", n))
                        status, _, body, rest = read_response(s)
                        self.assertEqual((status, body, rest), (200, upload_answer(n), b""))
                    m = metrics(mport)
                    self.assertEqual(m["pipes"], 2, m)  # 8 MiB and 256 KiB + 1
                    big = 8 * MIB + SPLICE_MIN + 1
                    self.assertGreater(m["bytes"], big // 2, m)  # as for responses
                    self.assertLessEqual(m["bytes"], big, m)
                    self.assertEqual(backend.connections, 1)

    def test_a_request_pipelined_behind_a_spliced_upload_is_answered_in_order(self):
        for io in IO_BACKENDS:
            with self.subTest(io=io):
                _, port, mport, lb = self.run_proxy(io)
                with lb:
                    s = self.client(port)
                    # The GET sits in the socket right behind the body: the splice must stop
                    # at the body's last byte and leave it to the parser.
                    s.sendall(put("/sink/0", 4 * MIB) + get("/big/100") + put("/sink/0", MIB, b"2"))
                    status, _, body, rest = read_response(s)
                    self.assertEqual((status, body), (200, upload_answer(4 * MIB)))
                    status, _, body, rest = read_response(s, rest)
                    self.assertEqual((status, body), (200, pattern(100)))
                    status, _, body, rest = read_response(s, rest)
                    self.assertEqual((status, body, rest), (200, upload_answer(MIB, b"2"), b""))
                    self.assertEqual(metrics(mport)["pipes"], 2)

    def test_an_early_answer_ends_a_spliced_upload(self):
        for io in IO_BACKENDS:
            with self.subTest(io=io):
                _, port, _, lb = self.run_proxy(io)
                with lb:
                    s = self.client(port)
                    s.sendall(f"PUT /early/0 HTTP/1.1\r\nHost: t\r\n"
                              f"Content-Length: {64 * MIB}\r\n\r\n".encode())
                    sender = threading.Thread(target=self.send_quietly,
                                              args=(s, pattern(64 * MIB)), daemon=True)
                    sender.start()
                    status, _, _, rest = read_response(s)
                    self.assertEqual(status, 413)
                    # The rest of the body is never read as a request: the connection closes.
                    while True:
                        data = s.recv(65536)
                        if not data:
                            break
                        rest += data
                    self.assertEqual(rest, b"")
                    sender.join(timeout=20)
                    self.assertFalse(sender.is_alive(), "the client's send never ended")
                    s2 = self.client(port)
                    s2.sendall(put("/sink/0", MIB))
                    status, _, body, _ = read_response(s2)
                    self.assertEqual((status, body), (200, upload_answer(MIB)))
                    self.assertIsNone(lb.proc.poll())

    def test_an_upgrade_with_a_large_body_is_never_spliced(self):
        # After the 101 the client's bytes belong to the tunnel: all of them, in order, none
        # held back in a pipe the tunnel does not read.
        for io in IO_BACKENDS:
            with self.subTest(io=io):
                backend, port, mport, lb = self.run_proxy(io)
                with lb:
                    s = self.client(port)
                    body = pattern(4 * MIB, b"tunnel")
                    s.sendall(f"GET /upgrade/0 HTTP/1.1\r\nHost: t\r\nUpgrade: test\r\n"
                              f"Connection: Upgrade\r\nContent-Length: {len(body)}\r\n\r\n"
                              .encode())
                    sender = threading.Thread(target=self.send_quietly,
                                              args=(s, body + TUNNEL_END), daemon=True)
                    sender.start()
                    head, _ = head_response(s)
                    self.assertTrue(head.startswith("HTTP/1.1 101"), head)
                    wait_until(lambda: backend.tunnel_got is not None, timeout=20,
                               what="the backend reads the tunnel to its end")
                    self.assertEqual(len(backend.tunnel_got), len(body) + len(TUNNEL_END))
                    self.assertEqual(backend.tunnel_got, body + TUNNEL_END)
                    self.assertEqual(metrics(mport)["pipes"], 0)

    def test_a_refused_pipe_is_asked_for_once_per_body(self):
        # Pipes under 64 KiB are refused (as when fs.pipe-user-pages-soft is spent): each body
        # takes the copy path after one try, counted once, not one try per chunk it reads.
        os.environ["BALLAST_SPLICE_PIPE_BYTES"] = "4096"
        self.addCleanup(os.environ.pop, "BALLAST_SPLICE_PIPE_BYTES")
        for io in IO_BACKENDS:
            with self.subTest(io=io):
                _, port, mport, lb = self.run_proxy(io)
                with lb:
                    s = self.client(port)
                    s.sendall(put("/sink/0", 16 * MIB))
                    status, _, body, _ = read_response(s)
                    self.assertEqual((status, body), (200, upload_answer(16 * MIB)))
                    s.sendall(get(f"/big/{4 * MIB}"))
                    status, _, body, _ = read_response(s)
                    self.assertEqual((status, body), (200, pattern(4 * MIB)))
                    self.assertEqual(metrics(mport),
                                     {"pipes": 0, "bytes": 0, "fallbacks": 2, "client_aborts": 0})

    @staticmethod
    def send_quietly(sock, data):
        try:
            sock.sendall(data)
        except OSError:
            pass  # the proxy closed after answering: expected

    def test_a_client_leaving_mid_upload_never_completes_the_request(self):
        for io in IO_BACKENDS:
            with self.subTest(io=io):
                backend, port, mport, lb = self.run_proxy(io)
                with lb:
                    s = socket.create_connection(("127.0.0.1", port), timeout=20)
                    data = put("/sink/0", 16 * MIB)
                    s.sendall(data[: 4 * MIB])
                    s.close()
                    wait_until(lambda: access_lines(lb), timeout=10,
                               what="the abandoned exchange's access line")
                    self.assertEqual(metrics(mport)["client_aborts"], 1)
                    # What the backend saw depends on how far the request got: the body cut
                    # short, or nothing at all when the whole 4 MiB and the FIN fit in the upload
                    # pipe before the connect completed (loopback skbs pack the 1 MiB pipe's
                    # slots with far more than a page each). Never a whole request.
                    wait_until(lambda: backend.truncated_uploads + backend.empty_connections == 1,
                               timeout=10, what="the backend connection closed mid-request")
                    self.assertEqual(backend.answered_uploads, 0)
                    self.assertGreater(metrics(mport)["bytes"], 0, "the upload was not spliced")
                    access = access_lines(lb)
                    self.assertEqual(len(access), 1, access)
                    self.assertIn('"status":499', access[0])
                    self.assertIn('"path":"/sink/0"', access[0])
                    s2 = self.client(port)
                    s2.sendall(put("/sink/0", 2 * MIB))
                    status, _, body, _ = read_response(s2)
                    self.assertEqual((status, body), (200, upload_answer(2 * MIB)))

    def test_a_compressed_answer_is_never_spliced(self):
        compress = "    compress: {algorithms: [gzip], min_size: 1KiB}"
        for io in IO_BACKENDS:
            with self.subTest(io=io):
                _, port, mport, lb = self.run_proxy(io, compress)
                with lb:
                    s = self.client(port)
                    s.sendall(f"GET /text/{MIB} HTTP/1.1\r\nHost: t\r\n"
                              "Accept-Encoding: gzip\r\n\r\n".encode())
                    buf = b""
                    while b"0\r\n\r\n" not in buf[-16:]:
                        data = s.recv(65536)
                        self.assertTrue(data, "closed before the last chunk")
                        buf += data
                    self.assertIn(b"Content-Encoding: gzip", buf.split(b"\r\n\r\n")[0])
                    self.assertEqual(metrics(mport)["pipes"], 0)


if __name__ == "__main__":
    main()
