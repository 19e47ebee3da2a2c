"""tests/integration/test_h2.py — HTTP/2 from clients to HTTP/1.1 backends: h2 chosen by ALPN on an
https listener (curl --http2, h2load from nghttp2-client), h2c by prior knowledge on a cleartext
`http2: true` listener (curl --http2-prior-knowledge) where HTTP/1.1 clients keep working, many
concurrent streams over few connections, large uploads and downloads with checksums, the
forwarding headers and the access log, a stream the client resets logged as abandoned (499),
and a malformed request reset without reaching the backend. Each case on both I/O backends.
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
import urllib.request

try:
    import h2.config
    import h2.connection
    import h2.events
except ImportError:  # an interpreter other than Debian's: use its python3-h2 (pure Python)
    sys.path.append("/usr/lib/python3/dist-packages")
    import h2.config
    import h2.connection
    import h2.events

from harness import IO_BACKENDS, Ballast, BallastTest, free_port, main, wait_until
from http_backends import HttpBackend, h2_front_config, log_events, payload, payload_sha256

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
        return h2_front_config(tls_port, clear_port, self.cert, self.key, self.backend.address)

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

    def test_body_without_content_length_goes_chunked_upstream(self):
        pieces = [b"a" * 70000, b"b" * 5, b"c" * 100000]
        want = hashlib.sha256(b"".join(pieces)).hexdigest()

        def body(b, tls, clear):
            port = int(clear.rsplit(":", 1)[1])
            conn = h2.connection.H2Connection(
                config=h2.config.H2Configuration(client_side=True))
            conn.initiate_connection()
            conn.increment_flow_control_window(1 << 24)
            with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
                conn.send_headers(1, [(":method", "POST"), (":path", "/sha256"),
                                      (":scheme", "http"), (":authority", "a.test")])
                s.sendall(conn.data_to_send())
                queue = list(pieces)
                answer, done = b"", False
                while not done:
                    # Send what the windows allow; the rest after WINDOW_UPDATEs.
                    while queue and conn.local_flow_control_window(1) > 0:
                        n = min(len(queue[0]), conn.local_flow_control_window(1),
                                conn.max_outbound_frame_size)
                        conn.send_data(1, queue[0][:n])
                        queue[0] = queue[0][n:]
                        if not queue[0]:
                            queue.pop(0)
                            if not queue:
                                conn.end_stream(1)
                    s.sendall(conn.data_to_send())
                    data = s.recv(65536)
                    self.assertTrue(data, "closed before answering")
                    for event in conn.receive_data(data):
                        if isinstance(event, h2.events.DataReceived):
                            answer += event.data
                            conn.acknowledge_received_data(event.flow_controlled_length, 1)
                        elif isinstance(event, h2.events.StreamEnded):
                            done = True
                        elif isinstance(event, h2.events.StreamReset):
                            self.fail(f"reset: {event.error_code}")
                    s.sendall(conn.data_to_send())
            got = json.loads(answer)
            self.assertEqual((got["sha256"], got["framing"]), (want, "chunked"), got)
        self.each_io(body)

    def test_stop_sends_goaway_and_finishes_the_stream_in_flight(self):
        import signal
        import threading
        import time

        release = threading.Event()

        def slow(handler, n):
            release.wait(10)
            handler.respond(200, b"slow done")

        backend = HttpBackend("slow", handlers={"/slow": slow})
        try:
            for io in IO_BACKENDS:
                with self.subTest(io=io):
                    release.clear()
                    tls_port, clear_port = free_port(), free_port()
                    cfg = self.config(tls_port, clear_port).replace(self.backend.address,
                                                                     backend.address)
                    b = Ballast(cfg, io=io).start()
                    try:
                        # Raw frames: python3-h2 treats any GOAWAY as the end of everything.
                        from test_h2_limits import (END_HEADERS, END_STREAM, GOAWAY, HEADERS,
                                                    PREFACE, SETTINGS, frame, request_block)
                        before = backend.requests
                        with socket.create_connection(("127.0.0.1", clear_port), timeout=10) as s:
                            s.sendall(PREFACE + frame(SETTINGS, 0, 0) +
                                      frame(HEADERS, END_STREAM | END_HEADERS, 1,
                                            request_block("/slow")))
                            wait_until(lambda: backend.requests > before, what="request at backend")
                            b.proc.send_signal(signal.SIGTERM)
                            data, frames, closed = b"", [], False
                            s.settimeout(10)
                            while not closed:
                                chunk = s.recv(65536)
                                closed = not chunk
                                data += chunk
                                while len(data) >= 9 + int.from_bytes(data[:3], "big"):
                                    n = int.from_bytes(data[:3], "big")
                                    frames.append((data[3], data[4], data[9:9 + n]))
                                    data = data[9 + n:]
                                if any(f[0] == GOAWAY for f in frames):
                                    release.set()  # the GOAWAY came first; now answer
                            goaways = [f for f in frames if f[0] == GOAWAY]
                            self.assertTrue(goaways, frames)
                            self.assertEqual(int.from_bytes(goaways[0][2][4:8], "big"), 0)
                            bodies = b"".join(f[2] for f in frames if f[0] == 0)
                            self.assertEqual(bodies, b"slow done")
                    finally:
                        release.set()
                        b.stop()
                        b.log_file.close()
        finally:
            backend.close()

    def test_sticky_cookie_over_h2(self):
        others = [HttpBackend("alpha"), HttpBackend("beta")]
        try:
            for io in IO_BACKENDS:
                with self.subTest(io=io):
                    tls_port, clear_port = free_port(), free_port()
                    cfg = self.config(tls_port, clear_port).replace(
                        f'  - {{name: app, backends: [{{address: "{self.backend.address}"}}]}}',
                        "  - {name: app, sticky: {cookie: srv}, backends: [" +
                        ", ".join(f'{{address: "{o.address}"}}' for o in others) + "]}")
                    with Ballast(cfg, io=io):
                        base = f"http://127.0.0.1:{clear_port}"
                        out, err = curl("-v", "--http2-prior-knowledge", f"{base}/first")
                        m = re.search(r"< set-cookie: (srv=[^;]+);", err)
                        self.assertIsNotNone(m, err)
                        first = out.decode().split()[0]
                        for i in range(4):
                            out, err = curl("-v", "--http2-prior-knowledge", "-H",
                                            f"Cookie: {m.group(1)}", f"{base}/again{i}")
                            self.assertEqual(out.decode().split()[0], first, out)
                            self.assertNotIn("set-cookie", err)  # still the right backend
        finally:
            for o in others:
                o.close()

    def test_a_stream_the_client_resets_is_logged_as_abandoned(self):
        import threading

        release = threading.Event()

        def slow(handler, n):
            release.wait(10)
            handler.respond(200, b"slow done")

        def early(handler, n):
            handler.close_connection = True
            handler.respond(413, b"too large")  # at the head, the upload unread

        def answer(conn, s, stream_id):
            """Reads until stream_id's response has ended; its :status."""
            status, ended = None, False
            while not ended:
                data = s.recv(65536)
                self.assertTrue(data, f"closed before stream {stream_id}'s answer")
                for event in conn.receive_data(data):
                    if isinstance(event, h2.events.ResponseReceived) and \
                            event.stream_id == stream_id:
                        status = dict(event.headers)[b":status"]
                    ended = ended or (isinstance(event, h2.events.StreamEnded) and
                                      event.stream_id == stream_id)
                s.sendall(conn.data_to_send())
            return status

        backend = HttpBackend("slow", handlers={"/slow": slow, "/early": early})
        try:
            for io in IO_BACKENDS:
                with self.subTest(io=io):
                    release.clear()
                    tls_port, clear_port, mport = free_port(), free_port(), free_port()
                    cfg = self.config(tls_port, clear_port).replace(self.backend.address,
                                                                     backend.address)
                    cfg += f'metrics: {{bind: "127.0.0.1:{mport}"}}\n'
                    with Ballast(cfg, io=io) as b:
                        before = backend.requests
                        conn = h2.connection.H2Connection(
                            config=h2.config.H2Configuration(client_side=True))
                        conn.initiate_connection()
                        with socket.create_connection(("127.0.0.1", clear_port), timeout=10) as s:
                            s.sendall(conn.data_to_send())
                            conn.send_headers(1, [(":method", "GET"), (":path", "/slow"),
                                                  (":scheme", "http"), (":authority", "a.test")],
                                              end_stream=True)
                            s.sendall(conn.data_to_send())
                            wait_until(lambda: backend.requests > before, what="request at backend")
                            conn.reset_stream(1, error_code=8)  # CANCEL: the user gave up
                            s.sendall(conn.data_to_send())

                            def abandoned():
                                return [e for e in log_events(b, "http.access")
                                        if e.get("path") == "/slow"]
                            wait_until(abandoned, what="the abandoned stream's access line")
                            self.assertEqual(abandoned()[0]["status"], 499, abandoned())
                            # The connection goes on: the next stream is answered.
                            conn.send_headers(3, [(":method", "GET"), (":path", "/next"),
                                                  (":scheme", "http"), (":authority", "a.test")],
                                              end_stream=True)
                            s.sendall(conn.data_to_send())
                            self.assertEqual(answer(conn, s, 3), b"200")
                            # A reset after a whole answer (an early 413 while the client was
                            # still uploading, then the client gives up its upload) is no abort.
                            conn.send_headers(5, [(":method", "POST"), (":path", "/early"),
                                                  (":scheme", "http"), (":authority", "a.test"),
                                                  ("content-length", "1000000")])
                            conn.send_data(5, b"u" * 1000)
                            s.sendall(conn.data_to_send())
                            self.assertEqual(answer(conn, s, 5), b"413")
                            conn.reset_stream(5, error_code=8)
                            conn.send_headers(7, [(":method", "GET"), (":path", "/last"),
                                                  (":scheme", "http"), (":authority", "a.test")],
                                              end_stream=True)
                            s.sendall(conn.data_to_send())
                            self.assertEqual(answer(conn, s, 7), b"200")  # after the reset
                            with urllib.request.urlopen(f"http://127.0.0.1:{mport}/metrics",
                                                        timeout=5) as r:
                                text = r.read().decode()
                            aborts = re.search(r'^ballast_listener_client_aborts_total'
                                               r'\{listener="clear"\} (\S+)$', text, re.M)
                            self.assertEqual(float(aborts.group(1)), 1.0, text)
                            early_lines = [e for e in log_events(b, "http.access")
                                           if e.get("path") == "/early"]
                            self.assertEqual([e["status"] for e in early_lines], [413])
                        release.set()
                    self.assertEqual(len(abandoned()), 1)  # one line: never logged twice
        finally:
            release.set()
            backend.close()

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
