"""tests/integration/test_forward_auth.py — `forward_auth:` through the real binary with a real auth
service (an HTTP/1.1 server on loopback that decides by the request's Authorization):
- a 2xx lets the request through; the backend gets the fields the auth service vouches for
  (copy_response_headers), never a client's own copies, and nothing else of its answer;
- the auth service sees the original method, URI, host, scheme and client (X-Forwarded-*) and
  only the copy_request_headers, without the request's body;
- any other answer (401 with its challenge and body, 302 with its Location, 500) goes back to
  the client as the auth service sent it, and the backend never sees the request;
- a request body waits for the answer and then reaches the backend intact (1 MiB, sha256);
- the same over HTTP/2 prior knowledge;
- cache_ttl: a repeated request is answered from the cache until the TTL passes;
- an auth service that is down or slower than `timeout` gets the client a 503, counted;
- a WebSocket upgrade waits for the answer too, then tunnels (io_uring and epoll);
- `forward_auth: off` on a route, `address:` as the auth service, and the config errors.
Traffic stays on 127.0.0.1."""
import hashlib
import json
import os
import re
import socket
import subprocess
import tempfile
import threading
import time
import urllib.request

from harness import BALLAST_BIN, Backend, Ballast, BallastTest, free_port, main, wait_until
from http_backends import HttpBackend, payload
from test_http_proxy import behaviour_websocket, read_head

SLOW_SECONDS = 3


def decide(handler, _n):
    """The auth service: the decision depends on the Authorization the client sent."""
    token = handler.headers.get("Authorization", "")
    if token == "Bearer good":
        handler.respond(200, "ignored body", [("X-Auth-User", "alice"), ("X-Auth-Role", "admin"),
                                              ("X-Auth-Secret", "not for the backend")])
    elif token == "Bearer redirect":
        handler.respond(302, "", [("Location", "https://login.example.test/?next=1")])
    elif token == "Bearer boom":
        handler.respond(500, "auth exploded", [("Content-Type", "text/plain")])
    elif token == "Bearer slow":
        time.sleep(SLOW_SECONDS)
        handler.respond(200, "", [("X-Auth-User", "late")])
    else:
        handler.respond(401, "login please\n", [("Content-Type", "text/plain"),
                                                ("WWW-Authenticate", 'Bearer realm="test"')])


def curl(port, path, *args, h2=False, data=None):
    cmd = ["curl", "-s", "-D", "-", "-o", "-", *(["--http2-prior-knowledge"] if h2 else []), *args]
    if data is not None:
        cmd += ["--data-binary", "@-", "-H", "Content-Type: application/octet-stream"]
    cmd.append(f"http://127.0.0.1:{port}{path}")
    out = subprocess.run(cmd, capture_output=True, input=data, timeout=15).stdout
    head, _, body = out.replace(b"\r\n", b"\n").partition(b"\n\n")
    head = head.decode("latin-1")
    status = int(head.split()[1]) if head else 0
    return status, head, body


def header(head, name):
    return re.findall(rf"^{name}: (.*)$", head, re.M | re.I)


def metric(port, result):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
        text = r.read().decode()
    m = re.search(rf'^ballast_forward_auth_requests_total\{{listener="web",result="{result}"\}} '
                  r'(\S+)$', text, re.M)
    return int(float(m.group(1))) if m else None


class ForwardAuthTest(BallastTest):
    @classmethod
    def setUpClass(cls):
        cls.backend = HttpBackend("app")
        cls.auth = HttpBackend("auth", handlers={"/check": decide})

    @classmethod
    def tearDownClass(cls):
        cls.backend.close()
        cls.auth.close()

    def config(self, web, metrics, auth_address=None, cache_ttl="0s", timeout="2s", ws=None):
        auth = auth_address or self.auth.address
        return f"""workers: 2
metrics: {{bind: "127.0.0.1:{metrics}"}}
listeners:
  - name: web
    bind: "127.0.0.1:{web}"
    protocol: http
    http2: true
    pool: app
    forward_auth:
      pool: auth
      path: /check
      copy_request_headers: [Authorization]
      copy_response_headers: [X-Auth-User, X-Auth-Role]
      cache_ttl: {cache_ttl}
      timeout: {timeout}
    routes:
      - {{name: public, match: {{path: /public}}, pool: app, forward_auth: off}}
      - {{name: direct, match: {{path: /direct}}, pool: app,
          forward_auth: {{address: "{auth}", path: /check,
                          copy_request_headers: [authorization]}}}}
      - {{name: ws, match: {{path: /chat}}, pool: ws}}
      - {{name: all, match: {{path: /}}, pool: app}}
pools:
  - name: ws
    backends: [{{address: "{ws or self.backend.address}"}}]
  - name: app
    backends: [{{address: "{self.backend.address}"}}]
  - name: auth
    backends: [{{address: "{auth}"}}]
"""

    def auth_requests(self):
        with self.auth.lock:
            return list(self.auth.log)

    def backend_count(self):
        with self.backend.lock:
            return self.backend.requests

    def test_allowed_request_carries_only_vouched_fields(self):
        web, metrics = free_port(), free_port()
        with Ballast(self.config(web, metrics)):
            for h2 in (False, True):
                with self.subTest(h2=h2):
                    before = len(self.auth_requests())
                    status, _, body = curl(web, "/echo-headers?q=1", "-H",
                                           "Authorization: Bearer good", "-H",
                                           "X-Auth-User: mallory", "-H", "Cookie: session=s3cret",
                                           h2=h2)
                    self.assertEqual(status, 200, body)
                    fields = json.loads(body)
                    sent = lambda n: [v for k, v in fields if k.lower() == n]
                    self.assertEqual(sent("x-auth-user"), ["alice"])  # mallory's copy is gone
                    self.assertEqual(sent("x-auth-role"), ["admin"])
                    self.assertEqual(sent("x-auth-secret"), [])  # not in copy_response_headers
                    self.assertEqual(sent("authorization"), ["Bearer good"])
                    asked = self.auth_requests()[before:]
                    self.assertEqual(len(asked), 1)
                    method, target, items = asked[0]
                    got = {k.lower(): v for k, v in items}
                    self.assertEqual((method, target), ("GET", "/check"))
                    self.assertEqual(got["x-forwarded-method"], "GET")
                    self.assertEqual(got["x-forwarded-uri"], "/echo-headers?q=1")
                    self.assertEqual(got["x-forwarded-host"], f"127.0.0.1:{web}")
                    self.assertEqual(got["x-forwarded-proto"], "http")
                    self.assertEqual(got["x-forwarded-for"], "127.0.0.1")
                    self.assertEqual(got["authorization"], "Bearer good")
                    self.assertNotIn("cookie", got)  # not in copy_request_headers
                    self.assertNotIn("content-length", got)
            self.assertEqual(metric(metrics, "allowed"), 2)

    def test_refusals_go_back_as_the_auth_service_sent_them(self):
        web, metrics = free_port(), free_port()
        with Ballast(self.config(web, metrics)):
            for h2 in (False, True):
                with self.subTest(h2=h2):
                    before = self.backend_count()
                    status, head, body = curl(web, "/private", h2=h2)
                    self.assertEqual(status, 401)
                    self.assertEqual(header(head, "www-authenticate"), ['Bearer realm="test"'])
                    self.assertEqual(body, b"login please\n")
                    self.assertIn("text/plain", header(head, "content-type")[0])
                    status, head, _ = curl(web, "/private", "-H", "Authorization: Bearer redirect",
                                           h2=h2)
                    self.assertEqual(status, 302)
                    self.assertEqual(header(head, "location"),
                                     ["https://login.example.test/?next=1"])
                    status, _, body = curl(web, "/private", "-H", "Authorization: Bearer boom",
                                           h2=h2)
                    self.assertEqual((status, body), (500, b"auth exploded"))
                    self.assertEqual(self.backend_count(), before)  # no refused request got there
            self.assertEqual(metric(metrics, "denied"), 6)
            # A route with forward_auth: off asks nobody.
            before = len(self.auth_requests())
            status, _, _ = curl(web, "/public/x")
            self.assertEqual(status, 200)
            self.assertEqual(len(self.auth_requests()), before)

    def test_request_body_waits_for_the_answer(self):
        web, metrics = free_port(), free_port()
        data = payload(1 << 20)
        with Ballast(self.config(web, metrics)):
            for h2 in (False, True):
                with self.subTest(h2=h2):
                    status, _, body = curl(web, "/sha256", "-H", "Authorization: Bearer good",
                                           h2=h2, data=data)
                    self.assertEqual(status, 200, body[:200])
                    got = json.loads(body)
                    self.assertEqual(got["length"], len(data))
                    self.assertEqual(got["sha256"], hashlib.sha256(data).hexdigest())
                    # Refused: the body never reaches the backend.
                    before = self.backend_count()
                    status, _, _ = curl(web, "/sha256", h2=h2, data=data)
                    self.assertEqual(status, 401)
                    self.assertEqual(self.backend_count(), before)
            # Requests on one keep-alive connection, one asked after the other.
            status, _, _ = curl(web, "/a", "-H", "Authorization: Bearer good", "--next",
                                "-H", "Authorization: Bearer good",
                                f"http://127.0.0.1:{web}/b")
            self.assertEqual(status, 200)

    def test_cache_ttl_remembers_answers(self):
        web, metrics = free_port(), free_port()
        with Ballast(self.config(web, metrics, cache_ttl="1s")):
            # workers: 2 and each worker has its own cache: one connection keeps one worker.
            args = ["-H", "Authorization: Bearer good"]
            before = len(self.auth_requests())
            status, _, _ = curl(web, "/same", *args, "--next", *args,
                                f"http://127.0.0.1:{web}/same")
            self.assertEqual(status, 200)
            self.assertEqual(len(self.auth_requests()) - before, 1)
            self.assertEqual(metric(metrics, "cached_allowed"), 1)
            # Another URI is another key.
            curl(web, "/other", *args)
            self.assertEqual(len(self.auth_requests()) - before, 2)
            # Refusals are remembered too.
            curl(web, "/denied", "--next", f"http://127.0.0.1:{web}/denied")
            self.assertEqual(metric(metrics, "cached_denied"), 1)
            # Past the TTL the auth service is asked again.
            start = time.monotonic()
            asked = len(self.auth_requests())

            def asked_again():
                curl(web, "/same", *args, "--next", *args, f"http://127.0.0.1:{web}/same")
                return len(self.auth_requests()) > asked + 1  # both workers may have had it

            wait_until(asked_again, timeout=5, interval=0.1, what="the cached answer expires")
            self.assertGreaterEqual(time.monotonic() - start, 0.5)

    def test_auth_service_down_or_slow_is_503(self):
        web, metrics = free_port(), free_port()
        dead = f"127.0.0.1:{free_port()}"
        with Ballast(self.config(web, metrics, auth_address=dead)) as b:
            before = self.backend_count()
            for h2 in (False, True):
                status, _, _ = curl(web, "/x", "-H", "Authorization: Bearer good", h2=h2)
                self.assertEqual(status, 503)
            self.assertEqual(metric(metrics, "error"), 2)
            self.assertTrue(b.events("l7.forward_auth_failed"))
            self.assertEqual(self.backend_count(), before)
        web, metrics = free_port(), free_port()
        with Ballast(self.config(web, metrics, timeout="300ms")):
            start = time.monotonic()
            status, _, _ = curl(web, "/x", "-H", "Authorization: Bearer slow")
            self.assertEqual(status, 503)
            self.assertLess(time.monotonic() - start, SLOW_SECONDS)
            self.assertEqual(metric(metrics, "error"), 1)
            # The connection to the slow auth service was closed, not reused: the next request
            # is decided normally.
            status, _, _ = curl(web, "/x", "-H", "Authorization: Bearer good")
            self.assertEqual(status, 200)

    def test_upgrade_waits_for_the_answer(self):
        ws = Backend("ws", behaviour=behaviour_websocket)
        ws.heads = []
        upgrade = (b"GET /chat HTTP/1.1\r\nHost: ws.test\r\nConnection: Upgrade\r\n"
                   b"Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\n"
                   b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n")
        try:
            for io in ("io_uring", "epoll"):
                with self.subTest(io=io):
                    web, metrics = free_port(), free_port()
                    with Ballast(self.config(web, metrics, ws=ws.address), io=io):
                        with socket.create_connection(("127.0.0.1", web), timeout=10) as s:
                            s.sendall(upgrade + b"Authorization: Bearer good\r\n\r\n")
                            head, rest = read_head(s)
                            self.assertTrue(head.startswith("HTTP/1.1 101 "), head)
                            self.assertEqual(rest, b"")
                            s.sendall(b"\x81\x05hello")
                            echoed = b""
                            while len(echoed) < 7:
                                data = s.recv(65536)
                                self.assertTrue(data, "tunnel closed early")
                                echoed += data
                            self.assertEqual(echoed, b"\x81\x05hello")
                        self.assertIn("x-auth-user: alice", ws.heads[-1].lower())
                        heads = len(ws.heads)
                        with socket.create_connection(("127.0.0.1", web), timeout=10) as s:
                            s.sendall(upgrade + b"\r\n")
                            head, _ = read_head(s)
                            self.assertTrue(head.startswith("HTTP/1.1 401 "), head)
                        self.assertEqual(len(ws.heads), heads)  # the backend never saw it
        finally:
            ws.close()

    def test_address_gets_a_pool_of_its_own(self):
        web, metrics = free_port(), free_port()
        with Ballast(self.config(web, metrics)):
            status, _, _ = curl(web, "/direct/x")
            self.assertEqual(status, 401)
            status, _, body = curl(web, "/direct/echo-headers", "-H", "Authorization: Bearer good")
            self.assertEqual(status, 200, body)
            with urllib.request.urlopen(f"http://127.0.0.1:{metrics}/metrics", timeout=5) as r:
                text = r.read().decode()
            self.assertIn('pool="forward_auth.web.direct"', text)

    def test_config_errors_have_line_and_column(self):
        cases = {
            "both": ("forward_auth: {pool: auth, address: \"127.0.0.1:1\"}",
                     "give exactly one of pool"),
            "unknown pool": ("forward_auth: {pool: nope}", 'names unknown pool "nope"'),
            "framing header": ("forward_auth: {pool: auth, copy_response_headers: "
                               "[Content-Length]}", "Ballast writes it itself"),
            "bad path": ("forward_auth: {pool: auth, path: check}", "a path starting with /"),
            "h2 pool": ("forward_auth: {pool: grpc}", "must speak HTTP/1.1"),
        }
        for name, (line, expected) in cases.items():
            with self.subTest(name):
                text = f"""listeners:
  - name: web
    bind: "127.0.0.1:{free_port()}"
    protocol: http
    pool: auth
    {line}
pools:
  - name: auth
    backends: [{{address: "127.0.0.1:1"}}]
  - name: grpc
    upstream_protocol: h2c
    backends: [{{address: "127.0.0.1:2"}}]
"""
                d = tempfile.mkdtemp()
                path = os.path.join(d, "c.yaml")
                with open(path, "w") as f:
                    f.write(text)
                out = subprocess.run([BALLAST_BIN, "validate", "-c", path], capture_output=True,
                                     text=True, timeout=10)
                self.assertNotEqual(out.returncode, 0)
                self.assertRegex(out.stdout + out.stderr, rf"c\.yaml:6:\d+: .*{re.escape(expected)}")


if __name__ == "__main__":
    main()
