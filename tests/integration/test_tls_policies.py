"""tests/integration/test_tls_policies.py — the HTTPS edge beyond termination: mTLS (require,
optional, refused, and identity fields a client cannot forge), OCSP stapling, session-ticket
key rotation and reloads, TLS failures counted by kind, HTTP→HTTPS redirects, HSTS and security
headers, and `ballast validate` on expiring certificates, chains out of order and staples for
another certificate. Real clients: Python's ssl, curl and openssl s_client. Each listener case
runs on both I/O backends.

fd budget: a handful of sockets at a time, far under the 20,000 per-process hard limit.
"""
import hashlib
import json
import os
import re
import shutil
import socket
import ssl
import subprocess
import tempfile
import time
import unittest
import urllib.request

from harness import BALLAST_BIN, IO_BACKENDS, Ballast, BallastTest, free_port, main, wait_until
from http_backends import HttpBackend, ResponseReader, payload_sha256
from tls_material import issue, make_ca, ocsp_response, tls_backend


def metrics_text(port):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
        return r.read().decode()


def tls_failures(port, kind, listener="web"):
    m = re.search(rf'^ballast_listener_tls_failures_total\{{listener="{listener}",kind="{kind}"\}}'
                  r" (\S+)$", metrics_text(port), re.M)
    return int(float(m.group(1))) if m else None


def client_context(cert=None, **options):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    if cert:
        ctx.load_cert_chain(*cert)
    for k, v in options.items():
        setattr(ctx, k, v)
    return ctx


def request(sock, path="/", host="a.test", extra=""):
    """One GET over an open socket; returns (status, headers dict lower-cased, body)."""
    sock.sendall(f"GET {path} HTTP/1.1\r\nHost: {host}\r\n{extra}\r\n".encode())
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise AssertionError(f"closed mid-response: {data!r}")
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    headers = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        headers.setdefault(k.strip().lower(), v.strip())
    length = int(headers.get("content-length", "0"))
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            raise AssertionError("closed mid-body")
        body += chunk
    return int(lines[0].split()[1]), headers, body[:length]


def connect(port, ctx, name="a.test", session=None):
    raw = socket.create_connection(("127.0.0.1", port), timeout=10)
    return ctx.wrap_socket(raw, server_hostname=name, session=session)


@unittest.skipUnless(shutil.which("openssl") and shutil.which("curl"), "needs openssl and curl")
class TlsPoliciesTest(BallastTest):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="ballast-tls-policies-")
        cls.ca = make_ca(cls.dir, "server")
        cls.server = issue(cls.dir, cls.ca, "server", "/CN=a.test", ["a.test"])
        cls.clients_ca = make_ca(cls.dir, "clients")
        cls.alice = issue(cls.dir, cls.clients_ca, "alice", "/O=Example/CN=alice", client=True,
                          chain=False)
        cls.evil_ca = make_ca(cls.dir, "evil")
        cls.mallory = issue(cls.dir, cls.evil_ca, "mallory", "/CN=alice", client=True,
                            chain=False)
        cls.staple = ocsp_response(cls.dir, cls.ca, cls.server[0])
        cls.backend = HttpBackend("app")

    @classmethod
    def tearDownClass(cls):
        cls.backend.close()
        shutil.rmtree(cls.dir, ignore_errors=True)

    def config(self, port, metrics_port, tls_extra="", listener_extra="", workers=1):
        return f"""
workers: {workers}
metrics: {{bind: "127.0.0.1:{metrics_port}"}}
listeners:
  - name: web
    bind: "127.0.0.1:{port}"
    protocol: https
    pool: app
    tls:
      certificates: [{{cert: "{self.server[0]}", key: "{self.server[1]}"}}]
{tls_extra}
{listener_extra}
pools:
  - {{name: app, backends: [{{address: "{self.backend.address}"}}]}}
"""

    def each_io(self, body, **config):
        for io in IO_BACKENDS:
            with self.subTest(io=io):
                port, metrics_port = free_port(), free_port()
                with Ballast(self.config(port, metrics_port, **config), io=io) as b:
                    body(b, port, metrics_port)

    def echoed(self, sock, extra=""):
        status, _, body = request(sock, "/echo-headers", extra=extra)
        self.assertEqual(status, 200)
        return {k.lower(): v for k, v in json.loads(body)}

    # -- mTLS ----------------------------------------------------------------------------

    def test_mtls_require_passes_a_verified_identity_and_refuses_the_rest(self):
        tls_extra = f'      client_auth: {{ca: "{self.clients_ca[0]}", mode: require}}'
        forged = "X-Client-Subject: CN=admin\r\nX-Client-Cert-Sha256: 00\r\n"

        def body(b, port, metrics_port):
            with connect(port, client_context(self.alice)) as s:
                seen = self.echoed(s, forged)
            self.assertEqual(seen["x-client-subject"], "CN=alice,O=Example")
            der = ssl.PEM_cert_to_DER_cert(open(self.alice[0]).read())
            self.assertEqual(seen["x-client-cert-sha256"], hashlib.sha256(der).hexdigest())
            for cert in (None, self.mallory):  # no certificate; one from another CA
                with self.assertRaises((ssl.SSLError, ConnectionResetError, BrokenPipeError)):
                    with connect(port, client_context(cert)) as s:
                        request(s)  # TLS 1.3: the refusal arrives after the client's Finished
            wait_until(lambda: tls_failures(metrics_port, "client_certificate") == 2,
                       what="both refusals counted as client_certificate")
        self.each_io(body, tls_extra=tls_extra)

    def test_mtls_optional_serves_anonymous_clients_without_identity_fields(self):
        tls_extra = f'      client_auth: {{ca: "{self.clients_ca[0]}", mode: optional}}'

        def body(b, port, metrics_port):
            with connect(port, client_context()) as s:
                seen = self.echoed(s, "X-Client-Subject: CN=admin\r\n")
            self.assertNotIn("x-client-subject", seen)  # the forged field is gone
            self.assertNotIn("x-client-cert-sha256", seen)
            with connect(port, client_context(self.alice)) as s:
                self.assertEqual(self.echoed(s)["x-client-subject"], "CN=alice,O=Example")
        self.each_io(body, tls_extra=tls_extra)

    def test_mtls_identity_over_http2_cannot_be_forged_either(self):
        tls_extra = (f'      client_auth: {{ca: "{self.clients_ca[0]}", mode: require}}\n'
                     '      alpn: [h2, http/1.1]')

        def body(b, port, metrics_port):
            out = subprocess.run(
                ["curl", "-sk", "--http2", "--cert", self.alice[0], "--key", self.alice[1],
                 "-H", "X-Client-Subject: CN=admin", "-w", "\n%{http_version}",
                 f"https://127.0.0.1:{port}/echo-headers"],
                capture_output=True, text=True, timeout=20).stdout
            text, _, version = out.rpartition("\n")
            self.assertEqual(version, "2")
            fields = [(k.lower(), v) for k, v in json.loads(text)]
            self.assertEqual([v for k, v in fields if k == "x-client-subject"],
                             ["CN=alice,O=Example"])
        self.each_io(body, tls_extra=tls_extra)

    # -- OCSP ----------------------------------------------------------------------------

    def test_ocsp_response_is_stapled_when_asked_for(self):
        tls_extra = f'      ocsp_staple: "{self.staple}"'

        def body(b, port, metrics_port):
            out = subprocess.run(
                ["openssl", "s_client", "-connect", f"127.0.0.1:{port}", "-servername", "a.test",
                 "-status"], input="", capture_output=True, text=True, timeout=20).stdout
            self.assertIn("OCSP Response Status: successful", out)
            self.assertIn("Cert Status: good", out)
        self.each_io(body, tls_extra=tls_extra)

    # -- session tickets -----------------------------------------------------------------

    def test_ticket_keys_survive_a_reload_and_rotate_out(self):
        tls_extra = "      session_ticket_rotation: 2s"
        ctx = client_context(maximum_version=ssl.TLSVersion.TLSv1_2)

        def body(b, port, metrics_port):
            with connect(port, ctx) as s:
                request(s)
                session = s.session
            b.reload(self.config(port, metrics_port, tls_extra=tls_extra))
            with connect(port, ctx, session=session) as s:
                self.assertEqual(request(s)[0], 200)
                self.assertTrue(s.session_reused, "a reload must not cost a full handshake")
            # Two rotation periods later both keys that could read the ticket are gone. Time
            # itself is what is tested here, so waiting is the test, not synchronization.
            time.sleep(4.5)
            with connect(port, ctx, session=session) as s:
                self.assertEqual(request(s)[0], 200)
                self.assertFalse(s.session_reused, "a ticket two periods old must not resume")
        self.each_io(body, tls_extra=tls_extra)

    def test_a_tls13_resumption_gets_a_fresh_ticket(self):
        # TLS 1.3 clients use a ticket once (RFC 8446 8.1): without a new ticket after each
        # resumption, every other connection would be a full handshake. s_client writes
        # -sess_out only when the server sent a ticket on that connection.
        def s_client(port, *flags):
            return subprocess.run(
                ["openssl", "s_client", "-connect", f"127.0.0.1:{port}", "-servername", "a.test",
                 "-tls1_3", "-ign_eof", *flags],
                input="GET / HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n",
                capture_output=True, text=True, timeout=20).stdout

        def body(b, port, metrics_port):
            sessions = [os.path.join(self.dir, f"sess-{port}-{i}") for i in range(4)]
            for path in sessions:
                if os.path.exists(path):
                    os.unlink(path)
            out = s_client(port, "-sess_out", sessions[0])
            self.assertIn("New, TLSv1.3", out)
            for i in range(1, 4):
                out = s_client(port, "-sess_in", sessions[i - 1], "-sess_out", sessions[i])
                self.assertIn("Reused, TLSv1.3", out, f"resumption {i}:\n{out[-1500:]}")
                self.assertTrue(os.path.exists(sessions[i]), f"no new ticket on resumption {i}")
        self.each_io(body)

    def test_session_ids_and_tickets_resume_across_workers_with_s_client(self):
        def body(b, port, metrics_port):
            for flags in (["-no_ticket"], []):  # resumption by session id, then by ticket
                out = subprocess.run(
                    ["openssl", "s_client", "-connect", f"127.0.0.1:{port}", "-servername",
                     "a.test", "-tls1_2", "-reconnect", *flags], input="", capture_output=True,
                    text=True, timeout=30).stdout
                # -reconnect: one full handshake, then five more connections with its session,
                # spread over both workers by SO_REUSEPORT.
                self.assertEqual(out.count("Reused, TLSv1.2"), 5, f"{flags}:\n{out[-2000:]}")
        self.each_io(body, workers=2)

    # -- failures by kind ----------------------------------------------------------------

    def test_failures_are_counted_by_kind(self):
        def body(b, port, metrics_port):
            with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
                s.sendall(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
                try:
                    while s.recv(4096):
                        pass
                except ConnectionResetError:
                    pass
            with self.assertRaises(ssl.SSLError):
                connect(port, client_context(maximum_version=ssl.TLSVersion.TLSv1_2)).close()
            wait_until(lambda: tls_failures(metrics_port, "not_tls") == 1 and
                       tls_failures(metrics_port, "protocol_version") == 1,
                       what="plain HTTP and an old client counted by kind")
            kinds = sorted(e["kind"] for e in b.events("l7.tls_failed"))
            self.assertEqual(kinds, ["not_tls", "protocol_version"])
        self.each_io(body, tls_extra='      min_version: "1.3"')

    # -- HSTS and security headers -------------------------------------------------------

    def test_hsts_and_security_headers_keep_a_stricter_backend_value(self):
        self.backend.handlers["/framed"] = lambda h, n: h.respond(
            200, b"x", [("X-Frame-Options", "DENY")])
        listener_extra = ("    hsts: {max_age: 1d, include_subdomains: true}\n"
                          "    security_headers: true")

        def body(b, port, metrics_port):
            with connect(port, client_context()) as s:
                _, headers, _ = request(s, "/")
                self.assertEqual(headers["strict-transport-security"],
                                 "max-age=86400; includeSubDomains")
                self.assertEqual(headers["x-content-type-options"], "nosniff")
                self.assertEqual(headers["x-frame-options"], "SAMEORIGIN")
                self.assertEqual(headers["referrer-policy"], "strict-origin-when-cross-origin")
                _, headers, _ = request(s, "/framed")
                self.assertEqual(headers["x-frame-options"], "DENY")
        self.each_io(body, listener_extra=listener_extra)


class RedirectTest(BallastTest):
    @classmethod
    def setUpClass(cls):
        cls.backend = HttpBackend("app")

    @classmethod
    def tearDownClass(cls):
        cls.backend.close()

    def test_http_listener_and_route_redirect_to_https(self):
        for io in IO_BACKENDS:
            with self.subTest(io=io):
                port, plain_port = free_port(), free_port()
                config = f"""
workers: 1
listeners:
  - name: redirect-all
    bind: "127.0.0.1:{port}"
    protocol: http
    redirect_https: true
  - name: mixed
    bind: "127.0.0.1:{plain_port}"
    protocol: http
    pool: app
    routes:
      - {{name: login, match: {{path: {{prefix: /login}}}}, redirect_https: {{status: 301, port: 8443}}}}
pools:
  - {{name: app, backends: [{{address: "{self.backend.address}"}}]}}
"""
                with Ballast(config, io=io):
                    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
                        status, headers, _ = request(s, "/a/b?c=d", host="shop.test:8080")
                    self.assertEqual(status, 308)
                    self.assertEqual(headers["location"], "https://shop.test/a/b?c=d")
                    with socket.create_connection(("127.0.0.1", plain_port), timeout=5) as s:
                        status, headers, _ = request(s, "/login?next=/", host="shop.test")
                    self.assertEqual(status, 301)
                    self.assertEqual(headers["location"], "https://shop.test:8443/login?next=/")
                    with socket.create_connection(("127.0.0.1", plain_port), timeout=5) as s:
                        self.assertEqual(request(s, "/other", host="shop.test")[0], 200)


class UpstreamTlsTest(BallastTest):
    """pools[].tls: verification, SNI, a client certificate, and session reuse per worker."""

    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="ballast-upstream-tls-")
        cls.ca = make_ca(cls.dir, "backends")
        cls.other_ca = make_ca(cls.dir, "other")
        cls.cert = issue(cls.dir, cls.ca, "backend", "/CN=app.internal", ["app.internal"])
        cls.proxy_ca = make_ca(cls.dir, "proxies")
        cls.proxy_cert = issue(cls.dir, cls.proxy_ca, "proxy", "/CN=edge-proxy", client=True,
                               chain=False)
        cls.backend = tls_backend("secure", *cls.cert)
        cls.mtls_backend = tls_backend("mtls", *cls.cert, client_ca=cls.proxy_ca[0])

    @classmethod
    def tearDownClass(cls):
        cls.backend.close()
        cls.mtls_backend.close()
        shutil.rmtree(cls.dir, ignore_errors=True)

    def run_with(self, tls, body, backend=None, keepalive=""):
        backend = backend or self.backend
        for io in IO_BACKENDS:
            with self.subTest(io=io):
                port = free_port()
                config = f"""
workers: 1
listeners:
  - {{name: web, bind: "127.0.0.1:{port}", protocol: http, pool: app}}
pools:
  - name: app
    backends: [{{address: "{backend.address}"}}]
    tls: {tls}
{keepalive}
"""
                with Ballast(config, io=io) as b:
                    body(b, port)

    def get(self, port, path="/"):
        with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
            return request(s, path, host="app.internal")

    def test_verified_tls_to_the_backend_with_keep_alive(self):
        def body(b, port):
            before = self.backend.connections
            with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
                for _ in range(5):
                    status, _, text = request(s, "/x", host="app.internal")
                    self.assertEqual(status, 200)
                    self.assertTrue(text.startswith(b"secure "), text)
            self.assertEqual(self.backend.connections - before, 1, "one pooled TLS connection")
        self.run_with(f'{{ca: "{self.ca[0]}", sni: app.internal}}', body)

    def test_large_bodies_both_ways_through_backend_tls(self):
        size = 24 << 20  # well past every buffer: backpressure in both directions
        upload = os.urandom(8 << 20)

        def body(b, port):
            with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
                s.sendall(f"GET /download/chunked/{size} HTTP/1.1\r\nHost: a\r\n\r\n".encode())
                r = ResponseReader(s).read(sha=True)
                self.assertEqual((r.status, r.length, r.body), (200, size, payload_sha256(size)))
                s.sendall(f"POST /sha256 HTTP/1.1\r\nHost: a\r\nContent-Length: {len(upload)}"
                          "\r\n\r\n".encode() + upload)
                r = ResponseReader(s).read()
                self.assertEqual(json.loads(r.body)["sha256"], hashlib.sha256(upload).hexdigest())
        self.run_with(f'{{ca: "{self.ca[0]}", sni: app.internal}}', body)

    def test_a_wrong_ca_or_name_is_a_502_and_a_log_line(self):
        for tls in (f'{{ca: "{self.other_ca[0]}", sni: app.internal}}',
                    f'{{ca: "{self.ca[0]}", sni: other.internal}}'):
            def body(b, port):
                self.assertEqual(self.get(port)[0], 502)
                wait_until(lambda: b.events("l7.upstream_tls_failed"), what="the failure logged")
                self.assertIn("certificate verify failed",
                              b.events("l7.upstream_tls_failed")[0]["reason"])
            self.run_with(tls, body)

    def test_client_certificate_for_a_backend_that_requires_one(self):
        def body(b, port):
            self.assertEqual(self.get(port)[0], 200)
            self.assertEqual(self.mtls_backend.client_subjects[-1]["commonName"], "edge-proxy")
        self.run_with(f'{{ca: "{self.ca[0]}", sni: app.internal, client_cert: '
                      f'{{cert: "{self.proxy_cert[0]}", key: "{self.proxy_cert[1]}"}}}}', body,
                      backend=self.mtls_backend)

        def refused(b, port):
            self.assertEqual(self.get(port)[0], 502)
        self.run_with(f'{{ca: "{self.ca[0]}", sni: app.internal}}', refused,
                      backend=self.mtls_backend)

    def test_sessions_resume_on_new_connections(self):
        def body(b, port):
            start = len(self.backend.resumed)
            for _ in range(4):  # max_requests: 1 makes each request a new connection
                self.assertEqual(self.get(port)[0], 200)
            resumed = self.backend.resumed[start:]
            self.assertEqual(len(resumed), 4)
            self.assertFalse(resumed[0])
            self.assertTrue(all(resumed[1:]), resumed)
        self.run_with(f'{{ca: "{self.ca[0]}", sni: app.internal}}', body,
                      keepalive="    keepalive: {max_requests: 1}")


class UpstreamTlsHealthTest(BallastTest):
    """An http health check of a pool with tls: speaks TLS with the pool's settings: a plain
    request to a TLS-only backend would mark it down, whatever it answered."""

    def test_http_check_runs_over_the_pools_tls(self):
        import http.client
        directory = tempfile.mkdtemp(prefix="ballast-tls-health-")
        self.addCleanup(shutil.rmtree, directory, True)
        ca = make_ca(directory, "b")
        cert = issue(directory, ca, "b", "/CN=app.internal", ["app.internal"])
        backend = tls_backend("secure", *cert)
        backend.handlers["/broken"] = lambda h, n: h.respond(500, b"no")
        self.addCleanup(backend.close)
        lb = Ballast("")

        def backends_of():
            conn = http.client.HTTPConnection("localhost", timeout=5)
            conn.sock = socket.socket(socket.AF_UNIX)
            conn.sock.connect(os.path.join(lb.dir, "admin.sock"))
            conn.request("GET", "/api/v1/pools/app/backends")
            body = conn.getresponse().read()
            conn.close()
            return json.loads(body)["backends"]

        def write(path):
            lb.write_config(f"""
workers: 1
admin: {{socket: "{lb.dir}/admin.sock"}}
listeners:
  - {{name: web, bind: "127.0.0.1:{free_port()}", protocol: http, pool: app}}
pools:
  - name: app
    health_check: {{type: http, path: {path}, interval: 300ms, timeout: 300ms, rise: 1, fall: 1}}
    backends: [{{address: "{backend.address}"}}]
    tls: {{ca: "{ca[0]}", sni: app.internal}}
""")
        write("/ok")
        with lb:
            wait_until(lambda: (b := backends_of()[0])["health"] == "up" and
                       b.get("check", {}).get("last_result") == "ok", what="up over TLS")
            self.assertIn("200", backends_of()[0]["check"]["last_reason"])
            write("/broken")
            lb.reload()
            wait_until(lambda: backends_of()[0]["health"] == "down", what="down on a 500")
            self.assertIn("500", backends_of()[0]["check"]["last_reason"])


class ValidateTlsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="ballast-tls-validate-")
        cls.ca = make_ca(cls.dir, "v")
        cls.soon = issue(cls.dir, cls.ca, "soon", "/CN=a.test", ["a.test"], days=3)
        cls.good = issue(cls.dir, cls.ca, "good", "/CN=a.test", ["a.test"])
        cls.other = issue(cls.dir, cls.ca, "other", "/CN=b.test", ["b.test"])
        # The CA first, then the leaf: a chain out of order.
        cls.reversed = os.path.join(cls.dir, "reversed.pem")
        with open(cls.reversed, "w") as f:
            f.write(open(cls.ca[0]).read() + open(cls.good[0] + ".leaf").read())
        cls.other_staple = ocsp_response(cls.dir, cls.ca, cls.other[0], "other-staple")

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.dir, ignore_errors=True)

    def validate(self, cert, key, extra=""):
        text = f"""listeners:
  - name: web
    bind: "127.0.0.1:8443"
    protocol: https
    pool: app
    tls:
      certificates:
        - {{cert: "{cert}", key: "{key}"}}
{extra}
pools:
  - {{name: app, backends: [{{address: "127.0.0.1:9"}}]}}
"""
        path = os.path.join(self.dir, "c.yaml")
        with open(path, "w") as f:
            f.write(text)
        out = subprocess.run([BALLAST_BIN, "validate", "-c", path], capture_output=True,
                             text=True)
        return out.returncode, out.stdout + out.stderr

    def test_a_certificate_expiring_within_7_days_is_a_warning(self):
        rc, out = self.validate(*self.soon)
        self.assertEqual(rc, 0, out)
        self.assertRegex(out, r"c.yaml:8:\d+: warning: tls.certificates: .*within 7 days")

    def test_a_chain_out_of_order_is_an_error(self):
        rc, out = self.validate(self.reversed, self.good[1])
        self.assertEqual(rc, 1, out)
        self.assertRegex(out, r"c.yaml:8:\d+: tls.certificates: chain out of order")

    def test_an_unreadable_file_is_an_error(self):
        rc, out = self.validate(os.path.join(self.dir, "missing.pem"), self.good[1])
        self.assertEqual(rc, 1, out)
        self.assertRegex(out, r"c.yaml:8:\d+: .*missing.pem")

    def test_a_staple_for_another_certificate_is_an_error(self):
        rc, out = self.validate(*self.good, extra=f'      ocsp_staple: "{self.other_staple}"')
        self.assertEqual(rc, 1, out)
        self.assertRegex(out, r"c.yaml:9:\d+: ocsp_staple: .* is not about the certificate")


if __name__ == "__main__":
    main()
