"""tests/integration/test_http_features.py — L7 features that depend on configuration: trusted
proxies and RFC 7239 Forwarded, route header edits, route conditions on headers, query and
path regex, sticky cookies, L7 hash keys, and the access log written to a file."""
import hashlib
import hmac
import http.client
import json
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import urllib.request

from harness import (BALLAST_BIN, IO_BACKENDS, Ballast, BallastTest, free_port, main,
                     wait_until)
from http_backends import HttpBackend


def headers_seen(port, extra=(), path="/echo-headers"):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request("GET", path, headers=dict(extra))
    resp = conn.getresponse()
    body = resp.read()
    conn.close()
    return resp, {k.lower(): v for k, v in json.loads(body)}


def get(port, path="/", headers=None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request("GET", path, headers=headers or {})
    resp = conn.getresponse()
    body = resp.read().decode()
    conn.close()
    return resp, body


def base(port, listener_extra="", pools="", default_pool="app"):
    return f"""workers: 1
logging: {{level: debug}}
listeners:
  - name: web
    bind: "127.0.0.1:{port}"
    protocol: http
    pool: {default_pool}
{listener_extra}pools:
{pools}"""


def pool(name, backends, extra=""):
    lines = [f"  - name: {name}"] + ([extra] if extra else []) + ["    backends:"]
    lines += [f"      - {{address: \"{b.address}\"}}" for b in backends]
    return "\n".join(lines) + "\n"


class HttpFeaturesTest(BallastTest):
    @classmethod
    def setUpClass(cls):
        cls.a = HttpBackend("a")
        cls.b = HttpBackend("b")
        cls.c = HttpBackend("c")

    @classmethod
    def tearDownClass(cls):
        for backend in (cls.a, cls.b, cls.c):
            backend.close()

    def test_untrusted_peer_cannot_forge_forwarding_fields_and_trusted_one_can(self):
        forged = [("X-Forwarded-For", "198.18.0.9"), ("X-Real-IP", "198.18.0.9"),
                  ("X-Forwarded-Proto", "https"), ("Forwarded", "for=198.18.0.9")]
        for io in IO_BACKENDS:
            for trusted in (False, True):
                with self.subTest(io=io, trusted=trusted):
                    port = free_port()
                    extra = ('    trusted_proxies: ["127.0.0.0/8"]\n' if trusted else "") + \
                        "    forwarded: rfc7239\n"
                    with Ballast(base(port, extra, pool("app", [self.a])), io=io):
                        _, seen = headers_seen(port, forged)
                    if trusted:
                        self.assertEqual(seen["x-forwarded-for"], "198.18.0.9, 127.0.0.1")
                        self.assertEqual(seen["x-real-ip"], "198.18.0.9")
                        self.assertEqual(seen["x-forwarded-proto"], "https")
                        self.assertEqual(seen["forwarded"],
                                         f"for=198.18.0.9, for=127.0.0.1;proto=http;"
                                         f"host=\"127.0.0.1:{port}\"")
                    else:
                        self.assertEqual(seen["x-forwarded-for"], "127.0.0.1")
                        self.assertEqual(seen["x-real-ip"], "127.0.0.1")
                        self.assertEqual(seen["x-forwarded-proto"], "http")
                        self.assertEqual(seen["forwarded"],
                                         f"for=127.0.0.1;proto=http;host=\"127.0.0.1:{port}\"")

    def test_route_header_edits_apply_to_request_and_response(self):
        for io in IO_BACKENDS:
            with self.subTest(io=io):
                port = free_port()
                extra = """    routes:
      - name: edited
        match: {path: {prefix: /echo}}
        pool: app
        request_headers: {remove: [X-Internal], set: {X-Env: prod}, add: {X-Trace: "on"}}
        response_headers: {set: {Cache-Control: no-store}, remove: [Server]}
"""
                with Ballast(base(port, extra, pool("app", [self.a])), io=io):
                    resp, seen = headers_seen(port, [("X-Internal", "secret"), ("X-Env", "dev")])
                self.assertNotIn("x-internal", seen)
                self.assertEqual(seen["x-env"], "prod")
                self.assertEqual(seen["x-trace"], "on")
                self.assertEqual(resp.getheader("Cache-Control"), "no-store")
                self.assertIsNone(resp.getheader("Server"))

    def test_routes_match_headers_query_and_path_regex(self):
        for io in IO_BACKENDS:
            with self.subTest(io=io):
                port = free_port()
                extra = """    routes:
      - name: canary
        match: {headers: [{name: X-Canary, exact: "1"}]}
        pool: canary
      - name: debug
        match: {query: [{name: debug, exact: "true"}]}
        pool: debug
      - name: items
        match: {path: {regex: "^/v[0-9]+/items/[0-9]+$"}}
        pool: debug
"""
                pools = pool("app", [self.a]) + pool("canary", [self.b]) + pool("debug", [self.c])
                with Ballast(base(port, extra, pools), io=io):
                    self.assertTrue(get(port, "/", {"X-Canary": "1"})[1].startswith("b "))
                    self.assertTrue(get(port, "/", {"X-Canary": "2"})[1].startswith("a "))
                    self.assertTrue(get(port, "/x?debug=true")[1].startswith("c "))
                    self.assertTrue(get(port, "/x?debug=false")[1].startswith("a "))
                    self.assertTrue(get(port, "/v2/items/42")[1].startswith("c "))
                    self.assertTrue(get(port, "/v2/items/42x")[1].startswith("a "))

    def test_sticky_cookie_pins_a_client_and_moves_it_when_its_backend_is_gone(self):
        for io in IO_BACKENDS:
            with self.subTest(io=io):
                port = free_port()
                sticky = "    sticky: {cookie: BALLAST_ID, ttl: 30m}"
                with Ballast(base(port, "", pool("app", [self.a, self.b], sticky)), io=io):
                    first, body = get(port)
                    cookie = first.getheader("Set-Cookie")
                    self.assertRegex(cookie, r"^BALLAST_ID=[0-9a-f]{16}; Path=/; Max-Age=1800; HttpOnly$")
                    self.assertNotIn("127.0.0.1", cookie)  # opaque, not the backend's address
                    name = body.split()[0]
                    value = cookie.split(";")[0]
                    for _ in range(6):
                        resp, again = get(port, headers={"Cookie": value})
                        self.assertEqual(again.split()[0], name)  # round robin would alternate
                        self.assertIsNone(resp.getheader("Set-Cookie"))  # already pinned
                    resp, other = get(port, headers={"Cookie": "BALLAST_ID=0000000000000000"})
                    self.assertIsNotNone(resp.getheader("Set-Cookie"))  # unknown value: re-pinned

    def test_a_signed_sticky_cookie_from_one_node_is_honoured_by_another(self):
        # Two Ballast nodes with the same pool and key file: node A's cookie pins the client on
        # node B too. A cookie with another backend's id, a later expiry, or an expired
        # signature (made here with the key, as the docs describe the format) is refused and
        # counted; each node re-pins the client.
        key = "6b6579206f6620746865207465737420666f72207369676e656420636f6f6b6965"
        d = tempfile.mkdtemp(prefix="ballast-sticky-")
        self.addCleanup(shutil.rmtree, d, ignore_errors=True)
        key_file = os.path.join(d, "sticky.key")
        with open(key_file, "w") as f:
            f.write(key + "\n")
        sticky = f"    sticky: {{cookie: BALLAST_ID, ttl: 30m, key_file: {key_file}}}"

        def sign(value):
            mac = hmac.new(key.encode(), f"app\n{value}".encode(), hashlib.sha256).hexdigest()
            return f"{value}.{mac[:32]}"

        for io in IO_BACKENDS:
            with self.subTest(io=io):
                port_a, port_b, mport = free_port(), free_port(), free_port()
                metrics = f'metrics: {{bind: "127.0.0.1:{mport}"}}\n'
                cfg_a = base(port_a, "", pool("app", [self.a, self.b], sticky))
                cfg_b = metrics + base(port_b, "", pool("app", [self.a, self.b], sticky))
                with Ballast(cfg_a, io=io), Ballast(cfg_b, io=io):
                    first, body = get(port_a)
                    cookie = first.getheader("Set-Cookie")
                    self.assertRegex(cookie, r"^BALLAST_ID=[0-9a-f]{16}\.[0-9]+\.[0-9a-f]{32}; "
                                             r"Path=/; Max-Age=1800; HttpOnly$")
                    value = cookie.split(";")[0].split("=", 1)[1]
                    backend_id, expiry, _ = value.split(".")
                    self.assertAlmostEqual(int(expiry), time.time() + 1800, delta=60)
                    self.assertEqual(sign(f"{backend_id}.{expiry}"), value)
                    name = body.split()[0]
                    for _ in range(4):
                        resp, again = get(port_b, headers={"Cookie": f"BALLAST_ID={value}"})
                        self.assertEqual(again.split()[0], name)  # round robin would alternate
                        self.assertIsNone(resp.getheader("Set-Cookie"))
                    # The other backend's id, from a cookie for it.
                    other = None
                    while other is None:
                        resp, body2 = get(port_a)
                        if body2.split()[0] != name:
                            other = resp.getheader("Set-Cookie").split(";")[0].split("=", 1)[1]
                    other_id = other.split(".")[0]
                    forged = [f"{other_id}.{expiry}.{value.split('.')[2]}",
                              f"{backend_id}.{int(expiry) + 1}.{value.split('.')[2]}",
                              sign(f"{backend_id}.{int(time.time()) - 5}"),
                              backend_id]
                    for bad in forged:
                        resp, _ = get(port_b, headers={"Cookie": f"BALLAST_ID={bad}"})
                        self.assertIsNotNone(resp.getheader("Set-Cookie"), bad)
                    text = urllib.request.urlopen(f"http://127.0.0.1:{mport}/metrics",
                                                  timeout=10).read().decode()
                    self.assertIn('ballast_listener_sticky_rejected_total{listener="web"} 4',
                                  text)

    def test_a_short_sticky_key_is_a_config_error(self):
        d = tempfile.mkdtemp(prefix="ballast-sticky-")
        self.addCleanup(shutil.rmtree, d, ignore_errors=True)
        key_file = os.path.join(d, "short.key")
        with open(key_file, "w") as f:
            f.write("tooshort\n")
        cfg = os.path.join(d, "ballast.yaml")
        with open(cfg, "w") as f:
            f.write(base(free_port(), "", pool(
                "app", [self.a], f"    sticky: {{cookie: ID, key_file: {key_file}}}")))
        proc = subprocess.run([BALLAST_BIN, "validate", "-c", cfg], capture_output=True, text=True,
                              timeout=30)
        self.assertNotEqual(proc.returncode, 0)
        self.assertRegex(proc.stdout + proc.stderr,
                         r":10:\d+: .*key_file: .* holds 8 bytes; a signing key needs at least 32")

    def test_a_backends_trailers_reach_the_client_without_framing_fields(self):
        # A chunked response's trailers go on in the last chunk; a field that would change
        # framing or routing if merged into the head (Content-Length here) is dropped.
        srv = socket.socket()
        srv.bind(("127.0.0.1", 0))
        srv.listen(8)
        self.addCleanup(srv.close)

        def serve():
            while True:
                try:
                    conn, _ = srv.accept()
                except OSError:
                    return
                with conn:
                    data = b""
                    while b"\r\n\r\n" not in data:
                        chunk = conn.recv(4096)
                        if not chunk:
                            break
                        data += chunk
                    conn.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n"
                                 b"Trailer: X-Checksum\r\nConnection: close\r\n\r\n"
                                 b"5\r\nhello\r\n0\r\nX-Checksum: 5d41402a\r\n"
                                 b"Content-Length: 99\r\n\r\n")

        threading.Thread(target=serve, daemon=True).start()

        class Raw:
            address = f"127.0.0.1:{srv.getsockname()[1]}"

        for io in IO_BACKENDS:
            with self.subTest(io=io):
                port = free_port()
                with Ballast(base(port, "", pool("app", [Raw])), io=io):
                    with socket.create_connection(("127.0.0.1", port), timeout=10) as c:
                        c.sendall(b"GET / HTTP/1.1\r\nHost: t\r\nTE: trailers\r\n"
                                  b"Connection: close\r\n\r\n")
                        reply = b""
                        while True:
                            chunk = c.recv(4096)
                            if not chunk:
                                break
                            reply += chunk
                    head, _, body = reply.partition(b"\r\n\r\n")
                    self.assertIn(b"HTTP/1.1 200", head)
                    self.assertEqual(body, b"5\r\nhello\r\n0\r\nX-Checksum: 5d41402a\r\n\r\n")

    def test_header_hash_key_keeps_one_user_on_one_backend(self):
        for io in IO_BACKENDS:
            with self.subTest(io=io):
                port = free_port()
                extra = '    algorithm: consistent_hash\n    hash_key: "header:X-User"'
                with Ballast(base(port, "", pool("app", [self.a, self.b, self.c], extra)), io=io):
                    owners = {}
                    for user in range(30):
                        names = {get(port, headers={"X-User": f"u{user}"})[1].split()[0]
                                 for _ in range(3)}
                        self.assertEqual(len(names), 1, f"user u{user} went to {names}")
                        owners[user] = names.pop()
                self.assertEqual(set(owners.values()), {"a", "b", "c"})

    def test_access_log_goes_to_its_own_file(self):
        for io in IO_BACKENDS:
            with self.subTest(io=io):
                port = free_port()
                lb = Ballast("", io=io)
                path = os.path.join(lb.dir, "access.log")
                lb.write_config(base(port, f"    access_log: {path}\n", pool("app", [self.a])))
                with lb:
                    get(port, "/logged?x=1")

                    def logged():
                        if not os.path.exists(path):
                            return None
                        with open(path) as f:
                            return [json.loads(l) for l in f if l.strip()]
                    lines = wait_until(logged, what="access log line")
                    self.assertEqual(lines[0]["event"], "http.access")
                    self.assertEqual(lines[0]["path"], "/logged?x=1")
                    self.assertEqual(lines[0]["status"], 200)
                    self.assertEqual(lb.events("http.access"), [])  # not in the app log


class HttpProxyProtocolAndKeepaliveTest(BallastTest):
    @classmethod
    def setUpClass(cls):
        cls.a = HttpBackend("a")

    @classmethod
    def tearDownClass(cls):
        cls.a.close()

    def seen_through_proxy_header(self, port, header):
        with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
            s.sendall(header + b"GET /echo-headers HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
            data = b""
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        self.assertTrue(head.startswith(b"HTTP/1.1 200"), head)
        return {k.lower(): v for k, v in json.loads(body)}

    def test_proxy_header_names_the_client_only_when_the_peer_is_trusted(self):
        header = b"PROXY TCP4 198.18.0.7 198.18.0.1 4242 80\r\n"
        for io in IO_BACKENDS:
            for trusted in ("127.0.0.0/8", "198.19.0.0/16"):
                with self.subTest(io=io, trusted=trusted):
                    port = free_port()
                    extra = (f"    proxy_protocol: {{accept: true}}\n"
                             f"    trusted_proxies: [\"{trusted}\"]\n")
                    with Ballast(base(port, extra, pool("app", [self.a])), io=io):
                        seen = self.seen_through_proxy_header(port, header)
                    expected = "198.18.0.7" if trusted == "127.0.0.0/8" else "127.0.0.1"
                    self.assertEqual(seen["x-forwarded-for"], expected)

    def test_malformed_proxy_header_closes_the_connection(self):
        for io in IO_BACKENDS:
            with self.subTest(io=io):
                port = free_port()
                extra = "    proxy_protocol: {accept: true}\n"
                with Ballast(base(port, extra, pool("app", [self.a])), io=io) as lb:
                    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
                        s.sendall(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")
                        try:
                            self.assertEqual(s.recv(100), b"")
                        except ConnectionResetError:
                            pass
                    wait_until(lambda: lb.events("l4.proxy_header_invalid"), what="log line")

    def test_keepalive_limits_decide_upstream_reuse(self):
        for io in IO_BACKENDS:
            for keepalive, most_connections in (("{max_idle: 0}", 20), ("{max_requests: 5}", 4)):
                with self.subTest(io=io, keepalive=keepalive):
                    before = self.a.connections
                    port = free_port()
                    cfg = base(port, "", pool("app", [self.a], f"    keepalive: {keepalive}"))
                    with Ballast(cfg, io=io):
                        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
                        for _ in range(20):
                            conn.request("GET", "/")
                            conn.getresponse().read()
                        conn.close()
                    opened = self.a.connections - before
                    # max_idle 0: nothing is kept, one upstream connection per request;
                    # max_requests 5: a connection carries 5 requests, then a new one opens.
                    self.assertEqual(opened, most_connections)


if __name__ == "__main__":
    main()
