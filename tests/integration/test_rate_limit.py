"""tests/integration/test_rate_limit.py — `rate_limit:` through the real binary: a limit holds
within ±10% at 1 and at 4 workers under wrk (HTTP/1.1) and h2load (h2c prior knowledge), the
429 carries Retry-After and the RateLimit-Policy / RateLimit fields, dry_run counts without
refusing, keys by header, and the shared table's memory stays bounded after 1M unique keys.

Accuracy: wrk/h2load saturate the listener for D seconds; a GCRA limit of R/s with burst B
admits R*D + B. The bound is ±10% as the issue asks; the limit is time-based in Ballast, so a
loaded 2-core machine slows the load generator, not the limiter, as long as the offered load
stays far above R (it does: thousands of requests per second against R = 200).
fd budget: wrk/h2load use 8 connections.
"""
import os
import re
import shutil
import socket
import subprocess
import urllib.request

from harness import (SANITIZED, Ballast, BallastTest, free_port, main, port_accepts, rss_bytes,
                     wait_until)
from http_backends import HttpBackend

RATE = 200
BURST = 20
SECONDS = 5


def config(web, metrics, backend, workers, rule):
    return f"""workers: {workers}
logging: {{level: info}}
metrics: {{bind: "127.0.0.1:{metrics}"}}
listeners:
  - name: web
    bind: "127.0.0.1:{web}"
    protocol: http
    http2: true
    pool: app
    rate_limit: {rule}
pools:
  - name: app
    backends: [{{address: "127.0.0.1:{backend}"}}]
"""


def metric(port, name, rule):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
        text = r.read().decode()
    m = re.search(rf'^{name}\{{listener="web",rule="{rule}"\}} (\S+)$', text, re.M)
    return int(float(m.group(1))) if m else None


def raw_get(port, headers=""):
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(f"GET / HTTP/1.1\r\nHost: a\r\n{headers}Connection: close\r\n\r\n".encode())
        data = b""
        while chunk := s.recv(4096):
            data += chunk
    return data.decode(errors="replace")


def wrk_2xx(port):
    out = subprocess.run(["wrk", "-t", "2", "-c", "8", "-d", f"{SECONDS}s",
                          f"http://127.0.0.1:{port}/"], capture_output=True, text=True,
                         timeout=SECONDS + 30).stdout
    total = int(re.search(r"(\d+) requests in ([\d.]+)s", out).group(1))
    seconds = float(re.search(r"(\d+) requests in ([\d.]+)s", out).group(2))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return total - (int(non2xx.group(1)) if non2xx else 0), seconds, out


def h2load_2xx(port):
    out = subprocess.run(["h2load", "-D", str(SECONDS), "-c", "4", "-m", "8",
                          f"http://127.0.0.1:{port}/"], capture_output=True, text=True,
                         timeout=SECONDS + 30).stdout
    ok = int(re.search(r"status codes: (\d+) 2xx", out).group(1))
    seconds = float(re.search(r"finished in ([\d.]+)s", out).group(1))
    return ok, seconds, out


def unittest_skip_without(tool):
    import unittest
    return unittest.skipUnless(shutil.which(tool), f"needs {tool}")


class RateLimitTest(BallastTest):
    @classmethod
    def setUpClass(cls):
        cls.backend = HttpBackend("app")

    @classmethod
    def tearDownClass(cls):
        cls.backend.shutdown()

    def start(self, workers, rule):
        web, metrics = free_port(), free_port()
        b = Ballast(config(web, metrics, self.backend.server_address[1], workers, rule))
        return b, web, metrics  # started by `with`

    def assert_within(self, ok, seconds, out):
        expected = RATE * seconds + BURST
        self.assertGreaterEqual(ok, 0.9 * expected, out)
        self.assertLessEqual(ok, 1.1 * expected, out)

    @unittest_skip_without("wrk")
    def test_http1_accuracy_at_1_and_4_workers(self):
        for workers in (1, 4):
            with self.subTest(workers=workers):
                b, web, metrics = self.start(
                    workers, f"{{name: per-ip, key: source_ip, rate: {RATE}/s, burst: {BURST}}}")
                with b:
                    wait_until(lambda: port_accepts(web), what="listener up")
                    before = self.backend.requests
                    ok, seconds, out = wrk_2xx(web)
                    print(f"h1 workers={workers}: {ok} accepted in {seconds}s "
                          f"({ok / seconds:.1f}/s, limit {RATE}/s + burst {BURST})")
                    self.assert_within(ok, seconds, out)
                    # The backend saw exactly what was accepted (wrk's last in-flight aside).
                    self.assertLessEqual(abs(self.backend.requests - before - ok), 16)
                    self.assertGreater(metric(metrics, "ballast_rate_limit_limited_total",
                                              "per-ip"), 0)

    @unittest_skip_without("h2load")
    def test_http2_accuracy_at_1_and_4_workers(self):
        for workers in (1, 4):
            with self.subTest(workers=workers):
                b, web, _ = self.start(
                    workers, f"{{name: per-ip, key: source_ip, rate: {RATE}/s, burst: {BURST}}}")
                with b:
                    wait_until(lambda: port_accepts(web), what="listener up")
                    ok, seconds, out = h2load_2xx(web)
                    print(f"h2 workers={workers}: {ok} accepted in {seconds}s "
                          f"({ok / seconds:.1f}/s, limit {RATE}/s + burst {BURST})")
                    self.assert_within(ok, seconds, out)

    def test_429_fields_and_header_keys(self):
        b, web, metrics = self.start(
            1, "[{name: by-key, key: [header:X-Api-Key], rate: 1/m, burst: 2}]")
        with b:
            wait_until(lambda: port_accepts(web), what="listener up")
            # Allowed answers say how much room is left, counting down to the refusal.
            for left in (1, 0):
                allowed = raw_get(web, "X-Api-Key: a\r\n")
                self.assertIn(" 200 ", allowed.split("\r\n")[0] + " ")
                self.assertIn('\r\nRateLimit-Policy: "by-key";q=1;w=60\r\n', allowed)
                self.assertRegex(allowed, rf'\r\nRateLimit: "by-key";r={left};t=\d+\r\n')
            refused = raw_get(web, "X-Api-Key: a\r\n")
            self.assertTrue(refused.startswith("HTTP/1.1 429 Too Many Requests"), refused)
            retry = int(re.search(r"\r\nRetry-After: (\d+)\r\n", refused).group(1))
            self.assertTrue(50 <= retry <= 60, refused)  # the next token comes 60 s after the 1st
            self.assertIn('\r\nRateLimit-Policy: "by-key";q=1;w=60\r\n', refused)
            self.assertRegex(refused, r'\r\nRateLimit: "by-key";r=0;t=\d+\r\n')
            # Another key has its own bucket; no key at all is not counted by the rule.
            self.assertTrue(raw_get(web, "X-Api-Key: b\r\n").startswith("HTTP/1.1 200"))
            for _ in range(4):
                self.assertTrue(raw_get(web).startswith("HTTP/1.1 200"))
            self.assertEqual(metric(metrics, "ballast_rate_limit_limited_total", "by-key"), 1)
            wait_until(lambda: b.events("l7.rate_limited"), what="l7.rate_limited logged")
            self.assertEqual(b.events("l7.rate_limited")[0]["rule"], "by-key")

    @unittest_skip_without("curl")
    def test_http2_answer_has_the_fields(self):
        b, web, _ = self.start(1, "{name: h2, key: source_ip, rate: 1/m, burst: 1}")
        with b:
            wait_until(lambda: port_accepts(web), what="listener up")
            out = subprocess.run(["curl", "-sS", "-i", "--http2-prior-knowledge",
                                  f"http://127.0.0.1:{web}/"], capture_output=True, text=True,
                                 timeout=30).stdout  # takes the one token
            self.assertTrue(out.startswith("HTTP/2 200"), out)
            self.assertRegex(out, r'\nratelimit: "h2";r=0;t=\d+\r?\n')
            out = subprocess.run(["curl", "-sS", "-i", "--http2-prior-knowledge",
                                  f"http://127.0.0.1:{web}/"], capture_output=True, text=True,
                                 timeout=30).stdout
            self.assertTrue(out.startswith("HTTP/2 429"), out)
            self.assertRegex(out, r"\nretry-after: \d+\r?\n")
            self.assertIn('ratelimit-policy: "h2";q=1;w=60', out)

    def test_dry_run_counts_without_refusing(self):
        b, web, metrics = self.start(
            1, "{name: shadow, key: source_ip, rate: 1/m, burst: 1, mode: dry_run}")
        with b:
            wait_until(lambda: port_accepts(web), what="listener up")
            for _ in range(5):
                answer = raw_get(web)
                self.assertTrue(answer.startswith("HTTP/1.1 200"))
                self.assertNotIn("RateLimit", answer)  # a shadow rule tells the client nothing
            self.assertEqual(metric(metrics, "ballast_rate_limit_dry_run_total", "shadow"), 4)
            self.assertEqual(metric(metrics, "ballast_rate_limit_limited_total", "shadow"), 0)

    @unittest_skip_without("h2load")
    def test_memory_bounded_after_1m_unique_keys(self):
        # 1,000,000 distinct paths over HTTP/2 (a 429 keeps the connection). Rule `flood` keys by
        # path, so every request takes a slot for a new key; rule `gate` then refuses it, so the
        # backend is not asked a million times. The table is fixed (8 MiB of slots): RSS may grow
        # by that, never with the number of keys. Under ASan the quarantine keeps every freed
        # request buffer, so there the run is shorter and only the answers are checked.
        b, web, _ = self.start(1, "[{name: flood, key: path, rate: 1/m, burst: 1}, "
                                  "{name: gate, key: source_ip, rate: 1/m, burst: 1}]")
        with b:
            wait_until(lambda: port_accepts(web), what="listener up")
            raw_get(web)
            base = rss_bytes(b.proc.pid)
            keys = 100_000 if SANITIZED else 1_000_000
            uris = os.path.join(b.dir, "uris")
            with open(uris, "w") as f:
                f.writelines(f"http://127.0.0.1:{web}/k{i}\n" for i in range(keys))
            out = subprocess.run(["h2load", "-n", str(keys), "-c", "4", "-m", "64", "-i", uris],
                                 capture_output=True, text=True, timeout=600).stdout
            self.assertRegex(out, rf"status codes: 0 2xx, 0 3xx, {keys} 4xx", out)
            grown = rss_bytes(b.proc.pid) - base
            print(f"RSS grew {grown / 1e6:.1f} MB after {keys} unique keys")
            if not SANITIZED:
                self.assertLess(grown, 32 << 20)


if __name__ == "__main__":
    main()
