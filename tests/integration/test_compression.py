"""tests/integration/test_compression.py — `compress:` through the real binary, over HTTP/1.1 and
HTTP/2 (prior knowledge): gzip, zstd and brotli bodies decode (with `gzip -d`, `zstd -d` and
`brotli -d`, the real tools) to exactly the backend's bytes, for content-length and chunked
answers up to 8 MiB; the coding follows Accept-Encoding's q-values; Vary is added, Content-Length
dropped and a strong ETag made weak; bodies under min_size, types not listed, answers already
encoded, `Cache-Control: no-transform`, 206 Range answers and clients that accept no listed coding
are passed as they came; HEAD gets the compressed answer's fields and no body; a route can turn
compression off. Traffic stays on 127.0.0.1."""
import hashlib
import shutil
import subprocess
import tempfile
import unittest

from harness import Ballast, BallastTest, free_port, main
from http_backends import HttpBackend

TEXT = ("Ballast compresses text on its way to the client. " * 40).encode()


def text_of(n):
    """n bytes of compressible but not trivial text."""
    out = bytearray()
    i = 0
    while len(out) < n:
        out += b"line %d: " % i + TEXT[: (i * 7) % 200]
        i += 1
    return bytes(out[:n])


def handler(body, ctype="text/html; charset=utf-8", extra=(), status=200):
    def answer(h, _n):
        h.read_body()
        h.respond(status, body, [("Content-Type", ctype), *extra])
    return answer


def chunked_text(h, _n):
    h.read_body()
    body = text_of(300_000)
    h.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
                  b"Transfer-Encoding: chunked\r\n\r\n")
    for off in range(0, len(body), 7000):
        piece = body[off:off + 7000]
        h.wfile.write(b"%x\r\n" % len(piece) + piece + b"\r\n")
    h.wfile.write(b"0\r\n\r\n")


def curl(port, path, accept=None, h2=False, head=False):
    """(status, {lower-case name: [values]}, raw body) — the body as it came, not decoded."""
    cmd = ["curl", "-s", "-D", "-", "-o", "-", *(["--http2-prior-knowledge"] if h2 else []),
           *(["-I"] if head else []),
           *(["-H", f"Accept-Encoding: {accept}"] if accept is not None else []),
           f"http://127.0.0.1:{port}{path}"]
    out = subprocess.run(cmd, capture_output=True, timeout=30).stdout
    head_bytes, _, body = out.partition(b"\r\n\r\n")
    lines = head_bytes.decode("latin-1").split("\r\n")
    fields = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        fields.setdefault(name.strip().lower(), []).append(value.strip())
    return int(lines[0].split()[1]), fields, body


def decode(tool, data):
    return subprocess.run([tool, "-d", "-c"], input=data, capture_output=True, check=True,
                          timeout=30).stdout


@unittest.skipUnless(shutil.which("brotli") and shutil.which("zstd"), "brotli and zstd CLIs")
class CompressionTest(BallastTest):
    @classmethod
    def setUpClass(cls):
        cls.big = text_of(8 * 1024 * 1024)
        cls.page = text_of(50_000)
        cls.backend = HttpBackend("app", {
            "/page": handler(cls.page, extra=[("ETag", '"v1"'), ("Accept-Ranges", "bytes")]),
            "/big": handler(cls.big, ctype="application/json"),
            "/chunked": chunked_text,
            "/small": handler(b"tiny " * 20),
            "/image": handler(cls.page, ctype="image/png"),
            "/encoded": handler(cls.page, extra=[("Content-Encoding", "gzip")]),
            "/no-transform": handler(cls.page, extra=[("Cache-Control", "public, no-transform")]),
            "/range": handler(cls.page[:100], status=206,
                              extra=[("Content-Range", "bytes 0-99/50000")]),
            "/plain/page": handler(cls.page),
        })
        cls.dir = tempfile.mkdtemp(prefix="ballast-compress-")

    @classmethod
    def tearDownClass(cls):
        cls.backend.close()
        shutil.rmtree(cls.dir, ignore_errors=True)

    def config(self, web):
        return f"""workers: 1
listeners:
  - name: web
    bind: "127.0.0.1:{web}"
    protocol: http
    http2: true
    pool: app
    compress: {{algorithms: [zstd, br, gzip], min_size: 1KiB, level: {{gzip: 6, zstd: 3, br: 4}}}}
    routes:
      - {{name: plain, match: {{path: /plain/}}, compress: off, pool: app}}
      - {{name: all, match: {{path: /}}, pool: app}}
pools:
  - name: app
    backends: [{{address: "{self.backend.address}"}}]
"""

    def test_each_coding_round_trips_through_the_real_tools(self):
        web = free_port()
        with Ballast(self.config(web)):
            for h2 in (False, True):
                for coding, tool in (("gzip", "gzip"), ("zstd", "zstd"), ("br", "brotli")):
                    for path, want in (("/page", self.page), ("/big", self.big),
                                       ("/chunked", text_of(300_000))):
                        with self.subTest(h2=h2, coding=coding, path=path):
                            status, fields, body = curl(web, path, accept=coding, h2=h2)
                            self.assertEqual(status, 200)
                            self.assertEqual(fields["content-encoding"], [coding])
                            self.assertIn("Accept-Encoding", fields.get("vary", []))
                            self.assertNotIn("content-length", fields)
                            self.assertLess(len(body), len(want) // 3)
                            got = decode(tool, body)
                            self.assertEqual(hashlib.sha256(got).hexdigest(),
                                             hashlib.sha256(want).hexdigest())

    def test_curl_compressed_reads_what_it_asked_for(self):
        web = free_port()
        with Ballast(self.config(web)):
            for h2 in (False, True):
                with self.subTest(h2=h2):
                    out = subprocess.run(
                        ["curl", "-s", "--compressed", *(["--http2-prior-knowledge"] if h2 else []),
                         "-w", "%{size_download}", "-o", "-", f"http://127.0.0.1:{web}/big"],
                        capture_output=True, timeout=30, check=True).stdout
                    body, wire = out[:len(self.big)], int(out[len(self.big):])
                    self.assertEqual(body, self.big)
                    self.assertLess(wire, len(self.big) // 3)

    def test_page_fields_change_with_the_representation(self):
        web = free_port()
        with Ballast(self.config(web)):
            for h2 in (False, True):
                with self.subTest(h2=h2):
                    _, fields, _ = curl(web, "/page", accept="gzip", h2=h2)
                    self.assertEqual(fields["etag"], ['W/"v1"'])
                    self.assertNotIn("accept-ranges", fields)
                    if not h2:
                        self.assertEqual(fields["transfer-encoding"], ["chunked"])
                    # HEAD: the fields a GET would get, and no body.
                    status, fields, _ = curl(web, "/page", accept="gzip", h2=h2, head=True)
                    self.assertEqual(status, 200)
                    self.assertEqual(set(fields["content-encoding"]), {"gzip"})
                    self.assertNotIn("content-length", fields)

    def test_the_coding_follows_q_values(self):
        web = free_port()
        with Ballast(self.config(web)):
            for accept, want in (("gzip;q=0.5, br;q=0.9", "br"),
                                 ("gzip, br, zstd", "zstd"),        # ties: our order
                                 ("zstd;q=0, gzip", "gzip"),
                                 ("*;q=0.2, zstd;q=0", "br"),
                                 ("GZIP;Q=1", "gzip"),
                                 ("x-gzip", "gzip"),
                                 ("gzip;q=2, br;q=0.1", "br")):      # a bad q drops gzip
                with self.subTest(accept=accept):
                    _, fields, _ = curl(web, "/page", accept=accept)
                    self.assertEqual(fields.get("content-encoding"), [want])

    def test_answers_that_must_not_be_compressed_pass_as_they_came(self):
        web = free_port()
        with Ballast(self.config(web)):
            for h2 in (False, True):
                for path, accept in (("/small", "gzip"), ("/image", "gzip"),
                                     ("/encoded", "zstd"), ("/no-transform", "gzip"),
                                     ("/range", "gzip"), ("/page", "identity"),
                                     ("/page", "deflate, compress"), ("/page", None),
                                     ("/plain/page", "gzip")):
                    with self.subTest(h2=h2, path=path, accept=accept):
                        status, fields, body = curl(web, path, accept=accept, h2=h2)
                        self.assertIn(status, (200, 206))
                        self.assertNotIn("Accept-Encoding", fields.get("vary", []))
                        self.assertEqual(fields.get("content-length"), [str(len(body))])
                        if path == "/encoded":
                            self.assertEqual(fields["content-encoding"], ["gzip"])
                        else:
                            self.assertNotIn("content-encoding", fields)


if __name__ == "__main__":
    main()
