"""tests/integration/test_h2.py — HTTP/2 from clients to HTTP/1.1 backends: h2 chosen by ALPN on an
https listener (curl --http2, h2load from nghttp2-client), h2c by prior knowledge on a cleartext
`http2: true` listener (curl --http2-prior-knowledge) where HTTP/1.1 clients keep working, many
concurrent streams over few connections, large uploads and downloads with checksums, the
forwarding headers and the access log, and a malformed request reset without reaching the
backend. Each case on both I/O backends.
"""
import hashlib
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import unittest

try:
    import h2.config
    import h2.connection
    import h2.events
except ImportError:  # an interpreter other than Debian's: use its python3-h2 (pure Python)
    sys.path.append("/usr/lib/python3/dist-packages")
    import h2.config
    import h2.connection
    import h2.events

from harness import IO_BACKENDS, Ballast, BallastTest, free_port, main
from http_backends import HttpBackend, log_events, payload, payload_sha256

MIB = 1 << 20


def curl(*args, timeout=60):
    proc = subprocess.run(["curl", "-sS", "--max-time", str(timeout), *args],
                          capture_output=True, timeout=timeout + 5)
    if proc.returncode != 0:
        raise AssertionError(f"curl {args} exited {proc.returncode}: {proc.stderr.decode()}")
    return proc.stdout, proc.stderr.decode()


@unittest.skipUnless(shutil.which("openssl") and shutil.which("curl") and shutil.which("h2load"),
                     "needs openssl, curl and h2load (nghttp2-client)")
class H2Test(BallastTest):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="ballast-h2-")
        cls.cert = os.path.join(cls.dir, "cert.pem")
        cls.key = os.path.join(cls.dir, "key.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                        "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", cls.key, "-out",
                        cls.cert, "-days", "2", "-subj", "/CN=a.test",
                        "-addext", "subjectAltName=DNS:a.test"],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        cls.backend = HttpBackend("app")

    @classmethod
    def tearDownClass(cls):
        cls.backend.close()
        shutil.rmtree(cls.dir, ignore_errors=True)

    def config(self, tls_port, clear_port):
        return f"""
workers: 1
logging: {{level: info}}
listeners:
  - name: tls
    bind: "127.0.0.1:{tls_port}"
    protocol: https
    pool: app
    tls:
      certificates: [{{cert: "{self.cert}", key: "{self.key}"}}]
      alpn: [h2, http/1.1]
  - name: clear
    bind: "127.0.0.1:{clear_port}"
    protocol: http
    http2: true
    pool: app
pools:
  - {{name: app, backends: [{{address: "{self.backend.address}"}}]}}
"""

    def each_io(self, body):
        for io in IO_BACKENDS:
            with self.subTest(io=io):
                tls_port, clear_port = free_port(), free_port()
                with Ballast(self.config(tls_port, clear_port), io=io) as b:
                    body(b, f"https://127.0.0.1:{tls_port}", f"http://127.0.0.1:{clear_port}")

    def test_alpn_h2_and_prior_knowledge_h2c(self):
        def body(b, tls, clear):
            out, err = curl("-k", "-v", "--http2", f"{tls}/over-tls")
            self.assertIn("ALPN: server accepted h2", err)
            self.assertIn("< HTTP/2 200", err)
            self.assertTrue(out.decode().endswith("GET /over-tls"), out)
            out, err = curl("-v", "--http2-prior-knowledge", f"{clear}/over-h2c")
            self.assertIn("< HTTP/2 200", err)
            self.assertTrue(out.decode().endswith("GET /over-h2c"), out)
            # The same listeners still speak HTTP/1.1 to clients that ask for it.
            out, err = curl("-k", "-v", "--http1.1", f"{tls}/h1-tls")
            self.assertIn("< HTTP/1.1 200", err)
            out, err = curl("-v", f"{clear}/h1-clear")
            self.assertIn("< HTTP/1.1 200", err)
            self.assertTrue(out.decode().endswith("GET /h1-clear"), out)
        self.each_io(body)

    def test_forwarding_headers_and_access_log(self):
        def body(b, tls, clear):
            out, _ = curl("-k", "--http2", "-H", "X-Forwarded-For: 6.6.6.6",
                          "-H", "X-Request-Id: h2-test-id", f"{tls}/echo-headers")
            seen = {}
            for name, value in json.loads(out):
                seen.setdefault(name.lower(), []).append(value)
            self.assertEqual(seen["x-forwarded-for"], ["127.0.0.1"], seen)  # the forged one is gone
            self.assertEqual(seen["x-forwarded-proto"], ["https"], seen)
            self.assertEqual(seen["host"], [tls.split("//")[1]], seen)
            self.assertEqual(seen["x-request-id"], ["h2-test-id"], seen)
            lines = [e for e in log_events(b, "http.access") if e.get("request_id") == "h2-test-id"]
            self.assertEqual(len(lines), 1, lines)
            self.assertEqual((lines[0]["status"], lines[0]["path"], lines[0]["listener"]),
                             (200, "/echo-headers", "tls"))
        self.each_io(body)

    def test_large_upload_and_download_with_checksums(self):
        size = 24 * MIB
        path = os.path.join(self.dir, "upload.bin")
        with open(path, "wb") as f:
            f.write(payload(size))
        want = hashlib.sha256(payload(size)).hexdigest()
        def body(b, tls, clear):
            for base, flags in ((tls, ["-k", "--http2"]), (clear, ["--http2-prior-knowledge"])):
                out, _ = curl(*flags, "--data-binary", f"@{path}", f"{base}/sha256")
                got = json.loads(out)
                self.assertEqual((got["sha256"], got["length"]), (want, size), base)
                out, _ = curl(*flags, f"{base}/download/chunked/{size}")
                self.assertEqual(hashlib.sha256(out).hexdigest(), payload_sha256(size), base)
        self.each_io(body)

    def test_many_concurrent_streams_with_h2load(self):
        def body(b, tls, clear):
            for base in (tls, clear):
                args = ["h2load", "-n", "3000", "-c", "10", "-m", "100", f"{base}/load"]
                proc = subprocess.run(args, capture_output=True, timeout=120, text=True)
                self.assertEqual(proc.returncode, 0, proc.stderr)
                m = re.search(r"requests: (\d+) total, \d+ started, (\d+) done, (\d+) succeeded",
                              proc.stdout)
                self.assertIsNotNone(m, proc.stdout)
                self.assertEqual(m.groups(), ("3000", "3000", "3000"), proc.stdout)
                self.assertIn("3000 2xx", proc.stdout)
        self.each_io(body)

    def test_malformed_request_is_reset_and_never_forwarded(self):
        def body(b, tls, clear):
            port = int(clear.rsplit(":", 1)[1])
            before = self.backend.requests
            cfg = h2.config.H2Configuration(client_side=True, validate_outbound_headers=False,
                                            normalize_outbound_headers=False)
            conn = h2.connection.H2Connection(config=cfg)
            conn.initiate_connection()
            with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
                s.sendall(conn.data_to_send())
                # :authority and Host disagree: an HTTP/1 backend would route by another name.
                conn.send_headers(1, [(":method", "GET"), (":path", "/x"), (":scheme", "http"),
                                      (":authority", "a.test"), ("host", "b.test")],
                                  end_stream=True)
                s.sendall(conn.data_to_send())
                reset = None
                while reset is None:
                    data = s.recv(65536)
                    self.assertTrue(data, "closed without resetting the stream")
                    for event in conn.receive_data(data):
                        if isinstance(event, h2.events.StreamReset):
                            reset = event
                        self.assertNotIsInstance(event, h2.events.ResponseReceived)
                    s.sendall(conn.data_to_send())
                self.assertEqual(reset.error_code, 1)  # PROTOCOL_ERROR
            self.assertEqual(self.backend.requests, before)
        self.each_io(body)


if __name__ == "__main__":
    main()
