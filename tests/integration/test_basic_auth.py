"""tests/integration/test_basic_auth.py — `basic_auth:` through the real binary with users made by
htpasswd -B (bcrypt): curl -u passes and Authorization is kept from the backend (sent when
forward_credentials is set); a wrong password, an unknown user, garbage base64 and no header get
401 with the Basic challenge, counted by outcome; the same over HTTP/2 prior knowledge (two
streams on one connection pass, the second from the cache); an edited
users file is picked up without a restart; an MD5 (apr1) user is refused at load with the file's
line:column. Traffic stays on 127.0.0.1."""
import json
import os
import re
import subprocess
import tempfile
import urllib.request

from harness import BALLAST_BIN, Ballast, BallastTest, free_port, main, wait_until
from http_backends import HttpBackend


def htpasswd(path, user, password, *flags):
    subprocess.run(["htpasswd", "-b", "-B", "-C", "5", *flags, path, user, password],
                   check=True, capture_output=True)


def curl(port, *args, h2=False):
    cmd = ["curl", "-s", "-D", "-", "-o", "-", *(["--http2-prior-knowledge"] if h2 else []),
           *args, f"http://127.0.0.1:{port}/echo-headers"]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=10).stdout
    head, _, body = out.replace("\r\n", "\n").partition("\n\n")
    status = int(head.split()[1]) if head else 0
    return status, head, body


def metric(port, result):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
        text = r.read().decode()
    m = re.search(rf'^ballast_basic_auth_requests_total\{{listener="web",result="{result}"\}} '
                  r'(\S+)$', text, re.M)
    return int(float(m.group(1))) if m else None


class BasicAuthTest(BallastTest):
    @classmethod
    def setUpClass(cls):
        cls.backend = HttpBackend("app")
        cls.dir = tempfile.mkdtemp()
        cls.users = os.path.join(cls.dir, "users")
        htpasswd(cls.users, "alice", "wonder:land", "-c")
        htpasswd(cls.users, "bob", "builder")

    @classmethod
    def tearDownClass(cls):
        cls.backend.shutdown()

    def config(self, web, metrics, users=None, forward=False):
        return f"""workers: 2
metrics: {{bind: "127.0.0.1:{metrics}"}}
listeners:
  - name: web
    bind: "127.0.0.1:{web}"
    protocol: http
    http2: true
    pool: app
    basic_auth: {{realm: "staff only", users_file: {users or self.users},
                  forward_credentials: {str(forward).lower()}}}
    routes:
      - {{name: health, match: {{path: {{exact: /healthz}}}}, pool: app, basic_auth: off}}
      - {{name: all, match: {{path: /}}, pool: app}}
pools:
  - name: app
    backends: [{{address: "127.0.0.1:{self.backend.server_address[1]}"}}]
"""

    def authorization_sent(self, body):
        return [v for k, v in json.loads(body) if k.lower() == "authorization"]

    def test_credentials_over_http1_and_http2(self):
        web, metrics = free_port(), free_port()
        with Ballast(self.config(web, metrics)):
            for h2 in (False, True):
                with self.subTest(h2=h2):
                    status, head, body = curl(web, "-u", "alice:wonder:land", h2=h2)
                    self.assertEqual(status, 200, head)
                    self.assertEqual(self.authorization_sent(body), [])  # kept from the backend
                    # Keep-alive: two requests on one connection, the second from the cache
                    # (curl 7.88 stalls reusing an h2c connection; nghttp sends both streams).
                    urls = [f"http://127.0.0.1:{web}/a", f"http://127.0.0.1:{web}/b"]
                    if h2:
                        out = subprocess.run(
                            ["nghttp", "-v", "-H", "authorization: Basic Ym9iOmJ1aWxkZXI=", *urls],
                            capture_output=True, text=True, timeout=10).stdout
                        self.assertEqual(re.findall(r":status: (\d+)", out), ["200", "200"])
                    else:
                        out = subprocess.run(
                            ["curl", "-s", "-o", "/dev/null", "-o", "/dev/null", "-w",
                             "%{http_code} %{num_connects}\n", "-u", "bob:builder", *urls],
                            capture_output=True, text=True, timeout=10).stdout
                        self.assertEqual(out.split("\n")[:2], ["200 1", "200 0"])
                    for args in (["-u", "alice:wrong"], ["-u", "mallory:wonder:land"],
                                 ["-H", "Authorization: Basic %%%garbage"],
                                 ["-H", "Authorization: Basic YWxpY2U="], []):
                        status, head, _ = curl(web, *args, h2=h2)
                        self.assertEqual(status, 401, args)
                        self.assertRegex(
                            head, r'(?i)www-authenticate: Basic realm="staff only", '
                            r'charset="UTF-8"')
            self.assertEqual(metric(metrics, "bad_password"), 2)
            self.assertEqual(metric(metrics, "unknown_user"), 2)
            self.assertEqual(metric(metrics, "malformed"), 4)
            self.assertEqual(metric(metrics, "missing"), 2)
            self.assertGreaterEqual(metric(metrics, "ok"), 6)
            # The health route is open.
            out = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}",
                                  f"http://127.0.0.1:{web}/healthz"],
                                 capture_output=True, text=True, timeout=10).stdout
            self.assertEqual(out, "200")

    def test_forward_credentials(self):
        web, metrics = free_port(), free_port()
        with Ballast(self.config(web, metrics, forward=True)):
            status, _, body = curl(web, "-u", "bob:builder")
            self.assertEqual(status, 200)
            self.assertEqual(self.authorization_sent(body), ["Basic Ym9iOmJ1aWxkZXI="])

    def test_users_file_change_without_restart(self):
        users = os.path.join(self.dir, "users-live")
        htpasswd(users, "alice", "one", "-c")
        web, metrics = free_port(), free_port()
        with Ballast(self.config(web, metrics, users=users)):
            self.assertEqual(curl(web, "-u", "alice:one")[0], 200)
            self.assertEqual(curl(web, "-u", "carol:two")[0], 401)
            htpasswd(users, "carol", "two")
            wait_until(lambda: curl(web, "-u", "carol:two")[0] == 200,
                       what="the new user passes")
            htpasswd(users, "alice", "changed")
            wait_until(lambda: curl(web, "-u", "alice:one")[0] == 401,
                       what="the old password (cached before) fails")
            self.assertEqual(curl(web, "-u", "alice:changed")[0], 200)

    def test_weak_hash_refused_at_load(self):
        users = os.path.join(self.dir, "users-weak")
        htpasswd(users, "alice", "one", "-c")
        subprocess.run(["htpasswd", "-b", "-m", users, "old", "pw"], check=True,
                       capture_output=True)
        b = Ballast(self.config(free_port(), free_port(), users=users))
        out = subprocess.run([BALLAST_BIN, "validate", "-c", b.config_path], capture_output=True,
                             text=True, timeout=10)
        self.assertNotEqual(out.returncode, 0)
        self.assertIn(f"{users}:2:5: users_file: user \"old\": MD5-apr1", out.stdout + out.stderr)


if __name__ == "__main__":
    main()
