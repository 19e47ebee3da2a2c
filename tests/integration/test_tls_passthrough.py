"""tests/integration/test_tls_passthrough.py — tls_passthrough listeners end to end: real TLS
servers behind ballast (self-signed certificates made with `openssl req` for this run), clients
routed by the server name in their ClientHello (exact, wildcard, case, default pool), a hello
sent one byte per TCP segment and fragmented over many TLS records, malformed hellos and
unroutable names closed and counted in /metrics, and the ClientHello timeout; on io_uring and
epoll. The handshake completes end to end, so the certificate a client sees proves which backend
it reached and that ballast did not terminate TLS."""
import os
import shutil
import socket
import ssl
import subprocess
import tempfile
import threading
import time
import urllib.request

from harness import IO_BACKENDS, Ballast, BallastTest, free_port, main, wait_until

NAMES = ("a", "wild", "fallback")


def make_cert(directory, name):
    """A self-signed P-256 certificate for CN=<name>; returns (cert path, key path)."""
    cert = os.path.join(directory, f"{name}.crt")
    key = os.path.join(directory, f"{name}.key")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1", "-subj", f"/CN={name}",
                    "-keyout", key, "-out", cert], check=True, capture_output=True)
    return cert, key


class TlsServer:
    """A real TLS server on 127.0.0.1: completes the handshake, writes its name and the server
    name it saw, then closes. One thread per connection."""

    def __init__(self, name, cert, key):
        self.name = name
        self.chain = (cert, key)
        with open(cert) as f:
            self.der = ssl.PEM_cert_to_DER_cert(f.read())
        self.lock = threading.Lock()
        self.connections = 0
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(128)
        self.port = self.sock.getsockname()[1]
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with self.lock:
                self.connections += 1
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn):
        seen = []
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(*self.chain)
        ctx.sni_callback = lambda obj, server_name, _ctx: seen.append(server_name or "")
        try:
            conn.settimeout(10)
            with ctx.wrap_socket(conn, server_side=True) as tls:
                tls.sendall(f"{self.name} {seen[0] if seen else ''}\n".encode())
        except (OSError, ssl.SSLError):
            conn.close()

    def close(self):
        self.sock.close()


def read_line_tls(obj_read):
    out = b""
    while not out.endswith(b"\n"):
        chunk = obj_read()
        if not chunk:
            break
        out += chunk
    return out.decode().strip()


def ask(port, server_name, timeout=10, before=b""):
    """A TLS client through ballast; returns (backend line, DER of the certificate it saw).
    `before` is sent ahead of the handshake (a PROXY header)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as raw:
        raw.sendall(before)
        with ctx.wrap_socket(raw, server_hostname=server_name) as tls:
            return read_line_tls(lambda: tls.recv(4096)), tls.getpeercert(binary_form=True)


def refragment(hello, size):
    """The same handshake message carried in TLS records of at most `size` bytes each."""
    assert hello[0] == 22 and len(hello) == 5 + int.from_bytes(hello[3:5], "big")
    message = hello[5:]
    out = b""
    for i in range(0, len(message), size):
        part = message[i:i + size]
        out += bytes([22, 3, 1]) + len(part).to_bytes(2, "big") + part
    return out


def ask_byte_by_byte(port, server_name, record_size):
    """Sends the ClientHello one byte per TCP segment (TCP_NODELAY, one send per byte), its
    handshake message split over records of record_size bytes, then finishes the handshake over
    the same connection and reads the backend's line."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(incoming, outgoing, server_hostname=server_name)
    try:
        obj.do_handshake()
    except ssl.SSLWantReadError:
        pass
    hello = refragment(outgoing.read(), record_size)
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for i in range(len(hello)):
            sock.send(hello[i:i + 1])
            # A millisecond between bytes: without it loopback queues bytes faster than ballast
            # reads them and several arrive in one read. With it nearly every read holds one
            # byte, which is the case under test; a coalesced read would only make it easier.
            time.sleep(0.001)
        while True:
            try:
                obj.do_handshake()
                break
            except ssl.SSLWantReadError:
                pending = outgoing.read()
                if pending:
                    sock.sendall(pending)
                data = sock.recv(65536)
                if not data:
                    raise ConnectionError("closed during the handshake")
                incoming.write(data)
        pending = outgoing.read()
        if pending:
            sock.sendall(pending)

        def read():
            while True:
                try:
                    return obj.read(4096)
                except ssl.SSLWantReadError:
                    data = sock.recv(65536)
                    if not data:
                        return b""
                    incoming.write(data)
        return read_line_tls(read), obj.getpeercert(binary_form=True)


def closed_without_answer(port, payload, timeout=10):
    """Sends payload and expects ballast to close (FIN or RST) without a byte in reply."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(payload)
        try:
            return s.recv(4096) == b""
        except ConnectionResetError:
            return True


def metric(port, name, listener):
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    prefix = f'{name}{{listener="{listener}"}} '
    for line in text.splitlines():
        if line.startswith(prefix):
            return float(line[len(prefix):])
    return None


class TlsPassthroughTest(BallastTest):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="ballast-tls-")
        cls.servers = {}
        for name in NAMES:
            cert, key = make_cert(cls.dir, name)
            cls.servers[name] = TlsServer(name, cert, key)

    @classmethod
    def tearDownClass(cls):
        for s in cls.servers.values():
            s.close()
        shutil.rmtree(cls.dir, ignore_errors=True)

    def config(self, port, strict_port, metrics_port, proxied_port=None):
        s = self.servers
        return f"""workers: 1
logging: {{level: debug}}
metrics: {{bind: "127.0.0.1:{metrics_port}"}}
listeners:
  - name: tls
    bind: "127.0.0.1:{port}"
    protocol: tls_passthrough
    pool: fallback
    sni:
      - names: [a.example.test]
        pool: a
      - names: ["*.wild.example.test"]
        pool: wild
  - name: strict
    bind: "127.0.0.1:{strict_port}"
    protocol: tls_passthrough
    timeouts: {{client_hello: 1s}}
    sni:
      - names: [a.example.test]
        pool: a
  - name: proxied
    bind: "127.0.0.1:{proxied_port or free_port()}"
    protocol: tls_passthrough
    proxy_protocol: {{accept: true}}
    pool: fallback
    sni:
      - names: ["*.wild.example.test"]
        pool: wild
pools:
  - name: a
    backends: [{{address: "127.0.0.1:{s['a'].port}"}}]
  - name: wild
    backends: [{{address: "127.0.0.1:{s['wild'].port}"}}]
  - name: fallback
    backends: [{{address: "127.0.0.1:{s['fallback'].port}"}}]
"""

    def run_each_io(self, body):
        for io in IO_BACKENDS:
            with self.subTest(io=io):
                port, strict, mport = free_port(), free_port(), free_port()
                with Ballast(self.config(port, strict, mport), io=io) as b:
                    body(b, port, strict, mport)

    def expect_backend(self, answer, backend, server_name):
        line, der = answer
        self.assertEqual(line, f"{backend} {server_name}".strip())
        self.assertEqual(der, self.servers[backend].der)  # its own certificate: not terminated

    def test_routes_by_server_name(self):
        def body(b, port, strict, mport):
            self.expect_backend(ask(port, "a.example.test"), "a", "a.example.test")
            self.expect_backend(ask(port, "x.wild.example.test"), "wild", "x.wild.example.test")
            # Case-insensitive; the backend still sees the name as the client wrote it.
            self.expect_backend(ask(port, "A.Example.TEST"), "a", "A.Example.TEST")
            self.expect_backend(ask(port, "X.WILD.example.test"), "wild", "X.WILD.example.test")
            # A wildcard covers one label: two labels, or the apex, go to the default pool.
            self.expect_backend(ask(port, "y.z.wild.example.test"), "fallback",
                                "y.z.wild.example.test")
            self.expect_backend(ask(port, "wild.example.test"), "fallback", "wild.example.test")
            self.expect_backend(ask(port, "other.test"), "fallback", "other.test")
            self.expect_backend(ask(port, None), "fallback", "")  # no SNI at all
            self.assertEqual(metric(mport, "ballast_tls_client_hello_malformed_total", "tls"), 0)
            self.assertEqual(metric(mport, "ballast_tls_no_route_total", "tls"), 0)
        self.run_each_io(body)

    def test_client_hello_one_byte_per_segment_over_many_records(self):
        def body(b, port, strict, mport):
            # 64-byte records: a ~500-byte hello in 8 or 9 records, each byte its own segment.
            self.expect_backend(ask_byte_by_byte(port, "b.wild.example.test", 64), "wild",
                                "b.wild.example.test")
            # One record (as clients send it), still byte by byte.
            self.expect_backend(ask_byte_by_byte(port, "a.example.test", 1 << 14), "a",
                                "a.example.test")
        self.run_each_io(body)

    def test_malformed_hello_is_closed_and_counted(self):
        def body(b, port, strict, mport):
            before = {n: s.connections for n, s in self.servers.items()}
            self.assertTrue(closed_without_answer(port, b"GET / HTTP/1.1\r\nHost: a\r\n\r\n"))
            # An SSLv2-style hello (2-byte header with the top bit set, MSG-CLIENT-HELLO).
            self.assertTrue(closed_without_answer(port, bytes.fromhex("802e0103010015000000100000")))
            # A handshake record whose ClientHello claims more than 16 KiB.
            self.assertTrue(closed_without_answer(port, bytes.fromhex("16030100040100ffff")))
            wait_until(lambda: metric(mport, "ballast_tls_client_hello_malformed_total", "tls")
                       == 3, what="three malformed hellos counted")
            self.assertEqual(len(b.events("l4.tls_hello_invalid")), 3)
            reasons = {e.get("reason") for e in b.events("l4.tls_hello_invalid")}
            self.assertEqual(reasons, {"not a TLS handshake record", "SSLv2-style ClientHello",
                                       "ClientHello larger than 16 KiB"})
            # Refused before any backend was dialled.
            self.assertEqual({n: s.connections for n, s in self.servers.items()}, before)
            # The listener still serves good clients.
            self.expect_backend(ask(port, "a.example.test"), "a", "a.example.test")
        self.run_each_io(body)

    def test_no_route_without_default_pool_is_closed_and_counted(self):
        def body(b, port, strict, mport):
            with self.assertRaises((ssl.SSLError, ConnectionError, OSError)):
                ask(strict, "other.test")
            with self.assertRaises((ssl.SSLError, ConnectionError, OSError)):
                ask(strict, None)
            wait_until(lambda: metric(mport, "ballast_tls_no_route_total", "strict") == 2,
                       what="two unrouted hellos counted")
            self.assertEqual(metric(mport, "ballast_tls_client_hello_malformed_total", "strict"),
                             0)
            self.expect_backend(ask(strict, "a.example.test"), "a", "a.example.test")
        self.run_each_io(body)

    def test_proxy_header_then_client_hello(self):
        for io in IO_BACKENDS:
            with self.subTest(io=io):
                port, strict, mport, proxied = free_port(), free_port(), free_port(), free_port()
                with Ballast(self.config(port, strict, mport, proxied), io=io):
                    header = b"PROXY TCP4 192.0.2.7 127.0.0.1 40000 443\r\n"
                    self.expect_backend(ask(proxied, "q.wild.example.test", before=header),
                                        "wild", "q.wild.example.test")
                    self.expect_backend(ask(proxied, "a.example.test", before=header),
                                        "fallback", "a.example.test")
                    # Header and garbage in one segment: what follows the header is read as the hello.
                    self.assertTrue(closed_without_answer(proxied, header + b"GET /"))
                    wait_until(lambda: metric(mport, "ballast_tls_client_hello_malformed_total",
                                              "proxied") == 1, what="malformed after PROXY")

    def test_incomplete_hello_times_out(self):
        def body(b, port, strict, mport):
            # The first 10 bytes of a hello, then nothing: closed after client_hello (1 s).
            started = time.monotonic()
            self.assertTrue(closed_without_answer(strict, bytes.fromhex("16030100c8010000c40303")))
            self.assertGreaterEqual(time.monotonic() - started, 0.9)
            self.assertEqual(len(b.events("l4.tls_hello_timeout")), 1)
            self.assertEqual(metric(mport, "ballast_listener_timeouts_total", "strict"), 1)
        self.run_each_io(body)


if __name__ == "__main__":
    main()
