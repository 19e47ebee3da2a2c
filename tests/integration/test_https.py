"""tests/integration/test_https.py — `protocol: https`: TLS termination in front of the HTTP/1.1
proxy, with real clients (curl, `openssl s_client`, Python's ssl) and certificates the test
makes with openssl.

What it holds Ballast to: the certificate is chosen by SNI (exact, then wildcard, then the first
as default, case-insensitive); an RSA and an ECDSA certificate for the same name are picked by
what the client supports; TLS below min_version and garbage instead of a handshake are refused
and counted; ALPN answers http/1.1; sessions resume by ticket across workers; keep-alive and a
large body work through TLS; the backend sees X-Forwarded-Proto: https; a reload re-reads the
certificates while an open connection keeps its session; `ballast validate` reports a key that
does not match its certificate at file:line:column. Each case on both I/O backends.

fd budget: a handful of client sockets at a time, far under the 20,000 per-process hard limit.
"""
import hashlib
import json
import os
import re
import shutil
import socket
import ssl
import subprocess
import tempfile
import unittest
import urllib.request

from harness import BALLAST_BIN, IO_BACKENDS, Ballast, BallastTest, free_port, main, wait_until
from http_backends import HttpBackend, payload_sha256


def make_cert(directory, name, sans, key_type="rsa"):
    """A self-signed certificate for `sans`; returns (cert path, key path)."""
    cert = os.path.join(directory, f"{name}.pem")
    key = os.path.join(directory, f"{name}.key")
    newkey = "rsa:2048" if key_type == "rsa" else "ec"
    extra = ["-pkeyopt", "ec_paramgen_curve:prime256v1"] if key_type == "ec" else []
    subprocess.run(["openssl", "req", "-x509", "-newkey", newkey, *extra, "-nodes",
                    "-keyout", key, "-out", cert, "-days", "2", "-subj", f"/CN={sans[0]}",
                    "-addext", "subjectAltName=" + ",".join(f"DNS:{s}" for s in sans)],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return cert, key


def tls_client(port, server_name, cafile=None, **ctx_options):
    """A TLS connection to Ballast; returns the wrapped socket (caller closes it)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    for k, v in ctx_options.items():
        if k == "ciphers":
            ctx.set_ciphers(v)
        elif k == "alpn":
            ctx.set_alpn_protocols(v)
        else:
            setattr(ctx, k, v)
    raw = socket.create_connection(("127.0.0.1", port), timeout=10)
    return ctx.wrap_socket(raw, server_hostname=server_name)


def served_names(sock):
    """The DNS names of the certificate the server presented."""
    der = sock.getpeercert(binary_form=True)
    pem = ssl.DER_cert_to_PEM_cert(der)
    out = subprocess.run(["openssl", "x509", "-noout", "-ext", "subjectAltName"], input=pem,
                         capture_output=True, text=True, check=True).stdout
    return sorted(re.findall(r"DNS:([^,\s]+)", out))


def get(sock, path="/", host="a.test"):
    """One keep-alive GET over an open (TLS) socket; returns (status, body bytes)."""
    sock.sendall(f"GET {path} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise AssertionError(f"connection closed mid-response: {data!r}")
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    status = int(head.split()[1])
    length = int(re.search(rb"(?i)content-length: *(\d+)", head).group(1))
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            raise AssertionError("connection closed mid-body")
        body += chunk
    return status, body


def metric(port, name, listener="web"):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
        text = r.read().decode()
    m = re.search(rf'^{name}\{{listener="{listener}"\}} (\S+)$', text, re.M)
    return int(float(m.group(1))) if m else None


@unittest.skipUnless(shutil.which("openssl") and shutil.which("curl"), "needs openssl and curl")
class HttpsTest(BallastTest):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="ballast-https-")
        cls.default = make_cert(cls.dir, "default", ["a.test"])
        cls.wild = make_cert(cls.dir, "wild", ["*.wild.test"], "ec")
        cls.dual_rsa = make_cert(cls.dir, "dual-rsa", ["dual.test"])
        cls.dual_ec = make_cert(cls.dir, "dual-ec", ["dual.test"], "ec")
        cls.other = make_cert(cls.dir, "other", ["a.test"])
        cls.backend = HttpBackend("app")

    @classmethod
    def tearDownClass(cls):
        cls.backend.close()
        shutil.rmtree(cls.dir, ignore_errors=True)

    def config(self, port, metrics_port, certs=None, tls_extra="", workers=1):
        certs = certs or [self.default, self.wild, self.dual_rsa, self.dual_ec]
        listed = ", ".join(f'{{cert: "{c}", key: "{k}"}}' for c, k in certs)
        return f"""
workers: {workers}
metrics: {{bind: "127.0.0.1:{metrics_port}"}}
listeners:
  - name: web
    bind: "127.0.0.1:{port}"
    protocol: https
    pool: app
    tls: {{certificates: [{listed}]{tls_extra}}}
pools:
  - {{name: app, backends: [{{address: "{self.backend.address}"}}]}}
"""

    def each_io(self, body, **config):
        for io in IO_BACKENDS:
            with self.subTest(io=io):
                port, metrics_port = free_port(), free_port()
                with Ballast(self.config(port, metrics_port, **config), io=io) as b:
                    body(b, port, metrics_port)

    def test_curl_gets_through_with_keep_alive_and_forwarded_proto(self):
        def body(b, port, _):
            out = subprocess.run(
                ["curl", "-sS", "--cacert", self.default[0], "--resolve",
                 f"a.test:{port}:127.0.0.1", f"https://a.test:{port}/echo-headers",
                 f"https://a.test:{port}/echo-headers", "-w", "\n%{num_connects}\n"],
                capture_output=True, text=True, timeout=20)
            self.assertEqual(out.returncode, 0, out.stderr)
            first = out.stdout.split("\n")[0]
            headers = {k.lower(): v for k, v in json.loads(first)}
            self.assertEqual(headers["x-forwarded-proto"], "https")
            # Two requests over one TLS connection: the second made no new connection.
            self.assertEqual(out.stdout.strip().split("\n")[-1], "0")
        self.each_io(body)

    def test_certificate_is_chosen_by_sni(self):
        cases = [("a.test", ["a.test"]), ("A.TEST", ["a.test"]),
                 ("x.wild.test", ["*.wild.test"]), ("deep.x.wild.test", ["a.test"]),
                 ("unknown.test", ["a.test"]), ("dual.test", ["dual.test"])]

        def body(b, port, _):
            for name, expected in cases:
                with tls_client(port, name) as s:
                    self.assertEqual(served_names(s), expected, name)
                    self.assertEqual(get(s)[0], 200)
        self.each_io(body)

    def test_sni_and_signature_algorithms_with_s_client(self):
        """The same choices seen by `openssl s_client`: -servername picks the certificate, and in
        TLS 1.3 (no cipher suite names a key type) -sigalgs picks RSA or ECDSA for one name."""
        def s_client(port, *args):
            out = subprocess.run(["openssl", "s_client", "-connect", f"127.0.0.1:{port}", *args],
                                 input="", capture_output=True, text=True, timeout=20)
            self.assertIn("Verification", out.stdout, out.stderr)  # a handshake happened
            return out.stdout

        def body(b, port, _):
            for name, cn in (("a.test", "a.test"), ("x.wild.test", "*.wild.test"),
                             ("unknown.test", "a.test")):
                out = s_client(port, "-servername", name)
                self.assertRegex(out, rf"subject=CN ?= ?{re.escape(cn)}\n", name)
            for sigalgs, peer in (("ECDSA+SHA256", "Peer signature type: ECDSA"),
                                  ("rsa_pss_rsae_sha256", "Peer signature type: RSA-PSS")):
                out = s_client(port, "-servername", "dual.test", "-tls1_3", "-sigalgs", sigalgs)
                self.assertIn(peer, out, sigalgs)
                self.assertIn("New, TLSv1.3", out)
        self.each_io(body)

    def test_rsa_and_ecdsa_for_one_name_follow_the_client(self):
        def body(b, port, _):
            for cipher, key_type in (("ECDHE-ECDSA-AES128-GCM-SHA256", "id-ecPublicKey"),
                                     ("ECDHE-RSA-AES128-GCM-SHA256", "rsaEncryption")):
                with tls_client(port, "dual.test", ciphers=cipher,
                                maximum_version=ssl.TLSVersion.TLSv1_2) as s:
                    pem = ssl.DER_cert_to_PEM_cert(s.getpeercert(binary_form=True))
                    text = subprocess.run(["openssl", "x509", "-noout", "-text"], input=pem,
                                          capture_output=True, text=True).stdout
                    self.assertIn(key_type, text, cipher)
        self.each_io(body)

    def test_alpn_and_versions(self):
        def body(b, port, _):
            with tls_client(port, "a.test", alpn=["h2", "http/1.1"]) as s:
                self.assertEqual(s.selected_alpn_protocol(), "http/1.1")
                self.assertEqual(s.version(), "TLSv1.3")
            with tls_client(port, "a.test", maximum_version=ssl.TLSVersion.TLSv1_2) as s:
                self.assertEqual(s.version(), "TLSv1.2")
                self.assertEqual(get(s)[0], 200)
        self.each_io(body)

    def test_min_version_refuses_older_clients_and_counts_them(self):
        def body(b, port, metrics_port):
            with self.assertRaises(ssl.SSLError):
                tls_client(port, "a.test", maximum_version=ssl.TLSVersion.TLSv1_2).close()
            with tls_client(port, "a.test") as s:
                self.assertEqual(s.version(), "TLSv1.3")
            wait_until(lambda: metric(metrics_port, "ballast_listener_tls_errors_total") == 1,
                       what="the refused handshake counted")
        self.each_io(body, tls_extra=", min_version: \"1.3\"")

    def test_garbage_and_plain_http_are_refused_and_counted(self):
        def body(b, port, metrics_port):
            for junk in (b"GET / HTTP/1.1\r\nHost: a\r\n\r\n", os.urandom(300)):
                with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
                    s.sendall(junk)
                    s.settimeout(5)
                    try:
                        while s.recv(4096):
                            pass  # an alert, then our FIN
                    except ConnectionResetError:
                        pass
            wait_until(lambda: metric(metrics_port, "ballast_listener_tls_errors_total") == 2,
                       what="both refusals counted")
            self.assertEqual(len(b.events("l7.tls_failed")), 2)
            with tls_client(port, "a.test") as s:  # and the listener still serves
                self.assertEqual(get(s)[0], 200)
        self.each_io(body)

    def test_sessions_resume_by_ticket_across_workers(self):
        def body(b, port, _):
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
            ctx.maximum_version = ssl.TLSVersion.TLSv1_2  # the session is known after the handshake
            with ctx.wrap_socket(socket.create_connection(("127.0.0.1", port)),
                                 server_hostname="a.test") as s:
                get(s)
                session = s.session
            resumed = 0
            for _ in range(8):  # SO_REUSEPORT spreads these over both workers
                with ctx.wrap_socket(socket.create_connection(("127.0.0.1", port)),
                                     server_hostname="a.test", session=session) as s:
                    self.assertEqual(get(s)[0], 200)
                    resumed += s.session_reused
            self.assertEqual(resumed, 8)
        self.each_io(body, workers=2)

    def test_large_download_through_tls(self):
        size = 8 << 20

        def body(b, port, _):
            with tls_client(port, "a.test") as s:
                s.sendall(f"GET /download/chunked/{size} HTTP/1.1\r\nHost: a\r\n\r\n".encode())
                data = b""
                while not data.endswith(b"\r\n0\r\n\r\n"):
                    chunk = s.recv(1 << 16)
                    if not chunk:
                        break
                    data += chunk
                head, _, rest = data.partition(b"\r\n\r\n")
                self.assertIn(b" 200 ", head.split(b"\r\n")[0])
                body_bytes, pos = b"", 0
                while True:
                    eol = rest.index(b"\r\n", pos)
                    n = int(rest[pos:eol], 16)
                    if n == 0:
                        break
                    body_bytes += rest[eol + 2:eol + 2 + n]
                    pos = eol + 2 + n + 2
                self.assertEqual(hashlib.sha256(body_bytes).hexdigest(), payload_sha256(size))
        self.each_io(body)

    def test_reload_rereads_certificates_and_open_connections_keep_theirs(self):
        def body(b, port, metrics_port):
            held = tls_client(port, "a.test")
            first = held.getpeercert(binary_form=True)
            b.reload(self.config(port, metrics_port, certs=[self.other]))
            with tls_client(port, "a.test") as s:
                self.assertNotEqual(s.getpeercert(binary_form=True), first)
            self.assertEqual(get(held)[0], 200)  # the old session still works
            held.close()
        self.each_io(body)

    def test_validate_reports_a_key_that_does_not_match(self):
        port, metrics_port = free_port(), free_port()
        text = self.config(port, metrics_port, certs=[(self.default[0], self.wild[1])])
        path = os.path.join(self.dir, "mismatch.yaml")
        with open(path, "w") as f:
            f.write(text)
        out = subprocess.run([BALLAST_BIN, "validate", "-c", path], capture_output=True,
                             text=True)
        self.assertEqual(out.returncode, 1, out.stdout + out.stderr)
        line = next(i for i, l in enumerate(text.split("\n"), 1) if "certificates" in l)
        self.assertRegex(out.stdout + out.stderr,
                         rf"mismatch.yaml:{line}:\d+: tls.certificates: key .* does not match")


if __name__ == "__main__":
    main()
