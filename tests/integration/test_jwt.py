"""tests/integration/test_jwt.py — `jwt:` through the real binary: for RS256, ES256, EdDSA and
HS256 a good token passes and its claim reaches the backend (a client's copy removed); a bad
signature, expiry, nbf, wrong audience, alg none and an HS256 token keyed with the RSA public
key get 401; no token gets 401 with the bare Bearer challenge; a JWKS change is picked up
without a restart; a rate limit keyed on the sub claim counts each subject apart and falls back
to the client's address without a token. Keys are made here; traffic stays on 127.0.0.1."""
import base64
import json
import os
import socket
import subprocess
import tempfile
import time

from cryptography.hazmat.primitives import hashes, hmac, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa, utils

from harness import Ballast, BallastTest, free_port, main, wait_until
from http_backends import HttpBackend


def b64(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def uint(n, size=None):
    return b64(n.to_bytes(size or (n.bit_length() + 7) // 8, "big"))


class Keys:
    def __init__(self):
        self.rsa = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.ec = ec.generate_private_key(ec.SECP256R1())
        self.ed = ed25519.Ed25519PrivateKey.generate()
        self.secret = os.urandom(32)

    def jwks(self, suffix=""):
        rn = self.rsa.public_key().public_numbers()
        en = self.ec.public_key().public_numbers()
        ed = self.ed.public_key().public_bytes(serialization.Encoding.Raw,
                                               serialization.PublicFormat.Raw)
        return {"keys": [
            {"kty": "RSA", "kid": "rsa" + suffix, "n": uint(rn.n), "e": uint(rn.e)},
            {"kty": "EC", "kid": "ec" + suffix, "crv": "P-256", "x": uint(en.x, 32),
             "y": uint(en.y, 32)},
            {"kty": "OKP", "kid": "ed" + suffix, "crv": "Ed25519", "x": b64(ed)},
            {"kty": "oct", "kid": "hs" + suffix, "k": b64(self.secret)},
        ]}

    def sign(self, alg, kid, claims, key=None):
        header = {"alg": alg, "typ": "JWT"}
        if kid:
            header["kid"] = kid
        data = (b64(json.dumps(header).encode()) + "." +
                b64(json.dumps(claims).encode())).encode()
        if alg == "RS256":
            sig = self.rsa.sign(data, padding.PKCS1v15(), hashes.SHA256())
        elif alg == "ES256":
            r, s = utils.decode_dss_signature(self.ec.sign(data, ec.ECDSA(hashes.SHA256())))
            sig = r.to_bytes(32, "big") + s.to_bytes(32, "big")
        elif alg == "EdDSA":
            sig = self.ed.sign(data)
        elif alg == "HS256":
            h = hmac.HMAC(key if key is not None else self.secret, hashes.SHA256())
            h.update(data)
            sig = h.finalize()
        else:
            sig = b""
        return data.decode() + "." + b64(sig)


def get(port, token=None, extra=""):
    auth = f"Authorization: Bearer {token}\r\n" if token else ""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(f"GET /echo-headers HTTP/1.1\r\nHost: a\r\n{auth}{extra}"
                  "Connection: close\r\n\r\n".encode())
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    head, _, body = data.decode(errors="replace").partition("\r\n\r\n")
    return int(head.split()[1]), head, body


class JwtTest(BallastTest):
    @classmethod
    def setUpClass(cls):
        cls.backend = HttpBackend("app")
        cls.keys = Keys()
        cls.dir = tempfile.mkdtemp()
        cls.jwks = os.path.join(cls.dir, "jwks.json")
        with open(cls.jwks, "w") as f:
            json.dump(cls.keys.jwks(), f)

    @classmethod
    def tearDownClass(cls):
        cls.backend.shutdown()

    def config(self, web):
        return f"""workers: 2
listeners:
  - name: web
    bind: "127.0.0.1:{web}"
    protocol: http
    http2: true
    pool: app
    jwt:
      issuer: https://issuer.test
      audiences: [api]
      jwks_file: {self.jwks}
      algorithms: [RS256, ES256, EdDSA, HS256]
      realm: api
      forward_claims: {{sub: X-User}}
pools:
  - name: app
    backends: [{{address: "127.0.0.1:{self.backend.server_address[1]}"}}]
"""

    def claims(self, **over):
        now = int(time.time())
        c = {"iss": "https://issuer.test", "aud": "api", "sub": "alice", "exp": now + 600,
             "nbf": now - 10}
        c.update(over)
        return c

    def test_algorithms_and_failures(self):
        web = free_port()
        with Ballast(self.config(web)):
            status, head, _ = get(web)
            self.assertEqual(status, 401)
            self.assertIn('WWW-Authenticate: Bearer realm="api"\r\n', head + "\r\n")
            now = int(time.time())
            for alg, kid in (("RS256", "rsa"), ("ES256", "ec"), ("EdDSA", "ed"), ("HS256", "hs")):
                with self.subTest(alg=alg):
                    good = self.keys.sign(alg, kid, self.claims())
                    status, _, body = get(web, good, "X-User: mallory\r\n")
                    self.assertEqual(status, 200, body)
                    users = [v for k, v in json.loads(body) if k.lower() == "x-user"]
                    self.assertEqual(users, ["alice"])
                    # kid absent: keys of the fitting type are tried.
                    self.assertEqual(get(web, self.keys.sign(alg, None, self.claims()))[0], 200)
                    head64, payload64, sig64 = good.split(".")
                    bad = head64 + "." + b64(json.dumps(self.claims(sub="root")).encode()) + \
                        "." + sig64
                    status, head, _ = get(web, bad)
                    self.assertEqual(status, 401)
                    self.assertIn('error="invalid_token"', head)
                    for claims in (self.claims(exp=now - 3600), self.claims(nbf=now + 3600),
                                   self.claims(aud="other"), self.claims(iss="https://evil")):
                        self.assertEqual(get(web, self.keys.sign(alg, kid, claims))[0], 401)
            none = b64(b'{"alg":"none"}') + "." + b64(json.dumps(self.claims()).encode()) + "."
            self.assertEqual(get(web, none)[0], 401)
            pem = self.keys.rsa.public_key().public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
            for kid in ("rsa", None):
                confused = self.keys.sign("HS256", kid, self.claims(), key=pem)
                self.assertEqual(get(web, confused)[0], 401)

    def test_http2_prior_knowledge(self):
        web = free_port()
        with Ballast(self.config(web)):
            def h2(*args):
                out = subprocess.run(
                    ["curl", "-s", "--http2-prior-knowledge", "-D", "-", "-H", "X-User: mallory",
                     *args, f"http://127.0.0.1:{web}/echo-headers"],
                    capture_output=True, text=True, timeout=10).stdout
                return out
            out = h2()
            self.assertIn("HTTP/2 401", out)
            self.assertIn('www-authenticate: Bearer realm="api"', out)
            bad = self.keys.sign("ES256", "ec", self.claims(aud="other"))
            out = h2("-H", f"Authorization: Bearer {bad}")
            self.assertIn("HTTP/2 401", out)
            self.assertIn('error="invalid_token"', out)
            good = self.keys.sign("ES256", "ec", self.claims())
            out = h2("-H", f"Authorization: Bearer {good}")
            self.assertIn("HTTP/2 200", out)
            body = json.loads(out.split("\n\n", 1)[1])
            self.assertEqual([v for k, v in body if k.lower() == "x-user"], ["alice"])

    def test_rate_limit_keyed_on_claim(self):
        web = free_port()
        cfg = self.config(web).replace(
            "      realm: api\n",
            "      realm: api\n      optional: true\n").replace(
            "    pool: app\n    jwt:",
            "    pool: app\n    rate_limit: {name: per-user, key: jwt_claim:sub, rate: 2/m}\n"
            "    jwt:")
        with Ballast(cfg):
            alice = self.keys.sign("ES256", "ec", self.claims())
            bob = self.keys.sign("ES256", "ec", self.claims(sub="bob"))
            self.assertEqual([get(web, alice)[0] for _ in range(2)], [200, 200])
            status, head, _ = get(web, alice)
            self.assertEqual(status, 429)
            self.assertIn('RateLimit-Policy: "per-user";q=2;w=60', head)
            # Same address, another subject: its own bucket.
            self.assertEqual([get(web, bob)[0] for _ in range(2)], [200, 200])
            # No token (optional): the client's address is the key.
            self.assertEqual([get(web)[0] for _ in range(3)], [200, 200, 429])
            # A bad token is refused by jwt before any claim is counted.
            bad = self.keys.sign("ES256", "ec", self.claims(sub="carol", aud="other"))
            self.assertEqual(get(web, bad)[0], 401)
            carol = self.keys.sign("ES256", "ec", self.claims(sub="carol"))
            self.assertEqual([get(web, carol)[0] for _ in range(3)], [200, 200, 429])

    def test_jwks_change_without_restart(self):
        web = free_port()
        with Ballast(self.config(web)):
            token = self.keys.sign("RS256", "rsa-next", self.claims())
            self.assertEqual(get(web, token)[0], 401)
            with open(self.jwks + ".tmp", "w") as f:
                json.dump(self.keys.jwks("-next"), f)
            os.rename(self.jwks + ".tmp", self.jwks)
            try:
                wait_until(lambda: get(web, token)[0] == 200, what="the new kid passes")
            finally:
                with open(self.jwks + ".tmp", "w") as f:
                    json.dump(self.keys.jwks(), f)
                os.rename(self.jwks + ".tmp", self.jwks)


if __name__ == "__main__":
    main()
