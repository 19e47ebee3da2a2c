"""tests/integration/test_reload_under_load.py — reloads must not lose a request: wrk drives an
HTTP listener at full load with keep-alive while the config is reloaded 20 times (half by
SIGHUP, half by POST /api/v1/reload), each file changing the pool: a backend removed and added
back, weights changed, a second pool with a route added and dropped. wrk must see no socket
error (connect, read, write, timeout) and no non-2xx response.

Backends are nginx (three server blocks in one nginx, run from a temp prefix) when it is
installed, else threaded Python servers.

File-descriptor budget (hard limit 20,000 per process): wrk holds 50 client connections; ballast
holds those 50 plus at most one backend connection per client connection (and a few idle pooled
ones) — a few hundred descriptors at most, well inside the limit.
"""
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import unittest

from harness import IO_BACKENDS, Ballast, BallastTest, free_port, main, wait_until
from http_backends import HttpBackend
from load_peers import NGINX, WRK, WRK_SCRIPT, NginxBackends, wrk_result

CONNECTIONS = 50
THREADS = 2
RELOADS = 20
REQUESTS_BETWEEN_RELOADS = 2000 # load that must pass between two reloads
MIN_REQUESTS = 5000             # a run that served fewer did not really load the proxy

class UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, path, timeout=10):
        super().__init__("localhost", timeout=timeout)
        self.unix_path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self.unix_path)


def admin(sock_path, method, path):
    conn = UnixHTTPConnection(sock_path)
    conn.request(method, path)
    resp = conn.getresponse()
    body = resp.read()
    conn.close()
    return resp.status, json.loads(body)


class PythonBackends:
    def __init__(self, names):
        self.servers = {n: HttpBackend(n) for n in names}

    def address(self, name):
        return self.servers[name].address

    def close(self):
        for s in self.servers.values():
            s.close()


def config(d, port, variant, addr):
    """The listener config for reload number `variant`; each differs from the one before."""
    pools = {"app": [(addr("n1"), 1), (addr("n2"), 1), (addr("n3"), 1)]}
    routes = ""
    kind = variant % 4
    if kind == 1:
        pools["app"] = [(addr("n1"), 1), (addr("n2"), 1)]  # n3 removed
    elif kind == 2:
        pools["app"] = [(addr("n1"), 3), (addr("n2"), 1), (addr("n3"), 2)]  # weights changed
    elif kind == 3:
        pools["alt"] = [(addr("n3"), 1)]  # a second pool and a route to it
        routes = ("    routes:\n      - name: alt\n        match: {path: {prefix: /alt}}\n"
                  "        pool: alt\n")
    lines = ["workers: 2", "logging: {level: info}", "admin:", f"  socket: {d}/admin.sock",
             "listeners:", "  - name: web", f"    bind: \"127.0.0.1:{port}\"",
             "    protocol: http", "    pool: app",
             # Access lines would flood the JSON log the harness parses; the file is the point.
             "    access_log: /dev/null", routes.rstrip("\n"), "pools:"]
    for name, backends in pools.items():
        lines += [f"  - name: {name}", "    algorithm: weighted_round_robin", "    backends:"]
        lines += [f"      - {{address: \"{a}\", weight: {w}}}" for a, w in backends]
    return "\n".join(l for l in lines if l) + "\n"


@unittest.skipIf(WRK is None, "wrk not installed (Debian package wrk)")
class ReloadUnderLoadTest(BallastTest):
    def test_twenty_reloads_under_full_load_lose_nothing(self):
        names = ["n1", "n2", "n3"]
        backends = NginxBackends(names) if NGINX else PythonBackends(names)
        self.addCleanup(backends.close)
        for io in IO_BACKENDS:
            with self.subTest(io=io):
                self.run_under_load(io, backends)

    def run_under_load(self, io, backends):
        port = free_port()
        d = Ballast("", io=io)
        sock = os.path.join(d.dir, "admin.sock")
        d.write_config(config(d.dir, port, 0, backends.address))
        with d:
            wait_until(lambda: os.path.exists(sock), what="admin socket")
            script = os.path.join(d.dir, "report.lua")
            with open(script, "w") as f:
                f.write(WRK_SCRIPT)
            # Longer than the reloads take; stopped with SIGINT once they are done.
            wrk = subprocess.Popen([WRK, "-t", str(THREADS), "-c", str(CONNECTIONS), "-d", "90s",
                                    "--timeout", "5s", "-s", script, f"http://127.0.0.1:{port}/"],
                                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            self.addCleanup(lambda: wrk.poll() is None and wrk.kill())

            def served():
                _, body = admin(sock, "GET", "/api/v1/listeners")
                return body["listeners"][0].get("requests_total", 0) if body["listeners"] else 0

            generations = []
            for i in range(1, RELOADS + 1):
                floor = served() + REQUESTS_BETWEEN_RELOADS
                wait_until(lambda: served() >= floor, timeout=20, what="load between reloads")
                d.write_config(config(d.dir, port, i, backends.address))
                if i % 2:
                    before = admin(sock, "GET", "/api/v1/status")[1]["reloads"]
                    d.proc.send_signal(signal.SIGHUP)
                    status = wait_until(
                        lambda: (s := admin(sock, "GET", "/api/v1/status")[1])["reloads"] > before
                        and s, what=f"SIGHUP reload {i}")
                    generations.append(status["config_generation"])
                else:
                    status, body = admin(sock, "POST", "/api/v1/reload")
                    self.assertEqual(status, 200, body)
                    self.assertTrue(body["reloaded"])
                    generations.append(body["generation"])
                self.assertIsNone(wrk.poll(), "wrk ended before the reloads did")
            floor = served() + REQUESTS_BETWEEN_RELOADS
            wait_until(lambda: served() >= floor, timeout=20, what="load after the last reload")
            wrk.send_signal(signal.SIGINT)
            out, _ = wrk.communicate(timeout=30)

            self.assertEqual(generations, sorted(set(generations)), "each reload is a generation")
            _, status = admin(sock, "GET", "/api/v1/status")
            self.assertEqual(status["reloads"], RELOADS)
            self.assertEqual(status["reload_failures"], 0)
        result = wrk_result(out)
        errors = {k: result[k] for k in ("connect", "read", "write", "timeout")}
        self.assertEqual(errors, {"connect": 0, "read": 0, "write": 0, "timeout": 0}, out)
        # wrk counts statuses above 399; the backends only ever answer 200, so any 3xx would
        # come from the proxy too and is not expected either (nor possible here).
        self.assertEqual(result["status"], 0, f"non-2xx responses:\n{out}")
        self.assertGreaterEqual(result["requests"], MIN_REQUESTS, out)
        print(f"\nwrk: {result['requests']} requests through {RELOADS} reloads, no errors ({io})",
              file=sys.stderr)


if __name__ == "__main__":
    main()
