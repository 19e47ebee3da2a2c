"""tests/integration/test_dashboard.py — the web dashboard on the admin listener.

Without a browser: the page, script and style are served from the binary without auth, with a
content security policy, while the API beside them still wants a token. With Debian's chromium
and tests/browser/node_modules (npm ci there): tests/browser/dashboard_check.mjs signs in,
watches a killed backend turn red and a restarted one turn green, and saves screenshots to
$BALLAST_TEST_ARTIFACTS (default /tmp/ballast-artifacts). That part skips when either is
missing.
"""
import http.server
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import urllib.error
import urllib.request

from harness import IO_BACKENDS, Ballast, BallastTest, free_port, main, port_accepts, wait_until

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BROWSER_DIR = os.path.join(ROOT, "tests", "browser")
CHECK_SCRIPT = os.path.join(BROWSER_DIR, "dashboard_check.mjs")
CHROMIUM = os.environ.get("BALLAST_CHROMIUM", "/usr/bin/chromium")
NODE = shutil.which("node")
ARTIFACTS = os.environ.get("BALLAST_TEST_ARTIFACTS", "/tmp/ballast-artifacts")
TOKEN = "dashboard-test-token-5b1f0c"
BROWSER_TIMEOUT = 120.0  # the whole browser run; each of its waits has a deadline of seconds

# Loopback only, whatever proxy the environment names.
OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def browser_missing():
    if not os.access(CHROMIUM, os.X_OK):
        return f"{CHROMIUM} not found (apt-get install chromium)"
    if NODE is None:
        return "node not found (apt-get install nodejs npm)"
    if not os.path.isdir(os.path.join(BROWSER_DIR, "node_modules", "playwright-core")):
        return "tests/browser/node_modules missing (npm ci --prefix tests/browser)"
    return None


class RestartableBackend:
    """An HTTP/1.1 backend that answers with its name; stop() closes the listening socket and
    start() binds the same port again."""

    def __init__(self, name):
        self.name = name
        self.port = 0
        self.server = None
        self.start()

    def start(self):
        name = self.name

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self):
                body = name.encode()
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self):
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    @property
    def address(self):
        return f"127.0.0.1:{self.port}"


def config(work_dir, admin_port, port, backends):
    tokens = os.path.join(work_dir, "tokens")
    with open(tokens, "w") as f:
        f.write(f"# admin tokens for the dashboard test\n{TOKEN}\n")
    return f"""workers: 1
logging: {{level: info}}
admin:
  socket: "{os.path.join(work_dir, 'admin.sock')}"
  bind: "127.0.0.1:{admin_port}"
  auth: {{tokens_file: "{tokens}"}}
listeners:
  - {{name: web, bind: "127.0.0.1:{port}", protocol: http, pool: app}}
pools:
  - name: app
    health_check: {{type: tcp, interval: 200ms, timeout: 150ms, rise: 1, fall: 1}}
    backends:
""" + "".join(f"      - {{address: \"{b.address}\"}}\n" for b in backends)


def fetch(url, token=None):
    """(status, headers, body) of a GET; HTTP errors are answers too."""
    req = urllib.request.Request(url)
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    try:
        with OPENER.open(req, timeout=5) as r:
            return r.status, r.headers, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read()


class Traffic:
    """Requests through the proxy until stopped, so the page has rates and latencies to show.
    The pause only paces the load; no test step waits on it."""

    PAUSE = 0.02

    def __init__(self, port):
        self.url = f"http://127.0.0.1:{port}/"
        self.done = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        while not self.done.is_set():
            try:
                fetch(self.url)
            except OSError:
                pass  # a request caught by the killed backend
            self.done.wait(self.PAUSE)

    def stop(self):
        self.done.set()
        self.thread.join()


class DashboardTest(BallastTest):
    def setUp(self):
        self.work_dir = tempfile.mkdtemp(prefix="ballast-dashboard-")
        self.backends = [RestartableBackend(n) for n in ("a", "b", "c")]
        self.admin_port = free_port()
        self.port = free_port()
        self.lb = Ballast(config(self.work_dir, self.admin_port, self.port, self.backends),
                          io=IO_BACKENDS[0])

    def tearDown(self):
        for b in self.backends:
            b.stop()
        shutil.rmtree(self.work_dir, ignore_errors=True)

    def admin_url(self, path):
        return f"http://127.0.0.1:{self.admin_port}{path}"

    def test_assets_are_served_without_auth_and_the_api_is_not(self):
        with self.lb:
            wait_until(lambda: port_accepts(self.admin_port), what="admin listener")
            for path, kind in (("/", "text/html"), ("/ui/app.js", "text/javascript"),
                               ("/ui/style.css", "text/css")):
                status, headers, body = fetch(self.admin_url(path))
                self.assertEqual(status, 200, path)
                self.assertTrue(headers["Content-Type"].startswith(kind), headers["Content-Type"])
                self.assertIn("script-src 'self'", headers["Content-Security-Policy"])
                self.assertEqual(headers["X-Content-Type-Options"], "nosniff")
                self.assertGreater(len(body), 100, path)
            status, _, page = fetch(self.admin_url("/"))
            self.assertIn(b'<script src="/ui/app.js"', page)
            # The API and the metrics beside the page still want the token.
            self.assertEqual(fetch(self.admin_url("/api/v1/pools"))[0], 401)
            self.assertEqual(fetch(self.admin_url("/metrics"))[0], 401)
            self.assertEqual(fetch(self.admin_url("/ui/other.js"))[0], 401)
            self.assertEqual(fetch(self.admin_url("/api/v1/pools"), "wrong")[0], 401)
            self.assertEqual(fetch(self.admin_url("/api/v1/pools"), TOKEN)[0], 200)

    def test_dashboard_in_headless_chromium(self):
        missing = browser_missing()
        if missing:
            self.skipTest(missing)
        by_address = {b.address: b for b in self.backends}
        victim = self.backends[1]
        with self.lb:
            wait_until(lambda: port_accepts(self.admin_port), what="admin listener")
            traffic = Traffic(self.port)
            try:
                output = self.run_browser(by_address, victim)
            finally:
                traffic.stop()
        sys.stderr.write(output)
        self.assertIn("dashboard check passed", output)
        shot = os.path.join(ARTIFACTS, "dashboard.png")
        self.assertTrue(os.path.getsize(shot) > 0)
        print(f"screenshot: {shot}")

    def run_browser(self, by_address, victim):
        env = dict(os.environ,
                   DASHBOARD_URL=self.admin_url("/"),
                   DASHBOARD_TOKEN=TOKEN,
                   DASHBOARD_BACKENDS=",".join(by_address),
                   DASHBOARD_VICTIM=victim.address,
                   DASHBOARD_LISTENER="web",
                   DASHBOARD_ARTIFACTS=ARTIFACTS,
                   CHROMIUM=CHROMIUM)
        proc = subprocess.Popen([NODE, CHECK_SCRIPT], cwd=BROWSER_DIR, env=env, text=True,
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT)
        watchdog = threading.Timer(BROWSER_TIMEOUT, proc.kill)
        watchdog.start()
        output = []
        try:
            for line in proc.stdout:
                output.append(line)
                if not line.startswith("@@"):
                    continue
                verb, address = line[2:].split()
                backend = by_address[address]
                if verb == "kill":
                    backend.stop()
                elif verb == "start":
                    backend.start()
                else:
                    raise AssertionError(f"unknown request from the browser check: {line}")
                proc.stdin.write("ok\n")
                proc.stdin.flush()
            rc = proc.wait()
        finally:
            watchdog.cancel()
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            proc.stdin.close()
            proc.stdout.close()
        text = "".join(output)
        if rc != 0:
            raise AssertionError(f"browser check failed (exit {rc}):\n{text}")
        return text


if __name__ == "__main__":
    main()
