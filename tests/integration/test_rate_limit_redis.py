"""tests/integration/test_rate_limit_redis.py — `rate_limit: {…, store: redis://…}` through two
real Ballast processes and a real `redis-server` on loopback: together they stay within ±10% of
one limit; Redis killed in the middle, each falls back to its own local limit (on_store_error:
local), says so once in its log and in ballast_rate_limit_store_up; Redis started again on the
same port, sharing resumes and the combined count is back within the limit. A Redis that stops
answering (SIGSTOP) is timed out by the store thread while requests keep being answered.

Accuracy: wrk saturates both listeners for D seconds at once; a GCRA limit of R/s with burst B
admits R*D + B in all (each node alone would admit that much again without the store). Leases
(R × 50 ms = 5 requests) left unspent at the end and a request of credit per node are the only
slack, well inside ±10%.
fd budget: two wrk runs of 4 connections, two Redis connections.
"""
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import unittest
import urllib.request

from harness import Ballast, BallastTest, free_port, main, port_accepts, wait_until
from http_backends import HttpBackend

RATE = 100
BURST = 50
SECONDS = 4


class RedisServer:
    """A throwaway redis-server on 127.0.0.1:port, without persistence."""

    def __init__(self, port):
        self.port = port
        self.dir = tempfile.mkdtemp(prefix="ballast-redis-")
        self.proc = None

    def start(self):
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", self.dir],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_until(self.ping, what="redis-server PING")
        return self

    def ping(self):
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as s:
                s.sendall(b"PING\r\n")
                return s.recv(64).startswith(b"+PONG")
        except OSError:
            return False

    def kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()


def config(web, metrics, backend, redis_port):
    return f"""workers: 2
logging: {{level: info}}
metrics: {{bind: "127.0.0.1:{metrics}"}}
listeners:
  - name: web
    bind: "127.0.0.1:{web}"
    protocol: http
    pool: app
    rate_limit: {{name: shared, key: source_ip, rate: {RATE}/s, burst: {BURST},
                  store: "redis://127.0.0.1:{redis_port}", on_store_error: local}}
pools:
  - name: app
    backends: [{{address: "127.0.0.1:{backend}"}}]
"""


def metrics_text(port):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
        return r.read().decode()


def store_up(port, redis_port):
    m = re.search(rf'^ballast_rate_limit_store_up\{{store="redis://127.0.0.1:{redis_port}"\}} '
                  r'(\S+)$', metrics_text(port), re.M)
    return int(float(m.group(1))) if m else None


def store_errors(port):
    m = re.search(r'^ballast_rate_limit_store_errors_total\{listener="web",rule="shared"\} (\S+)$',
                  metrics_text(port), re.M)
    return int(float(m.group(1))) if m else None


def store_requests(port, redis_port):
    m = re.search(rf'^ballast_rate_limit_store_requests_total\{{store="redis://127.0.0.1:{redis_port}"\}} '
                  r'(\S+)$', metrics_text(port), re.M)
    return int(float(m.group(1))) if m else None


def get_status(port):
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code


def wrk(port, results, i):
    out = subprocess.run(["wrk", "-t", "1", "-c", "4", "-d", f"{SECONDS}s",
                          f"http://127.0.0.1:{port}/"], capture_output=True, text=True,
                         timeout=SECONDS + 30).stdout
    m = re.search(r"(\d+) requests in ([\d.]+)s", out)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    total = int(m.group(1))
    results[i] = (total - (int(non2xx.group(1)) if non2xx else 0), total, float(m.group(2)), out)


def drive_both(ports):
    """wrk against every port at once; [(accepted, total, seconds, output)] per port."""
    results = [None] * len(ports)
    threads = [threading.Thread(target=wrk, args=(p, results, i)) for i, p in enumerate(ports)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


@unittest.skipUnless(shutil.which("redis-server") and shutil.which("wrk"),
                     "needs redis-server and wrk")
class RateLimitRedisTest(BallastTest):
    @classmethod
    def setUpClass(cls):
        cls.backend = HttpBackend("app")

    @classmethod
    def tearDownClass(cls):
        cls.backend.shutdown()

    def assert_within(self, accepted, seconds, what, out):
        expected = RATE * seconds + BURST
        print(f"{what}: {accepted} accepted in {seconds:.2f}s (expected {expected:.0f}: "
              f"{RATE}/s + burst {BURST})")
        self.assertGreaterEqual(accepted, 0.9 * expected, out)
        self.assertLessEqual(accepted, 1.1 * expected, out)

    def test_two_nodes_share_one_limit_through_redis_kill_and_restart(self):
        redis_port = free_port()
        redis = RedisServer(redis_port).start()
        self.addCleanup(redis.kill)
        ports = [(free_port(), free_port()) for _ in range(2)]
        nodes = [Ballast(config(web, metrics, self.backend.server_address[1], redis_port))
                 for web, metrics in ports]
        with nodes[0], nodes[1]:
            for web, metrics in ports:
                wait_until(lambda: port_accepts(web), what="listener up")
                wait_until(lambda: store_up(metrics, redis_port) == 1, what="store up")

            # 1. Shared: both nodes together admit one limit.
            res = drive_both([web for web, _ in ports])
            accepted = sum(r[0] for r in res)
            self.assertGreater(min(r[0] for r in res), 0)  # both nodes got a part of it
            self.assert_within(accepted, max(r[2] for r in res), "shared, 2 nodes",
                               "\n".join(r[3] for r in res))
            offered = sum(r[1] for r in res)
            trips = sum(store_requests(m, redis_port) for _, m in ports)
            print(f"Redis commands: {trips} for {offered} requests offered, {accepted} admitted "
                  f"({accepted / max(trips, 1):.1f} admitted per command; none on a request's path)")
            for _, metrics in ports:
                self.assertEqual(store_errors(metrics), 0)

            # 2. Redis killed: requests are still answered, each node by its own local limit.
            redis.kill()
            for web, metrics in ports:
                wait_until(lambda: get_status(web) in (200, 429) and
                           store_up(metrics, redis_port) == 0, what="store down")
            res = drive_both([web for web, _ in ports])
            for i, (ok, total, seconds, out) in enumerate(res):
                self.assert_within(ok, seconds, f"Redis down, node {i} alone (local)", out)
            for node, (_, metrics) in zip(nodes, ports):
                self.assertGreater(store_errors(metrics), 0)
                self.assertEqual(len(node.events("policy.rate_store_down")), 1)
                fallback = node.events("l7.rate_limit_store_fallback")
                self.assertEqual(len(fallback), 1, fallback)  # once per outage, not per request
                self.assertEqual(fallback[0]["fallback"], "local")

            # 3. Redis back on the same port: sharing resumes.
            redis = RedisServer(redis_port).start()
            self.addCleanup(redis.kill)
            for _, metrics in ports:
                wait_until(lambda: store_up(metrics, redis_port) == 1, what="store up again")
            for node in nodes:
                self.assertEqual(len(node.events("policy.rate_store_up")), 1)
            res = drive_both([web for web, _ in ports])
            accepted = sum(r[0] for r in res)
            self.assert_within(accepted, max(r[2] for r in res), "shared again, 2 nodes",
                               "\n".join(r[3] for r in res))

    def test_redis_that_stops_answering_is_timed_out_off_the_request_path(self):
        redis_port = free_port()
        redis = RedisServer(redis_port).start()
        self.addCleanup(redis.kill)
        web, metrics = free_port(), free_port()
        with Ballast(config(web, metrics, self.backend.server_address[1], redis_port)) as node:
            wait_until(lambda: port_accepts(web), what="listener up")
            wait_until(lambda: store_up(metrics, redis_port) == 1, what="store up")
            self.assertEqual(get_status(web), 200)
            redis.proc.send_signal(signal.SIGSTOP)  # accepts bytes, never answers
            self.addCleanup(lambda: redis.proc.send_signal(signal.SIGCONT))
            slowest = 0.0
            def answered():
                nonlocal slowest
                start = time.monotonic()
                status = get_status(web)
                slowest = max(slowest, time.monotonic() - start)
                return status in (200, 429) and store_up(metrics, redis_port) == 0
            wait_until(answered, what="store down after the 200 ms command timeout")
            print(f"slowest answer while Redis hung: {slowest * 1000:.1f} ms")
            # A worker that waited on Redis would take the whole 200 ms command timeout.
            self.assertLess(slowest, 0.2)
            down = node.events("policy.rate_store_down")
            self.assertEqual(len(down), 1)
            redis.proc.send_signal(signal.SIGCONT)
            wait_until(lambda: store_up(metrics, redis_port) == 1, what="store up after SIGCONT")


if __name__ == "__main__":
    main()
