"""tests/slow/test_testssl.py — Debian's testssl.sh scans an https listener configured the way
docs/tls.md recommends (ECDSA certificate from a CA, OCSP staple, HSTS and security headers) and
the test fails on any finding of severity MEDIUM or above. It takes a few minutes (testssl runs
hundreds of openssl handshakes), so it runs in `make soak`, not in `make test`.

fd budget: testssl opens one connection at a time.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "integration"))
from harness import Ballast, BallastTest, free_port, main  # noqa: E402
from http_backends import HttpBackend  # noqa: E402
from tls_material import make_ca, ocsp_response  # noqa: E402

TESTSSL = shutil.which("testssl") or shutil.which("testssl.sh")
BLOCKING = {"MEDIUM", "HIGH", "CRITICAL"}


def issue_with_ocsp_uri(directory, ca, sans):
    """A server certificate for 127.0.0.1 and `sans`, valid a year, naming an OCSP responder
    (which testssl is not asked to call: the staple answers)."""
    key = os.path.join(directory, "server.key")
    csr = os.path.join(directory, "server.csr")
    leaf = os.path.join(directory, "server.pem.leaf")
    chain = os.path.join(directory, "server.pem")
    ext = os.path.join(directory, "server.ext")
    with open(ext, "w") as f:
        f.write("subjectAltName=IP:127.0.0.1," + ",".join(f"DNS:{s}" for s in sans) + "\n")
        f.write("extendedKeyUsage=serverAuth\nkeyUsage=critical,digitalSignature\n")
        f.write("authorityInfoAccess=OCSP;URI:http://ocsp.test/\n")
    run = lambda *a: subprocess.run(a, check=True, capture_output=True)  # noqa: E731
    run("openssl", "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
        "-keyout", key, "-out", csr, "-subj", "/CN=127.0.0.1")
    run("openssl", "x509", "-req", "-in", csr, "-CA", ca[0], "-CAkey", ca[1], "-CAcreateserial",
        "-out", leaf, "-days", "365", "-extfile", ext)
    with open(chain, "w") as out, open(leaf) as a, open(ca[0]) as b:
        out.write(a.read() + b.read())
    return chain, key


@unittest.skipIf(TESTSSL is None, "testssl.sh not installed (Debian package testssl.sh)")
class TestsslScan(BallastTest):
    def test_no_finding_of_medium_severity_or_above(self):
        directory = tempfile.mkdtemp(prefix="ballast-testssl-")
        self.addCleanup(shutil.rmtree, directory, True)
        ca = make_ca(directory, "scan")
        cert, key = issue_with_ocsp_uri(directory, ca, ["a.test"])
        staple = ocsp_response(directory, ca, cert)
        backend = HttpBackend("app")
        self.addCleanup(backend.close)
        port = free_port()
        config = f"""
workers: 1
listeners:
  - name: web
    bind: "127.0.0.1:{port}"
    protocol: https
    pool: app
    hsts: {{max_age: 365d, include_subdomains: true}}
    security_headers: true
    tls:
      certificates: [{{cert: "{cert}", key: "{key}", ocsp_staple: "{staple}"}}]
pools:
  - {{name: app, backends: [{{address: "{backend.address}"}}]}}
"""
        report = os.path.join(directory, "testssl.json")
        with Ballast(config):
            subprocess.run([TESTSSL, "--quiet", "--color", "0", "--warnings", "off",
                            "--add-ca", ca[0], "-p", "-s", "-f", "-U", "-h", "-S",
                            "--jsonfile-pretty", report, f"127.0.0.1:{port}"],
                           capture_output=True, text=True, timeout=1200)
        with open(report) as f:
            results = json.load(f)
        findings = [(item["id"], item["severity"], item["finding"])
                    for scan in results["scanResult"] for section in scan.values()
                    if isinstance(section, list) for item in section
                    if isinstance(item, dict) and item.get("severity") in BLOCKING]
        self.assertEqual(findings, [], "testssl findings of MEDIUM or above")
        print(f"\ntestssl: no finding of MEDIUM or above ({len(results['scanResult'])} scans)",
              file=sys.stderr)


if __name__ == "__main__":
    main()
