"""tests/integration/test_upgrade_storm.py — what an operator did to find #13: two workers, two
nginx backends, wrk at full load, eight binary upgrades in a row and a CPU hog beside them.
Every request must be answered: zero socket errors and zero non-2xx, on both I/O backends.

Before the fix, io_uring lost a few requests per run: an accept that completed in the kernel
after the old process had asked to stop was closed instead of served.

fd budget: wrk -c 32, two nginx backends and a few test sockets, far under the 20,000
per-process hard limit.
"""
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import unittest

from harness import BALLAST_BIN, IO_BACKENDS, Ballast, BallastTest, free_port, main, wait_until
from test_upgrade import admin, start_nginx

UPGRADES = int(os.environ.get("UPGRADE_STORM_UPGRADES", "8"))
# How many requests each generation must serve before the next upgrade starts, so every process
# carries load while it hands over (the operator spaced upgrades two seconds apart; this is
# about one second each here, longer beside the hog).
REQUESTS_PER_GENERATION = 20000


def requests_served(sock):
    """The daemon behind the admin socket: its pid and its HTTP requests answered so far."""
    status, body = admin(sock, "GET", "/metrics")
    if status != 200:
        return 0
    return sum(int(float(m)) for m in re.findall(
        r'^ballast_http_requests_total\{[^}]*\} (\S+)$', body, re.M))


def daemon_pid(sock):
    status, body = admin(sock, "GET", "/api/v1/status")
    match = re.search(r'"pid": (\d+)', body)
    return int(match.group(1)) if status == 200 and match else None


@unittest.skipUnless(shutil.which("nginx") and shutil.which("wrk"), "needs nginx and wrk")
class UpgradeStormTest(BallastTest):
    def test_eight_upgrades_beside_a_cpu_hog_lose_nothing(self):
        for io in IO_BACKENDS:
            with self.subTest(io=io):
                self.run_storm(io)

    def run_storm(self, io):
        nginx_ports = [free_port(), free_port()]
        backends = [start_nginx(port) for port in nginx_ports]
        http_port = free_port()
        tmp = tempfile.mkdtemp(prefix="ballast-storm-")
        sock = os.path.join(tmp, "admin.sock")
        config = f"""
workers: 2
admin: {{socket: "{sock}"}}
listeners:
  - {{name: web, bind: "127.0.0.1:{http_port}", protocol: http, pool: web,
      access_log: "{tmp}/access.log"}}
pools:
  - name: web
    backends: [{{address: "127.0.0.1:{nginx_ports[0]}"}}, {{address: "127.0.0.1:{nginx_ports[1]}"}}]
"""
        first = Ballast(config, io=io)
        generations = []  # (process, log path) of every upgrade
        hog = subprocess.Popen([sys.executable, "-c", "while True: pass"])
        wrk = None
        try:
            first.start()
            wrk = subprocess.Popen(["wrk", "-t", "2", "-c", "32", "-d", "120s",
                                    f"http://127.0.0.1:{http_port}/"],
                                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            current = first.proc
            for n in range(UPGRADES):
                wait_until(lambda: requests_served(sock) >= REQUESTS_PER_GENERATION, timeout=30,
                           what=f"generation {n} serving load")
                log_path = os.path.join(tmp, f"gen{n + 1}.log")
                with open(log_path, "w") as log:
                    proc = subprocess.Popen([BALLAST_BIN, "run", "--upgrade", "-c",
                                             first.config_path, "--io", io],
                                            stdout=log, stderr=log)
                generations.append((proc, log_path))
                wait_until(lambda: daemon_pid(sock) == proc.pid or proc.poll() is not None,
                           timeout=30, what=f"upgrade {n + 1} taking over")
                if proc.poll() is not None:
                    with open(log_path) as f:
                        self.fail(f"upgrade {n + 1} exited: {f.read()[-2000:]}")
                # The old generation drains its keep-alive clients and exits cleanly.
                current.wait(timeout=30)
                self.assertEqual(current.returncode, 0)
                current = proc
            wait_until(lambda: requests_served(sock) >= REQUESTS_PER_GENERATION, timeout=30,
                       what="the last generation serving load")
            wrk.send_signal(signal.SIGINT)  # wrk prints its summary on SIGINT
            out, _ = wrk.communicate(timeout=30)
            total = int(re.search(r"(\d+) requests in", out).group(1))
            self.assertNotIn("Socket errors", out, out)
            self.assertNotIn("Non-2xx", out, out)
            self.assertGreater(total, REQUESTS_PER_GENERATION * (UPGRADES + 1), out)
        finally:
            hog.kill()
            hog.wait()
            if wrk is not None and wrk.poll() is None:
                wrk.kill()
                wrk.wait()
            for proc, _ in generations:
                if proc.poll() is None:
                    proc.send_signal(signal.SIGTERM)
                    proc.wait(timeout=15)
            if first.proc is not None and first.proc.poll() is None:
                first.proc.kill()
            first.log_file.close()
            for proc, prefix in backends:
                proc.terminate()
                proc.wait()
                shutil.rmtree(prefix, ignore_errors=True)
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
