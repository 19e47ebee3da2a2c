"""tests/integration/test_upgrade.py — binary upgrade under load: `ballast run --upgrade` takes
every listening socket from the running process over the admin socket (SCM_RIGHTS), and the old
process drains and exits. wrk keeps loading an HTTP listener the whole time (backend: nginx) and
must see zero failed requests; an L4 connection opened before the upgrade keeps working after it.

fd budget: wrk -c 32 plus a few test sockets, far under the 20,000 per-process hard limit.
"""
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import unittest

from harness import (BALLAST_BIN, IO_BACKENDS, Backend, Ballast, BallastTest, free_port, main,
                     wait_until)


def start_nginx(port):
    prefix = tempfile.mkdtemp(prefix="ballast-nginx-")
    conf = os.path.join(prefix, "nginx.conf")
    with open(conf, "w") as f:
        f.write(f"""
worker_processes 1;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log;
events {{ worker_connections 1024; }}
http {{
  access_log off;
  server {{
    listen 127.0.0.1:{port};
    keepalive_requests 100000;
    location / {{ return 200 "ok\\n"; }}
  }}
}}
""")
    proc = subprocess.Popen(["nginx", "-c", conf, "-p", prefix, "-g", "daemon off;"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_until(lambda: _accepts(port), what="nginx listening")
    return proc, prefix


def _accepts(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


def admin(sock_path, method, path):
    """One request over the unix admin socket; returns (status, body)."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(5)
        s.connect(sock_path)
        s.sendall(f"{method} {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                  f"Content-Length: 0\r\n\r\n".encode())
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split()[1]), body.decode()


@unittest.skipUnless(shutil.which("nginx") and shutil.which("wrk"), "needs nginx and wrk")
class UpgradeTest(BallastTest):
    def test_upgrade_under_load_loses_nothing(self):
        for io in IO_BACKENDS:
            with self.subTest(io=io):
                self.run_upgrade(io)

    def run_upgrade(self, io):
        nginx_port = free_port()
        nginx, prefix = start_nginx(nginx_port)
        echo = Backend("echo")
        http_port, tcp_port = free_port(), free_port()
        tmp = tempfile.mkdtemp(prefix="ballast-upgrade-")
        sock = os.path.join(tmp, "admin.sock")
        config = f"""
workers: 2
admin: {{socket: "{sock}"}}
listeners:
  - {{name: web, bind: "127.0.0.1:{http_port}", protocol: http, pool: web}}
  - {{name: raw, bind: "127.0.0.1:{tcp_port}", protocol: tcp, pool: echo}}
pools:
  - name: web
    backends: [{{address: "127.0.0.1:{nginx_port}"}}]
  - name: echo
    backends: [{{address: "{echo.address}"}}]
"""
        old = Ballast(config, io=io)
        new_proc = None
        new_log = os.path.join(tmp, "new.log")
        try:
            old.start()
            old_pid = old.proc.pid
            self.assertEqual(admin(sock, "GET", "/healthz")[0], 200)
            # A long-lived L4 connection through the old process.
            held = socket.create_connection(("127.0.0.1", tcp_port), timeout=5)
            held.recv(64)  # the echo backend names itself first
            held.sendall(b"before\n")
            self.assertEqual(held.recv(64), b"before\n")

            wrk = subprocess.Popen(["wrk", "-t", "2", "-c", "32", "-d", "6s",
                                    f"http://127.0.0.1:{http_port}/"],
                                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            wait_until(lambda: old.events("http.access") or wrk.poll() is not None,
                       what="load reaching the old process")
            with open(new_log, "w") as log:
                new_proc = subprocess.Popen([BALLAST_BIN, "run", "--upgrade", "-c",
                                             old.config_path, "--io", io],
                                            stdout=log, stderr=log)
            # The old process hands over and drains; the new one answers on the same socket.
            wait_until(lambda: old.events("server.upgrade_handed_over") or
                       old.proc.poll() is not None, timeout=30, what="handover")
            status, body = admin(sock, "GET", "/api/v1/status")
            self.assertEqual(status, 200)
            self.assertIn(f'"pid": {new_proc.pid}', body)
            # The connection opened before the upgrade is still served by the old process
            # while it drains; once it closes, the old process has nothing left and exits.
            held.sendall(b"during\n")
            self.assertEqual(held.recv(64), b"during\n")
            held.close()
            old.proc.wait(timeout=30)
            self.assertEqual(old.proc.returncode, 0, old.log_text()[-2000:])
            self.assertNotEqual(new_proc.pid, old_pid)

            out, _ = wrk.communicate(timeout=30)
            total = int(re.search(r"(\d+) requests in", out).group(1))
            self.assertNotIn("Socket errors", out, out)
            self.assertNotIn("Non-2xx", out, out)
            self.assertGreater(total, 1000, out)
            with open(new_log) as f:
                served_by_new = f.read().count('"http.access"')
            self.assertGreater(served_by_new, 0, "the new process served nothing")

            # New L4 connections go to the new process.
            with socket.create_connection(("127.0.0.1", tcp_port), timeout=5) as c:
                c.recv(64)
                c.sendall(b"after\n")
                self.assertEqual(c.recv(64), b"after\n")
        finally:
            if new_proc is not None and new_proc.poll() is None:
                new_proc.send_signal(signal.SIGTERM)
                new_proc.wait(timeout=15)
            if old.proc is not None and old.proc.poll() is None:
                old.proc.kill()
            old.log_file.close()
            nginx.terminate()
            nginx.wait()
            echo.close()
            shutil.rmtree(prefix, ignore_errors=True)
            shutil.rmtree(tmp, ignore_errors=True)
        self.assertFalse(os.path.exists(sock), "the admin socket should go with the last process")


if __name__ == "__main__":
    main()
