"""tests/integration/test_per_ip_limits.py — per-client limits at accept on real sockets:
`max_connections_per_ip` holds across two workers (SO_REUSEPORT spreads the connections over
both) and frees a place when a connection ends; `connection_rate_per_ip` refuses the connection
past the burst and admits again once a token is back; `per_ip_prefix` groups 127.0.0.2 and
127.0.0.3 into one client at /8 and keeps them apart at /32. A refused client is closed before
any byte is read (it never sees the backend's greeting) and each refusal is counted."""
import socket
import urllib.request

from harness import IO_BACKENDS, Backend, Ballast, BallastTest, free_port, main, wait_until
from http_backends import HttpBackend


def connect(port, source="127.0.0.1"):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(10)
    s.bind((source, 0))
    s.connect(("127.0.0.1", port))
    return s


def greeted(s):
    """True when the backend's name line arrived (admitted), False on EOF or reset (refused)."""
    try:
        return s.recv(64).endswith(b"\n")
    except ConnectionResetError:
        return False


def admitted_connection(port):
    """A connection the listener admitted, or None (the refused one is closed)."""
    s = connect(port)
    if greeted(s):
        return s
    s.close()
    return None


def refused_total(mport, limit):
    text = urllib.request.urlopen(f"http://127.0.0.1:{mport}/metrics", timeout=10).read().decode()
    for line in text.splitlines():
        if line.startswith("ballast_listener_per_ip_refused_total{") and f'limit="{limit}"' in line:
            return int(float(line.split()[-1]))
    return None


def config(port, mport, protocol, backend, limits, workers=2):
    return "\n".join([
        f"workers: {workers}", f"metrics: {{bind: \"127.0.0.1:{mport}\"}}", "listeners:",
        f"  - {{name: edge, bind: \"127.0.0.1:{port}\", protocol: {protocol}, pool: app, "
        f"limits: {limits}}}",
        "pools:", f"  - {{name: app, backends: [{{address: \"{backend}\"}}]}}"]) + "\n"


class PerIpLimitsTest(BallastTest):
    @classmethod
    def setUpClass(cls):
        cls.backend = Backend("named")
        cls.http = HttpBackend("web")

    @classmethod
    def tearDownClass(cls):
        cls.backend.close()
        cls.http.close()

    def test_max_connections_per_ip_across_workers(self):
        for io in IO_BACKENDS:
            with self.subTest(io=io):
                port, mport = free_port(), free_port()
                cfg = config(port, mport, "tcp", self.backend.address,
                             "{max_connections_per_ip: 3}")
                # Ballast reports server.started once the listening sockets are bound, so the
                # first connection is queued, not refused: no probe (it would use up a place).
                with Ballast(cfg, io=io):
                    held = [connect(port) for _ in range(3)]
                    wait_until(lambda: all(greeted(s) for s in held), what="three admitted")
                    extra = connect(port)
                    self.assertFalse(greeted(extra), "a fourth connection from one IP got through")
                    extra.close()
                    self.assertGreaterEqual(refused_total(mport, "max_connections_per_ip"), 1)
                    held.pop().close()
                    # Closing frees the place once Ballast sees the end: admitted again.
                    held.append(wait_until(lambda: admitted_connection(port),
                                           what="a place freed by a close"))
                    for s in held:
                        s.close()

    def test_prefix_groups_clients(self):
        for prefix, shared in ((8, True), (32, False)):
            with self.subTest(prefix=prefix):
                port, mport = free_port(), free_port()
                cfg = config(port, mport, "tcp", self.backend.address,
                             f"{{max_connections_per_ip: 1, per_ip_prefix: {{ipv4: {prefix}}}}}")
                with Ballast(cfg, io=IO_BACKENDS[0]):
                    a = connect(port, "127.0.0.2")
                    self.assertTrue(greeted(a))
                    b = connect(port, "127.0.0.3")
                    self.assertEqual(greeted(b), not shared)
                    a.close()
                    b.close()

    def test_connection_rate_per_ip(self):
        for io in IO_BACKENDS:
            with self.subTest(io=io):
                port, mport = free_port(), free_port()
                # 2/s with a burst of 5: five at once pass, the sixth is refused, and a token is
                # back within half a second.
                cfg = config(port, mport, "http", self.http.address,
                             "{connection_rate_per_ip: 2/s, connection_burst_per_ip: 5}")
                with Ballast(cfg, io=io):
                    def request(s):
                        s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                        try:
                            return s.recv(64).startswith(b"HTTP/1.1 200")
                        except ConnectionResetError:
                            return False
                    results = []
                    for _ in range(6):
                        with connect(port) as s:
                            results.append(request(s))
                    self.assertEqual(results, [True] * 5 + [False], results)
                    self.assertEqual(refused_total(mport, "connection_rate_per_ip"), 1)
                    def admitted_request():
                        with connect(port) as s:
                            return request(s)
                    wait_until(admitted_request, timeout=2, what="a token back")


if __name__ == "__main__":
    main()
