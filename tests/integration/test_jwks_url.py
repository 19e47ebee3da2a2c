"""tests/integration/test_jwks_url.py — `jwt: {jwks_url}` through the real binary: the keys are
fetched over HTTPS from a small JWKS server started here on 127.0.0.1 (a self-signed certificate
given as jwks_ca), so tokens verify once the first fetch lands; a key rotation at the server is
picked up at the next refresh (jwks_refresh: 1s), old tokens then refused; the server failing
keeps the last good keys, counted (ballast_jwks_fetch_failures_total) and logged; and the config
errors (http://, both jwks_file and jwks_url, jwks_refresh without jwks_url) with line:column.
Readiness is the metrics (keys held, fetch counts), never a sleep. fd budget: a handful."""
import http.server
import json
import os
import re
import ssl
import subprocess
import tempfile
import threading
import time
import unittest
import urllib.request

from harness import BALLAST_BIN, Ballast, BallastTest, free_port, main, wait_until
from http_backends import HttpBackend
from test_jwt import Keys, get


class JwksServer:
    """HTTPS on 127.0.0.1 serving `self.document` at /jwks.json, or 503 while `failing`."""

    def __init__(self, cert, key):
        self.document = {"keys": []}
        self.failing = False
        self.hits = 0
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                outer.hits += 1
                if outer.failing or self.path != "/jwks.json":
                    self.send_response(503 if outer.failing else 404)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                body = json.dumps(outer.document).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)
        self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def metric(port, name, url):
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10).read().decode()
    m = re.search(rf'^{name}\{{url="{re.escape(url)}"\}} (\S+)$', text, re.M)
    return float(m.group(1)) if m else None


class JwksUrlTest(BallastTest):
    @classmethod
    def setUpClass(cls):
        cls.backend = HttpBackend("app")
        cls.dir = tempfile.mkdtemp()
        cls.cert, cls.key = os.path.join(cls.dir, "cert.pem"), os.path.join(cls.dir, "key.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                        "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", cls.key, "-out",
                        cls.cert, "-days", "2", "-subj", "/CN=127.0.0.1", "-addext",
                        "subjectAltName=IP:127.0.0.1"], check=True, capture_output=True)

    @classmethod
    def tearDownClass(cls):
        cls.backend.shutdown()

    def config(self, web, metrics_port, url):
        return f"""workers: 2
metrics: {{bind: "127.0.0.1:{metrics_port}"}}
listeners:
  - name: web
    bind: "127.0.0.1:{web}"
    protocol: http
    pool: app
    jwt:
      issuer: https://issuer.test
      audiences: [api]
      jwks_url: "{url}"
      jwks_ca: {self.cert}
      jwks_refresh: 1s
      algorithms: [RS256, ES256]
pools:
  - name: app
    backends: [{{address: "127.0.0.1:{self.backend.server_address[1]}"}}]
"""

    def token(self, keys, kid):
        now = int(time.time())
        return keys.sign("RS256", kid, {"iss": "https://issuer.test", "aud": "api",
                                        "sub": "alice", "exp": now + 600, "iat": now})

    def test_keys_are_fetched_rotated_and_kept_when_the_server_fails(self):
        server = JwksServer(self.cert, self.key)
        first, second = Keys(), Keys()
        server.document = first.jwks()
        url = f"https://127.0.0.1:{server.port}/jwks.json"
        web, mport = free_port(), free_port()
        try:
            with Ballast(self.config(web, mport, url)) as lb:
                wait_until(lambda: metric(mport, "ballast_jwks_keys", url) == 4,
                           what="the first fetch")
                self.assertEqual(get(web, self.token(first, "rsa"))[0], 200)
                self.assertEqual(get(web, self.token(second, "rsa"))[0], 401)
                self.assertEqual(get(web)[0], 401)
                self.assertTrue(lb.events("jwt.jwks_fetched"))

                # Rotation at the server: the next refresh brings the new set.
                server.document = second.jwks("-2")
                wait_until(lambda: get(web, self.token(second, "rsa-2"))[0] == 200, timeout=15,
                           what="the rotated keys")
                self.assertEqual(get(web, self.token(first, "rsa"))[0], 401)

                # The server fails: fetches fail and are counted, the last good keys serve on.
                failures = metric(mport, "ballast_jwks_fetch_failures_total", url)
                server.failing = True
                wait_until(lambda: metric(mport, "ballast_jwks_fetch_failures_total", url)
                           > failures, timeout=15, what="a failed fetch counted")
                self.assertEqual(get(web, self.token(second, "rsa-2"))[0], 200)
                self.assertEqual(metric(mport, "ballast_jwks_keys", url), 4)
                failed = lb.events("jwt.jwks_fetch_failed")
                self.assertTrue(failed)
                self.assertIn("503", failed[-1]["reason"])
                self.assertEqual(failed[-1]["keeping"], "last good keys")
                # Back: fetches succeed again.
                server.failing = False
                fetched = metric(mport, "ballast_jwks_fetches_total", url)
                wait_until(lambda: metric(mport, "ballast_jwks_fetches_total", url) > fetched + 1,
                           timeout=20, what="fetching again after the failures")
        finally:
            server.close()

    def test_no_keys_yet_refuses_tokens(self):
        # Nothing listens at the URL: no key set ever arrives, so every token is refused.
        url = f"https://127.0.0.1:{free_port()}/jwks.json"
        web, mport = free_port(), free_port()
        first = Keys()
        with Ballast(self.config(web, mport, url)) as lb:
            wait_until(lambda: (metric(mport, "ballast_jwks_fetch_failures_total", url) or 0) >= 1,
                       what="a failed fetch")
            status, head, _ = get(web, self.token(first, "rsa"))
            self.assertEqual(status, 401)
            self.assertIn("signing keys not available", head)
            self.assertTrue(lb.events("l7.jwt_no_keys"))
            self.assertEqual(lb.events("jwt.jwks_fetch_failed")[0]["keeping"], "no keys yet")

    def test_config_errors(self):
        cases = [
            ('      jwks_url: "http://127.0.0.1:1/jwks.json"\n',
             "jwks_url: expected https://HOST[:PORT]/PATH"),
            ('      jwks_url: "https://127.0.0.1:1/jwks.json"\n      jwks_file: /nonexistent\n',
             "jwks_file and jwks_url: give one of them"),
            ('      jwks_file: /nonexistent\n      jwks_refresh: 5m\n',
             "jwks_refresh: only with jwks_url"),
            ('      jwks_url: "https://127.0.0.1:1/k"\n      jwks_refresh: 500ms\n',
             "jwks_refresh: from 1s to 24h"),
        ]
        for body, expected in cases:
            text = f"""listeners:
  - name: web
    bind: "127.0.0.1:{free_port()}"
    protocol: http
    pool: app
    jwt:
      algorithms: [RS256]
{body}pools:
  - name: app
    backends: [{{address: "127.0.0.1:9"}}]
"""
            path = os.path.join(self.dir, "bad.yaml")
            with open(path, "w") as f:
                f.write(text)
            out = subprocess.run([BALLAST_BIN, "validate", "-c", path], capture_output=True,
                                 text=True, timeout=10)
            self.assertNotEqual(out.returncode, 0, body)
            self.assertRegex(out.stdout + out.stderr,
                             re.escape(path) + r":\d+:\d+: .*" + re.escape(expected))


if __name__ == "__main__":
    main()
