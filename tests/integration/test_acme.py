"""tests/integration/test_acme.py — tls.acme against Debian's pebble, a real ACME directory.

Each case starts pebble-challtestsrv (its DNS answers every name with 127.0.0.1) and pebble on
loopback, with pebble's HTTPS certificate made here by openssl (Ballast trusts it through
`ca:`) and pebble's validation ports set to Ballast's listeners. What it holds Ballast to:
http-01 answered by a plain HTTP listener before routing; tls-alpn-01 answered by the https
listener itself (RFC 8737), which serves a self-signed placeholder until then; the issued
chain and key stored with mode 0600 and served without a restart; renewal at two thirds of a
short lifetime; a challenge pebble refuses (the name points at 127.0.0.2, where nothing
listens) logged, counted and retried with growing waits while the old certificate keeps
serving. `ballast show certificates` and the metrics say the same. Each case on both I/O
backends.

fd budget: pebble, challtestsrv and a few client sockets.
"""
import json
import os
import re
import shutil
import socket
import ssl
import stat
import subprocess
import tempfile
import unittest
import urllib.request

from harness import (BALLAST_BIN, IO_BACKENDS, Ballast, BallastTest, free_port, main,
                     port_accepts, wait_until)

ISSUE_TIMEOUT = 20.0


def openssl(*args):
    subprocess.run(["openssl", *args], check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)


def make_pebble_tls(directory):
    """A CA and a certificate for pebble's own HTTPS (127.0.0.1); returns (ca, cert, key)."""
    ca, ca_key = os.path.join(directory, "ca.pem"), os.path.join(directory, "ca.key")
    cert, key = os.path.join(directory, "pebble.pem"), os.path.join(directory, "pebble.key")
    csr, ext = os.path.join(directory, "pebble.csr"), os.path.join(directory, "ext.cnf")
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    openssl("req", "-x509", *ec, "-keyout", ca_key, "-out", ca, "-days", "2", "-subj", "/CN=ca")
    openssl("req", *ec, "-keyout", key, "-out", csr, "-subj", "/CN=localhost")
    with open(ext, "w") as f:
        f.write("subjectAltName=DNS:localhost,IP:127.0.0.1\n")
    openssl("x509", "-req", "-in", csr, "-CA", ca, "-CAkey", ca_key, "-CAcreateserial",
            "-out", cert, "-days", "2", "-extfile", ext)
    return ca, cert, key


class Pebble:
    """pebble-challtestsrv (DNS only) and pebble, both on loopback; a context manager."""

    def __init__(self, directory, tls, http_port, tls_port, validity=None):
        self.dir = directory
        self.port = free_port()
        self.dns_port = free_port(kind=socket.SOCK_DGRAM)
        self.cts_port = free_port()
        config = {"pebble": {
            "listenAddress": f"127.0.0.1:{self.port}",
            "managementListenAddress": f"127.0.0.1:{free_port()}",
            "certificate": tls[1], "privateKey": tls[2],
            "httpPort": http_port, "tlsPort": tls_port,
            "ocspResponderURL": "", "externalAccountBindingRequired": False}}
        if validity:
            config["pebble"]["certificateValidityPeriod"] = validity
        self.config_path = os.path.join(directory, f"pebble-{self.port}.json")
        with open(self.config_path, "w") as f:
            json.dump(config, f)
        self.procs = []

    @property
    def directory_url(self):
        return f"https://127.0.0.1:{self.port}/dir"

    def __enter__(self):
        log = open(os.path.join(self.dir, f"pebble-{self.port}.log"), "w")
        self.log = log
        self.procs.append(subprocess.Popen(
            ["pebble-challtestsrv", "-defaultIPv4", "127.0.0.1", "-defaultIPv6", "",
             "-dns01", f"127.0.0.1:{self.dns_port}", "-http01", "", "-https01", "",
             "-tlsalpn01", "", "-management", f"127.0.0.1:{self.cts_port}"],
            stdout=log, stderr=log))
        wait_until(lambda: port_accepts(self.cts_port), what="challtestsrv")
        # No random validation sleeps, no rejected nonces, and orders validate anew — but only
        # 99 times in 100: pebble reuses when rand.Intn(100) > percent fails, so 0 still reuses
        # 1%, and a negative percent is refused.
        env = dict(os.environ, PEBBLE_VA_NOSLEEP="1", PEBBLE_WFE_NONCEREJECT="0",
                   PEBBLE_AUTHZREUSE="0")
        self.procs.append(subprocess.Popen(
            ["pebble", "-config", self.config_path, "-dnsserver", f"127.0.0.1:{self.dns_port}"],
            stdout=log, stderr=log, env=env))
        wait_until(lambda: port_accepts(self.port), what="pebble")
        return self

    def __exit__(self, *exc):
        for p in reversed(self.procs):
            p.terminate()
            p.wait(5)
        self.log.close()

    def point(self, name, address):
        """Makes challtestsrv answer `name` with `address` (None: back to the default)."""
        body = {"host": name}
        path = "/clear-a"
        if address:
            body["addresses"] = [address]
            path = "/add-a"
        req = urllib.request.Request(f"http://127.0.0.1:{self.cts_port}{path}",
                                     data=json.dumps(body).encode(), method="POST")
        with urllib.request.urlopen(req, timeout=5) as r:
            assert r.status == 200


def tls_socket(port, name="a.test", host="127.0.0.1"):
    """A TLS connection to Ballast that checks nothing (the caller closes it)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx.wrap_socket(socket.create_connection((host, port), timeout=5),
                           server_hostname=name)


def served_cert(port, name="a.test", host="127.0.0.1"):
    """(issuer CN, serial, SAN names) of the certificate Ballast presents for `name`."""
    with tls_socket(port, name, host) as s:
        pem = ssl.DER_cert_to_PEM_cert(s.getpeercert(binary_form=True))
    out = subprocess.run(["openssl", "x509", "-noout", "-issuer", "-serial", "-ext",
                          "subjectAltName"], input=pem, capture_output=True, text=True,
                         check=True).stdout
    issuer = re.search(r"issuer=.*?CN ?= ?([^,\n]+)", out).group(1).strip()
    serial = re.search(r"serial=(\w+)", out).group(1)
    return issuer, serial, sorted(re.findall(r"DNS:([^,\s]+)", out))


def failed_streak(failed):
    """The `acme.order_failed` events from the last first failure (failures == 1) on."""
    starts = [i for i, f in enumerate(failed) if f["failures"] == 1]
    return failed[starts[-1]:]


def scrape(port):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
        return r.read().decode()


def sample(text, name, **labels):
    want = ",".join(f'{k}="{v}"' for k, v in labels.items())
    m = re.search(rf"^{name}\{{{want}\}} (\S+)$", text, re.M)
    return float(m.group(1)) if m else None


@unittest.skipUnless(shutil.which("pebble") and shutil.which("pebble-challtestsrv")
                     and shutil.which("openssl"), "needs pebble and openssl")
class AcmeTest(BallastTest):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="ballast-acme-")
        cls.tls = make_pebble_tls(cls.dir)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.dir, ignore_errors=True)

    def config(self, pebble, http_port, https_port, metrics_port, storage, challenge,
               backoff="1s"):
        return f"""
workers: 2
metrics: {{bind: "127.0.0.1:{metrics_port}"}}
admin: {{socket: "{storage}.sock"}}
listeners:
  - name: plain
    bind: "127.0.0.1:{http_port}"
    protocol: http
    pool: app
  - name: web
    bind: "127.0.0.1:{https_port}"
    protocol: https
    pool: app
    tls:
      acme:
        directory: "{pebble.directory_url}"
        email: "ops@a.test"
        domains: [a.test, www.a.test]
        challenge: {challenge}
        storage: "{storage}"
        ca: "{self.tls[0]}"
        retry_backoff: {backoff}
pools:
  - name: app
    backends: [{{address: "127.0.0.1:{free_port()}"}}]
"""

    def run_case(self, challenge, body, validity=None):
        for io in IO_BACKENDS:
            with self.subTest(io=io):
                http_port, https_port, metrics_port = free_port(), free_port(), free_port()
                storage = tempfile.mkdtemp(prefix="store-", dir=self.dir)
                with Pebble(self.dir, self.tls, http_port, https_port, validity) as pebble:
                    cfg = self.config(pebble, http_port, https_port, metrics_port,
                                      os.path.join(storage, "acme"), challenge)
                    with Ballast(cfg, io=io) as b:
                        body(b, pebble, https_port, metrics_port, os.path.join(storage, "acme"))

    def wait_issued(self, b, count=1):
        wait_until(lambda: len(b.events("acme.certificate_issued")) >= count
                   and len(b.events("tls.contexts_refreshed")) >= count,
                   timeout=ISSUE_TIMEOUT, what=f"{count} certificate(s) issued")

    def served_when(self, port, predicate, what):
        """The served certificate once `predicate` holds for it: workers take a new snapshot
        on their next loop turn, a moment after the control thread logs the swap."""
        holder = []
        def check():
            holder[:] = [served_cert(port)]
            return predicate(holder[0])
        wait_until(check, what=what)
        return holder[0]

    def assert_issued_and_stored(self, b, https_port, metrics_port, storage):
        issuer, _, names = self.served_when(https_port, lambda c: "Pebble" in c[0],
                                            "the issued certificate to serve")
        self.assertIn("Pebble Intermediate", issuer)
        self.assertEqual(names, ["a.test", "www.a.test"])
        for f in ("account.key", "a.test/cert.pem", "a.test/key.pem"):
            mode = stat.S_IMODE(os.stat(os.path.join(storage, f)).st_mode)
            self.assertEqual(mode, 0o600, f)
        text = scrape(metrics_port)
        self.assertEqual(sample(text, "ballast_acme_orders_total", domain="a.test",
                                result="valid"), 1)
        self.assertGreater(sample(text, "ballast_acme_certificate_expiry_seconds",
                                  domain="a.test"), 86400)
        out = subprocess.run([BALLAST_BIN, "show", "certificates", "--socket",
                              storage + ".sock"], capture_output=True, text=True, check=True)
        row = [l for l in out.stdout.splitlines() if l.startswith("web")]
        self.assertEqual(len(row), 1, out.stdout)
        self.assertRegex(row[0], r"a\.test,www\.a\.test\s+\d{4}-\d\d-\d\d .*acme\s+valid")

    def test_http01_issues_and_swaps_in_without_restart(self):
        # Ballast starts before pebble: the first order fails (nothing listens yet) and the
        # placeholder serves until pebble is up and the retry succeeds.
        for io in IO_BACKENDS:
            with self.subTest(io=io):
                http_port, https_port, metrics_port = free_port(), free_port(), free_port()
                storage = os.path.join(tempfile.mkdtemp(prefix="store-", dir=self.dir), "acme")
                pebble = Pebble(self.dir, self.tls, http_port, https_port)
                cfg = self.config(pebble, http_port, https_port, metrics_port, storage,
                                  "http-01")
                with Ballast(cfg, io=io) as b:
                    wait_until(lambda: b.events("acme.order_failed"), what="a refused order")
                    self.assertIn("directory", b.events("acme.order_failed")[0]["reason"])
                    issuer, _, names = served_cert(https_port)
                    self.assertEqual((issuer, names), ("a.test", ["a.test", "www.a.test"]),
                                     "the self-signed placeholder serves first")
                    out = subprocess.run([BALLAST_BIN, "show", "certificates", "--socket",
                                          storage + ".sock"], capture_output=True, text=True,
                                         check=True).stdout
                    self.assertRegex(out, r"web\s+a\.test,www\.a\.test\s.*acme\s+placeholder")
                    held = tls_socket(https_port)  # opened under the placeholder
                    with pebble:
                        self.wait_issued(b)
                        access = [e for e in b.events("http.access")
                                  if e["path"].startswith("/.well-known/acme-challenge/")]
                        self.assertTrue(access and all(e["status"] == 200 and
                                                       e["listener"] == "plain"
                                                       for e in access), access)
                        self.assert_issued_and_stored(b, https_port, metrics_port, storage)
                        # The connection opened before the swap keeps its session.
                        held.sendall(b"GET / HTTP/1.1\r\nHost: a.test\r\n\r\n")
                        self.assertTrue(held.recv(4096).startswith(b"HTTP/1.1 5"))
                        held.close()
                        # A reload keeps the certificate and orders nothing new.
                        _, serial, _ = served_cert(https_port)
                        b.reload()
                        self.assertEqual(served_cert(https_port)[1], serial)
                        self.assertEqual(len(b.events("acme.certificate_issued")), 1)
                        self.assertEqual(len(b.events("server.started")), 1)

    def test_tls_alpn01_issues_on_the_https_listener(self):
        def body(b, pebble, https_port, metrics_port, storage):
            self.wait_issued(b)
            self.assertFalse([e for e in b.events("http.access")
                              if "acme-challenge" in e["path"]], "http-01 was not asked for")
            self.assert_issued_and_stored(b, https_port, metrics_port, storage)
            # With no challenge pending, acme-tls/1 alone is refused like any unknown protocol.
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
            ctx.set_alpn_protocols(["acme-tls/1"])
            with socket.create_connection(("127.0.0.1", https_port), timeout=5) as raw:
                with self.assertRaises(ssl.SSLError):
                    ctx.wrap_socket(raw, server_hostname="a.test")
        self.run_case("tls-alpn-01", body)

    def test_short_lifetime_renews_at_two_thirds(self):
        def body(b, pebble, https_port, metrics_port, storage):
            self.wait_issued(b)
            _, first, _ = self.served_when(https_port, lambda c: "Pebble" in c[0], "issued")
            issued = b.events("acme.certificate_issued")[0]
            # Pebble's lifetime here is 6 s, so renewal is due 4 s after not-before.
            self.assertLessEqual(issued["renew_at"] - (issued["not_after"] - 6), 5)
            self.wait_issued(b, 2)
            self.served_when(https_port, lambda c: c[1] != first, "the renewed certificate")
            self.assertFalse(b.events("acme.order_failed"))
        self.run_case("http-01", body, validity=6)

    def test_refused_challenge_backs_off_and_old_certificate_keeps_serving(self):
        def body(b, pebble, https_port, metrics_port, storage):
            self.wait_issued(b)
            _, first, _ = self.served_when(https_port, lambda c: "Pebble" in c[0], "issued")
            # Pebble now validates a.test at 127.0.0.2, where nothing answers.
            issued = len(b.events("acme.certificate_issued"))
            pebble.point("a.test", "127.0.0.2")
            wait_until(lambda: any(f["failures"] == 2 for f in b.events("acme.order_failed")),
                       timeout=ISSUE_TIMEOUT, what="two failed renewals in a row")
            failed = b.events("acme.order_failed")
            streak = failed_streak(failed)
            # The directory's own problem document, e.g. "challenge http-01 for a.test: … is
            # invalid: urn:ietf:params:acme:error:connection … 127.0.0.2:PORT: connection refused"
            self.assertRegex(streak[0]["reason"], r"http-01 for a\.test: .*invalid: "
                             r"urn:ietf:params:acme:error:connection .*127\.0\.0\.2")
            self.assertEqual([f["retry_in_s"] for f in streak], [1, 2])
            if len(b.events("acme.certificate_issued")) > issued:
                # Pebble reuses a valid authorization now and then even with
                # PEBBLE_AUTHZREUSE=0 (its test is `rand.Intn(100) > percent`, so 1 in 100):
                # such a renewal succeeds without a challenge and restarts the failure count.
                # The certificate to keep serving is then the one that renewal brought.
                first = self.served_when(https_port, lambda c: c[1] != first,
                                         "the certificate a reused authorization renewed")[1]
            _, now, _ = served_cert(https_port)
            self.assertEqual(now, first, "the old certificate must keep serving")
            text = scrape(metrics_port)
            self.assertGreaterEqual(sample(text, "ballast_acme_orders_total", domain="a.test",
                                           result="failed"), 2)
            issued = len(b.events("acme.certificate_issued"))
            pebble.point("a.test", None)
            self.wait_issued(b, issued + 1)
            self.served_when(https_port, lambda c: c[1] != first, "the renewed certificate")
        self.run_case("http-01", body, validity=6)


if __name__ == "__main__":
    main()
