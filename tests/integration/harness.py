"""tests/integration/harness.py — runs the real ballast binary against real peers on loopback.

Shared by every integration test: start/stop ballast with a config written to a temp dir,
wait on readiness (log lines, accepting ports), simple backends that name themselves, and a
helper that runs a test body once per I/O backend (io_uring and epoll).
"""
import contextlib
import hashlib
import http.client
import json
import os
import signal
import socket
import socketserver
import struct
import subprocess
import sys
import tempfile
import threading
import time
import unittest

BALLAST_BIN = os.environ.get("BALLAST_BIN", os.path.join(os.path.dirname(__file__), "../../build/ballast"))
IO_BACKENDS = os.environ.get("BALLAST_TEST_IO", "io_uring,epoll").split(",")
DEFAULT_TIMEOUT = 10.0
# Set by `make asan`: the binary runs under AddressSanitizer, whose quarantine and shadow memory
# make RSS say nothing about our own memory use; RSS bounds are checked by the plain build.
SANITIZED = os.environ.get("BALLAST_SANITIZED") == "1"


_handed_out_ports = set()


def free_port(family=socket.AF_INET, kind=socket.SOCK_STREAM):
    """An unused port, never one this process was given before: the kernel may hand the same
    ephemeral port to two back-to-back bind(0) calls, and a test that asks for two ports and gets
    one twice fails with "already bound" (seen in CI)."""
    host = "::1" if family == socket.AF_INET6 else "127.0.0.1"
    while True:
        with socket.socket(family, kind) as s:
            s.bind((host, 0))
            port = s.getsockname()[1]
        if port not in _handed_out_ports:
            _handed_out_ports.add(port)
            return port


class UnixHTTPConnection(http.client.HTTPConnection):
    """HTTP over the admin API's unix socket (`admin: {socket: …}`)."""

    def __init__(self, path):
        super().__init__("localhost", timeout=10)
        self.unix_path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(self.unix_path)


def wait_until(predicate, timeout=DEFAULT_TIMEOUT, interval=0.01, what="condition"):
    """Polls a readiness predicate; the only waiting the tests do."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def port_accepts(port, host="127.0.0.1"):
    try:
        with socket.create_connection((host, port), timeout=0.2):
            return True
    except OSError:
        return False


def rss_bytes(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


class Ballast:
    """One ballast process. Use as a context manager; the log is parsed as JSON lines."""

    def __init__(self, config_yaml, io="io_uring", extra_args=()):
        self.dir = tempfile.mkdtemp(prefix="ballast-test-")
        self.config_path = os.path.join(self.dir, "ballast.yaml")
        self.log_path = os.path.join(self.dir, "ballast.log")
        self.write_config(config_yaml)
        self.io = io
        self.extra_args = list(extra_args)
        self.proc = None

    def write_config(self, config_yaml):
        with open(self.config_path, "w") as f:
            f.write(config_yaml)

    def start(self):
        self.log_file = open(self.log_path, "w")
        self.proc = subprocess.Popen(
            [BALLAST_BIN, "run", "-c", self.config_path, "--io", self.io, *self.extra_args],
            stdout=self.log_file, stderr=self.log_file)
        wait_until(lambda: self.events("server.started") or self.proc.poll() is not None,
                   what="server.started")
        if self.proc.poll() is not None:
            raise AssertionError(f"ballast exited with {self.proc.returncode}:\n{self.log_text()}")
        return self

    def log_text(self):
        with open(self.log_path) as f:
            return f.read()

    def log_lines(self):
        out = []
        for line in self.log_text().splitlines():
            try:
                out.append(json.loads(line))
            except ValueError:
                pass
        return out

    def events(self, name):
        return [l for l in self.log_lines() if l.get("event") == name]

    def reload(self, config_yaml=None, expect="config.reloaded"):
        if config_yaml is not None:
            self.write_config(config_yaml)
        before = len(self.events(expect))
        self.proc.send_signal(signal.SIGHUP)
        wait_until(lambda: len(self.events(expect)) > before, what=expect)

    def stop(self, timeout=DEFAULT_TIMEOUT):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise AssertionError("ballast did not stop on SIGTERM")
        return self.proc.returncode if self.proc else None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        try:
            rc = self.stop()
        finally:
            self.log_file.close()
            if exc[0] is not None:
                sys.stderr.write(f"--- ballast log ({self.io}) ---\n{self.log_text()[-4000:]}\n")
        if exc[0] is None:
            self.assert_clean_exit(rc)

    def assert_clean_exit(self, rc):
        """A graceful stop exits 0; under ASan/UBSan any report is a failure too."""
        text = self.log_text()
        for marker in ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:"):
            if marker in text:
                raise AssertionError(f"sanitizer report in ballast's output:\n{text[-6000:]}")
        if rc != 0:
            raise AssertionError(f"ballast exited with {rc} after SIGTERM:\n{text[-4000:]}")


class _NamedHandler(socketserver.BaseRequestHandler):
    def handle(self):
        server = self.server
        with server.lock:
            server.connections += 1
        try:
            server.behaviour(self.request, server)
        except OSError:
            pass


def behaviour_name_then_echo(sock, server):
    """Sends the backend's name and a newline, then echoes until EOF, then closes."""
    sock.sendall(server.name.encode() + b"\n")
    while True:
        data = sock.recv(65536)
        if not data:
            break
        sock.sendall(data)


def behaviour_digest(sock, server):
    """Reads to EOF, then answers with the SHA-256 of everything read and the byte count."""
    h = hashlib.sha256()
    total = 0
    while True:
        data = sock.recv(1 << 20)
        if not data:
            break
        h.update(data)
        total += len(data)
    sock.sendall(h.digest() + struct.pack("!Q", total))


class Backend(socketserver.ThreadingTCPServer):
    """A real TCP server on loopback that tells clients its name. Threads: one per connection."""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 1024

    def __init__(self, name, behaviour=behaviour_name_then_echo, port=0, family=socket.AF_INET):
        self.address_family = family
        host = "::1" if family == socket.AF_INET6 else "127.0.0.1"
        super().__init__((host, port), _NamedHandler)
        self.name = name
        self.behaviour = behaviour
        self.lock = threading.Lock()
        self.connections = 0
        self.thread = threading.Thread(target=self.serve_forever, daemon=True)
        self.thread.start()

    @property
    def port(self):
        return self.server_address[1]

    @property
    def address(self):
        host = self.server_address[0]
        return f"[{host}]:{self.port}" if ":" in host else f"{host}:{self.port}"

    def close(self):
        self.shutdown()
        self.server_close()


def ask_name(port, host="127.0.0.1", timeout=DEFAULT_TIMEOUT):
    """Connects through the proxy and returns the backend name it was sent to."""
    with socket.create_connection((host, port), timeout=timeout) as s:
        f = s.makefile("rb")
        return f.readline().decode().strip()


def tcp_config(listen_port, backends, algorithm="round_robin", extra_pool="", extra_listener="",
               top="", workers=1, bind_host="127.0.0.1"):
    bind = f"[{bind_host}]:{listen_port}" if ":" in bind_host else f"{bind_host}:{listen_port}"
    lines = [f"workers: {workers}", "logging: {level: debug}", top,
             "listeners:", f"  - name: front", f"    bind: \"{bind}\"", "    pool: app",
             extra_listener, "pools:", "  - name: app", f"    algorithm: {algorithm}",
             extra_pool, "    backends:"]
    for b in backends:
        if isinstance(b, tuple):
            lines.append(f"      - {{address: \"{b[0]}\", weight: {b[1]}}}")
        else:
            lines.append(f"      - {{address: \"{b}\"}}")
    return "\n".join(l for l in lines if l) + "\n"


class BallastTest(unittest.TestCase):
    """Base class. Run a body once per I/O backend with:
        for io in IO_BACKENDS:
            with self.subTest(io=io):
                ...
    """


def main():
    unittest.main(verbosity=2)
