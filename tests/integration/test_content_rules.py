"""tests/integration/test_content_rules.py — the content rules through the real binary, over
HTTP/1.1 and HTTP/2 (prior knowledge) alike: `respond:` answers at the edge (inline body and file,
content type, extra fields, HEAD) without reaching a backend; `redirect:` fills $host, $1 and
$query from a regex and lets paths it does not match through; `rewrite:` changes the path (prefix
and regex, query kept) and Host (X-Forwarded-Host keeps the client's); `cors:` answers preflights
at the edge, gives allowed origins their fields and others none, and drops a backend's own;
`error_pages:` replaces our 404 and 502 and, with backend_errors, a backend's 500, and an edited
page is served without a restart; a bad template is refused at load with its line:column.
Traffic stays on 127.0.0.1."""
import os
import shutil
import socket
import subprocess
import tempfile

from harness import BALLAST_BIN, Ballast, BallastTest, free_port, main, wait_until
from http_backends import HttpBackend


def curl(port, path, *args, h2=False):
    """(status, {lower-case name: [values]}, body) of one request."""
    cmd = ["curl", "-s", "-D", "-", "-o", "-", *(["--http2-prior-knowledge"] if h2 else []),
           *args, f"http://127.0.0.1:{port}{path}"]
    out = subprocess.run(cmd, capture_output=True, timeout=10).stdout
    head, _, body = out.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1]) if lines and lines[0] else 0
    fields = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        fields.setdefault(name.strip().lower(), []).append(value.strip())
    return status, fields, body


def backend_500(handler, _n):
    handler.read_body()
    handler.respond(500, b"backend stack trace", [("Content-Type", "text/plain")])


def backend_cors(handler, _n):
    handler.read_body()
    handler.respond(200, b"with its own cors", [("Access-Control-Allow-Origin", "*"),
                                                ("Access-Control-Allow-Methods", "PUT")])


class ContentRulesTest(BallastTest):
    @classmethod
    def setUpClass(cls):
        cls.backend = HttpBackend("app", {"/boom": backend_500, "/v2/cors": backend_cors})
        cls.dir = tempfile.mkdtemp(prefix="ballast-content-")
        cls.maintenance = os.path.join(cls.dir, "maintenance.html")
        with open(cls.maintenance, "w") as f:
            f.write("<h1>back soon</h1>\n")
        cls.pages = {}
        for status in (404, 500, 502):
            cls.pages[status] = os.path.join(cls.dir, f"{status}.html")
            with open(cls.pages[status], "w") as f:
                f.write(f"<p>our page for {status}</p>\n")

    @classmethod
    def tearDownClass(cls):
        cls.backend.close()
        shutil.rmtree(cls.dir, ignore_errors=True)

    def config(self, web):
        dead = free_port()  # nothing listens there: connections are refused
        return f"""workers: 1
listeners:
  - name: web
    bind: "127.0.0.1:{web}"
    protocol: http
    http2: true
    error_pages:
      pages: {{404: {self.pages[404]}, 502: {self.pages[502]}}}
    routes:
      - name: health
        match: {{path: {{exact: /healthz}}}}
        respond: {{status: 200, body: "ok", content_type: text/plain, headers: {{X-Node: n1}}}}
      - name: maintenance
        match: {{path: /shop}}
        respond: {{status: 503, file: {self.maintenance}, content_type: text/html,
                   headers: {{Retry-After: "120"}}}}
      - name: moved
        match: {{path: /old/}}
        redirect: {{status: 301, regex: "^/old/([a-z]+)/(.*)$", to: "https://$host/new/$2?from=$1&$query"}}
        pool: app
      - name: api
        match: {{path: /api/}}
        rewrite: {{prefix: /api/, replace: /v2/, host: internal.example}}
        cors:
          origins: ["https://app.example"]
          origin_regex: ["https://[a-z]+\\\\.tenant\\\\.example"]
          methods: [GET, PUT]
          headers: [X-Token]
          expose_headers: [X-Trace]
          credentials: true
          max_age: 10m
        pool: app
      - name: legacy
        match: {{path: /legacy/}}
        rewrite: {{regex: "^/legacy/(\\\\d+)/(.*)$", replace: "/items/$2/$1"}}
        pool: app
      - name: boom
        match: {{path: /boom}}
        error_pages: {{pages: {{500: {self.pages[500]}}}, backend_errors: true}}
        pool: app
      - name: down
        match: {{path: /down}}
        pool: dead
      - {{name: raw, match: {{path: /raw}}, rewrite: {{prefix: /raw, replace: /boom}}, pool: app}}
pools:
  - name: app
    backends: [{{address: "{self.backend.address}"}}]
  - name: dead
    backends: [{{address: "127.0.0.1:{dead}"}}]
"""

    def served(self):
        with self.backend.lock:
            return self.backend.requests

    def last_request(self):
        with self.backend.lock:
            return self.backend.log[-1]

    def test_direct_responses_never_reach_a_backend(self):
        web = free_port()
        with Ballast(self.config(web)):
            for h2 in (False, True):
                with self.subTest(h2=h2):
                    before = self.served()
                    status, fields, body = curl(web, "/healthz", h2=h2)
                    self.assertEqual((status, body), (200, b"ok"))
                    self.assertEqual(fields["x-node"], ["n1"])
                    self.assertEqual(fields["content-type"], ["text/plain"])
                    status, fields, body = curl(web, "/shop/cart", h2=h2)
                    self.assertEqual((status, body), (503, b"<h1>back soon</h1>\n"))
                    self.assertEqual(fields["retry-after"], ["120"])
                    self.assertEqual(fields["content-type"], ["text/html"])
                    # HEAD: the length of the body it would get (and, below, no body).
                    status, fields, _ = curl(web, "/shop", "-I", h2=h2)
                    self.assertEqual(status, 503)
                    # (curl -I prints the head twice, as headers and as output)
                    self.assertEqual(set(fields["content-length"]),
                                     {str(len(b"<h1>back soon</h1>\n"))})
                    self.assertEqual(self.served(), before)
            # On HTTP/1.1 a body after a HEAD answer would be read as the next response: the
            # connection must carry the head and nothing else before it closes (asked to: the
            # connection otherwise stays open after an answer of ours).
            with socket.create_connection(("127.0.0.1", web), timeout=10) as sock:
                sock.sendall(b"HEAD /shop HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                raw = b""
                while chunk := sock.recv(65536):
                    raw += chunk
            self.assertTrue(raw.startswith(b"HTTP/1.1 503 "), raw)
            self.assertTrue(raw.endswith(b"\r\n\r\n"), raw)
            # Direct answers keep an HTTP/1.1 connection open, as NGINX after `return`: one
            # connection carries them all, and a proxied request after them.
            with socket.create_connection(("127.0.0.1", web), timeout=10) as sock:
                sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
                             b"GET /shop/cart HTTP/1.1\r\nHost: x\r\n\r\n"
                             b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                raw = b""
                while chunk := sock.recv(65536):
                    raw += chunk
            self.assertEqual(raw.count(b"HTTP/1.1 200 "), 2, raw)
            self.assertEqual(raw.count(b"HTTP/1.1 503 "), 1, raw)
            self.assertEqual(raw.count(b"Connection: close"), 1, raw)

    def test_redirect_fills_captures_host_and_query_and_lets_other_paths_through(self):
        web = free_port()
        with Ballast(self.config(web)):
            for h2 in (False, True):
                with self.subTest(h2=h2):
                    status, fields, _ = curl(web, "/old/shoes/red/42?size=9", "-H",
                                             "Host: shop.example", h2=h2)
                    self.assertEqual(status, 301)
                    self.assertEqual(fields["location"],
                                     ["https://shop.example/new/red/42?from=shoes&size=9"])
                    # The regex wants a lower-case section: this path goes to the pool.
                    status, _, body = curl(web, "/old/Shoes", h2=h2)
                    self.assertEqual(status, 200)
                    self.assertIn(b"GET /old/Shoes", body)

    def test_rewrite_changes_path_and_host_and_keeps_the_query(self):
        web = free_port()
        with Ballast(self.config(web)):
            for h2 in (False, True):
                with self.subTest(h2=h2):
                    status, _, body = curl(web, "/api/users?page=2", "-H", "Host: front.example",
                                           h2=h2)
                    self.assertEqual(status, 200)
                    self.assertIn(b"GET /v2/users?page=2", body)
                    _method, _target, fields = self.last_request()
                    names = {k.lower(): v for k, v in fields}
                    self.assertEqual(names["host"], "internal.example")
                    self.assertEqual(names["x-forwarded-host"], "front.example")
                    hosts = [v for k, v in fields if k.lower() == "host"]
                    self.assertEqual(len(hosts), 1, fields)
                    status, _, body = curl(web, "/legacy/17/photo.jpg?w=100", h2=h2)
                    self.assertEqual(status, 200)
                    self.assertIn(b"GET /items/photo.jpg/17?w=100", body)

    def test_cors_preflight_is_answered_at_the_edge_and_only_allowed_origins_get_fields(self):
        web = free_port()
        with Ballast(self.config(web)):
            for h2 in (False, True):
                with self.subTest(h2=h2):
                    before = self.served()
                    status, fields, body = curl(
                        web, "/api/things", "-X", "OPTIONS", "-H", "Origin: https://app.example",
                        "-H", "Access-Control-Request-Method: PUT", "-H",
                        "Access-Control-Request-Headers: x-token", h2=h2)
                    self.assertEqual((status, body), (204, b""))
                    self.assertEqual(fields["access-control-allow-origin"], ["https://app.example"])
                    self.assertEqual(fields["access-control-allow-methods"], ["GET, PUT"])
                    self.assertEqual(fields["access-control-allow-headers"], ["X-Token"])
                    self.assertEqual(fields["access-control-allow-credentials"], ["true"])
                    self.assertEqual(fields["access-control-max-age"], ["600"])
                    self.assertEqual(fields["vary"], ["Origin"])
                    # A regex origin passes; a method or a field not allowed gets no permission.
                    status, fields, _ = curl(
                        web, "/api/things", "-X", "OPTIONS", "-H",
                        "Origin: https://blue.tenant.example", "-H",
                        "Access-Control-Request-Method: GET", h2=h2)
                    self.assertEqual(fields["access-control-allow-origin"],
                                     ["https://blue.tenant.example"])
                    for origin, method, asked in (("https://evil.example", "GET", ""),
                                                  ("https://app.example", "DELETE", ""),
                                                  ("https://app.example", "GET", "X-Secret")):
                        extra = ["-H", f"Access-Control-Request-Headers: {asked}"] if asked else []
                        status, fields, _ = curl(
                            web, "/api/things", "-X", "OPTIONS", "-H", f"Origin: {origin}", "-H",
                            f"Access-Control-Request-Method: {method}", *extra, h2=h2)
                        self.assertEqual(status, 204)
                        self.assertNotIn("access-control-allow-origin", fields, (origin, method))
                    self.assertEqual(self.served(), before)
                    # Simple requests: the backend's own CORS fields never reach the client.
                    status, fields, body = curl(web, "/api/cors", "-H",
                                                "Origin: https://app.example", h2=h2)
                    self.assertEqual((status, body), (200, b"with its own cors"))
                    self.assertEqual(fields["access-control-allow-origin"], ["https://app.example"])
                    self.assertEqual(fields["access-control-expose-headers"], ["X-Trace"])
                    self.assertNotIn("access-control-allow-methods", fields)
                    status, fields, _ = curl(web, "/api/cors", "-H", "Origin: https://evil.example",
                                             h2=h2)
                    self.assertEqual(status, 200)
                    self.assertFalse([k for k in fields if k.startswith("access-control-")], fields)

    def test_error_pages_replace_our_errors_and_a_backends_5xx(self):
        web = free_port()
        with Ballast(self.config(web)):
            for h2 in (False, True):
                with self.subTest(h2=h2):
                    status, fields, body = curl(web, "/nowhere", h2=h2)
                    self.assertEqual((status, body), (404, b"<p>our page for 404</p>\n"))
                    self.assertEqual(fields["content-type"], ["text/html; charset=utf-8"])
                    # No health check: the refused connect is ours to answer, with 502.
                    status, _, body = curl(web, "/down", h2=h2)
                    self.assertEqual((status, body), (502, b"<p>our page for 502</p>\n"))
                    status, _, body = curl(web, "/boom", h2=h2)
                    self.assertEqual((status, body), (500, b"<p>our page for 500</p>\n"))
                    # Without backend_errors a backend's own 5xx goes through as it is.
                    status, _, body = curl(web, "/raw", h2=h2)
                    self.assertEqual((status, body), (500, b"backend stack trace"))

    def test_an_edited_page_is_served_without_a_restart(self):
        web = free_port()
        page = os.path.join(self.dir, "edited-404.html")
        with open(page, "w") as f:
            f.write("first\n")
        cfg = self.config(web).replace(self.pages[404], page)
        with Ballast(cfg):
            self.assertEqual(curl(web, "/nowhere")[2], b"first\n")
            tmp = page + ".new"
            with open(tmp, "w") as f:
                f.write("second\n")
            os.replace(tmp, page)
            wait_until(lambda: curl(web, "/nowhere")[2] == b"second\n", what="edited page served")

    def test_a_bad_template_is_refused_with_its_position(self):
        d = tempfile.mkdtemp(prefix="ballast-content-bad-")
        self.addCleanup(shutil.rmtree, d, ignore_errors=True)
        cfg = os.path.join(d, "ballast.yaml")
        with open(cfg, "w") as f:
            f.write(f"""listeners:
  - name: web
    bind: "127.0.0.1:{free_port()}"
    protocol: http
    routes:
      - name: moved
        match: {{path: /old}}
        redirect: {{to: "https://$hostname$path"}}
      - name: cap
        match: {{path: /x}}
        redirect: {{regex: "^/x/(.*)$", to: "/y/$2"}}
""")
        proc = subprocess.run([BALLAST_BIN, "validate", "-c", cfg], capture_output=True, text=True,
                              timeout=30)
        self.assertNotEqual(proc.returncode, 0)
        out = proc.stdout + proc.stderr
        self.assertRegex(out, r":8:\d+: .*to: unknown variable \$hostname")
        self.assertRegex(out, r":11:\d+: .*to: \$2: the regex has only 1 capture group")


if __name__ == "__main__":
    main()
