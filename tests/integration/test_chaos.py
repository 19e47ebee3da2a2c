"""tests/integration/test_chaos.py — backends misbehave under steady wrk load; clients must not
notice. One Ballast per I/O backend serves a pool of two: nginx (always good) and a faulty peer
that changes, by hot reload, through seven faults: killed mid-requests (then restarted), resets,
a black hole that accepts and never answers, answers after 5 s, flapping, malformed responses,
and a full accept queue. Retries (budget 100%: the default 20% deliberately lets some requests
fail rather than double a failing pool's load) and outlier detection are on.

Each scenario asserts: no wrk error and no non-2xx answer; the faulty backend ejected within
EJECT_BOUND_S of its fault (by the audit log's timestamps); for the killed backend, back in
service within READMIT_BOUND_S of its restart. Over the whole run (100,000 requests or more on
the plain build), the process's file descriptors and RSS do not grow (from /proc).

Descriptors: wrk holds CONNECTIONS connections, Ballast those plus at most one backend connection
each and its idle pool — a few dozen, far inside the 20,000 limit.
"""
import json
import os
import signal
import socket
import struct
import subprocess
import threading
import time
import unittest
import urllib.request

from harness import (IO_BACKENDS, SANITIZED, Ballast, BallastTest, free_port, main, port_accepts,
                     rss_bytes, wait_until)
from load_peers import NGINX, WRK, WRK_SCRIPT, NginxBackends, wrk_result

CONNECTIONS = 8
SCENARIO_S = 3            # wrk run per scenario
PER_TRY_TIMEOUT_MS = 300  # black hole and slow backend: a try gives up after this
CONNECT_TIMEOUT_MS = 200  # full accept queue: the SYN is dropped, the connect times out
BASE_EJECTION_MS = 1000
MAX_EJECTION_MS = 2000
EJECT_BOUND_S = 2.0       # from the fault to the ejection
READMIT_BOUND_S = MAX_EJECTION_MS / 1000 + 1.5  # from the restart to serving again
MIN_TOTAL_REQUESTS = 100_000
MAX_FD_GROWTH = CONNECTIONS  # idle pooled connections to nginx may differ by a few
MAX_RSS_GROWTH = 16 << 20


class FaultyPeer:
    """A TCP listener on loopback whose connections each get `behaviour(conn, peer)` in a
    thread. With accept=False it never accepts (listen backlog 0), for the full-queue fault."""

    def __init__(self, behaviour, accept=True, port=0):
        self.behaviour = behaviour
        self.stop = threading.Event()
        self.conns = []
        self.lock = threading.Lock()
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", port))
        self.sock.listen(0 if not accept else 128)
        self.port = self.sock.getsockname()[1]
        self.address = f"127.0.0.1:{self.port}"
        self.thread = None
        if accept:
            self.thread = threading.Thread(target=self._accept_loop, daemon=True)
            self.thread.start()

    def _accept_loop(self):
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with self.lock:
                self.conns.append(conn)
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn):
        try:
            self.behaviour(conn, self)
        except OSError:
            pass

    def close(self):
        self.stop.set()
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()
        with self.lock:
            for c in self.conns:
                try:
                    c.close()
                except OSError:
                    pass


def reset(conn, _peer):
    conn.recv(65536)
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    conn.close()


def black_hole(conn, peer):
    while not peer.stop.is_set() and conn.recv(65536):
        pass  # reads whatever comes, answers nothing


def slow_5s(conn, peer):
    while conn.recv(65536):
        if peer.stop.wait(5):
            return
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nslow\n")


def malformed(conn, _peer):
    while conn.recv(65536):
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: twelve\r\n\r\n")


class FlappingPeer:
    """Up (answering 200) for 300 ms, then gone (listener and connections closed) for 300 ms, on
    the same port, until closed."""

    def __init__(self):
        self.port = free_port()
        self.address = f"127.0.0.1:{self.port}"
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    @staticmethod
    def _answer(conn, peer):
        while conn.recv(65536):
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nflap\n")

    def _run(self):
        while not self.done.is_set():
            up = FaultyPeer(self._answer, port=self.port)
            self.done.wait(0.3)
            up.close()
            self.done.wait(0.3)

    def close(self):
        self.done.set()
        self.thread.join()


def config(port, mport, d, faulty, good):
    return "\n".join([
        "workers: 1", "logging: {level: info}",
        f"metrics: {{bind: \"127.0.0.1:{mport}\"}}",
        "admin:", f"  socket: {d}/admin.sock", f"  audit_log: {d}/audit.log",
        "listeners:", "  - name: web", f"    bind: \"127.0.0.1:{port}\"", "    protocol: http",
        "    pool: app", f"    timeouts: {{connect: {CONNECT_TIMEOUT_MS}ms}}",
        "    access_log: /dev/null",  # the file is the point; the JSON log stays readable
        "pools:", "  - name: app", "    algorithm: round_robin",
        "    retries: {attempts: 2, on: [connect_failure, reset, timeout, 502, 503, 504], "
        f"per_try_timeout: {PER_TRY_TIMEOUT_MS}ms, backoff: {{base: 1ms, max: 5ms}}, "
        "budget: 100%}",
        "    outlier_detection: {consecutive_5xx: 3, consecutive_gateway_failure: 3, "
        f"base_ejection_time: {BASE_EJECTION_MS}ms, max_ejection_time: {MAX_EJECTION_MS}ms, "
        "max_ejection_percent: 50%}",
        "    backends:", f"      - {{address: \"{faulty}\"}}", f"      - {{address: \"{good}\"}}",
    ]) + "\n"


def metric(mport, name, *parts):
    text = urllib.request.urlopen(f"http://127.0.0.1:{mport}/metrics", timeout=10).read()
    return sum(float(l.split()[-1]) for l in text.decode().splitlines()
               if l.startswith(name + "{") and all(p in l for p in parts))


def audit(d, kind, backend, since_ms):
    path = os.path.join(d, "audit.log")
    with open(path) as f:
        records = [json.loads(l) for l in f.read().splitlines()]
    return [r for r in records if r["kind"] == kind and r["after"].get("backend") == backend
            and r["time_ms"] >= since_ms]


def fd_count(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


@unittest.skipIf(WRK is None or NGINX is None, "wrk and nginx are needed (Debian packages)")
class ChaosTest(BallastTest):
    def test_seven_faults_under_load(self):
        for io in IO_BACKENDS:
            with self.subTest(io=io):
                self.run_scenarios(io)

    def start_wrk(self, port, script):
        return subprocess.Popen(
            [WRK, "-t", "1", "-c", str(CONNECTIONS), "-d", f"{SCENARIO_S}s", "--timeout", "3s",
             "-s", script, f"http://127.0.0.1:{port}/"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)

    def finish_wrk(self, wrk, what):
        out, _ = wrk.communicate(timeout=SCENARIO_S + 30)
        result = wrk_result(out)
        errors = {k: result[k] for k in ("connect", "read", "write", "timeout", "status")}
        self.assertEqual(errors, dict.fromkeys(errors, 0), f"{what}: clients saw failures:\n{out}")
        return result["requests"]

    def assert_ejected_within(self, d, faulty, since_ms, what):
        records = wait_until(lambda: audit(d, "backend.ejected", faulty, since_ms),
                             timeout=EJECT_BOUND_S + 5, what=f"{what}: ejection")
        took = (records[0]["time_ms"] - since_ms) / 1000
        print(f"  {what}: ejected after {took:.2f}s", flush=True)
        self.assertLessEqual(took, EJECT_BOUND_S, f"{what}: ejected after {took:.2f}s")

    def run_scenarios(self, io):
        good = NginxBackends(["good"])
        self.addCleanup(good.close)
        victim = NginxBackends(["victim"])
        self.addCleanup(victim.close)
        port, mport = free_port(), free_port()
        lb = Ballast("", io=io)
        d = lb.dir
        lb.write_config(config(port, mport, d, victim.address("victim"), good.address("good")))
        script = os.path.join(d, "report.lua")
        with open(script, "w") as f:
            f.write(WRK_SCRIPT)
        total = 0
        with lb:
            wait_until(lambda: port_accepts(port), what="listener up")
            pid = lb.proc.pid
            print(f"\n[{io}]", flush=True)

            # 1. Killed in the middle of requests, then restarted.
            wrk = self.start_wrk(port, script)
            wait_until(lambda: metric(mport, "ballast_backend_responses_total",
                                      victim.address("victim")) > 100, what="victim serving")
            kill_ms = int(time.time() * 1000)
            victim.kill()
            self.assert_ejected_within(d, victim.address("victim"), kill_ms, "killed")
            served = metric(mport, "ballast_backend_responses_total", victim.address("victim"))
            victim.restart()
            restart = time.monotonic()
            wait_until(lambda: metric(mport, "ballast_backend_responses_total",
                                      victim.address("victim")) > served,
                       timeout=READMIT_BOUND_S + 5, what="killed backend serving again")
            took = time.monotonic() - restart
            print(f"  killed: serving again {took:.2f}s after restart", flush=True)
            self.assertLessEqual(took, READMIT_BOUND_S)
            total += self.finish_wrk(wrk, "killed")
            fds_warm, rss_warm = fd_count(pid), rss_bytes(pid)

            # 2–7: a new faulty backend each, swapped in by reload.
            faults = [("reset", lambda: FaultyPeer(reset)),
                      ("black hole", lambda: FaultyPeer(black_hole)),
                      ("answers after 5s", lambda: FaultyPeer(slow_5s)),
                      ("flapping", FlappingPeer),
                      ("malformed", lambda: FaultyPeer(malformed)),
                      ("full accept queue", self.full_queue_peer)]
            for what, make in faults:
                peer = make()
                try:
                    lb.write_config(config(port, mport, d, peer.address, good.address("good")))
                    lb.reload()
                    start_ms = int(time.time() * 1000)
                    wrk = self.start_wrk(port, script)
                    self.assert_ejected_within(d, peer.address, start_ms, what)
                    total += self.finish_wrk(wrk, what)
                finally:
                    peer.close()
            fds_end, rss_end = fd_count(pid), rss_bytes(pid)
        print(f"  {total} requests; fds {fds_warm} -> {fds_end}; RSS {rss_warm >> 20} -> "
              f"{rss_end >> 20} MiB", flush=True)
        self.assertLessEqual(fds_end, fds_warm + MAX_FD_GROWTH)
        if not SANITIZED:  # ASan's quarantine and a slower build: neither figure means much
            self.assertGreaterEqual(total, MIN_TOTAL_REQUESTS)
            self.assertLess(rss_end - rss_warm, MAX_RSS_GROWTH)

    def full_queue_peer(self):
        """Listens with backlog 0 and never accepts; two connects fill its queue, so the SYNs of
        later ones are dropped and they time out."""
        peer = FaultyPeer(None, accept=False)
        fillers = []
        for _ in range(2):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setblocking(False)
            s.connect_ex(("127.0.0.1", peer.port))
            fillers.append(s)
        closing = peer.close

        def close():
            for s in fillers:
                s.close()
            closing()
        peer.close = close
        return peer


if __name__ == "__main__":
    main()
