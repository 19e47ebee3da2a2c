"""tests/integration/test_acl.py — CIDR access lists: a listener's acl refuses at accept (TCP:
closed before a byte is read; UDP: the datagram dropped), a route's acl answers 403, a route can
deny with its own status, a 100,000-line list file loads and is re-read when it changes, and
every refusal is counted. Both I/O backends.

Clients connect from 127.0.0.1 and 127.0.0.2 (both loopback) to tell allowed from denied.
fd budget: a few sockets at a time.
"""
import os
import random
import re
import socket
import tempfile
import urllib.request

from harness import IO_BACKENDS, Ballast, BallastTest, free_port, main, wait_until
from http_backends import HttpBackend


def metric(port, name, listener):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
        text = r.read().decode()
    m = re.search(rf'^{name}\{{listener="{listener}"\}} (\S+)$', text, re.M)
    return int(float(m.group(1))) if m else None


def http_get(port, path="/", source="127.0.0.1"):
    """Status of one GET from `source`, or None when the connection was refused or closed."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=5,
                                      source_address=(source, 0)) as s:
            s.sendall(f"GET {path} HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n".encode())
            data = s.recv(4096)
    except (ConnectionResetError, BrokenPipeError):
        return None
    return int(data.split()[1]) if data else None


def tcp_echo_ok(port, source):
    """True when a byte sent through the TCP listener comes back from the echo backend."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=5,
                                      source_address=(source, 0)) as s:
            s.sendall(b"x")
            return s.recv(1) == b"x"
    except (ConnectionResetError, BrokenPipeError, socket.timeout):
        return False


class EchoServer:
    def __init__(self):
        import threading
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self.run, daemon=True).start()

    def run(self):
        import threading
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self.echo, args=(c,), daemon=True).start()

    @staticmethod
    def echo(c):
        with c:
            while data := c.recv(4096):
                c.sendall(data)


class AclTest(BallastTest):
    @classmethod
    def setUpClass(cls):
        cls.backend = HttpBackend("app")
        cls.echo = EchoServer()
        cls.dir = tempfile.mkdtemp(prefix="ballast-acl-")
        # 100,000 random prefixes far from loopback, then the one that matters.
        rng = random.Random(7)
        cls.big = os.path.join(cls.dir, "block.txt")
        with open(cls.big, "w") as f:
            f.write("# a feed's block list\n")
            for _ in range(100_000):
                f.write(f"{rng.randrange(11, 100)}.{rng.randrange(256)}.{rng.randrange(256)}.0/24\n")
            f.write("127.0.0.2  # the test's denied client\n")

    @classmethod
    def tearDownClass(cls):
        cls.backend.close()
        cls.echo.sock.close()

    def test_listener_and_route_acls(self):
        for io in IO_BACKENDS:
            with self.subTest(io=io):
                web, tcp, metrics = free_port(), free_port(), free_port()
                config = f"""
workers: 2
metrics: {{bind: "127.0.0.1:{metrics}"}}
listeners:
  - name: web
    bind: "127.0.0.1:{web}"
    protocol: http
    pool: app
    acl: {{files: ["{self.big}"]}}
    routes:
      - {{name: admin, match: {{path: {{prefix: /admin}}}}, pool: app, acl: {{allow: [127.0.0.3/32]}}}}
      - {{name: gone, match: {{path: {{prefix: /old}}}}, deny: 410}}
  - name: tcp
    bind: "127.0.0.1:{tcp}"
    pool: echo
    acl: {{deny: [127.0.0.2/32]}}
pools:
  - {{name: app, backends: [{{address: "{self.backend.address}"}}]}}
  - {{name: echo, backends: [{{address: "127.0.0.1:{self.echo.port}"}}]}}
"""
                with Ballast(config, io=io):
                    self.assertEqual(http_get(web), 200)
                    before = self.backend.requests
                    self.assertIsNone(http_get(web, source="127.0.0.2"))  # closed at accept
                    self.assertEqual(http_get(web, "/admin"), 403)
                    self.assertEqual(http_get(web, "/old/page"), 410)
                    self.assertEqual(self.backend.requests, before, "no refused request upstream")
                    self.assertTrue(tcp_echo_ok(tcp, "127.0.0.1"))
                    self.assertFalse(tcp_echo_ok(tcp, "127.0.0.2"))
                    wait_until(lambda: metric(metrics, "ballast_listener_acl_denied_total", "web")
                               == 2 and metric(metrics, "ballast_listener_acl_denied_total",
                                               "tcp") == 1, what="refusals counted")

    def test_list_file_is_reread_when_it_changes(self):
        path = os.path.join(self.dir, "small.txt")
        with open(path, "w") as f:
            f.write("deny 127.0.0.2\n")
        for io in IO_BACKENDS:
            with self.subTest(io=io):
                port = free_port()
                config = f"""
workers: 1
listeners:
  - {{name: web, bind: "127.0.0.1:{port}", protocol: http, pool: app, acl: {{files: ["{path}"]}}}}
pools:
  - {{name: app, backends: [{{address: "{self.backend.address}"}}]}}
"""
                with open(path, "w") as f:
                    f.write("deny 127.0.0.2\n")
                with Ballast(config, io=io) as b:
                    self.assertIsNone(http_get(port, source="127.0.0.2"))
                    with open(path + ".new", "w") as f:
                        f.write("deny 127.0.0.4\n")
                    os.rename(path + ".new", path)
                    wait_until(lambda: http_get(port, source="127.0.0.2") == 200,
                               what="the new list in force without a SIGHUP")
                    self.assertIsNone(http_get(port, source="127.0.0.4"))


if __name__ == "__main__":
    main()
