"""tests/integration/test_admin_hardening.py — the control plane under attack (issue #21), each
case on both I/O backends:

- trickling TCP connections (64, then 500) never keep a local operator out: the unix-socket API
  answers every probe within 1 s for the whole attack (BALLAST_HARDENING_SECONDS, default 30);
- 500 connections from a peer outside admin.auth.allow are each closed at accept, unread, and
  none holds a slot;
- 1,000 half-open connections to the metrics port: a scrape still succeeds within 1 s;
- bursts of 10,000 refused connections and of 10,000 connections to a dead pool: a few dozen
  log lines, counters equal to the burst, and summaries that account for every line held back;
- deadlines (request head, idle, TLS handshake) that bytes do not extend, the event-stream cap;
- JWT regressions (HS384, alg none, alg confusion, expiry) plus non-integer NumericDates,
  aud/iss, and control characters of `sub` escaped in the audit log.

Open files: the process limit is 20,000 and this process holds its own client sockets, so no
test holds more than 1,000 at once; the 10,000-connection bursts are opened and closed in
batches of 500. Attackers connect from 127.0.0.2 (any 127/8 address is loopback on Linux) so
the operator on 127.0.0.1 is a different peer. All traffic stays on loopback; waits poll a
readiness condition.
"""
import hashlib
import hmac
import json
import multiprocessing as mp
import os
import re
import shutil
import socket
import ssl
import subprocess
import time
import unittest

from harness import IO_BACKENDS, BallastTest, free_port, main, port_accepts, wait_until
from http_backends import HttpBackend
from test_admin import AdminBallast, admin_config, b64u, metric_value, tcp_api, unix_api

ATTACKER = "127.0.0.2"
# The trickle attack lasts this long per backend (issue #21: 30 s). A shorter value is for local
# iteration only; 30 s spans three 10 s header deadlines, so reconnecting attackers are seen too.
ATTACK_SECONDS = float(os.environ.get("BALLAST_HARDENING_SECONDS", "30"))
BATCH = 500
TOKEN = "hardening-static-token-0123456789"
HS_SECRET = b"hardening-hs256-secret-0123456789abcdef"


def connect_from(source, port, timeout=5.0):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.settimeout(timeout)
        s.bind((source, 0))
        s.connect(("127.0.0.1", port))
    except OSError:
        s.close()
        raise
    return s


def closed_by_peer(s, timeout=5.0):
    """True when the server closes the connection (EOF or reset) before `timeout`."""
    s.settimeout(timeout)
    try:
        return s.recv(1) == b""
    except ConnectionResetError:
        return True
    except socket.timeout:
        return False


def jwt(claims, secret=HS_SECRET, alg="HS256"):
    header = b64u(json.dumps({"alg": alg, "typ": "JWT"}).encode())
    body = b64u(json.dumps(claims).encode())
    signing = f"{header}.{body}"
    digest = {"HS256": hashlib.sha256, "HS384": hashlib.sha384}[alg]
    return signing + "." + b64u(hmac.new(secret, signing.encode(), digest).digest())


def trickle_attack(port, stop, wanted, opened):
    """Keeps `wanted` connections from 127.0.0.2-65 (64 addresses × 8 per peer: the whole TCP
    budget) each sending `GET /api/v1/pools HTTP/1.1\\r\\n`, then a byte every 5 s; a closed one
    is replaced (issue #21's slow-headers attack, reconnecting like a real attacker)."""
    # A real attacker spends its own machine's CPU, not the server's: at the lowest priority,
    # its Python loop does not compete with the server and the probes on a loaded test host.
    os.nice(19)
    socks, next_byte = [], {}
    while not stop.is_set():
        while len(socks) < wanted.value:
            try:
                s = connect_from(f"127.0.0.{2 + opened.value % 64}", port, timeout=1)
                s.sendall(b"GET /api/v1/pools HTTP/1.1\r\n")
                s.setblocking(False)
            except OSError:
                break
            socks.append(s)
            next_byte[s] = time.monotonic() + 5
            opened.value += 1
        now = time.monotonic()
        for s in list(socks):
            if now < next_byte[s]:
                continue
            try:
                s.send(b"X")
                next_byte[s] = now + 5
                if s.recv(1) == b"":
                    raise ConnectionResetError
            except BlockingIOError:
                pass
            except OSError:
                socks.remove(s)
                del next_byte[s]
                s.close()
        stop.wait(0.05)
    for s in socks:
        s.close()


def watch_host_stalls(stop, out):
    """Records when this host failed to run a process that slept 10 ms: (start, stalled seconds)
    for each oversleep past 50 ms. On a loaded shared host (two cores, other builds) these reach
    a second; a probe is not charged with time the host ran nobody."""
    stalls = []
    while not stop.is_set():
        t0 = time.monotonic()
        time.sleep(0.01)
        over = time.monotonic() - t0 - 0.01
        if over > 0.05:
            stalls.append((t0, over))
    out.put(stalls)


def stalled_during(stalls, t0, t1):
    return sum(over for start, over in stalls if start < t1 and start + 0.01 + over > t0)


class Daemon(AdminBallast):
    """An admin socket, a TCP admin port (allow-list `allow`), a metrics port and one HTTP
    listener; `dead_pool` adds a TCP listener `front` whose only backend refuses connects, `tls`
    a self-signed certificate on the TCP admin port."""

    def __init__(self, io, backend, admin_extra="", auth_extra="", logging="{level: info}",
                 allow="127.0.0.1/32", dead_pool=False, tls=False):
        self.admin_port = free_port()
        self.metrics_port = free_port()
        self.front_port = free_port()
        self.dead_port = free_port()  # nothing listens here
        port = free_port()

        def make(d):
            with open(os.path.join(d, "tokens"), "w") as f:
                f.write(TOKEN + "\n")
            with open(os.path.join(d, "hs256"), "wb") as f:
                f.write(HS_SECRET)
            extra = [f"  bind: \"127.0.0.1:{self.admin_port}\"", admin_extra]
            if tls:
                self.cert, key = os.path.join(d, "cert.pem"), os.path.join(d, "key.pem")
                subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
                                "-keyout", key, "-out", self.cert, "-days", "2", "-subj",
                                "/CN=127.0.0.1"], check=True, capture_output=True)
                extra.append(f"  tls: {{cert: \"{self.cert}\", key: \"{key}\"}}")
            extra += ["  auth:", f"    tokens_file: {d}/tokens",
                      f"    jwt_hs256_secret_file: {d}/hs256", "    rate_limit_per_sec: 0",
                      f"    allow: [\"{allow}\"]", auth_extra]
            text = admin_config(d, port, [backend], admin_extra="\n".join(x for x in extra if x),
                                metrics_port=self.metrics_port)
            text = text.replace("logging: {level: info}", f"logging: {logging}")
            if dead_pool:
                text = text.replace("listeners:\n", "listeners:\n  - name: front\n"
                                    f"    bind: \"127.0.0.1:{self.front_port}\"\n"
                                    "    pool: dead\n")
                text = text.replace("pools:\n", "pools:\n  - name: dead\n    backends:\n"
                                    f"      - {{address: \"127.0.0.1:{self.dead_port}\"}}\n")
            return text
        super().__init__(make, io=io)

    def start(self):
        super().start()
        wait_until(lambda: port_accepts(self.admin_port), what="admin TCP port")
        wait_until(lambda: port_accepts(self.metrics_port), what="metrics port")
        return self

    def metrics(self):
        r = self.api("GET", "/metrics")
        assert r.status == 200, r
        return r.body

    def control(self, name, labels):
        if not labels:
            m = re.search(rf"^{re.escape(name)} (\S+)$", self.metrics(), re.M)
            return float(m.group(1)) if m else 0
        return metric_value(self.metrics(), name, labels) or 0


class HardeningTest(BallastTest):
    @classmethod
    def setUpClass(cls):
        cls.backend = HttpBackend("a")

    @classmethod
    def tearDownClass(cls):
        cls.backend.close()

    def daemon(self, io, **kw):
        return Daemon(io, self.backend.address, **kw)

    # -- admission and budgets -------------------------------------------------------------------

    def test_trickling_tcp_connections_never_lock_out_the_unix_socket(self):
        """64 and then 500 connections from 64 addresses (127.0.0.2-65) each send
        `GET /api/v1/pools HTTP/1.1\\r\\n` and then a byte every 5 s, reconnecting when closed,
        for ATTACK_SECONDS (64 for the first third, 500 after). Asserted: every unix-socket probe
        (one per 250 ms) answers 200 within 1 s, less any time a separate process saw the whole
        host stalled (watch_host_stalls; reported); the attackers fill the TCP budget (64) but
        never exceed it; a TCP operator on 127.0.0.1 still gets 200 (the longest-waiting
        attacker is evicted for it)."""
        for io in IO_BACKENDS:
            with self.subTest(io=io), self.daemon(io, allow="127.0.0.0/8") as d:
                # A process of its own, so its socket churn never holds this one's GIL and the
                # probe latencies are the server's.
                stop, wanted, opened = mp.Event(), mp.Value("i", 64), mp.Value("i", 0)
                attacker = mp.Process(target=trickle_attack,
                                      args=(d.admin_port, stop, wanted, opened), daemon=True)
                attacker.start()
                host_stop, host_out = mp.Event(), mp.Queue()
                host = mp.Process(target=watch_host_stalls, args=(host_stop, host_out), daemon=True)
                host.start()
                latencies, statuses, tcp_slots, spans = [], [], [], []
                cpu_before = d.control("ballast_process_cpu_seconds_total", "")
                start = time.monotonic()
                try:
                    while time.monotonic() - start < ATTACK_SECONDS:
                        if time.monotonic() - start > ATTACK_SECONDS / 3:
                            wanted.value = 500
                        t0 = time.monotonic()
                        try:
                            r = unix_api(d.sock, "GET", "/api/v1/status")
                            statuses.append(r.status)
                        except OSError as e:
                            statuses.append(repr(e))
                        latencies.append(time.monotonic() - t0)
                        spans.append((t0, time.monotonic()))
                        tcp_slots.append(d.control("ballast_control_connections",
                                                   'server="admin",socket="tcp"'))
                        time.sleep(0.25)  # probe pacing, not synchronization
                    operator = tcp_api(d.admin_port, "GET", "/api/v1/status", token=TOKEN)
                    cpu = d.control("ballast_process_cpu_seconds_total", "") - cpu_before
                finally:
                    stop.set()
                    attacker.join(10)
                    host_stop.set()
                    stalls = host_out.get(timeout=10)
                    host.join(10)
                self.assertEqual(set(statuses), {200}, statuses)
                # The server's share of each probe: its latency less the time the host stalled
                # every process meanwhile (watch_host_stalls). Both are reported.
                served = [max(0.0, lat - stalled_during(stalls, *span))
                          for lat, span in zip(latencies, spans)]
                self.assertLess(max(served), 1.0,
                                f"slowest unix probe {max(latencies):.3f}s, host stalls "
                                f"{sorted(o for _, o in stalls)[-3:]}")
                self.assertGreaterEqual(opened.value, 500, "the attack reached 500 connections")
                self.assertLessEqual(max(tcp_slots), 64, tcp_slots)
                self.assertEqual(max(tcp_slots), 64, "the attack filled the TCP budget")
                self.assertEqual(operator.status, 200, operator)
                evicted = d.control("ballast_control_connections_evicted_total", 'server="admin"')
                self.assertGreater(evicted, 0)
                print(f"\n[{io}] trickle: {opened.value} attacker connects in {ATTACK_SECONDS:.0f}s, "
                      f"{len(latencies)} unix probes, median "
                      f"{sorted(latencies)[len(latencies) // 2] * 1000:.1f} ms, slowest "
                      f"{max(latencies) * 1000:.1f} ms, "
                      f"max TCP slots {max(tcp_slots):.0f}, evicted {evicted:.0f}, ballast CPU {cpu:.2f}s, "
                      f"worst host stall {max([o for _, o in stalls] or [0]) * 1000:.0f} ms, "
                      f"slowest probe less host stalls {max(served) * 1000:.1f} ms")

    def test_peers_outside_the_allow_list_are_closed_at_accept(self):
        """500 connections held open at once from 127.0.0.2 (allow-list: 127.0.0.1/32), sending
        nothing. Asserted: each is closed by the server, refused{not_allowed} grows by exactly
        500, accepted does not grow, no TCP slot is held, the allowed operator gets 200."""
        for io in IO_BACKENDS:
            with self.subTest(io=io), self.daemon(io) as d:
                accepted = d.control("ballast_control_connections_accepted_total",
                                     'server="admin",socket="tcp"')
                socks = [connect_from(ATTACKER, d.admin_port) for _ in range(500)]
                try:
                    self.assertEqual(d.control("ballast_control_connections",
                                               'server="admin",socket="tcp"'), 0)
                    self.assertEqual(tcp_api(d.admin_port, "GET", "/api/v1/status",
                                             token=TOKEN).status, 200)
                    closed = sum(closed_by_peer(s) for s in socks)
                finally:
                    for s in socks:
                        s.close()
                self.assertEqual(closed, 500)
                self.assertEqual(d.control("ballast_control_connections_refused_total",
                                           'server="admin",reason="not_allowed"'), 500)
                # Only the operator's connection was admitted.
                self.assertEqual(d.control("ballast_control_connections_accepted_total",
                                           'server="admin",socket="tcp"'), accepted + 1)

    def test_half_open_connections_do_not_stop_a_scrape(self):
        """1,000 connections to metrics.bind from the scraper's own address, sending nothing,
        all held open. Asserted: five scrapes each answer 200 with the metric families within
        1 s; the half-open ones hold no more than the per-peer cap (8)."""
        for io in IO_BACKENDS:
            with self.subTest(io=io), self.daemon(io) as d:
                socks = [connect_from("127.0.0.1", d.metrics_port) for _ in range(1000)]
                try:
                    times = []
                    for _ in range(5):
                        t0 = time.monotonic()
                        with socket.create_connection(("127.0.0.1", d.metrics_port),
                                                      timeout=1) as s:
                            s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n"
                                      b"Connection: close\r\n\r\n")
                            data = b""
                            while chunk := s.recv(65536):
                                data += chunk
                        times.append(time.monotonic() - t0)
                        self.assertTrue(data.startswith(b"HTTP/1.1 200"), data[:200])
                        self.assertIn(b"ballast_control_connections_evicted_total", data)
                    held = d.control("ballast_control_connections",
                                     'server="metrics",socket="tcp"')
                finally:
                    for s in socks:
                        s.close()
                self.assertLess(max(times), 1.0, times)
                self.assertLessEqual(held, 8)
                print(f"\n[{io}] 1000 half-open: scrapes took "
                      f"{', '.join(f'{t * 1000:.1f}' for t in times)} ms")

    # -- logs that cannot fill a disk ------------------------------------------------------------

    def burst(self, port, source, n=10_000):
        """n connections in batches of BATCH; each waits for the server to close it."""
        unclosed = 0
        for _ in range(n // BATCH):
            socks = []
            for _ in range(BATCH):
                try:
                    socks.append(connect_from(source, port))
                except ConnectionResetError:
                    pass  # accepted and reset before connect() returned: closed too
            for s in socks:
                unclosed += not closed_by_peer(s)
                s.close()
        return unclosed

    def assertFewLinesAndExactSummaries(self, d, kind, total):
        """At most a few dozen `kind` lines; lines + the suppressed counts of its summaries (all
        written once the 1 s window has passed) equal `total`."""
        def accounted():
            lines = len(d.events(kind))
            held = sum(e["suppressed"] for e in d.events("log.suppressed") if e["kind"] == kind)
            return lines + held == total and (lines, held)
        lines, held = wait_until(accounted, timeout=5, what=f"{kind} summaries")
        self.assertLessEqual(lines, 36)
        return lines, held

    def test_refusal_and_dead_pool_bursts_write_a_few_lines(self):
        """10,000 connections refused by the allow-list and 10,000 to a TCP listener whose only
        backend refuses connects. Asserted: every connection is closed; counters equal 10,000
        exactly (refused{not_allowed}, ballast_listener_no_backend_total); per kind at most 36
        lines (5 a second over the burst) and lines + suppressed = events; under 100 lines in
        the whole log."""
        for io in IO_BACKENDS:
            with self.subTest(io=io):
                d = self.daemon(io, dead_pool=True,
                                logging="{level: info, repeat_burst: 5, repeat_interval: 1s}")
                with d:
                    t0 = time.monotonic()
                    self.assertEqual(self.burst(d.admin_port, ATTACKER), 0)
                    refused_s = time.monotonic() - t0
                    t0 = time.monotonic()
                    self.assertEqual(self.burst(d.front_port, "127.0.0.1"), 0)
                    dead_s = time.monotonic() - t0
                    self.assertEqual(d.control("ballast_control_connections_refused_total",
                                               'server="admin",reason="not_allowed"'), 10_000)
                    self.assertEqual(d.control("ballast_listener_no_backend_total",
                                               'listener="front"'), 10_000)
                    connect_errors = d.control("ballast_backend_connect_errors_total",
                                               f'pool="dead",backend="127.0.0.1:{d.dead_port}"')
                    refused = self.assertFewLinesAndExactSummaries(d, "admin.peer_not_allowed",
                                                                   10_000)
                    nobackend = self.assertFewLinesAndExactSummaries(d, "l4.no_backend", 10_000)
                    if connect_errors:
                        self.assertFewLinesAndExactSummaries(d, "l4.connect_failed",
                                                             int(connect_errors))
                    self.assertLess(len(d.log_lines()), 100)
                print(f"\n[{io}] 10k refused in {refused_s:.1f}s: lines/suppressed {refused}; "
                      f"10k dead pool in {dead_s:.1f}s: no_backend lines/suppressed {nobackend}, "
                      f"connect errors {connect_errors:.0f}; whole log {len(d.log_lines())} lines")

    # -- deadlines and caps ----------------------------------------------------------------------

    def test_header_and_idle_deadlines_are_not_extended_by_bytes(self):
        """timeouts {header: 1s, idle: 1s}. A request head trickled a byte per 100 ms is closed
        between 0.9 and 3 s after accept; a kept-alive connection that trickles the start of a
        second request after its first answer is closed by the header deadline too; an idle
        one by the idle deadline. Counters: header 2, idle 1."""
        for io in IO_BACKENDS:
            with self.subTest(io=io), self.daemon(
                    io, admin_extra="  timeouts: {header: 1s, idle: 1s}") as d:
                def trickle(s, payload):
                    t0 = time.monotonic()
                    for byte in payload:
                        try:
                            s.send(bytes([byte]))
                        except OSError:
                            break
                        if closed_by_peer(s, timeout=0.1):
                            break
                    return time.monotonic() - t0

                s = socket.socket(socket.AF_UNIX)
                s.connect(d.sock)
                t0 = time.monotonic()
                trickle(s, b"GET /api/v1/status HTTP/1.1\r\n" + b"X-Slow: " + b"a" * 100)
                took = time.monotonic() - t0
                self.assertTrue(0.9 <= took < 3, took)
                s.close()
                s = socket.socket(socket.AF_UNIX)
                s.connect(d.sock)
                s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
                self.assertIn(b"200 OK", s.recv(4096))
                took = trickle(s, b"GET /api/v1/status HTTP/1.1\r\n" + b"X-Slow: " + b"a" * 100)
                self.assertLess(took, 3)
                s.close()
                with socket.socket(socket.AF_UNIX) as s:
                    s.connect(d.sock)
                    s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
                    self.assertIn(b"200 OK", s.recv(4096))
                    self.assertTrue(closed_by_peer(s, timeout=3))
                self.assertEqual(d.control("ballast_control_timeouts_total",
                                           'server="admin",kind="header"'), 2)
                self.assertEqual(d.control("ballast_control_timeouts_total",
                                           'server="admin",kind="idle"'), 1)

    @unittest.skipUnless(shutil.which("openssl"), "needs openssl (Debian package openssl)")
    def test_tls_handshake_deadline(self):
        """admin.tls with timeouts.handshake: 1s. A TCP peer that connects and never sends a
        ClientHello is closed within 3 s; handshake timeouts = 1; a real TLS client still gets
        200."""
        for io in IO_BACKENDS:
            with self.subTest(io=io):
                d = self.daemon(io, tls=True, admin_extra="  timeouts: {handshake: 1s}")
                with d:
                    with socket.create_connection(("127.0.0.1", d.admin_port)) as s:
                        t0 = time.monotonic()
                        self.assertTrue(closed_by_peer(s, timeout=3))
                        self.assertLess(time.monotonic() - t0, 3)
                    self.assertEqual(d.control("ballast_control_timeouts_total",
                                               'server="admin",kind="handshake"'), 1)
                    ctx = ssl.create_default_context(cafile=d.cert)
                    ctx.check_hostname = False
                    with socket.create_connection(("127.0.0.1", d.admin_port)) as raw:
                        with ctx.wrap_socket(raw) as s:
                            s.sendall(f"GET /api/v1/status HTTP/1.1\r\nHost: x\r\n"
                                      f"Authorization: Bearer {TOKEN}\r\n\r\n".encode())
                            self.assertIn(b"200 OK", s.recv(4096))

    def test_event_streams_have_their_own_cap(self):
        """max_event_streams: 2. Two streams open; the third is answered 503 and counted; the
        unix socket still answers; closing a stream frees its place."""
        for io in IO_BACKENDS:
            with self.subTest(io=io), self.daemon(
                    io, admin_extra="  limits: {max_event_streams: 2}") as d:
                def open_stream():
                    s = socket.socket(socket.AF_UNIX)
                    s.settimeout(5)
                    s.connect(d.sock)
                    s.sendall(b"GET /api/v1/events HTTP/1.1\r\nHost: x\r\n"
                              b"Accept: text/event-stream\r\n\r\n")
                    return s, s.recv(4096)

                streams = [open_stream() for _ in range(3)]
                self.assertIn(b"200 OK", streams[0][1])
                self.assertIn(b"200 OK", streams[1][1])
                self.assertIn(b"503", streams[2][1])
                self.assertEqual(d.control("ballast_control_connections_refused_total",
                                           'server="admin",reason="event_streams"'), 1)
                self.assertEqual(d.api("GET", "/api/v1/status").status, 200)
                streams[0][0].close()
                wait_until(lambda: d.control("ballast_control_event_streams",
                                             'server="admin"') == 1, what="stream closed")
                s, head = open_stream()
                self.assertIn(b"200 OK", head)
                for sock in [s] + [x[0] for x in streams[1:]]:
                    sock.close()

    # -- JWT regressions and the small ones -----------------------------------------------------

    def test_jwt_regressions_and_numeric_dates_aud_iss(self):
        """Each token answers 401 or 200 as listed; with audience/issuer configured, tokens
        lacking them are 401. `sub` with control characters is escaped in the audit file (one
        JSON line per record). The unix socket file is 0660 from its creation."""
        now = int(time.time())
        ok = {"sub": "alice", "exp": now + 300, "aud": "ballast", "iss": "idp"}
        for io in IO_BACKENDS:
            with self.subTest(io=io), self.daemon(
                    io, auth_extra="    audience: ballast\n    issuer: idp") as d:
                self.assertEqual(os.stat(d.sock).st_mode & 0o777, 0o660)
                cases = {
                    "valid": (jwt(ok), 200),
                    "exp non-integer": (jwt({**ok, "exp": now + 300.5}), 200),
                    "nbf non-integer past": (jwt({**ok, "nbf": now - 1.5}), 200),
                    "aud list": (jwt({**ok, "aud": ["x", "ballast"]}), 200),
                    "alg none": (jwt(ok).rsplit(".", 1)[0].replace(
                        b64u(b'{"alg": "HS256", "typ": "JWT"}'),
                        b64u(b'{"alg": "none", "typ": "JWT"}')) + ".", 401),
                    "hs384": (jwt(ok, alg="HS384"), 401),
                    "expired": (jwt({**ok, "exp": now - 10}), 401),
                    "expired non-integer": (jwt({**ok, "exp": now - 10.5}), 401),
                    "no exp": (jwt({k: v for k, v in ok.items() if k != "exp"}), 401),
                    "nbf future": (jwt({**ok, "nbf": now + 3600}), 401),
                    "wrong key": (jwt(ok, secret=b"not-the-secret"), 401),
                    "no aud": (jwt({k: v for k, v in ok.items() if k != "aud"}), 401),
                    "other aud": (jwt({**ok, "aud": "other"}), 401),
                    "other iss": (jwt({**ok, "iss": "evil"}), 401),
                }
                for name, (token, status) in cases.items():
                    with self.subTest(name):
                        r = tcp_api(d.admin_port, "GET", "/api/v1/status", token=token)
                        self.assertEqual(r.status, status, r)
                sub = "eve\n{\"forged\":1}\x1b[31m"
                r = tcp_api(d.admin_port, "POST",
                            f"/api/v1/pools/app/backends/{self.backend.address}/drain",
                            token=jwt({**ok, "sub": sub}))
                self.assertEqual(r.status, 200, r)
                with open(d.audit_path) as f:
                    raw = [l for l in f.read().split("\n") if "backend_drain" in l]
                self.assertEqual(len(raw), 1, raw)
                self.assertIn("\\n", raw[0])
                self.assertIn("\\u001b", raw[0])
                self.assertEqual(json.loads(raw[0])["actor"], f"admin:jwt:{sub}@127.0.0.1")


if __name__ == "__main__":
    main()
