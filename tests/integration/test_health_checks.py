"""tests/integration/test_health_checks.py — the protocol health checks against the real servers
on loopback: PostgreSQL, MariaDB, Redis, dnsmasq, `openssl s_server`, plus test servers for
send_expect (TCP and UDP) and exec. Each backend goes healthy with its server up, unhealthy when
the server stops (or, for Redis with role: master, turns replica), and healthy again.

Health checks run on the control thread's loop, which is epoll whatever `io` says, so each case
runs once. The slow servers (PostgreSQL, MariaDB) start once per class."""
import json
import os
import shutil
import signal
import socket
import socketserver
import subprocess
import tempfile
import threading
import unittest

from harness import (Ballast, BallastTest, UnixHTTPConnection, free_port, main, port_accepts,
                     wait_until)

PG_BIN = "/usr/lib/postgresql/15/bin"
SLOW = 30  # seconds a database gets to start


def backends(lb, pool):
    conn = UnixHTTPConnection(os.path.join(lb.dir, "admin.sock"))
    conn.request("GET", f"/api/v1/pools/{pool}/backends")
    body = conn.getresponse().read()
    conn.close()
    return json.loads(body)["backends"]


def health(lb, pool, index=0):
    return backends(lb, pool)[index]["health"]


def config(lb_dir, pools, top=""):
    """pools: (name, backend address, health_check flow mapping)."""
    out = [top, "workers: 1", "logging: {level: debug}", "admin:",
           f"  socket: {lb_dir}/admin.sock", "listeners:"]
    out.append(f'  - {{name: l4, bind: "127.0.0.1:{free_port()}", pool: {pools[0][0]}}}')
    out.append("pools:")
    for name, address, check in pools:
        out.append(f"  - name: {name}")
        out.append(f"    health_check: {check}")
        out.append(f'    backends: [{{address: "{address}"}}]')
    return "\n".join(out) + "\n"


def start_lb(pools, top=""):
    lb = Ballast("")
    lb.write_config(config(lb.dir, pools, top))
    return lb


FAST = "interval: 200ms, timeout: 150ms, rise: 1, fall: 1"


def wait_health(lb, pool, want, timeout=10):
    """Backends start up, so "up" only counts once a check has said so."""
    result = "ok" if want == "up" else "failed"

    def reached():
        b = backends(lb, pool)[0]
        return b["health"] == want and b.get("check", {}).get("last_result") == result

    wait_until(reached, timeout=timeout, what=f"{pool} {want}")


def children(pid):
    """Live children (zombies included) of any thread of pid."""
    out = []
    for tid in os.listdir(f"/proc/{pid}/task"):
        with open(f"/proc/{pid}/task/{tid}/children") as f:
            out += f.read().split()
    return out


class Proc:
    """A server process we started; stopped by its own pid only."""

    def __init__(self, argv, **kw):
        kw.setdefault("stderr", subprocess.DEVNULL)
        self.p = subprocess.Popen(argv, stdout=subprocess.DEVNULL, **kw)

    def stop(self, sig=signal.SIGTERM):
        if self.p.poll() is None:
            self.p.send_signal(sig)
            try:
                self.p.wait(15)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()


class RedisTest(BallastTest):
    def start_redis(self, port, *extra):
        r = Proc(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                  "--appendonly", "no", *extra])
        wait_until(lambda: port_accepts(port), what="redis")
        return r

    def redis_cli(self, port, *args):
        subprocess.run(["redis-cli", "-p", str(port), *args], check=True, capture_output=True)

    def test_ping_down_and_back(self):
        port = free_port()
        r = self.start_redis(port, "--requirepass", "s3cret")
        try:
            with start_lb([("cache", f"127.0.0.1:{port}",
                            f"{{type: redis, password: s3cret, {FAST}}}"),
                           ("nopass", f"127.0.0.1:{port}", f"{{type: redis, {FAST}}}")]) as lb:
                wait_health(lb, "cache", "up")
                wait_health(lb, "nopass", "down")  # NOAUTH without the password
                b = backends(lb, "nopass")[0]
                self.assertIn("NOAUTH", b["check"]["last_reason"])
                r.stop()
                wait_health(lb, "cache", "down")
                self.assertEqual(backends(lb, "cache")[0]["check"]["last_result"], "failed")
                r = self.start_redis(port, "--requirepass", "s3cret")
                wait_health(lb, "cache", "up")
                self.assertEqual(backends(lb, "cache")[0]["check"]["last_reason"], "PONG")
        finally:
            r.stop()

    def test_role_master_goes_down_as_a_replica(self):
        master_port, port = free_port(), free_port()
        m = self.start_redis(master_port)
        r = self.start_redis(port)
        try:
            with start_lb([("primary", f"127.0.0.1:{port}",
                            f"{{type: redis, role: master, {FAST}}}")]) as lb:
                wait_health(lb, "primary", "up")
                self.redis_cli(port, "REPLICAOF", "127.0.0.1", str(master_port))
                wait_health(lb, "primary", "down")
                self.assertEqual(backends(lb, "primary")[0]["check"]["last_reason"],
                                 "role is slave")
                self.redis_cli(port, "REPLICAOF", "NO", "ONE")
                wait_health(lb, "primary", "up")
        finally:
            r.stop()
            m.stop()


def dns_port():
    """dnsmasq binds the port for UDP and TCP alike, so both must be free."""
    while True:
        port = free_port(kind=socket.SOCK_DGRAM)
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
                return port
            except OSError:
                continue


def dns_answers(port):
    """One A query for svc.test; True once dnsmasq answers it."""
    query = bytes.fromhex("beef01000001000000000000") + b"\x03svc\x04test\x00" + b"\x00\x01\x00\x01"
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(0.2)
        try:
            s.sendto(query, ("127.0.0.1", port))
            return s.recv(512)[:2] == b"\xbe\xef"
        except OSError:
            return False


class DnsTest(BallastTest):
    def start_dnsmasq(self, port):
        """Started and answering, or a failure that says why it is not."""
        log = tempfile.NamedTemporaryFile(prefix="ballast-dnsmasq-", delete=False)
        d = Proc(["dnsmasq", "--no-daemon", "--conf-file=/dev/null", f"--port={port}",
                  "--listen-address=127.0.0.1", "--bind-interfaces", "--no-resolv", "--no-hosts",
                  "--address=/svc.test/198.18.0.1", "--pid-file="], stderr=log)
        p = d.p

        def ready():
            if p.poll() is not None:
                with open(log.name) as f:
                    raise AssertionError(f"dnsmasq exited {p.returncode}: {f.read()}")
            return dns_answers(port)

        wait_until(ready, what="dnsmasq")
        return d

    def test_noerror_down_and_back(self):
        port = dns_port()
        d = self.start_dnsmasq(port)
        try:
            with start_lb([("dns", f"127.0.0.1:{port}",
                            f"{{type: dns, query: svc.test, {FAST}}}")]) as lb:
                wait_health(lb, "dns", "up")
                self.assertTrue(backends(lb, "dns")[0]["check"]["last_reason"].startswith("NOERROR"))
                d.stop()
                wait_health(lb, "dns", "down")
                d = self.start_dnsmasq(port)
                wait_health(lb, "dns", "up")
        finally:
            d.stop()


def make_cert(d, name):
    cert, key = os.path.join(d, "cert.pem"), os.path.join(d, "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2", "-subj", f"/CN={name}",
                    "-addext", f"subjectAltName=DNS:{name}", "-keyout", key, "-out", cert],
                   check=True, capture_output=True)
    return cert, key


class TlsTest(BallastTest):
    def test_handshake_verify_down_and_back(self):
        d = tempfile.mkdtemp(prefix="ballast-tls-")
        cert, key = make_cert(d, "db.svc.test")
        port = free_port()

        def server():
            s = Proc(["openssl", "s_server", "-quiet", "-accept", f"127.0.0.1:{port}", "-cert",
                      cert, "-key", key, "-naccept", "1000000"], stdin=subprocess.DEVNULL)
            wait_until(lambda: port_accepts(port), what="s_server")
            return s

        s = server()
        try:
            good = f"{{type: tls, sni: db.svc.test, verify: true, ca: {cert}, {FAST}}}"
            wrong = f"{{type: tls, sni: other.svc.test, verify: true, ca: {cert}, {FAST}}}"
            with start_lb([("tls", f"127.0.0.1:{port}", good),
                           ("wrongname", f"127.0.0.1:{port}", wrong),
                           ("noverify", f"127.0.0.1:{port}", f"{{type: tls, {FAST}}}")]) as lb:
                wait_health(lb, "tls", "up")
                wait_health(lb, "noverify", "up")
                wait_health(lb, "wrongname", "down")
                self.assertIn("certificate", backends(lb, "wrongname")[0]["check"]["last_reason"])
                s.stop()
                wait_health(lb, "tls", "down")
                s = server()
                wait_health(lb, "tls", "up")
        finally:
            s.stop()
            shutil.rmtree(d, ignore_errors=True)


class LineServer(socketserver.ThreadingTCPServer):
    """Answers each connection with `reply` after reading a line."""
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, port, reply):
        self.reply = reply

        class H(socketserver.StreamRequestHandler):
            def handle(h):
                h.rfile.readline()
                h.wfile.write(self.reply)

        super().__init__(("127.0.0.1", port), H)
        threading.Thread(target=self.serve_forever, daemon=True).start()

    def close(self):
        self.shutdown()
        self.server_close()


class UdpEcho:
    def __init__(self, port, reply):
        self.reply = reply
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", port))
        self.running = True
        threading.Thread(target=self.run, daemon=True).start()

    def run(self):
        while self.running:
            try:
                data, peer = self.sock.recvfrom(2048)
                if data == b"PING\r\n":
                    self.sock.sendto(self.reply, peer)
            except OSError:
                return

    def close(self):
        self.running = False
        self.sock.close()


class SendExpectTest(BallastTest):
    def test_tcp_regex_and_udp_string(self):
        tport, uport = free_port(), free_port(kind=socket.SOCK_DGRAM)
        t = LineServer(tport, b"+OK 42 ready\r\n")
        u = UdpEcho(uport, b"PONG\n")
        try:
            with start_lb([
                ("tcp", f"127.0.0.1:{tport}",
                 f"{{type: send_expect, send: 'HELLO\\r\\n', expect_regex: '^\\+OK [0-9]+', {FAST}}}"),
                ("udp", f"127.0.0.1:{uport}",
                 f"{{type: send_expect, transport: udp, send: 'PING\\r\\n', expect: PONG, {FAST}}}"),
            ]) as lb:
                wait_health(lb, "tcp", "up")
                wait_health(lb, "udp", "up")
                t.reply = b"-ERR busy\r\n"
                wait_health(lb, "tcp", "down")
                self.assertEqual(backends(lb, "tcp")[0]["check"]["last_reason"],
                                 "reply did not match")
                u.close()  # ICMP port unreachable: refused
                wait_health(lb, "udp", "down")
                t.reply = b"+OK 1\r\n"
                u = UdpEcho(uport, b"PONG\n")
                wait_health(lb, "tcp", "up")
                wait_health(lb, "udp", "up")
        finally:
            t.close()
            u.close()


class ExecAndBackoffTest(BallastTest):
    def test_exec_follows_exit_status_and_times_out(self):
        d = tempfile.mkdtemp(prefix="ballast-exec-")
        flag = os.path.join(d, "ok")
        open(flag, "w").close()
        port = free_port()
        try:
            check = (f"{{type: exec, command: [/bin/sh, -c, 'test -e {flag} && "
                     f"test \"$BALLAST_CHECK_PORT\" = {port}'], {FAST}}}")
            slow = "{type: exec, command: [/bin/sleep, '5'], interval: 300ms, timeout: 100ms, fall: 1}"
            with start_lb([("exec", f"127.0.0.1:{port}", check),
                           ("slow", f"127.0.0.1:{port}", slow)], top="allow_exec_checks: true") as lb:
                wait_health(lb, "exec", "up")
                os.unlink(flag)
                wait_health(lb, "exec", "down")
                self.assertEqual(backends(lb, "exec")[0]["check"]["last_reason"], "exit 1")
                open(flag, "w").close()
                wait_health(lb, "exec", "up")
                wait_health(lb, "slow", "down")
                self.assertTrue(backends(lb, "slow")[0]["check"]["last_reason"].startswith("timed out"))
        finally:
            shutil.rmtree(d, ignore_errors=True)

    def test_reload_mid_run_kills_the_command_and_switches_type(self):
        port = free_port()
        srv = LineServer(port, b"")
        slow = "{type: exec, command: [/bin/sleep, '30'], interval: 3s, timeout: 2900ms, jitter: 0}"
        try:
            with start_lb([("app", f"127.0.0.1:{port}", slow)], top="allow_exec_checks: true") as lb:
                wait_until(lambda: children(lb.proc.pid), what="the check's child running")
                lb.reload(config(lb.dir, [("app", f"127.0.0.1:{port}", f"{{type: tcp, {FAST}}}")]))
                # Well before the 2.9 s timeout would have killed it: the reload did.
                wait_until(lambda: not children(lb.proc.pid), timeout=1.5,
                           what="the child killed and reaped")
                wait_health(lb, "app", "up")
                self.assertEqual(backends(lb, "app")[0]["check"]["type"], "tcp")
        finally:
            srv.close()

    def test_exec_is_refused_without_the_opt_in(self):
        lb = start_lb([("exec", "127.0.0.1:1", "{type: exec, command: [/bin/true]}")])
        r = subprocess.run([os.environ.get("BALLAST_BIN", "../../build/ballast"), "validate", "-c",
                            lb.config_path], capture_output=True, text=True)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("allow_exec_checks: true", r.stdout + r.stderr)

    def test_backoff_doubles_while_down_and_resets(self):
        port = free_port()  # nothing listens: refused at once
        check = "{type: tcp, interval: 100ms, timeout: 80ms, rise: 1, fall: 1, backoff: {max: 800ms}, jitter: 0}"
        with start_lb([("app", f"127.0.0.1:{port}", check)]) as lb:
            wait_until(lambda: backends(lb, "app")[0]["check"]["interval_ms"] == 800,
                       what="interval at its backoff limit")
            self.assertEqual(health(lb, "app"), "down")
            srv = LineServer(port, b"")
            try:
                wait_health(lb, "app", "up", timeout=5)
                self.assertEqual(backends(lb, "app")[0]["check"]["interval_ms"], 100)
            finally:
                srv.close()

    def test_separate_check_port_per_backend(self):
        traffic, check_port = free_port(), free_port()
        srv = LineServer(check_port, b"")
        try:
            cfg = (f"workers: 1\nadmin: {{socket: %s/admin.sock}}\npools:\n  - name: app\n"
                   f"    health_check: {{type: tcp, {FAST}}}\n"
                   f"    backends:\n      - {{address: \"127.0.0.1:{traffic}\", "
                   f"health_check: {{address: 127.0.0.1, port: {check_port}}}}}\n"
                   f"      - {{address: \"127.0.0.1:{traffic + 1 if traffic < 65535 else 1}\"}}\n")
            lb = Ballast("")
            lb.write_config(cfg % lb.dir)
            with lb:
                wait_until(lambda: [b["health"] for b in backends(lb, "app")] == ["up", "down"],
                           what="own port up, pool port down")
                self.assertEqual(backends(lb, "app")[0]["check"]["target"], f"127.0.0.1:{check_port}")
        finally:
            srv.close()


class PostgresTest(BallastTest):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="ballast-pg-")
        os.chmod(cls.dir, 0o755)
        cls.data = os.path.join(cls.dir, "data")
        os.mkdir(cls.data)
        shutil.chown(cls.data, "nobody")
        subprocess.run(["runuser", "-u", "nobody", "--", f"{PG_BIN}/initdb", "-D", cls.data,
                        "-U", "postgres", "--auth=trust", "--no-sync"],
                       check=True, capture_output=True)
        # A role the server turns away before authentication: its ErrorResponse comes first.
        hba = os.path.join(cls.data, "pg_hba.conf")
        with open(hba) as f:
            rules = f.read()
        with open(hba, "w") as f:
            f.write("host all blocked 127.0.0.1/32 reject\n" + rules)
        cls.port = free_port()
        cls.proc = None
        cls.start()

    @classmethod
    def start(cls):
        cls.proc = Proc(["runuser", "-u", "nobody", "--", f"{PG_BIN}/postgres", "-D", cls.data,
                         "-k", cls.data, "-p", str(cls.port), "-c", "listen_addresses=127.0.0.1",
                         "-c", "fsync=off"])
        wait_until(lambda: port_accepts(cls.port), timeout=SLOW, what="postgres")

    @classmethod
    def stop(cls):
        # runuser waits for postgres; SIGINT to postgres itself is its fast shutdown.
        with open(os.path.join(cls.data, "postmaster.pid")) as f:
            os.kill(int(f.readline()), signal.SIGINT)
        cls.proc.p.wait(SLOW)

    @classmethod
    def tearDownClass(cls):
        if cls.proc and cls.proc.p.poll() is None:
            cls.stop()
        shutil.rmtree(cls.dir, ignore_errors=True)

    def test_startup_down_and_back(self):
        addr = f"127.0.0.1:{self.port}"
        with start_lb([("pg", addr, f"{{type: postgres, user: postgres, {FAST}}}"),
                       ("blocked", addr, f"{{type: postgres, user: blocked, {FAST}}}")]) as lb:
            wait_health(lb, "pg", "up")
            wait_health(lb, "blocked", "down")
            self.assertIn("pg_hba.conf rejects", backends(lb, "blocked")[0]["check"]["last_reason"])
            type(self).stop()
            wait_health(lb, "pg", "down")
            type(self).start()
            wait_health(lb, "pg", "up")


class MariadbTest(BallastTest):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="ballast-mariadb-")
        cls.data = os.path.join(cls.dir, "data")
        subprocess.run(["mariadb-install-db", "--no-defaults", f"--datadir={cls.data}",
                        "--user=root", "--auth-root-authentication-method=normal",
                        "--skip-test-db"], check=True, capture_output=True)
        cls.port = free_port()
        cls.proc = None
        cls.start()

    @classmethod
    def start(cls):
        cls.proc = Proc(["mariadbd", "--no-defaults", f"--datadir={cls.data}",
                         f"--socket={cls.dir}/mysql.sock", f"--port={cls.port}",
                         "--bind-address=127.0.0.1", "--user=root", "--skip-log-bin",
                         "--innodb-buffer-pool-size=16M", f"--pid-file={cls.dir}/mysql.pid"])
        wait_until(lambda: port_accepts(cls.port), timeout=SLOW, what="mariadbd")

    @classmethod
    def tearDownClass(cls):
        if cls.proc:
            cls.proc.stop()
        shutil.rmtree(cls.dir, ignore_errors=True)

    def test_greeting_down_and_back(self):
        addr = f"127.0.0.1:{self.port}"
        with start_lb([("db", addr, f"{{type: mysql, {FAST}}}"),
                       ("login", addr, f"{{type: mysql, user: monitor, {FAST}}}")]) as lb:
            wait_health(lb, "db", "up")
            wait_health(lb, "login", "up")
            self.assertIn("MariaDB", backends(lb, "db")[0]["check"]["last_reason"])
            self.assertIn("MariaDB", backends(lb, "login")[0]["check"]["last_reason"])
            self.proc.stop()
            wait_health(lb, "db", "down")
            type(self).start()
            wait_health(lb, "db", "up")


if __name__ == "__main__":
    main()
