"""tests/integration/test_http_health.py — HTTP health checks: a backend answering outside
expect_status, or without expect_body, goes down after `fall` checks and comes back after `rise`."""
import http.server
import threading
import urllib.request

from harness import IO_BACKENDS, Ballast, BallastTest, free_port, main, wait_until


class SwitchableBackend(http.server.ThreadingHTTPServer):
    """Answers /healthz with `health_status` and `health_body`; / with its name."""

    daemon_threads = True

    def __init__(self, name):
        self.name = name
        self.health_status = 200
        self.health_body = b"ok"
        self.health_requests = []
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self):
                if self.path == "/healthz":
                    outer.health_requests.append((self.command, self.headers.get("Host")))
                    body, status = outer.health_body, outer.health_status
                else:
                    body, status = outer.name.encode(), 200
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        super().__init__(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.serve_forever, daemon=True).start()

    @property
    def address(self):
        return f"127.0.0.1:{self.server_address[1]}"

    def close(self):
        self.shutdown()
        self.server_close()


def config(port, backends, expect_body=None):
    extra = f", expect_body: \"{expect_body}\"" if expect_body else ""
    return f"""workers: 1
logging: {{level: debug}}
listeners:
  - {{name: web, bind: "127.0.0.1:{port}", protocol: http, pool: app}}
pools:
  - name: app
    health_check: {{type: http, path: /healthz, host: health.test, expect_status: 200-299,
                    interval: 100ms, timeout: 80ms, rise: 2, fall: 2{extra}}}
    backends:
""" + "".join(f"      - {{address: \"{b.address}\"}}\n" for b in backends)


def get(port):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as r:
        return r.read().decode()


class HttpHealthTest(BallastTest):
    def test_status_outside_the_range_takes_a_backend_out_and_back(self):
        a, b = SwitchableBackend("a"), SwitchableBackend("b")
        try:
            for io in IO_BACKENDS:
                with self.subTest(io=io):
                    a.health_status = 200
                    port = free_port()
                    with Ballast(config(port, [a, b]), io=io) as lb:
                        wait_until(lambda: len(a.health_requests) >= 2, what="checks of a")
                        self.assertEqual(a.health_requests[-1], ("GET", "health.test"))
                        a.health_status = 503
                        wait_until(lambda: lb.events("health.down"), what="health.down")
                        self.assertIn(a.address, lb.events("health.down")[0]["backend"])
                        self.assertEqual({get(port) for _ in range(10)}, {"b"})
                        a.health_status = 204
                        wait_until(lambda: lb.events("health.up"), what="health.up")
                        self.assertEqual({get(port) for _ in range(10)}, {"a", "b"})
        finally:
            a.close()
            b.close()

    def test_missing_expected_body_fails_the_check(self):
        a, b = SwitchableBackend("a"), SwitchableBackend("b")
        try:
            for io in IO_BACKENDS:
                with self.subTest(io=io):
                    a.health_body = b"degraded"
                    b.health_body = b"status: ok"
                    port = free_port()
                    with Ballast(config(port, [a, b], expect_body="ok"), io=io) as lb:
                        wait_until(lambda: lb.events("health.down"), what="health.down")
                        downs = {e["backend"] for e in lb.events("health.down")}
                        self.assertEqual(downs, {a.address})
                        self.assertEqual({get(port) for _ in range(6)}, {"b"})
        finally:
            a.close()
            b.close()


if __name__ == "__main__":
    main()
