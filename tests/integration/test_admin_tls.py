"""tests/integration/test_admin_tls.py — the admin API over HTTPS (admin.tls): a self-signed
certificate made here with openssl; curl verifies it, sends a bearer token, reads the API and an
event stream. Plain HTTP on the TLS port gets nothing; a key that does not match its certificate
keeps the TCP listener closed rather than falling back to plain HTTP."""
import os
import shutil
import signal
import subprocess
import tempfile
import unittest

from harness import BALLAST_BIN, free_port, port_accepts, wait_until


@unittest.skipUnless(shutil.which("openssl") and shutil.which("curl"), "needs openssl and curl")
class AdminTlsTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="ballast-tls-")
        self.cert = os.path.join(self.dir, "cert.pem")
        self.key = os.path.join(self.dir, "key.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout",
                        self.key, "-out", self.cert, "-days", "2", "-subj", "/CN=127.0.0.1",
                        "-addext", "subjectAltName=IP:127.0.0.1"],
                       check=True, capture_output=True)
        with open(os.path.join(self.dir, "tokens"), "w") as f:
            f.write("tls-token\n")
        self.port = free_port()
        self.procs = []

    def tearDown(self):
        for p in self.procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
                p.wait(timeout=15)
        shutil.rmtree(self.dir, ignore_errors=True)

    def start(self, key):
        config = os.path.join(self.dir, "ballast.yaml")
        with open(config, "w") as f:
            f.write(f"""
admin:
  socket: "{self.dir}/admin.sock"
  bind: "127.0.0.1:{self.port}"
  tls: {{cert: "{self.cert}", key: "{key}"}}
  auth: {{tokens_file: "{self.dir}/tokens"}}
""")
        log = open(os.path.join(self.dir, "ballast.log"), "w")
        p = subprocess.Popen([BALLAST_BIN, "run", "-c", config], stdout=log, stderr=log)
        self.procs.append(p)
        wait_until(lambda: os.path.exists(f"{self.dir}/admin.sock"), what="admin socket")
        return p

    def curl(self, *args):
        return subprocess.run(["curl", "-s", "-m", "5", "--cacert", self.cert, *args],
                              capture_output=True, text=True)

    def test_https_with_a_token(self):
        self.start(self.key)
        wait_until(lambda: port_accepts(self.port), what="TLS admin port")
        base = f"https://127.0.0.1:{self.port}"
        ok = self.curl("-H", "Authorization: Bearer tls-token", "-w", "%{http_code}",
                       "-o", "/dev/null", base + "/api/v1/status")
        self.assertEqual(ok.stdout, "200")
        denied = self.curl("-w", "%{http_code}", "-o", "/dev/null", base + "/api/v1/status")
        self.assertEqual(denied.stdout, "401")
        stream = self.curl("-N", "-m", "2", "-H", "Authorization: Bearer tls-token",
                           "-H", "Accept: text/event-stream", base + "/api/v1/events")
        self.assertIn("event: audit", stream.stdout)
        self.assertIn('"config.load"', stream.stdout)
        plain = subprocess.run(["curl", "-s", "-m", "3", "-o", "/dev/null", "-w", "%{http_code}",
                                f"http://127.0.0.1:{self.port}/healthz"],
                               capture_output=True, text=True)
        self.assertNotEqual(plain.stdout, "200")

    def test_mismatched_key_keeps_the_port_closed(self):
        other = os.path.join(self.dir, "other.pem")
        subprocess.run(["openssl", "genrsa", "-out", other, "2048"], check=True,
                       capture_output=True)
        self.start(other)
        log = os.path.join(self.dir, "ballast.log")
        wait_until(lambda: "admin.tls_failed" in open(log).read(), what="tls error logged")
        self.assertFalse(port_accepts(self.port), "no plain-HTTP fallback")


if __name__ == "__main__":
    unittest.main(verbosity=2)
