"""tests/integration/test_config_etcd_tls.py — `config_source: {etcd: {endpoints, prefix, tls}}`
against Debian's etcd serving HTTPS and asking for a client certificate, with a dead endpoint
listed first.

Certificates are made here with openssl (tls_material): a CA, etcd's server certificate for
IP 127.0.0.1, and a client certificate. What it holds Ballast to:
- `ballast config push --ca --cert --key` over https, its first endpoint refusing connections:
  it moves on to the next and writes the file;
- a node whose bootstrap lists the dead endpoint first and gives `tls: {ca, cert, key}` serves
  the prefix's configuration, and follows a later push;
- without the client certificate, etcd refuses the handshake: the push fails (exit 3, naming the endpoint) and a node
  fails to start, loudly (`config.source_unreachable`), rather than serve nothing.
fd budget: a few sockets per process."""
import os
import re
import shutil
import ssl
import subprocess
import tempfile
import unittest

from harness import (BALLAST_BIN, Backend, Ballast, BallastTest, ask_name, free_port, main,
                     wait_until)
from test_config_etcd import ETCD_BIN, PREFIX, Etcd, pools_yaml, source
from tls_material import issue, make_ca


class TlsEtcd(Etcd):
    """The one-member etcd of test_config_etcd, serving HTTPS with client certificates."""

    def __init__(self, tls_dir):
        self.ca = make_ca(tls_dir, "etcd")
        # etcd's JSON gateway dials etcd's own gRPC port with this certificate: both usages.
        self.server = issue(tls_dir, self.ca, "etcd-server", "/CN=etcd", sans=["IP:127.0.0.1"],
                            usage="serverAuth,clientAuth")
        self.client = issue(tls_dir, self.ca, "etcd-client", "/CN=ballast", client=True)
        ctx = ssl.create_default_context(cafile=self.ca[0])
        ctx.load_cert_chain(*self.client)
        super().__init__("https", ["--cert-file", self.server[0], "--key-file", self.server[1],
                                   "--client-cert-auth", "--trusted-ca-file", self.ca[0]], ctx)


@unittest.skipUnless(os.path.exists(ETCD_BIN), "etcd not installed (package etcd-server)")
class ConfigFromEtcdOverTls(BallastTest):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="ballast-etcd-tls-")
        self.addCleanup(shutil.rmtree, self.tmp, True)
        self.etcd = TlsEtcd(self.tmp)
        self.addCleanup(self.etcd.close)  # before start: an etcd that never answers is killed too
        self.etcd.start()
        self.dead = f"http://127.0.0.1:{free_port()}"  # nothing listens: refused at once
        self.backends = {n: Backend(n) for n in ("one", "two")}
        for b in self.backends.values():
            self.addCleanup(b.close)

    def push(self, backend, with_client_cert=True):
        path = os.path.join(self.tmp, "ballast.yaml")
        with open(path, "w") as f:
            f.write(pools_yaml(self.backends[backend]))
        args = [BALLAST_BIN, "config", "push", path, "--etcd", f"{self.dead},{self.etcd.url}",
                "--prefix", PREFIX, "--ca", self.etcd.ca[0]]
        if with_client_cert:
            args += ["--cert", self.etcd.client[0], "--key", self.etcd.client[1]]
        return subprocess.run(args, capture_output=True, text=True, timeout=30)

    def node(self, with_client_cert=True):
        port = free_port()
        lb = Ballast("")
        cert = (f", cert: \"{self.etcd.client[0]}\", key: \"{self.etcd.client[1]}\""
                if with_client_cert else "")
        lb.write_config(f"""admin: {{socket: "{lb.dir}/admin.sock"}}
listeners:
  - {{name: front, bind: "127.0.0.1:{port}", pool: app}}
config_source:
  etcd:
    endpoints: ["{self.dead}", "{self.etcd.url}"]
    prefix: {PREFIX}
    tls: {{ca: "{self.etcd.ca[0]}"{cert}}}
""")
        return lb, port

    def test_https_with_client_certificate_past_a_dead_endpoint(self):
        r = self.push("one")
        self.assertEqual(r.returncode, 0, r.stderr)
        first = int(re.search(r"at revision (\d+)", r.stdout).group(1))
        self.assertEqual(self.etcd.keys()[PREFIX + "ballast.yaml"],
                         pools_yaml(self.backends["one"]))
        lb, port = self.node()
        with lb:
            wait_until(lambda: source(lb)["revision"] >= first, what="first revision served")
            self.assertEqual(ask_name(port), "one")
            wait_until(lambda: source(lb)["watching"], what="watch established over https")
            r = self.push("two")
            self.assertEqual(r.returncode, 0, r.stderr)
            second = int(re.search(r"at revision (\d+)", r.stdout).group(1))
            wait_until(lambda: source(lb)["revision"] >= second, what="second revision served")
            for _ in range(3):
                self.assertEqual(ask_name(port), "two")

    def test_without_the_client_certificate_etcd_refuses(self):
        self.assertEqual(self.push("one").returncode, 0)
        r = self.push("two", with_client_cert=False)
        self.assertEqual(r.returncode, 3, r.stderr)  # 3: no endpoint took the push
        self.assertIn(self.etcd.url, r.stderr)
        self.assertEqual(self.etcd.keys()[PREFIX + "ballast.yaml"],
                         pools_yaml(self.backends["one"]))
        lb, _ = self.node(with_client_cert=False)
        with self.assertRaises(AssertionError) as caught:
            lb.start()
        lb.log_file.close()
        self.assertIn("config.source_unreachable", str(caught.exception))


if __name__ == "__main__":
    main()
