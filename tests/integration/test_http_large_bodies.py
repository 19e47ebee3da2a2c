"""tests/integration/test_http_large_bodies.py — 1 GiB bodies both ways through the HTTP proxy,
checked with SHA-256: an upload with Content-Length (curl -T) and one chunked, and a chunked
download, on io_uring and epoll. The backend hashes as it reads, so memory stays flat."""
import hashlib
import os
import socket
import subprocess
import tempfile
import threading

from harness import IO_BACKENDS, Ballast, BallastTest, free_port, main

GIB = 1 << 30
BLOCK = os.urandom(1 << 20)


def expected_digest():
    h = hashlib.sha256()
    for _ in range(GIB // len(BLOCK)):
        h.update(BLOCK)
    return h.hexdigest()


class StreamingBackend:
    """A raw HTTP/1.1 server: PUT/POST → answers the body's sha256 and length (Content-Length or
    chunked bodies, hashed while streaming); GET → 1 GiB chunked."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self.serve, daemon=True).start()

    def serve(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self.handle, args=(conn,), daemon=True).start()

    def handle(self, conn):
        f = conn.makefile("rb", buffering=1 << 20)
        with conn:
            while True:
                line = f.readline()
                if not line:
                    return
                method = line.split()[0]
                headers = {}
                while True:
                    h = f.readline()
                    if h in (b"\r\n", b""):
                        break
                    k, v = h.decode().split(":", 1)
                    headers[k.strip().lower()] = v.strip()
                if method == b"GET":
                    conn.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
                    chunk = b"%x\r\n" % len(BLOCK) + BLOCK + b"\r\n"
                    for _ in range(GIB // len(BLOCK)):
                        conn.sendall(chunk)
                    conn.sendall(b"0\r\n\r\n")
                    continue
                h = hashlib.sha256()
                total = 0
                if "content-length" in headers:
                    left = int(headers["content-length"])
                    while left:
                        data = f.read(min(left, 1 << 20))
                        h.update(data)
                        total += len(data)
                        left -= len(data)
                else:
                    while True:
                        size = int(f.readline().split(b";")[0], 16)
                        if size == 0:
                            f.readline()
                            break
                        left = size
                        while left:
                            data = f.read(min(left, 1 << 20))
                            h.update(data)
                            total += len(data)
                            left -= len(data)
                        f.read(2)
                body = f"{h.hexdigest()} {total}".encode()
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body) + body)

    def close(self):
        self.sock.close()


def config(port, backend_port):
    return f"""workers: 1
logging: {{level: info}}
listeners:
  - {{name: web, bind: "127.0.0.1:{port}", protocol: http, pool: app}}
pools:
  - name: app
    backends: [{{address: "127.0.0.1:{backend_port}"}}]
"""


class LargeBodiesTest(BallastTest):
    @classmethod
    def setUpClass(cls):
        cls.expected = expected_digest()
        cls.file = tempfile.NamedTemporaryFile(prefix="ballast-gib-", delete=False)
        for _ in range(GIB // len(BLOCK)):
            cls.file.write(BLOCK)
        cls.file.close()
        cls.backend = StreamingBackend()

    @classmethod
    def tearDownClass(cls):
        cls.backend.close()
        os.unlink(cls.file.name)

    def curl(self, *args):
        r = subprocess.run(["curl", "-sS", "--fail", *args], capture_output=True, timeout=240)
        self.assertEqual(r.returncode, 0, r.stderr)
        return r.stdout

    def test_one_gib_up_with_length_and_chunked_and_down_chunked(self):
        for io in IO_BACKENDS:
            with self.subTest(io=io):
                port = free_port()
                url = f"http://127.0.0.1:{port}/gib"
                with Ballast(config(port, self.backend.port), io=io):
                    put = self.curl("-T", self.file.name, url).decode().split()
                    self.assertEqual(put, [self.expected, str(GIB)])
                    chunked = self.curl("-T", self.file.name, "-H", "Transfer-Encoding: chunked",
                                        url).decode().split()
                    self.assertEqual(chunked, [self.expected, str(GIB)])
                    down = subprocess.Popen(["curl", "-sS", "--fail", url], stdout=subprocess.PIPE)
                    h = hashlib.sha256()
                    total = 0
                    while True:
                        data = down.stdout.read(1 << 20)
                        if not data:
                            break
                        h.update(data)
                        total += len(data)
                    self.assertEqual(down.wait(timeout=240), 0)
                    self.assertEqual((h.hexdigest(), total), (self.expected, GIB))


if __name__ == "__main__":
    main()
