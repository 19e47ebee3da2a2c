"""tests/integration/test_outlier_detection.py — passive health against real misbehaving peers:
an HTTP backend that answers 500 is ejected after `consecutive_5xx` answers, stays out for
base_ejection_time (then twice as long the next time), and comes back; with retries on, clients
see no failure at all; a TCP backend that refuses connections is ejected after its gateway
failures; each ejection is logged, audited, counted and shown in the admin API. One worker and
round robin make "which backend gets the next request" deterministic."""
import http.client
import json
import os
import urllib.request

from harness import (IO_BACKENDS, Backend, Ballast, BallastTest, UnixHTTPConnection, ask_name,
                     free_port, main, port_accepts, wait_until)
from http_backends import HttpBackend, log_events

EJECT_AFTER = 3
BASE_EJECTION_MS = 1500


def answer_500(handler, _n):
    handler.read_body()
    handler.respond(500, "sick says 500")


def backends(lb):
    conn = UnixHTTPConnection(os.path.join(lb.dir, "admin.sock"))
    conn.request("GET", "/api/v1/pools/app/backends")
    body = conn.getresponse().read()
    conn.close()
    return {b["address"]: b for b in json.loads(body)["backends"]}


def metric(metrics_port, name, *label_parts):
    text = urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics", timeout=10).read()
    for line in text.decode().splitlines():
        if line.startswith(name + "{") and all(p in line for p in label_parts):
            return float(line.split()[-1])
    return None


def audit(lb, kind):
    path = os.path.join(lb.dir, "audit.log")
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [r for r in map(json.loads, f.read().splitlines()) if r.get("kind") == kind]


def get(port, path="/r"):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request("GET", path)
    resp = conn.getresponse()
    body = resp.read().decode()
    conn.close()
    return resp.status, body


def http_config(d, port, metrics_port, backend_list, outlier, retries=None):
    lines = ["workers: 1", "logging: {level: debug}",
             f"metrics: {{bind: \"127.0.0.1:{metrics_port}\"}}",
             "admin:", f"  socket: {d}/admin.sock", f"  audit_log: {d}/audit.log",
             "listeners:", "  - name: web", f"    bind: \"127.0.0.1:{port}\"",
             "    protocol: http", "    pool: app", "pools:", "  - name: app",
             "    algorithm: round_robin", f"    outlier_detection: {outlier}"]
    if retries:
        lines.append(f"    retries: {retries}")
    lines.append("    backends:")
    lines += [f"      - {{address: \"{b}\"}}" for b in backend_list]
    return "\n".join(lines) + "\n"


def start(cfg_fn, io):
    lb = Ballast("", io=io)
    lb.write_config(cfg_fn(lb.dir))
    return lb


class OutlierDetectionTest(BallastTest):
    @classmethod
    def setUpClass(cls):
        cls.sick = HttpBackend("sick", {"/r": answer_500})
        cls.good = HttpBackend("good")

    @classmethod
    def tearDownClass(cls):
        cls.sick.close()
        cls.good.close()

    def test_5xx_run_ejects_for_a_while_then_longer(self):
        outlier = (f"{{consecutive_5xx: {EJECT_AFTER}, base_ejection_time: {BASE_EJECTION_MS}ms, "
                   "max_ejection_percent: 50%}")
        for io in IO_BACKENDS:
            with self.subTest(io=io):
                port, mport = free_port(), free_port()
                lb = start(lambda d: http_config(d, port, mport, [self.sick.address,
                                                                  self.good.address], outlier), io)
                with lb:
                    wait_until(lambda: port_accepts(port), what="listener up")
                    statuses = [get(port)[0] for _ in range(40)]
                    # Round robin alternates until the third 500 ejects sick; then only good.
                    self.assertEqual(statuses.count(500), EJECT_AFTER, statuses)
                    self.assertEqual(statuses[2 * EJECT_AFTER:], [200] * (40 - 2 * EJECT_AFTER))
                    b = backends(lb)[self.sick.address]
                    self.assertTrue(b["ejected"], b)
                    self.assertEqual(b["outlier"]["reason"], "consecutive_5xx")
                    self.assertEqual(b["outlier"]["times_ejected"], 1)
                    self.assertEqual(metric(mport, "ballast_backend_ejected", self.sick.address), 1)
                    self.assertEqual(metric(mport, "ballast_outlier_ejections_total",
                                            self.sick.address, 'reason="consecutive_5xx"'), 1)
                    self.assertEqual(metric(mport, "ballast_pool_backends_up", 'pool="app"'), 1)
                    wait_until(lambda: log_events(lb, "outlier.ejected"), what="ejection logged")
                    wait_until(lambda: audit(lb, "backend.ejected"), what="ejection audited")
                    ev = log_events(lb, "outlier.ejected")[0]
                    self.assertEqual((ev["backend"], ev["reason"], ev["ejection_ms"]),
                                     (self.sick.address, "consecutive_5xx",
                                      BASE_EJECTION_MS))
                    # Back after its time (the sweep runs 4 times a second).
                    wait_until(lambda: not backends(lb)[self.sick.address]["ejected"],
                               timeout=BASE_EJECTION_MS / 1000 + 3, what="sick returned")
                    returned = log_events(lb, "outlier.returned")
                    self.assertEqual(returned[0]["why"], "time_up")
                    self.assertGreaterEqual(returned[0]["ejected_ms"], BASE_EJECTION_MS)
                    self.assertTrue(audit(lb, "backend.returned"))
                    # Sick is asked again and, still sick, goes out for base × 2.
                    statuses = [get(port)[0] for _ in range(2 * EJECT_AFTER + 2)]
                    self.assertEqual(statuses.count(500), EJECT_AFTER, statuses)
                    b = backends(lb)[self.sick.address]
                    self.assertTrue(b["ejected"], b)
                    self.assertEqual(b["outlier"]["times_ejected"], 2)
                    self.assertGreater(b["outlier"]["remaining_ms"], BASE_EJECTION_MS)

    def test_with_retries_clients_see_no_failure(self):
        # Retries resend on 502, 503 and 504 (not on 500), so this backend says 503.
        outlier = f"{{consecutive_5xx: {EJECT_AFTER}, base_ejection_time: 30s}}"
        unavailable = HttpBackend("unavailable", {"/r": lambda h, _n: (h.read_body(),
                                                                        h.respond(503, "no"))})
        try:
            for io in IO_BACKENDS:
                with self.subTest(io=io):
                    port, mport = free_port(), free_port()
                    lb = start(lambda d: http_config(
                        d, port, mport, [unavailable.address, self.good.address], outlier,
                        "{attempts: 2, on: [503], backoff: {base: 1ms, max: 2ms}}"), io)
                    with lb:
                        wait_until(lambda: port_accepts(port), what="listener up")
                        before = unavailable.requests
                        results = [get(port) for _ in range(50)]
                        self.assertEqual([s for s, _ in results], [200] * 50, results)
                        self.assertTrue(all(b.startswith("good ") for _, b in results))
                        # Ejected after three 503s (502/503/504 count as gateway failures and
                        # as 5xx): later requests never meet it.
                        self.assertEqual(unavailable.requests - before, EJECT_AFTER)
                        self.assertTrue(backends(lb)[unavailable.address]["ejected"])
        finally:
            unavailable.close()

    def test_tcp_backend_refusing_connections_is_ejected(self):
        echo = Backend("echo")
        dead_port = free_port()  # nothing listens here: every connect is refused
        outlier = "{consecutive_gateway_failure: 2, base_ejection_time: 30s}"
        try:
            for io in IO_BACKENDS:
                with self.subTest(io=io):
                    port, mport = free_port(), free_port()

                    def cfg(d):
                        return "\n".join([
                            "workers: 1", f"metrics: {{bind: \"127.0.0.1:{mport}\"}}",
                            "admin:", f"  socket: {d}/admin.sock", "listeners:",
                            f"  - {{name: l4, bind: \"127.0.0.1:{port}\", pool: app}}",
                            "pools:", "  - name: app", "    algorithm: round_robin",
                            "    connect_retries: 1", f"    outlier_detection: {outlier}",
                            "    backends:", f"      - {{address: \"127.0.0.1:{dead_port}\"}}",
                            f"      - {{address: \"{echo.address}\"}}"]) + "\n"
                    lb = start(cfg, io)
                    with lb:
                        wait_until(lambda: port_accepts(port), what="listener up")
                        for _ in range(20):
                            self.assertEqual(ask_name(port), "echo")
                        dead = f"127.0.0.1:{dead_port}"
                        errors = metric(mport, "ballast_backend_connect_errors_total", dead)
                        self.assertEqual(errors, 2)  # then never tried again while ejected
                        self.assertEqual(metric(mport, "ballast_outlier_ejections_total", dead,
                                                'reason="consecutive_gateway_failure"'), 1)
                        self.assertTrue(backends(lb)[dead]["ejected"])
        finally:
            echo.close()


if __name__ == "__main__":
    main()
