"""tests/integration/test_tls_rotation.py — certificates replaced on disk while wrk drives HTTPS
load: Ballast notices the files change (no SIGHUP), serves the new certificate to new
connections, refuses a broken replacement while the old one keeps serving, and wrk sees no
failed request through it all. Both I/O backends.

fd budget: wrk holds 20 client connections; far under the 20,000 per-process hard limit.
"""
import json
import os
import shutil
import socket
import ssl
import subprocess
import tempfile
import unittest

from harness import IO_BACKENDS, Ballast, BallastTest, free_port, main, wait_until
from http_backends import HttpBackend
from test_https import make_cert

WRK = shutil.which("wrk")
WRK_SCRIPT = """
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '\\nWRK_RESULT {"requests": %d, "connect": %d, "read": %d, "write": %d, "status": %d, ' ..
    '"timeout": %d}\\n', summary.requests, e.connect, e.read, e.write, e.status, e.timeout))
end
"""


def served_certificate(port):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    with ctx.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=5),
                         server_hostname="a.test") as s:
        return s.getpeercert(binary_form=True)


def der_of(pem_path):
    return ssl.PEM_cert_to_DER_cert(open(pem_path).read())


def replace(src, dst):
    """As certbot and cert-manager do: write beside, then rename over."""
    tmp = dst + ".new"
    shutil.copyfile(src, tmp)
    os.rename(tmp, dst)


@unittest.skipIf(WRK is None, "wrk not installed (Debian package wrk)")
class TlsRotationTest(BallastTest):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="ballast-tls-rotation-")
        cls.first = make_cert(cls.dir, "first", ["a.test"], "ec")
        cls.second = make_cert(cls.dir, "second", ["a.test"], "ec")
        cls.backend = HttpBackend("app")

    @classmethod
    def tearDownClass(cls):
        cls.backend.close()
        shutil.rmtree(cls.dir, ignore_errors=True)

    def test_rotation_under_load_loses_no_request(self):
        for io in IO_BACKENDS:
            with self.subTest(io=io):
                self.rotate_under_load(io)

    def rotate_under_load(self, io):
        live = tempfile.mkdtemp(dir=self.dir)
        cert, key = os.path.join(live, "cert.pem"), os.path.join(live, "key.pem")
        shutil.copyfile(self.first[0], cert)
        shutil.copyfile(self.first[1], key)
        port = free_port()
        config = f"""
workers: 2
listeners:
  - name: web
    bind: "127.0.0.1:{port}"
    protocol: https
    pool: app
    tls: {{certificates: [{{cert: "{cert}", key: "{key}"}}]}}
pools:
  - {{name: app, backends: [{{address: "{self.backend.address}"}}]}}
"""
        with Ballast(config, io=io) as b:
            self.assertEqual(served_certificate(port), der_of(self.first[0]))
            script = os.path.join(live, "report.lua")
            with open(script, "w") as f:
                f.write(WRK_SCRIPT)
            # Connection: close makes every request a new handshake, so handshakes are under
            # way whenever the certificate changes.
            wrk = subprocess.Popen([WRK, "-t", "2", "-c", "20", "-d", "60s", "--timeout", "5s",
                                    "-H", "Connection: close", "-s", script,
                                    f"https://127.0.0.1:{port}/"],
                                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            self.addCleanup(lambda: wrk.poll() is None and wrk.kill())
            floor = self.backend.requests + 300
            wait_until(lambda: self.backend.requests >= floor, timeout=20, what="load before")

            # A key that does not match: refused, the first certificate keeps serving.
            replace(self.second[1], key)
            wait_until(lambda: b.events("config.reload_rejected"), timeout=10,
                       what="the broken pair refused")
            self.assertTrue([e for e in b.events("config.error")
                             if "does not match" in e.get("message", "")])
            self.assertEqual(served_certificate(port), der_of(self.first[0]))

            replace(self.second[0], cert)  # now the pair matches again
            wait_until(lambda: served_certificate(port) == der_of(self.second[0]), timeout=10,
                       what="the new certificate served without a SIGHUP")
            floor = self.backend.requests + 300
            wait_until(lambda: self.backend.requests >= floor, timeout=20, what="load after")
            wrk.send_signal(2)
            out, _ = wrk.communicate(timeout=30)
            reloads = [e for e in b.events("audit") if e.get("kind") == "config.reload"]
            self.assertTrue(any(e.get("actor") == "watch:tls_files" for e in reloads), reloads)
        line = [l for l in out.splitlines() if l.startswith("WRK_RESULT ")]
        self.assertEqual(len(line), 1, out)
        result = json.loads(line[0][len("WRK_RESULT "):])
        errors = {k: result[k] for k in ("connect", "read", "write", "timeout", "status")}
        self.assertEqual(errors, dict.fromkeys(errors, 0), out)
        self.assertGreater(result["requests"], 600, out)


if __name__ == "__main__":
    main()
