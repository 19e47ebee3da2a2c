"""tests/integration/test_http_proxy.py — the HTTP/1.1 reverse proxy end to end: round robin
through curl, keep-alive on both sides, pipelining, the headers it adds and strips, 10 MiB
uploads and 50 MiB downloads with checksums, routing, every error status it answers itself, the
access log, a wrk run and an Upgrade tunnel; on io_uring and epoll."""
import hashlib
import http.client
import json
import os
import re
import select
import socket
import subprocess
import tempfile
import threading
import time

from harness import IO_BACKENDS, Backend, Ballast, BallastTest, free_port, main, wait_until
from http_backends import (HttpBackend, ResponseReader, exchange, http_config, log_events,
                           payload_sha256)

MIB = 1 << 20


def curl(*args, timeout=60):
    """Runs curl; returns stdout bytes. -sS: quiet but errors on stderr; fails the test on exit != 0."""
    proc = subprocess.run(["curl", "-sS", "--max-time", str(timeout), *args],
                          capture_output=True, timeout=timeout + 5)
    if proc.returncode != 0:
        raise AssertionError(f"curl {args} exited {proc.returncode}: {proc.stderr.decode()}")
    return proc.stdout


def get(port, target, host="test.local", method="GET", extra=b"", body=b""):
    """One raw request on its own connection; returns the parsed response."""
    head = f"{method} {target} HTTP/1.1\r\nHost: {host}\r\n".encode() + extra
    if body:
        head += b"Content-Length: %d\r\n" % len(body)
    return exchange(port, head + b"\r\n" + body, method=method)


def read_head(sock):
    """Reads a request or response head (up to the blank line); returns (head, bytes after it)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise EOFError(f"closed inside a head: {data!r}")
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    return head.decode("latin-1"), rest


def drain_until_eof(sock):
    while sock.recv(65536):
        pass


def first_difference(sent, got):
    """Where a received body first differs from the one sent, for failure messages."""
    if len(sent) != len(got):
        return f"{len(got)} bytes received, {len(sent)} sent"
    for i in range(len(sent)):
        if sent[i] != got[i]:
            end = i
            while end < len(sent) and sent[end] != got[end]:
                end += 1
            return (f"bytes {i}..{end - 1} differ: got {got[i:end]!r}, sent {sent[i:end]!r} "
                    f"(of {len(sent)})")
    return "identical"


def behaviour_silent(sock, server):
    """Reads the request and never answers (until the proxy gives up and closes)."""
    drain_until_eof(sock)


def behaviour_duplicate_content_length(sock, server):
    read_head(sock)
    sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!")
    drain_until_eof(sock)


def behaviour_websocket(sock, server):
    """Answers 101 to the first request, then echoes raw bytes until EOF."""
    head, rest = read_head(sock)
    with server.lock:
        server.heads.append(head)
    sock.sendall(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                 b"Connection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n")
    if rest:
        sock.sendall(rest)
    while True:
        data = sock.recv(65536)
        if not data:
            break
        sock.sendall(data)


def headers_seen(resp):
    """The /echo-headers body: {lowercased name: [values]}."""
    out = {}
    for name, value in json.loads(resp.body):
        out.setdefault(name.lower(), []).append(value)
    return out


class HttpProxyTest(BallastTest):
    def each_io(self, config_fn, body):
        """Runs body(port, ballast) once per I/O backend, in a subTest, with ballast running."""
        for io in IO_BACKENDS:
            with self.subTest(io=io):
                port = free_port()
                with Ballast(config_fn(port), io=io) as b:
                    body(port, b)

    # 1 -------------------------------------------------------------------------------------
    def test_curl_round_robin_over_two_backends(self):
        backends = [HttpBackend("alpha"), HttpBackend("beta")]
        try:
            cfg = lambda port: http_config(port, {"app": [b.address for b in backends]})
            def body(port, b):
                url = f"http://127.0.0.1:{port}/hello"
                # Six requests on one curl connection, then two on their own connections.
                out = curl("-w", "|%{http_code}\n", *([url] * 6)).decode()
                out += curl("-w", "|%{http_code}\n", url).decode()
                out += curl("-w", "|%{http_code}\n", url).decode()
                rows = [line.split("|") for line in out.strip().split("\n")]
                self.assertEqual([code for _, code in rows], ["200"] * 8, out)
                names = [body.split()[0] for body, _ in rows]
                self.assertEqual(len(set(names)), 2, out)
                for a, b in zip(names, names[1:]):
                    self.assertNotEqual(a, b, f"round robin did not alternate: {names}")
                self.assertTrue(all(body.endswith("GET /hello") for body, _ in rows), out)
            self.each_io(cfg, body)
        finally:
            for b in backends:
                b.close()

    # 2 -------------------------------------------------------------------------------------
    def test_keep_alive_on_both_sides(self):
        for io in IO_BACKENDS:
            with self.subTest(io=io):
                backend = HttpBackend("ka")
                port = free_port()
                try:
                    with Ballast(http_config(port, {"app": [backend.address]}), io=io):
                        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
                        conn.connect()
                        first = conn.sock
                        for i in range(50):
                            conn.request("GET", f"/ka/{i}")
                            resp = conn.getresponse()
                            body = resp.read().decode()
                            self.assertEqual(resp.status, 200)
                            self.assertEqual(body, f"ka {i + 1} GET /ka/{i}")
                            self.assertIsNone(resp.getheader("Connection"))
                            self.assertIs(conn.sock, first, f"client connection replaced after {i}")
                        conn.close()
                    self.assertEqual(backend.requests, 50)
                    self.assertLessEqual(backend.connections, 3,
                                         "upstream connections were not reused")
                finally:
                    backend.close()

    # 3 -------------------------------------------------------------------------------------
    def test_pipelined_requests_answered_in_order(self):
        backend = HttpBackend("pipe")
        try:
            def body(port, b):
                with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
                    s.sendall(b"GET /p1 HTTP/1.1\r\nHost: a\r\n\r\n"
                              b"POST /p2 HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc"
                              b"GET /p3 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
                    reader = ResponseReader(s)
                    bodies = [reader.read().body.decode() for _ in range(3)]
                    self.assertEqual([b.split(" ", 2)[2] for b in bodies],
                                     ["GET /p1", "POST /p2", "GET /p3"])
                    self.assertTrue(reader.at_eof(), "no close after Connection: close")
            self.each_io(lambda p: http_config(p, {"app": [backend.address]}), body)
        finally:
            backend.close()

    # 4 -------------------------------------------------------------------------------------
    def test_forwarding_headers_added_and_forged_ones_stripped(self):
        backend = HttpBackend("hdr")
        try:
            def body(port, b):
                resp = get(port, "/echo-headers", host="shop.example:8080", extra=(
                    b"X-Forwarded-For: 1.2.3.4\r\nX-Forwarded-For: 5.6.7.8\r\n"
                    b"X-Real-IP: 6.6.6.6\r\nX-Forwarded-Proto: https\r\n"
                    b"X-Forwarded-Host: evil.example\r\nForwarded: for=1.2.3.4;proto=https\r\n"
                    b"Connection: foo, keep-alive\r\nFoo: bar\r\nKeep-Alive: timeout=5\r\n"
                    b"TE: trailers\r\nUpgrade: websocket\r\nProxy-Connection: keep-alive\r\n"
                    b"X-End-To-End: kept\r\n"))
                self.assertEqual(resp.status, 200)
                seen = headers_seen(resp)
                self.assertEqual(seen["x-forwarded-for"], ["127.0.0.1"])
                self.assertEqual(seen["x-real-ip"], ["127.0.0.1"])
                self.assertEqual(seen["x-forwarded-proto"], ["http"])
                self.assertEqual(seen["x-forwarded-host"], ["shop.example:8080"])
                self.assertEqual(seen["host"], ["shop.example:8080"])
                self.assertNotIn("forwarded", seen)
                self.assertEqual(len(seen["via"]), 1)
                self.assertIn("ballast", seen["via"][0])
                self.assertEqual(len(seen["x-request-id"]), 1)
                self.assertRegex(seen["x-request-id"][0], r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")
                for hop in ("connection", "foo", "keep-alive", "te", "upgrade", "proxy-connection"):
                    self.assertNotIn(hop, seen, f"hop-by-hop {hop} reached the backend")
                self.assertEqual(seen["x-end-to-end"], ["kept"])

                # A well-formed id is kept; one that is not a token is replaced.
                kept = headers_seen(get(port, "/echo-headers", extra=b"X-Request-Id: abc-123.X_9\r\n"))
                self.assertEqual(kept["x-request-id"], ["abc-123.X_9"])
                replaced = headers_seen(get(port, "/echo-headers",
                                            extra=b"X-Request-Id: has spaces in it\r\n"))
                self.assertEqual(len(replaced["x-request-id"]), 1)
                self.assertNotEqual(replaced["x-request-id"][0], "has spaces in it")
                self.assertRegex(replaced["x-request-id"][0], r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")
                # Generated ids differ from request to request.
                ids = {headers_seen(get(port, "/echo-headers"))["x-request-id"][0] for _ in range(5)}
                self.assertEqual(len(ids), 5)
            self.each_io(lambda p: http_config(p, {"app": [backend.address]}), body)
        finally:
            backend.close()

    # 5 -------------------------------------------------------------------------------------
    def test_large_bodies_both_ways(self):
        backend = HttpBackend("bulk")
        upload = os.urandom(10 * MIB)
        upload_sha = hashlib.sha256(upload).hexdigest()
        fd, path = tempfile.mkstemp(prefix="ballast-upload-")
        with os.fdopen(fd, "wb") as f:
            f.write(upload)
        big = 50 * MIB
        try:
            def body(port, b):
                url = f"http://127.0.0.1:{port}/sha256"

                def check(got, framing, what):
                    self.assertEqual((got["length"], got["framing"]), (len(upload), framing))
                    self.assertEqual(got["sha256"], upload_sha,
                                     f"{what}: {first_difference(upload, backend.last_body)}")

                with self.subTest(upload="Content-Length, curl"):
                    check(json.loads(curl("--data-binary", f"@{path}", url)), "length", "curl")
                with self.subTest(upload="chunked, curl"):
                    # Three runs: where a corruption lands depends on read timing.
                    for run in range(3):
                        check(json.loads(curl("--data-binary", f"@{path}", "-H",
                                              "Transfer-Encoding: chunked", url)),
                              "chunked", f"curl chunked upload, run {run + 1}")
                with self.subTest(upload="chunked, raw socket"):
                    # 64 KiB chunks, written one by one.
                    with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
                        s.sendall(b"POST /sha256 HTTP/1.1\r\nHost: a\r\n"
                                  b"Transfer-Encoding: chunked\r\n\r\n")
                        for off in range(0, len(upload), 65536):
                            s.sendall(b"10000\r\n" + upload[off:off + 65536] + b"\r\n")
                        s.sendall(b"0\r\n\r\n")
                        check(json.loads(ResponseReader(s).read().body), "chunked",
                              "raw chunked upload")

                with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
                    reader = ResponseReader(s)
                    # Chunked from the backend, chunked to us.
                    s.sendall(b"GET /download/chunked/%d HTTP/1.1\r\nHost: a\r\n\r\n" % big)
                    resp = reader.read(sha=True)
                    self.assertEqual(resp.status, 200)
                    self.assertTrue(resp.chunked)
                    self.assertEqual((resp.length, resp.body), (big, payload_sha256(big)))
                    # Close-delimited (HTTP/1.0, no length) from the backend: reframed as chunked,
                    # so our connection survives it.
                    s.sendall(b"GET /download/close/%d HTTP/1.1\r\nHost: a\r\n\r\n" % big)
                    resp = reader.read(sha=True)
                    self.assertEqual(resp.status, 200)
                    self.assertEqual(resp.header("Transfer-Encoding"), "chunked")
                    self.assertIsNone(resp.header("Content-Length"))
                    self.assertEqual((resp.length, resp.body), (big, payload_sha256(big)))
                    s.sendall(b"GET /after HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
                    self.assertTrue(reader.read().body.endswith(b"GET /after"))

                # An HTTP/1.0 client gets the close-delimited body as it came: no chunking.
                with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
                    s.sendall(b"GET /download/close/%d HTTP/1.0\r\n\r\n" % MIB)
                    resp = ResponseReader(s).read(sha=True)
                    self.assertFalse(resp.chunked)
                    self.assertEqual((resp.length, resp.body), (MIB, payload_sha256(MIB)))
            self.each_io(lambda p: http_config(p, {"app": [backend.address]}), body)
        finally:
            os.unlink(path)
            backend.close()

    # 6 -------------------------------------------------------------------------------------
    def test_routing(self):
        names = ["app", "api", "wild", "health", "v1", "writes"]
        backends = {n: HttpBackend(n) for n in names}
        routes = [
            {"name": "api-host", "match": '{host: "api.example.com"}', "pool": "api"},
            {"name": "wildcard", "match": '{host: "*.example.com"}', "pool": "wild"},
            {"name": "health", "match": "{path: {exact: /healthz}}", "pool": "health"},
            {"name": "v1", "match": "{path: {prefix: /v1/}}", "pool": "v1"},
            {"name": "writes", "match": "{methods: [POST, PUT]}", "pool": "writes"},
        ]
        pools = {n: [b.address] for n, b in backends.items()}
        cases = [
            ("GET", "/", "api.example.com", "api"),
            ("GET", "/", "API.Example.COM:8443", "api"),
            ("GET", "/healthz", "api.example.com", "api"),  # first matching route wins
            ("GET", "/", "a.example.com", "wild"),
            ("GET", "/", "a.b.example.com", "wild"),
            ("GET", "/", "example.com", "app"),  # the wildcard does not cover the apex
            ("GET", "/healthz", "other.test", "health"),
            ("GET", "/healthz?verbose=1", "other.test", "health"),
            ("GET", "/healthz/deep", "other.test", "app"),
            ("GET", "/v1/users", "other.test", "v1"),
            ("GET", "/v1", "other.test", "app"),
            ("POST", "/anything", "other.test", "writes"),
            ("PUT", "/anything", "other.test", "writes"),
            ("DELETE", "/anything", "other.test", "app"),
        ]
        try:
            cfg = lambda p: http_config(p, pools, routes=routes)
            def body(port, b):
                for method, target, host, pool in cases:
                    resp = get(port, target, host=host, method=method)
                    self.assertEqual(resp.status, 200)
                    self.assertEqual(resp.body.decode().split()[0], pool,
                                     f"{method} {host}{target}")
            self.each_io(cfg, body)
            # No default pool: a request no route matches is 404, and the connection stays open
            # for the next request (as NGINX after `return 404`).
            cfg = lambda p: http_config(p, pools, default_pool=None, routes=routes[:1])
            def body(port, b):
                self.assertEqual(get(port, "/", host="api.example.com").status, 200)
                with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
                    s.sendall(b"GET /nowhere HTTP/1.1\r\nHost: elsewhere.test\r\n\r\n")
                    reader = ResponseReader(s)
                    resp = reader.read()
                    self.assertEqual(resp.status, 404)
                    self.assertIsNone(resp.header("Connection"))
                    s.sendall(b"GET / HTTP/1.1\r\nHost: api.example.com\r\n\r\n")
                    self.assertEqual(reader.read().status, 200)
            self.each_io(cfg, body)
        finally:
            for b in backends.values():
                b.close()

    # 7 -------------------------------------------------------------------------------------
    def test_error_statuses(self):
        good = HttpBackend("good")
        silent = Backend("silent", behaviour=behaviour_silent)
        bad = Backend("bad", behaviour=behaviour_duplicate_content_length)
        down = f"127.0.0.1:{free_port()}"  # nothing listens there
        pools = {"app": [good.address], "down": [down], "zero": [(good.address, 0)],
                 "silent": [silent.address], "bad": [bad.address]}
        routes = [{"name": n, "match": f"{{path: {{prefix: /{n}}}}}", "pool": n}
                  for n in ("down", "zero", "silent", "bad")]

        def cfg(port):
            return http_config(port, pools, routes=routes,
                               timeouts={"header": "1s", "response_header": "300ms"},
                               limits={"max_request_line": "1KiB", "max_header_bytes": "4KiB",
                                       "max_body": "1MiB"})

        def closes(port, data, status, method="GET"):
            """Sends raw bytes; asserts the status, Connection: close and the close itself."""
            with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
                s.sendall(data)
                reader = ResponseReader(s)
                resp = reader.read(method=method)
                self.assertEqual(resp.status, status, resp)
                self.assertEqual(resp.header("Connection"), "close", resp)
                self.assertTrue(reader.at_eof(), f"{status}: connection left open")
                return resp

        def keeps(port, data, status):
            """Sends raw bytes; asserts the status, and that the connection (no close asked or
            announced) carries the next request: an answer of ours to a whole request keeps it."""
            with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
                s.sendall(data)
                reader = ResponseReader(s)
                resp = reader.read()
                self.assertEqual(resp.status, status, resp)
                self.assertIsNone(resp.header("Connection"), resp)
                s.sendall(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
                self.assertEqual(reader.read().status, 200)
                return resp

        try:
            def body(port, b):
                keeps(port, b"GET /down HTTP/1.1\r\nHost: a\r\n\r\n", 502)
                keeps(port, b"GET /zero HTTP/1.1\r\nHost: a\r\n\r\n", 503)
                started = time.monotonic()
                keeps(port, b"GET /silent HTTP/1.1\r\nHost: a\r\n\r\n", 504)
                # Asked to close, it closes.
                closes(port, b"GET /down HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", 502)
                self.assertLess(time.monotonic() - started, 2.0)
                closes(port, b"GET /" + b"a" * 2000 + b" HTTP/1.1\r\nHost: a\r\n\r\n", 414)
                closes(port, b"GET / HTTP/1.1\r\nHost: a\r\nX-Big: " + b"b" * 5000 + b"\r\n\r\n", 431)
                closes(port, b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: %d\r\n\r\n" % (2 * MIB),
                       413)
                keeps(port, b"GET /bad HTTP/1.1\r\nHost: a\r\n\r\n", 502)
                bad_events = wait_until(lambda: log_events(b, "l7.bad_response"),
                                        what="l7.bad_response")
                self.assertEqual(bad_events[-1]["backend"], bad.address)
                # The server still works after all that.
                self.assertEqual(get(port, "/").status, 200)
            self.each_io(cfg, body)
        finally:
            good.close()
            silent.close()
            bad.close()

    def test_slow_header_client_gets_408_while_others_are_served(self):
        good = HttpBackend("good")
        try:
            cfg = lambda p: http_config(p, {"app": [good.address]}, timeouts={"header": "1s"})
            def body(port, b):
                result = {}

                def slowloris():
                    request = b"GET / HTTP/1.1\r\nHost: a\r\nX-Slow: " + b"z" * 100 + b"\r\n\r\n"
                    started = time.monotonic()
                    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
                        reply = b""
                        for byte in request:
                            try:
                                s.sendall(bytes([byte]))
                            except OSError:
                                break
                            # Pacing the client: one byte per 200 ms, unless the proxy answers.
                            if select.select([s], [], [], 0.2)[0]:
                                break
                        try:
                            while True:
                                data = s.recv(4096)
                                if not data:
                                    break
                                reply += data
                        except OSError:
                            pass
                    result["elapsed"] = time.monotonic() - started
                    result["reply"] = reply

                t = threading.Thread(target=slowloris)
                t.start()
                served = 0
                while t.is_alive() and served < 5:
                    self.assertEqual(get(port, "/normal").status, 200)
                    served += 1
                t.join(15)
                self.assertEqual(served, 5, "normal clients were not served meanwhile")
                self.assertTrue(result["reply"].startswith(b"HTTP/1.1 408 "), result)
                self.assertIn(b"Connection: close", result["reply"])
                self.assertLess(result["elapsed"], 2.5, result)
                self.assertGreater(result["elapsed"], 0.8, result)
            self.each_io(cfg, body)
        finally:
            good.close()

    # 8 -------------------------------------------------------------------------------------
    def test_access_log(self):
        backend = HttpBackend("logged")
        routes = [{"name": "echo", "match": '{host: "logs.test", path: {exact: /echo-headers}}',
                   "pool": "api"}]
        cfg = lambda p: http_config(p, {"app": [backend.address], "api": [backend.address]},
                                    routes=routes)
        try:
            def body(port, b):
                resp = get(port, "/echo-headers?x=1", host="logs.test", method="POST", body=b"12345")
                self.assertEqual(resp.status, 200)
                request_id = headers_seen(resp)["x-request-id"][0]
                events = wait_until(lambda: log_events(b, "http.access"), what="http.access")
                e = events[-1]
                self.assertEqual((e["status"], e["method"], e["path"], e["host"]),
                                 (200, "POST", "/echo-headers?x=1", "logs.test"))
                self.assertEqual((e["route"], e["pool"], e["backend"], e["listener"]),
                                 ("echo", "api", backend.address, "web"))
                self.assertEqual(e["request_id"], request_id)
                self.assertEqual((e["bytes_in"], e["bytes_out"]), (5, len(resp.body)))
                self.assertTrue(e["client"].startswith("127.0.0.1:"))
                for key in ("duration_ms", "upstream_connect_ms", "upstream_response_ms"):
                    self.assertGreaterEqual(e[key], 0)

                self.assertEqual(get(port, "/other", host="x.test").status, 200)
                e = wait_until(lambda: log_events(b, "http.access")[1:], what="second")[0]
                self.assertEqual((e["status"], e["path"], e["route"], e["pool"]),
                                 (200, "/other", "", "app"))
            self.each_io(cfg, body)
        finally:
            backend.close()

    # 9 -------------------------------------------------------------------------------------
    def test_wrk_keep_alive_load(self):
        backend = HttpBackend("wrk")
        try:
            cfg = lambda p: http_config(p, {"app": [backend.address]})
            def body(port, b):
                proc = subprocess.run(["wrk", "-t1", "-c16", "-d2s", f"http://127.0.0.1:{port}/"],
                                      capture_output=True, timeout=30)
                out = proc.stdout.decode()
                self.assertEqual(proc.returncode, 0, out + proc.stderr.decode())
                m = re.search(r"(\d+) requests in", out)
                self.assertIsNotNone(m, out)
                self.assertGreater(int(m.group(1)), 100, out)
                self.assertNotIn("Non-2xx", out)
                errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), "
                                   r"timeout (\d+)", out)
                self.assertIsNone(errors, f"wrk saw socket errors:\n{out}")
            self.each_io(cfg, body)
        finally:
            backend.close()

    # 10 ------------------------------------------------------------------------------------
    def test_upgrade_becomes_a_tunnel(self):
        ws = Backend("ws", behaviour=behaviour_websocket)
        ws.heads = []
        try:
            def body(port, b):
                with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
                    s.sendall(b"GET /chat HTTP/1.1\r\nHost: ws.test\r\nConnection: Upgrade\r\n"
                              b"Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\n"
                              b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n")
                    head, rest = read_head(s)
                    self.assertTrue(head.startswith("HTTP/1.1 101 "), head)
                    lines = head.lower().split("\r\n")
                    self.assertIn("upgrade: websocket", lines)
                    self.assertIn("connection: upgrade", lines)
                    self.assertEqual(rest, b"")
                    # Now raw bytes, including ones that look like HTTP, both ways.
                    for message in (b"\x81\x05hello", b"GET /not-http HTTP/1.1\r\n\r\n",
                                    os.urandom(200_000)):
                        s.sendall(message)
                        echoed = b""
                        while len(echoed) < len(message):
                            data = s.recv(65536)
                            self.assertTrue(data, "tunnel closed early")
                            echoed += data
                        self.assertEqual(echoed, message)
                    s.shutdown(socket.SHUT_WR)
                    self.assertEqual(s.recv(10), b"", "backend's close not carried back")
                lines = [line.lower() for line in ws.heads[-1].split("\r\n")]
                self.assertIn("upgrade: websocket", lines)
                self.assertIn("connection: upgrade", lines)
                self.assertIn("sec-websocket-key: dghlihnhbxbszsbub25jzq==", lines)
            self.each_io(lambda p: http_config(p, {"app": [ws.address]}), body)
        finally:
            ws.close()

    # Bugs found while writing the above --------------------------------------------------------
    def test_chunked_upload_forwarded_piece_by_piece_is_intact(self):
        """A chunked upload whose data arrives one 16 KiB read at a time (the backend has taken
        each piece before the next is sent): every byte must reach the backend unchanged. This
        makes deterministic what test_large_bodies_both_ways sees now and then under load."""
        def stream(handler, n):
            server = handler.server
            body = bytearray()
            while True:
                size = int(handler.rfile.readline(100).split(b";")[0], 16)
                if size == 0:
                    while handler.rfile.readline(100) not in (b"\r\n", b""):
                        pass
                    break
                while size:
                    data = handler.rfile.read1(min(size, 65536))
                    if not data:
                        raise EOFError("body cut short")
                    body += data
                    size -= len(data)
                    with server.lock:
                        server.progress = len(body)
                handler.rfile.read(2)
            server.last_body = bytes(body)
            handler.respond(200, hashlib.sha256(body).hexdigest())

        backend = HttpBackend("stream", handlers={"/stream": stream})
        piece, pieces = 16 * 1024, 32
        upload = os.urandom(piece * pieces)

        def body(port, b):
            backend.progress = 0
            with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
                s.sendall(b"POST /stream HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
                          b"%x\r\n" % len(upload))
                for i in range(pieces):
                    s.sendall(upload[i * piece:(i + 1) * piece])
                    wait_until(lambda: backend.progress >= (i + 1) * piece, timeout=5,
                               what=f"piece {i} at the backend")
                s.sendall(b"\r\n0\r\n\r\n")
                resp = ResponseReader(s).read()
            self.assertEqual(resp.status, 200)
            got = backend.last_body
            corrupt = [i for i in range(pieces)
                       if got[i * piece:(i + 1) * piece] != upload[i * piece:(i + 1) * piece]]
            self.assertEqual(corrupt, [], f"{len(corrupt)} of {pieces} pieces corrupted; first: "
                             f"{first_difference(upload, got)}")

        try:
            self.each_io(lambda p: http_config(p, {"app": [backend.address]}), body)
        finally:
            backend.close()

    def test_http10_request_without_host_reaches_the_backend_with_host(self):
        """HTTP/1.0 may omit Host, but the proxy forwards as HTTP/1.1, where Host is required
        (RFC 9112 §3.2: a server answers 400 without it), so it must supply one."""
        backend = HttpBackend("h10")
        try:
            def body(port, b):
                with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
                    s.sendall(b"GET /echo-headers HTTP/1.0\r\n\r\n")
                    resp = ResponseReader(s).read()
                self.assertEqual(resp.status, 200)
                self.assertEqual(len(headers_seen(resp).get("host", [])), 1,
                                 f"forwarded as HTTP/1.1 with Host fields {headers_seen(resp)}")
            self.each_io(lambda p: http_config(p, {"app": [backend.address]}), body)
        finally:
            backend.close()

    def test_refused_upgrade_leaves_the_connection_usable(self):
        """An Upgrade the backend does not take (200, not 101) is an ordinary exchange: the next
        request on the connection must be served (curl --http2 on http:// does exactly this)."""
        backend = HttpBackend("h1only")
        try:
            cfg = lambda p: http_config(p, {"app": [backend.address]}, timeouts={"header": "1s"})
            def body(port, b):
                with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
                    reader = ResponseReader(s)
                    s.sendall(b"GET /first HTTP/1.1\r\nHost: a\r\nConnection: Upgrade, HTTP2-Settings"
                              b"\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQAoAAAAAIAAAAA\r\n\r\n")
                    first = reader.read()
                    self.assertEqual(first.status, 200)
                    s.sendall(b"GET /second HTTP/1.1\r\nHost: a\r\n\r\n")
                    second = reader.read()
                    self.assertEqual((second.status, second.body.decode().split(" ", 2)[-1]),
                                     (200, "GET /second"),
                                     "the request after a refused Upgrade was not served")
            self.each_io(cfg, body)
        finally:
            backend.close()

    def test_max_body_does_not_limit_responses(self):
        """limits.max_body is documented as a request-body limit; a larger response must pass."""
        backend = HttpBackend("big")
        try:
            cfg = lambda p: http_config(p, {"app": [backend.address]}, limits={"max_body": "1MiB"})
            def body(port, b):
                for kind in ("chunked", "close"):
                    with self.subTest(response=kind):
                        with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
                            s.sendall(b"GET /download/%s/%d HTTP/1.1\r\nHost: a\r\n\r\n"
                                      % (kind.encode(), 2 * MIB))
                            try:
                                resp = ResponseReader(s).read(sha=True)
                            except (ConnectionResetError, EOFError, ValueError) as e:
                                self.fail(f"2 MiB {kind} response with max_body 1MiB: {e!r}")
                            self.assertEqual((resp.status, resp.length), (200, 2 * MIB))
            self.each_io(cfg, body)
        finally:
            backend.close()

    def test_body_idle_closes_a_stalled_response(self):
        """timeouts.body_idle: no body bytes for this long → close. A backend that stalls in the
        middle of a body must not hold the client forever."""
        release = threading.Event()

        def stall(handler, n):
            handler.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nhello")
            release.wait(10)
            handler.close_connection = True

        backend = HttpBackend("staller", handlers={"/stall": stall})
        try:
            cfg = lambda p: http_config(p, {"app": [backend.address]},
                                        timeouts={"body_idle": "500ms"})
            def body(port, b):
                release.clear()
                try:
                    with socket.create_connection(("127.0.0.1", port), timeout=3) as s:
                        s.sendall(b"GET /stall HTTP/1.1\r\nHost: a\r\n\r\n")
                        started = time.monotonic()
                        try:
                            while s.recv(4096):
                                pass
                        except ConnectionResetError:
                            pass
                        except socket.timeout:
                            self.fail("body_idle 500ms: the client was still waiting after 3 s")
                        self.assertLess(time.monotonic() - started, 2.0)
                finally:
                    release.set()
            self.each_io(cfg, body)
        finally:
            release.set()
            backend.close()

    def test_graceful_stop_does_not_wait_for_idle_keep_alive_clients(self):
        """SIGTERM: an idle keep-alive client has nothing in flight; it should be closed at once,
        not hold the stop for the whole shutdown_timeout."""
        backend = HttpBackend("stop")
        try:
            for io in IO_BACKENDS:
                with self.subTest(io=io):
                    port = free_port()
                    cfg = "shutdown_timeout: 3s\n" + http_config(port, {"app": [backend.address]})
                    b = Ballast(cfg, io=io).start()
                    try:
                        with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
                            s.sendall(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
                            self.assertEqual(ResponseReader(s).read().status, 200)
                            started = time.monotonic()
                            rc = b.stop()
                            took = time.monotonic() - started
                    finally:
                        b.stop()
                        b.log_file.close()
                    self.assertEqual(rc, 0)
                    self.assertEqual(log_events(b, "server.shutdown_timeout"), [],
                                     f"stop took {took:.1f}s, waiting on an idle keep-alive client")
        finally:
            backend.close()


    def test_refused_connect_is_retried_with_the_request_intact(self):
        # A backend that refuses connections, with connect_retries: the request (head and body)
        # must reach the next backend whole, not an empty connection.
        live = HttpBackend("live")
        dead = f"127.0.0.1:{free_port()}"  # nothing listens here
        try:
            cfg = lambda port: http_config(port, {"app": [dead, live.address]}, connect_retries=1)
            def body(port, b):
                for i in range(6):
                    payload = b"x" * (1000 + i)
                    resp = get(port, "/sha256", method="POST", body=payload)
                    self.assertEqual(resp.status, 200, resp)
                    self.assertEqual(json.loads(resp.body)["sha256"],
                                     hashlib.sha256(payload).hexdigest())
                    resp = get(port, f"/plain/{i}")
                    self.assertEqual(resp.status, 200, resp)
                    self.assertTrue(resp.body.decode().endswith(f"GET /plain/{i}"), resp)
            self.each_io(cfg, body)
        finally:
            live.close()

if __name__ == "__main__":
    main()
