"""tests/integration/test_h2_upstream_resilience.py — a pool's `retries:`, `max_connections` and
outlier detection towards HTTP/2 backends (`upstream_protocol: h2c`), as they work towards
HTTP/1.1 ones: h2c servers (python3-h2) that answer 503, reset the stream or never answer are
left for the healthy one (never retried onto themselves), a backend's max_connections refuses
what its one connection cannot carry with `Ballast-Refused: max_connections`, and an unanswered
try counts towards ejection. Also the other way round: an HTTP/2 client whose request meets a
hanging HTTP/1.1 backend is retried after per_try_timeout. Each case on both I/O backends.
"""
import http.client
import socket
import subprocess
import sys
import threading
import urllib.request

try:
    import h2.config
    import h2.connection
    import h2.events
except ImportError:
    sys.path.append("/usr/lib/python3/dist-packages")
    import h2.config
    import h2.connection
    import h2.events

from harness import IO_BACKENDS, Ballast, BallastTest, free_port, main, wait_until
from http_backends import HttpBackend, log_events


class H2cBackend:
    """An h2c server by prior knowledge. `mode` says what each request gets: "ok" (200 with the
    backend's name), "503", "reset" (RST_STREAM, no answer) or "hang" (nothing until release()).
    Counts the requests it saw."""

    def __init__(self, name, mode):
        self.name, self.mode = name, mode
        self.requests = 0
        self.connections = 0  # accepted
        self.closed_connections = 0  # ended by the peer (Ballast)
        self.lock = threading.Lock()
        self.released = threading.Event()
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.address = f"127.0.0.1:{self.sock.getsockname()[1]}"
        self.closed = False
        threading.Thread(target=self.serve, daemon=True).start()

    def serve(self):
        while not self.closed:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with self.lock:
                self.connections += 1
            threading.Thread(target=self.handle, args=(conn,), daemon=True).start()

    def answer(self, h2c, stream_id, status, body):
        h2c.send_headers(stream_id, [(":status", str(status)),
                                     ("content-length", str(len(body)))])
        h2c.send_data(stream_id, body, end_stream=True)

    def handle(self, conn):
        h2c = h2.connection.H2Connection(h2.config.H2Configuration(client_side=False))
        h2c.initiate_connection()
        conn.sendall(h2c.data_to_send())
        hung = []
        try:
            conn.settimeout(0.05)
            while not self.closed:
                if hung and self.released.is_set():
                    for sid in hung:
                        self.answer(h2c, sid, 200, f"{self.name} late".encode())
                    hung = []
                    conn.sendall(h2c.data_to_send())
                try:
                    data = conn.recv(65536)
                except socket.timeout:
                    continue
                if not data:
                    with self.lock:
                        self.closed_connections += 1
                    return
                for ev in h2c.receive_data(data):
                    if isinstance(ev, h2.events.DataReceived):
                        h2c.acknowledge_received_data(ev.flow_controlled_length, ev.stream_id)
                    if not isinstance(ev, h2.events.StreamEnded):
                        continue
                    with self.lock:
                        self.requests += 1
                    if self.mode == "ok":
                        self.answer(h2c, ev.stream_id, 200, f"{self.name} ok".encode())
                    elif self.mode == "503":
                        self.answer(h2c, ev.stream_id, 503, b"unavailable")
                    elif self.mode == "reset":
                        h2c.reset_stream(ev.stream_id, error_code=2)  # INTERNAL_ERROR
                    else:
                        hung.append(ev.stream_id)
                conn.sendall(h2c.data_to_send())
        except OSError:
            return
        finally:
            conn.close()

    def close(self):
        self.closed = True
        self.released.set()
        self.sock.close()


def config(port, backends, retries="", metrics_port=None, pool_extra="", listener_extra="",
           protocol="h2c", http2=False):
    lines = ["workers: 1", "logging: {level: debug}"]
    if metrics_port:
        lines.append(f"metrics: {{bind: \"127.0.0.1:{metrics_port}\"}}")
    lines += ["listeners:", "  - name: web", f"    bind: \"127.0.0.1:{port}\"",
              "    protocol: http", "    pool: app"]
    if http2:
        lines.append("    http2: true")
    if listener_extra:
        lines.append(f"    {listener_extra}")
    lines += ["pools:", "  - name: app", "    algorithm: round_robin"]
    if protocol != "http1":
        lines.append(f"    upstream_protocol: {protocol}")
    if retries:
        lines.append(f"    retries: {retries}")
    if pool_extra:
        lines.append(f"    {pool_extra}")
    lines.append("    backends:")
    lines += [f"      - {{address: \"{b.address}\"{extra}}}" for b, extra in backends]
    return "\n".join(lines) + "\n"


def get(port, path="/r", timeout=10):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    conn.request("GET", path)
    resp = conn.getresponse()
    body = resp.read().decode()
    refused = resp.getheader("Ballast-Refused")
    conn.close()
    return resp.status, body, refused


def metric(metrics_port, name, *label_parts):
    text = urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics", timeout=10).read()
    for line in text.decode().splitlines():
        if line.startswith(name + "{") and all(p in line for p in label_parts):
            return float(line.split()[-1])
    return None


class H2UpstreamResilienceTest(BallastTest):
    def setUp(self):
        self.backends = []

    def tearDown(self):
        for b in self.backends:
            b.close()

    def h2c(self, name, mode):
        b = H2cBackend(name, mode)
        self.backends.append(b)
        return b

    def assert_retried_to_good(self, lb, port, bad, good, rounds=4):
        """Every GET is answered by good; bad saw each request at most once, and the access
        log names both backends for the retried ones."""
        for _ in range(rounds):
            status, body, _ = get(port)
            self.assertEqual(status, 200, body)
            self.assertEqual(body, "good ok")
        wait_until(lambda: len(log_events(lb, "http.access")) >= rounds, what="access lines")
        access = log_events(lb, "http.access")
        retried = [a for a in access if a.get("attempts") == 2]
        self.assertTrue(retried, access)
        for a in retried:
            self.assertEqual(a["backends"], f"{bad.address},{good.address}")
        # round robin sends every other request to bad first; none went there twice
        self.assertEqual(bad.requests, len(retried))

    def test_503_from_an_h2_backend_is_retried_and_counted(self):
        for io in IO_BACKENDS:
            with self.subTest(io=io):
                bad, good = self.h2c("bad", "503"), self.h2c("good", "ok")
                port, mport = free_port(), free_port()
                cfg = config(port, [(bad, ""), (good, "")],
                             "{attempts: 2, on: [503], backoff: {base: 5ms, max: 20ms}}", mport)
                with Ballast(cfg, io=io) as lb:
                    self.assert_retried_to_good(lb, port, bad, good)
                    self.assertGreater(metric(mport, "ballast_backend_http_retries_total",
                                              bad.address, 'reason="503"'), 0)

    def test_a_reset_stream_is_retried_on_another_backend(self):
        for io in IO_BACKENDS:
            with self.subTest(io=io):
                bad, good = self.h2c("bad", "reset"), self.h2c("good", "ok")
                port = free_port()
                cfg = config(port, [(bad, ""), (good, "")], "{attempts: 2, on: [reset]}")
                with Ballast(cfg, io=io) as lb:
                    self.assert_retried_to_good(lb, port, bad, good)

    def test_an_unanswered_stream_is_left_after_per_try_timeout(self):
        for io in IO_BACKENDS:
            with self.subTest(io=io):
                bad, good = self.h2c("bad", "hang"), self.h2c("good", "ok")
                port, mport = free_port(), free_port()
                cfg = config(port, [(bad, ""), (good, "")],
                             "{attempts: 2, on: [timeout], per_try_timeout: 300ms}", mport)
                with Ballast(cfg, io=io) as lb:
                    self.assert_retried_to_good(lb, port, bad, good, rounds=2)
                    self.assertGreater(metric(mport, "ballast_backend_http_retries_total",
                                              bad.address, 'reason="timeout"'), 0)

    def test_without_retries_a_reset_stream_is_a_502_not_a_loop(self):
        # A backend that resets every stream gets one replay on a new connection (as a stale
        # connection would), then the client hears 502: nothing goes round forever.
        for io in IO_BACKENDS:
            with self.subTest(io=io):
                bad = self.h2c("bad", "reset")
                port = free_port()
                with Ballast(config(port, [(bad, "")]), io=io):
                    status, _, _ = get(port)
                    self.assertEqual(status, 502)
                    self.assertEqual(bad.requests, 2)

    def test_response_timeouts_count_towards_ejection(self):
        for io in IO_BACKENDS:
            with self.subTest(io=io):
                bad, good = self.h2c("bad", "hang"), self.h2c("good", "ok")
                port, mport = free_port(), free_port()
                cfg = config(port, [(bad, ""), (good, "")], metrics_port=mport,
                             pool_extra="outlier_detection: {consecutive_gateway_failure: 2}",
                             listener_extra="timeouts: {response_header: 300ms}")
                with Ballast(cfg, io=io):
                    statuses = [get(port)[0] for _ in range(4)]
                    self.assertEqual(sorted(statuses), [200, 200, 504, 504], statuses)
                    wait_until(lambda: metric(mport, "ballast_backend_ejected",
                                              bad.address) == 1, what="bad ejected")
                    seen = bad.requests
                    for _ in range(4):
                        self.assertEqual(get(port)[1], "good ok")
                    self.assertEqual(bad.requests, seen)

    def test_an_idle_h2_connection_is_closed_after_idle_timeout(self):
        for io in IO_BACKENDS:
            with self.subTest(io=io):
                good = self.h2c("good", "ok")
                port = free_port()
                cfg = config(port, [(good, "")], pool_extra="keepalive: {idle_timeout: 300ms}")
                with Ballast(cfg, io=io):
                    for _ in range(3):  # one connection carries them while it is in use
                        self.assertEqual(get(port)[:2], (200, "good ok"))
                    self.assertEqual(good.connections, 1)
                    wait_until(lambda: good.closed_connections == 1, timeout=5,
                               what="the idle connection closed")
                    self.assertEqual(get(port)[:2], (200, "good ok"))
                    self.assertEqual(good.connections, 2)

    def test_max_connections_bounds_an_h2_backend(self):
        # One connection of one stream: a second request while the first is held is refused.
        for io in IO_BACKENDS:
            with self.subTest(io=io):
                slow = self.h2c("slow", "hang")
                port = free_port()
                cfg = config(port, [(slow, ", max_connections: 1")],
                             pool_extra="max_streams_per_connection: 1")
                with Ballast(cfg, io=io):
                    first = {}
                    t = threading.Thread(target=lambda: first.update(r=get(port)))
                    t.start()
                    wait_until(lambda: slow.requests == 1, what="first request at the backend")
                    status, _, refused = get(port)
                    self.assertEqual((status, refused), (503, "max_connections"))
                    slow.released.set()
                    t.join(10)
                    self.assertEqual(first["r"][:2], (200, "slow late"))

    def test_an_h2_client_is_retried_after_per_try_timeout(self):
        # The HTTP/2 downstream session applies per_try_timeout towards HTTP/1.1 backends too.
        release = threading.Event()

        def never_answer(handler, _n):
            handler.read_body()
            release.wait(30)
            handler.close_connection = True

        hanging = HttpBackend("hang", {"/r": never_answer})
        good = HttpBackend("good")
        try:
            for io in IO_BACKENDS:
                with self.subTest(io=io):
                    port = free_port()
                    cfg = config(port, [(hanging, ""), (good, "")],
                                 "{attempts: 2, on: [timeout], per_try_timeout: 300ms}",
                                 protocol="http1", http2=True)
                    with Ballast(cfg, io=io) as lb:
                        for _ in range(2):
                            out = subprocess.run(
                                ["curl", "-sS", "--max-time", "10", "--http2-prior-knowledge",
                                 f"http://127.0.0.1:{port}/r"],
                                capture_output=True, timeout=15)
                            self.assertEqual(out.returncode, 0, out.stderr)
                            self.assertTrue(out.stdout.startswith(b"good "), out.stdout)
                        wait_until(lambda: len(log_events(lb, "http.access")) >= 2,
                                   what="access lines")
                        self.assertTrue(any(a.get("attempts") == 2
                                            for a in log_events(lb, "http.access")))
        finally:
            release.set()
            hanging.close()
            good.close()


if __name__ == "__main__":
    main()
