"""tests/integration/test_http_retries.py — a pool's `retries:` against real misbehaving backends
(http.server peers that answer 503, reset the connection, or never answer): the client gets the
healthy backend's answer, the access log names every backend tried, the metrics count retries by
reason, and what must not be retried (POST, a body over retry_buffer, a spent budget) is not."""
import hashlib
import http.client
import json
import re
import socket
import subprocess
import struct
import threading
import urllib.request

from harness import IO_BACKENDS, Ballast, BallastTest, free_port, main, wait_until
from http_backends import HttpBackend, log_events

RELEASE = threading.Event()  # lets hung handlers go at the end of the run


def answer_503(handler, _n):
    handler.read_body()
    handler.respond(503, "bad says 503")


def reset_connection(handler, _n):
    handler.read_body()
    handler.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    handler.close_connection = True
    handler.connection.close()


def never_answer(handler, _n):
    handler.read_body()
    RELEASE.wait(30)
    handler.close_connection = True


def config(port, bad, good, retries, metrics_port=None, more_bad=()):
    lines = ["workers: 1", "logging: {level: debug}"]
    if metrics_port:
        lines.append(f"metrics: {{bind: \"127.0.0.1:{metrics_port}\"}}")
    lines += ["listeners:", "  - name: web", f"    bind: \"127.0.0.1:{port}\"",
              "    protocol: http", "    pool: app", "pools:", "  - name: app",
              "    algorithm: round_robin", f"    retries: {retries}", "    backends:",
              f"      - {{address: \"{bad.address}\"}}", f"      - {{address: \"{good.address}\"}}"]
    lines += [f"      - {{address: \"{b.address}\"}}" for b in more_bad]
    return "\n".join(lines) + "\n"


def request(port, method="GET", path="/r", body=None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request(method, path, body=body)
    resp = conn.getresponse()
    data = resp.read().decode()
    conn.close()
    return resp.status, data


class HttpRetriesTest(BallastTest):
    @classmethod
    def setUpClass(cls):
        paths = ("/r", "/big", "/small", "/sha256")
        cls.unavailable = HttpBackend("bad", {p: answer_503 for p in paths})
        cls.resetting = HttpBackend("reset", {p: reset_connection for p in paths})
        cls.hanging = HttpBackend("hang", {p: never_answer for p in paths})
        cls.good = HttpBackend("good")

    @classmethod
    def tearDownClass(cls):
        RELEASE.set()
        for b in (cls.unavailable, cls.resetting, cls.hanging, cls.good):
            b.close()

    def assert_retried_to_good(self, lb, port, bad, rounds=4):
        """Every GET is answered by good; those that met bad first were retried, and logged so."""
        for _ in range(rounds):
            status, body = request(port)
            self.assertEqual(status, 200, body)
            self.assertTrue(body.startswith("good "), body)
        want = f"{bad.address},{self.good.address}"
        wait_until(lambda: len(log_events(lb, "http.access")) >= rounds, what="access lines")
        access = log_events(lb, "http.access")
        retried = [a for a in access if a.get("attempts") == 2]
        self.assertTrue(retried, access)
        for a in retried:
            self.assertEqual(a["backends"], want)
            self.assertEqual(a["backend"], self.good.address)
        self.assertTrue(all(a["attempts"] in (1, 2) for a in access), access)

    def test_503_is_retried_on_another_backend_and_counted(self):
        for io in IO_BACKENDS:
            with self.subTest(io=io):
                port, metrics_port = free_port(), free_port()
                cfg = config(port, self.unavailable, self.good,
                             "{attempts: 2, on: [503], backoff: {base: 5ms, max: 20ms}}",
                             metrics_port)
                with Ballast(cfg, io=io) as lb:
                    self.assert_retried_to_good(lb, port, self.unavailable)
                    text = urllib.request.urlopen(
                        f"http://127.0.0.1:{metrics_port}/metrics", timeout=10).read().decode()
                    line = next(l for l in text.splitlines()
                                if l.startswith("ballast_backend_http_retries_total") and
                                self.unavailable.address in l and 'reason="503"' in l)
                    self.assertGreater(int(line.split()[-1]), 0, line)

    def test_reset_before_the_response_is_retried(self):
        for io in IO_BACKENDS:
            with self.subTest(io=io):
                port = free_port()
                cfg = config(port, self.resetting, self.good, "{attempts: 2, on: [reset]}")
                with Ballast(cfg, io=io) as lb:
                    self.assert_retried_to_good(lb, port, self.resetting)

    def test_a_backend_that_never_answers_is_left_after_per_try_timeout(self):
        for io in IO_BACKENDS:
            with self.subTest(io=io):
                port = free_port()
                cfg = config(port, self.hanging, self.good,
                             "{attempts: 2, on: [timeout], per_try_timeout: 300ms}")
                with Ballast(cfg, io=io) as lb:
                    self.assert_retried_to_good(lb, port, self.hanging, rounds=2)

    def test_post_is_retried_only_with_retry_non_idempotent(self):
        for io in IO_BACKENDS:
            with self.subTest(io=io):
                port = free_port()
                with Ballast(config(port, self.unavailable, self.good, "{on: [503]}"), io=io):
                    statuses = {request(port, "POST", body="x" * 10)[0] for _ in range(4)}
                    self.assertEqual(statuses, {200, 503})  # round robin: bad answers some
                port = free_port()
                cfg = config(port, self.unavailable, self.good,
                             "{on: [503], retry_non_idempotent: true}")
                with Ballast(cfg, io=io):
                    for _ in range(4):
                        status, body = request(port, "POST", body="x" * 10)
                        self.assertEqual(status, 200, body)

    def test_a_body_over_retry_buffer_is_not_resent(self):
        for io in IO_BACKENDS:
            with self.subTest(io=io):
                port = free_port()
                cfg = config(port, self.unavailable, self.good,
                             "{on: [503], retry_buffer: 1KiB}")
                with Ballast(cfg, io=io):
                    small = {request(port, "PUT", "/small", "s" * 500)[0] for _ in range(4)}
                    self.assertEqual(small, {200})
                    body = bytes(range(256)) * 3  # the resent body reaches good byte for byte
                    for _ in range(2):
                        status, answer = request(port, "PUT", "/sha256", body)
                        self.assertEqual(status, 200, answer)
                        self.assertEqual(json.loads(answer)["sha256"],
                                         hashlib.sha256(body).hexdigest())
                    big = {request(port, "PUT", "/big", "b" * 4096)[0] for _ in range(4)}
                    self.assertEqual(big, {200, 503})

    def test_a_spent_budget_refuses_the_retry(self):
        for io in IO_BACKENDS:
            with self.subTest(io=io):
                port = free_port()
                cfg = config(port, self.unavailable, self.good,
                             "{on: [503], budget: 0%, min_concurrency: 0}")
                with Ballast(cfg, io=io) as lb:
                    statuses = {request(port)[0] for _ in range(4)}
                    self.assertEqual(statuses, {200, 503})
                    wait_until(lambda: log_events(lb, "l7.retry_budget_spent"),
                               what="l7.retry_budget_spent")

    def test_wrk_load_over_a_503_and_a_resetting_backend_sees_only_good_answers(self):
        for io in IO_BACKENDS:
            with self.subTest(io=io):
                port = free_port()
                cfg = config(port, self.unavailable, self.good,
                             "{attempts: 3, on: [reset, 503], budget: 100%}",
                             more_bad=[self.resetting])
                with Ballast(cfg, io=io):
                    proc = subprocess.run(["wrk", "-t1", "-c8", "-d3s", f"http://127.0.0.1:{port}/r"],
                                          capture_output=True, timeout=30)
                    out = proc.stdout.decode()
                    self.assertEqual(proc.returncode, 0, out + proc.stderr.decode())
                    m = re.search(r"(\d+) requests in", out)
                    self.assertIsNotNone(m, out)
                    self.assertGreater(int(m.group(1)), 100, out)
                    self.assertNotIn("Non-2xx", out)
                    self.assertNotIn("Socket errors", out)


if __name__ == "__main__":
    main()
