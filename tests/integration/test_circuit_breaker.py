"""tests/integration/test_circuit_breaker.py — a pool's `circuit_breaker:` against real backends:
requests over max_requests are answered 503 with `Ballast-Refused`, a full queue refuses and a
queued request gives up at queue_timeout (or goes on when a slot frees), a backend failing
failure_threshold times in a row is skipped until a half-open probe succeeds, and a TCP pool
closes connections over max_connections or to open breakers — each refusal counted."""
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

from harness import (IO_BACKENDS, Backend, Ballast, BallastTest, free_port, main, tcp_config,
                     wait_until)
from http_backends import HttpBackend, log_events

GATE_WAIT_S = 30  # a held request's longest wait, should a test fail before opening its gate


class Gate:
    """A backend handler that holds its request until opened; counts the requests it holds."""

    def __init__(self):
        self.open = threading.Event()
        self.lock = threading.Lock()
        self.held = 0

    def __call__(self, handler, _n):
        handler.read_body()
        with self.lock:
            self.held += 1
        self.open.wait(GATE_WAIT_S)
        handler.respond(200, "slow done")


def http_config(port, metrics_port, backends, breaker, workers=1, admin_dir=None):
    lines = [f"workers: {workers}", "logging: {level: debug}",
             f"metrics: {{bind: \"127.0.0.1:{metrics_port}\"}}"]
    if admin_dir:
        lines += ["admin:", f"  socket: {admin_dir}/admin.sock",
                  f"  audit_log: {admin_dir}/audit.log"]
    lines += ["listeners:", "  - name: web",
             f"    bind: \"127.0.0.1:{port}\"", "    protocol: http", "    http2: true",
             "    pool: app", "pools:",
             "  - name: app", f"    circuit_breaker: {breaker}", "    backends:"]
    lines += [f"      - {{address: \"{b.address}\"}}" for b in backends]
    return "\n".join(lines) + "\n"


def request(port, path="/r", timeout=10):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    conn.request("GET", path)
    resp = conn.getresponse()
    body = resp.read().decode()
    refused = resp.getheader("Ballast-Refused")
    conn.close()
    return resp.status, refused, body


def audit_kinds(admin_dir):
    """The breaker moves in the audit log, in order ("open", "half_open", "closed")."""
    path = os.path.join(admin_dir, "audit.log")
    if not os.path.exists(path):
        return []
    with open(path) as f:
        records = [json.loads(line) for line in f.read().splitlines() if line.strip()]
    return [r["kind"].removeprefix("backend.breaker_") for r in records
            if r.get("kind", "").startswith("backend.breaker_") and r["actor"] == "circuit-breaker"]


def in_background(fn):
    """Runs fn in a thread; returns a list that receives its result."""
    out = []
    t = threading.Thread(target=lambda: out.append(fn()), daemon=True)
    t.start()
    return t, out


def metric(metrics_port, name, **labels):
    text = urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics",
                                  timeout=10).read().decode()
    want = [f'{k}="{v}"' for k, v in labels.items()]
    for line in text.splitlines():
        if line.startswith(name + "{") and all(w in line for w in want):
            return int(float(line.split()[-1]))
    return None


def closed_without_data(port):
    """Connects and reads: True when the proxy closed (FIN or reset, even during connect) and
    sent nothing."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
            return s.recv(100) == b""
    except ConnectionResetError:
        return True


class CircuitBreakerTest(BallastTest):
    def test_over_max_requests_is_refused_with_503_and_counted(self):
        for io in IO_BACKENDS:
            with self.subTest(io=io):
                gate = Gate()
                backend = HttpBackend("b", {"/slow": gate})
                port, metrics_port = free_port(), free_port()
                cfg = http_config(port, metrics_port, [backend],
                                  "{max_requests: 1, failure_threshold: 0}", workers=2)
                try:
                    with Ballast(cfg, io=io) as lb:
                        held, result = in_background(lambda: request(port, "/slow"))
                        wait_until(lambda: gate.held == 1, what="the first request held")
                        status, refused, body = request(port)
                        self.assertEqual((status, refused), (503, "max_requests"), body)
                        self.assertEqual(
                            metric(metrics_port, "ballast_circuit_refused_total", pool="app",
                                   reason="max_requests"), 1)
                        self.assertEqual(
                            metric(metrics_port, "ballast_pool_requests_active", pool="app"), 1)
                        if shutil.which("curl"):
                            # HTTP/2 (h2c by prior knowledge): the same answer, as h2 fields.
                            out = subprocess.run(
                                ["curl", "-sS", "-i", "--max-time", "10",
                                 "--http2-prior-knowledge", f"http://127.0.0.1:{port}/r"],
                                capture_output=True, check=True).stdout.decode()
                            self.assertIn("HTTP/2 503", out)
                            self.assertIn("ballast-refused: max_requests", out)
                        gate.open.set()
                        held.join(10)
                        self.assertEqual(result[0][0], 200, result)
                        # The slot is free again.
                        wait_until(lambda: metric(metrics_port, "ballast_pool_requests_active",
                                                  pool="app") == 0, what="slot released")
                        self.assertEqual(request(port)[0], 200)
                        self.assertTrue(log_events(lb, "circuit.refused"))
                finally:
                    gate.open.set()
                    backend.close()

    def test_the_queue_waits_for_a_slot_refuses_when_full_and_times_out(self):
        for io in IO_BACKENDS:
            with self.subTest(io=io):
                gate = Gate()
                backend = HttpBackend("b", {"/slow": gate})
                port, metrics_port = free_port(), free_port()
                cfg = http_config(port, metrics_port, [backend],
                                  "{max_requests: 1, max_pending: 1, queue_timeout: 500ms}")
                pending = lambda: metric(metrics_port, "ballast_pool_requests_pending", pool="app")
                try:
                    with Ballast(cfg, io=io):
                        holder, held = in_background(lambda: request(port, "/slow"))
                        wait_until(lambda: gate.held == 1, what="the first request held")
                        started = time.monotonic()
                        waiter, waited = in_background(lambda: request(port))
                        wait_until(lambda: pending() == 1, what="a request queued")
                        status, refused, _ = request(port)
                        self.assertEqual((status, refused), (503, "max_pending"))
                        waiter.join(10)
                        self.assertEqual(waited[0][:2], (503, "queue_timeout"), waited)
                        self.assertGreaterEqual(time.monotonic() - started, 0.45)
                        self.assertEqual(pending(), 0)
                        # A queued request goes on once the slot frees.
                        waiter, waited = in_background(lambda: request(port))
                        wait_until(lambda: pending() == 1, what="a request queued")
                        gate.open.set()
                        waiter.join(10)
                        holder.join(10)
                        self.assertEqual(waited[0][0], 200, waited)
                        self.assertEqual(held[0][0], 200, held)
                        for reason in ("max_pending", "queue_timeout"):
                            self.assertEqual(metric(metrics_port, "ballast_circuit_refused_total",
                                                    pool="app", reason=reason), 1, reason)
                finally:
                    gate.open.set()
                    backend.close()

    def test_the_breaker_opens_probes_when_half_open_and_closes_on_success(self):
        failing = threading.Event()

        def flaky(handler, _n):
            handler.read_body()
            if failing.is_set():
                handler.respond(500, "broken")
            else:
                handler.respond(200, "fine")

        for io in IO_BACKENDS:
            with self.subTest(io=io):
                failing.set()
                backend = HttpBackend("b", {"/r": flaky})
                port, metrics_port = free_port(), free_port()
                admin_dir = tempfile.mkdtemp(prefix="ballast-breaker-")
                cfg = http_config(port, metrics_port, [backend],
                                  "{failure_threshold: 3, recovery_timeout: 300ms}",
                                  admin_dir=admin_dir)
                state = lambda: metric(metrics_port, "ballast_backend_circuit_state", pool="app",
                                       backend=backend.address)
                try:
                    with Ballast(cfg, io=io) as lb:
                        self.assertEqual(state(), 0)
                        for _ in range(3):
                            self.assertEqual(request(port)[0], 500)
                        self.assertEqual(state(), 1)
                        seen = backend.requests
                        status, refused, _ = request(port)
                        self.assertEqual((status, refused), (503, "breaker_open"))
                        self.assertEqual(backend.requests, seen)  # never reached the backend
                        self.assertEqual(len(log_events(lb, "circuit.open")), 1)
                        # Half-open after the recovery time: a failing probe reopens at once.
                        wait_until(lambda: request(port)[0] == 500, what="a half-open probe")
                        self.assertEqual(state(), 1)
                        self.assertEqual(metric(metrics_port, "ballast_backend_circuit_opened_total",
                                                pool="app", backend=backend.address), 2)
                        failing.clear()
                        wait_until(lambda: request(port)[0] == 200, what="a successful probe")
                        self.assertEqual(state(), 0)
                        self.assertTrue(log_events(lb, "circuit.closed"))
                        self.assertEqual(request(port)[0], 200)
                        self.assertGreaterEqual(
                            metric(metrics_port, "ballast_circuit_refused_total", pool="app",
                                   reason="breaker_open"), 1)
                        # Every move is audited by the control thread's sweep, in order: open,
                        # half-open, open again (the failed probe), half-open, closed.
                        wait_until(lambda: audit_kinds(admin_dir)[-1:] == ["closed"],
                                   what="the closing audited")
                        kinds = audit_kinds(admin_dir)
                        self.assertEqual(kinds[0], "open", kinds)
                        self.assertEqual(kinds.count("open"), 2, kinds)
                        self.assertIn("half_open", kinds)
                finally:
                    backend.close()
                    shutil.rmtree(admin_dir, ignore_errors=True)

    def test_tcp_over_max_connections_is_a_counted_close(self):
        for io in IO_BACKENDS:
            with self.subTest(io=io):
                backend = Backend("one")
                port, metrics_port = free_port(), free_port()
                cfg = tcp_config(port, [backend.address],
                                 extra_pool="    circuit_breaker: {max_connections: 1}",
                                 top=f"metrics: {{bind: \"127.0.0.1:{metrics_port}\"}}")
                first = None
                try:
                    with Ballast(cfg, io=io):
                        first = socket.create_connection(("127.0.0.1", port), timeout=10)
                        self.assertEqual(first.makefile("rb").readline().strip(), b"one")
                        self.assertTrue(closed_without_data(port))
                        self.assertEqual(metric(metrics_port, "ballast_circuit_refused_total",
                                                pool="app", reason="max_connections"), 1)
                        first.close()
                        wait_until(lambda: metric(metrics_port,
                                                  "ballast_backend_upstream_connections",
                                                  pool="app") == 0, what="connection closed")
                        with socket.create_connection(("127.0.0.1", port), timeout=10) as third:
                            self.assertEqual(third.makefile("rb").readline().strip(), b"one")
                finally:
                    if first is not None:
                        first.close()  # else the server's drain waits for it
                    backend.close()

    def test_tcp_to_an_open_breaker_is_a_counted_close(self):
        for io in IO_BACKENDS:
            with self.subTest(io=io):
                dead = f"127.0.0.1:{free_port()}"  # nothing listens there
                port, metrics_port = free_port(), free_port()
                cfg = tcp_config(port, [dead], extra_pool=(
                    "    connect_retries: 0\n"
                    "    circuit_breaker: {failure_threshold: 2, recovery_timeout: 60s}"),
                                 top=f"metrics: {{bind: \"127.0.0.1:{metrics_port}\"}}")
                with Ballast(cfg, io=io) as lb:
                    for _ in range(3):
                        self.assertTrue(closed_without_data(port))
                    wait_until(lambda: metric(metrics_port, "ballast_circuit_refused_total",
                                              pool="app", reason="breaker_open") == 1,
                               what="the third connection refused")
                    self.assertEqual(metric(metrics_port, "ballast_backend_circuit_state",
                                            pool="app"), 1)
                    self.assertEqual(len(log_events(lb, "l4.connect_failed")), 2)


if __name__ == "__main__":
    main()
