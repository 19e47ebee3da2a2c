"""tests/slow/test_h2_gib.py — 1 GiB up and 1 GiB down over one HTTP/2 stream each, through an
https listener (ALPN h2) and an h2c listener, to an HTTP/1.1 backend, on both I/O backends; the
SHA-256 of what arrived must be that of what was sent. Nothing holds a whole body: curl reads the
upload from a pipe this test feeds (so the h2 request has no content-length and goes upstream
chunked), the backend hashes as it reads and generates the download as it writes it (with a
Content-Length), and the test hashes curl's output as it streams. About 100 s on a busy
2-core host, so it runs in `make soak`, not in `make test`.

fd budget: one client connection and one backend connection at a time.
"""
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "integration"))
from harness import IO_BACKENDS, Ballast, BallastTest, free_port, main  # noqa: E402
from http_backends import BLOCK, HttpBackend, h2_front_config, payload_sha256  # noqa: E402

GIB = 1 << 30
READ_BYTES = 1 << 20
CURL_TIMEOUT_S = 300


def hash_exactly(rfile, n_bytes, digest):
    """Feeds the next n_bytes of rfile to digest, a MiB at a time."""
    while n_bytes:
        piece = rfile.read(min(n_bytes, READ_BYTES))
        if not piece:
            raise ValueError("body ended early")
        digest.update(piece)
        n_bytes -= len(piece)


def read_body_hashed(handler):
    """(sha256 hex, length) of the request body, read in pieces: chunked or Content-Length."""
    digest, total = hashlib.sha256(), 0
    if "chunked" in handler.headers.get("Transfer-Encoding", "").lower():
        while size := int(handler.rfile.readline(1024).split(b";")[0], 16):
            hash_exactly(handler.rfile, size, digest)
            total += size
            handler.rfile.read(2)
        while handler.rfile.readline(1024) not in (b"\r\n", b""):
            pass  # trailers
    else:
        total = int(handler.headers.get("Content-Length", "0"))
        hash_exactly(handler.rfile, total, digest)
    return digest.hexdigest(), total


def streaming_sha256(handler, _n):
    sha, length = read_body_hashed(handler)
    handler.respond(200, json.dumps({"sha256": sha, "length": length}),
                    [("Content-Type", "application/json")])


def streaming_download(handler, _n):
    """GIB bytes of payload(GIB), block by block, with a Content-Length."""
    handler.wfile.write(f"HTTP/1.1 200 OK\r\nContent-Length: {GIB}\r\n\r\n".encode())
    for _ in range(GIB // len(BLOCK)):
        handler.wfile.write(BLOCK)


def feed(pipe):
    try:
        for _ in range(GIB // len(BLOCK)):
            pipe.write(BLOCK)
    finally:
        pipe.close()


def curl_upload(flags, url):
    proc = subprocess.Popen(["curl", "-sS", "--max-time", str(CURL_TIMEOUT_S), *flags, "-T", "-",
                             "-X", "POST", url], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    # Not communicate(): it would close curl's stdin under the feeding thread.
    writer = threading.Thread(target=feed, args=(proc.stdin,), daemon=True)
    writer.start()
    with proc.stdout, proc.stderr:
        out = proc.stdout.read()
        writer.join(CURL_TIMEOUT_S)
        err = proc.stderr.read()
    proc.wait(CURL_TIMEOUT_S)
    if proc.returncode != 0:
        raise AssertionError(f"curl upload to {url} exited {proc.returncode}: {err.decode()}")
    return json.loads(out)


@unittest.skipUnless(shutil.which("curl") and shutil.which("openssl"), "needs curl and openssl")
class H2GibTest(BallastTest):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="ballast-h2-gib-")
        cls.cert, cls.key = os.path.join(cls.dir, "cert.pem"), os.path.join(cls.dir, "key.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                        "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", cls.key, "-out",
                        cls.cert, "-days", "2", "-subj", "/CN=a.test",
                        "-addext", "subjectAltName=DNS:a.test"],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        cls.backend = HttpBackend("app", handlers={"/sha256-stream": streaming_sha256,
                                                   "/gib": streaming_download})
        cls.want = payload_sha256(GIB)

    @classmethod
    def tearDownClass(cls):
        cls.backend.close()
        shutil.rmtree(cls.dir, ignore_errors=True)

    def config(self, tls_port, clear_port):
        return h2_front_config(tls_port, clear_port, self.cert, self.key, self.backend.address)

    def download_sha256(self, flags, url):
        """SHA-256 and length of the body curl writes, hashed as it arrives on its stdout."""
        head = os.path.join(self.dir, "download.head")
        proc = subprocess.Popen(["curl", "-sS", "--max-time", str(CURL_TIMEOUT_S), "-D", head,
                                 *flags, url], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        digest, total = hashlib.sha256(), 0
        with proc.stdout:
            while piece := proc.stdout.read(READ_BYTES):
                digest.update(piece)
                total += len(piece)
        _, err = proc.communicate(timeout=CURL_TIMEOUT_S + 10)
        self.assertEqual(proc.returncode, 0, err.decode())
        with open(head) as f:
            self.assertTrue(f.readline().startswith("HTTP/2 200"), "curl did not get an h2 200")
        return digest.hexdigest(), total

    def test_one_gib_each_way_over_one_stream(self):
        for io in IO_BACKENDS:
            with self.subTest(io=io):
                tls_port, clear_port = free_port(), free_port()
                with Ballast(self.config(tls_port, clear_port), io=io) as b:
                    for base, flags in ((f"https://127.0.0.1:{tls_port}", ["-k", "--http2"]),
                                        (f"http://127.0.0.1:{clear_port}",
                                         ["--http2-prior-knowledge"])):
                        got = curl_upload(flags, f"{base}/sha256-stream")
                        self.assertEqual((got["sha256"], got["length"]), (self.want, GIB), base)
                        self.assertEqual(self.download_sha256(flags, f"{base}/gib"),
                                         (self.want, GIB), base)
                    streams = [e for e in b.events("http.access")
                               if re.fullmatch(r"/(sha256-stream|gib)", e.get("path", ""))]
                    self.assertEqual(len(streams), 4, streams)
                    self.assertTrue(all(e.get("status") == 200 for e in streams), streams)


if __name__ == "__main__":
    main()
