"""tests/integration/tls_material.py — certificates, chains, client certificates and OCSP
responses made with the openssl command line, for the TLS tests. Everything goes into a
directory the test owns; nothing is fetched."""
import os
import subprocess


def _run(*args, cwd=None):
    subprocess.run(list(args), check=True, cwd=cwd, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)


def make_ca(directory, name):
    """A self-signed CA; returns (cert path, key path)."""
    cert = os.path.join(directory, f"{name}-ca.pem")
    key = os.path.join(directory, f"{name}-ca.key")
    _run("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-nodes", "-keyout", key, "-out", cert, "-days", "30", "-subj", f"/CN={name} test CA",
         "-addext", "basicConstraints=critical,CA:TRUE",
         "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    return cert, key


def issue(directory, ca, name, subject, sans=(), client=False, days=30, chain=True,
          usage=None):
    """A certificate signed by `ca` (cert, key); with chain, its file also holds the CA after
    the leaf. `usage` overrides the extended key usage (e.g. "serverAuth,clientAuth" for a
    server that also dials itself, as etcd's gateway does). Returns (cert path, key path)."""
    cert = os.path.join(directory, f"{name}.pem")
    key = os.path.join(directory, f"{name}.key")
    csr = os.path.join(directory, f"{name}.csr")
    ext = os.path.join(directory, f"{name}.ext")
    with open(ext, "w") as f:
        if sans:
            # "IP:127.0.0.1" stays as it is; anything else is a DNS name.
            f.write("subjectAltName=" + ",".join(s if s.startswith("IP:") else f"DNS:{s}"
                                                 for s in sans) + "\n")
        f.write("extendedKeyUsage=" + (usage or ("clientAuth" if client else "serverAuth")) + "\n")
    _run("openssl", "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
         "-keyout", key, "-out", csr, "-subj", subject)
    leaf = cert + ".leaf"
    _run("openssl", "x509", "-req", "-in", csr, "-CA", ca[0], "-CAkey", ca[1],
         "-CAcreateserial", "-out", leaf, "-days", str(days), "-extfile", ext)
    with open(cert, "w") as out, open(leaf) as leaf_pem, open(ca[0]) as ca_pem:
        out.write(leaf_pem.read())
        if chain:
            out.write(ca_pem.read())
    return cert, key


def ocsp_response(directory, ca, cert, name="staple"):
    """A DER OCSP response, signed by the CA, saying `cert` (its leaf) is good."""
    index = os.path.join(directory, f"{name}-index.txt")
    leaf = cert + ".leaf"
    serial = subprocess.run(["openssl", "x509", "-in", leaf, "-noout", "-serial"], check=True,
                            capture_output=True, text=True).stdout.strip().split("=")[1]
    subject = subprocess.run(["openssl", "x509", "-in", leaf, "-noout", "-subject",
                              "-nameopt", "compat"], check=True, capture_output=True,
                             text=True).stdout.strip().split("=", 1)[1]
    with open(index, "w") as f:  # the CA database line that makes the certificate "good"
        f.write(f"V\t991231235959Z\t\t{serial}\tunknown\t{subject}\n")
    out = os.path.join(directory, f"{name}.der")
    _run("openssl", "ocsp", "-index", index, "-rsigner", ca[0], "-rkey", ca[1], "-CA", ca[0],
         "-issuer", ca[0], "-cert", cert + ".leaf", "-respout", out, "-ndays", "1")
    return out


def tls_backend(name, cert, key, client_ca=None):
    """An HttpBackend that speaks TLS with (cert, key); with client_ca it requires a client
    certificate issued by it. Attributes: resumed (list of bools per connection), handshake
    failures (count), client_subjects."""
    import ssl
    from http_backends import HttpBackend

    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    if client_ca:
        ctx.load_verify_locations(client_ca)
        ctx.verify_mode = ssl.CERT_REQUIRED

    class Backend(HttpBackend):
        def __init__(self):
            self.resumed = []
            self.failures = 0
            self.client_subjects = []
            super().__init__(name)

        def finish_request(self, request, client_address):
            try:
                tls = ctx.wrap_socket(request, server_side=True)
            except (ssl.SSLError, OSError):
                with self.lock:
                    self.failures += 1
                return
            with self.lock:
                self.resumed.append(tls.session_reused)
                peer = tls.getpeercert()
                if peer:
                    self.client_subjects.append(dict(x[0] for x in peer["subject"]))
            super().finish_request(tls, client_address)

    return Backend()
