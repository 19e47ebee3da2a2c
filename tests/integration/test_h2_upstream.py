"""tests/integration/test_h2_upstream.py — HTTP/2 towards backends (`upstream_protocol: h2|h2c`):
nginx speaking h2 on a TLS listener (ALPN) and h2c by prior knowledge on a cleartext one, reached
by HTTP/1.1 clients (curl) and HTTP/2 clients (curl --http2-prior-knowledge); one shared backend
connection carries the worker's exchanges; large bodies both ways keep their checksums (nginx
passes them to a python HTTP/1.1 backend); a backend GOAWAY that refuses a stream makes it go
again on a new connection, unseen by the client. Each case on both I/O backends.
"""
import hashlib
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import unittest

try:
    import h2.config
    import h2.connection
    import h2.events
except ImportError:
    sys.path.append("/usr/lib/python3/dist-packages")
    import h2.config
    import h2.connection
    import h2.events

from harness import IO_BACKENDS, Ballast, BallastTest, free_port, main, port_accepts, wait_until
from http_backends import HttpBackend, payload, payload_sha256

MIB = 1 << 20


def curl(*args, timeout=60):
    proc = subprocess.run(["curl", "-sS", "--max-time", str(timeout), *args],
                          capture_output=True, timeout=timeout + 5)
    if proc.returncode != 0:
        raise AssertionError(f"curl {args} exited {proc.returncode}: {proc.stderr.decode()}")
    return proc.stdout, proc.stderr.decode()


class GoawayBackend:
    """An h2c server (python3-h2): the first connection answers its first request with GOAWAY
    (last-stream-id 0: nothing processed) and closes; later connections answer 200 normally."""

    def __init__(self, trailers=False):
        self.trailers = trailers  # answer with a body, then grpc-style trailers
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        self.goaways = 0
        self.closed = False
        threading.Thread(target=self.serve, daemon=True).start()

    def serve(self):
        while not self.closed:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self.handle, args=(conn, self.connections == 1),
                             daemon=True).start()

    def handle(self, conn, refuse):
        h2c = h2.connection.H2Connection(h2.config.H2Configuration(client_side=False))
        h2c.initiate_connection()
        conn.sendall(h2c.data_to_send())
        try:
            while True:
                data = conn.recv(65536)
                if not data:
                    return
                for ev in h2c.receive_data(data):
                    if isinstance(ev, h2.events.RequestReceived):
                        if refuse:
                            h2c.close_connection(last_stream_id=0)
                            conn.sendall(h2c.data_to_send())
                            self.goaways += 1
                            conn.close()
                            return
                        if self.trailers:
                            h2c.send_headers(ev.stream_id, [(":status", "200"),
                                                            ("content-type", "application/grpc")])
                            h2c.send_data(ev.stream_id, b"message")
                            h2c.send_headers(ev.stream_id, [("grpc-status", "7"),
                                                            ("grpc-message", "denied")],
                                             end_stream=True)
                            continue
                        body = b"second connection"
                        h2c.send_headers(ev.stream_id, [(":status", "200"),
                                                        ("content-length", str(len(body)))])
                        h2c.send_data(ev.stream_id, body, end_stream=True)
                conn.sendall(h2c.data_to_send())
        except OSError:
            return
        finally:
            conn.close()

    def close(self):
        self.closed = True
        self.sock.close()


@unittest.skipUnless(shutil.which("nginx") and shutil.which("curl") and shutil.which("openssl"),
                     "needs nginx, curl and openssl")
class H2UpstreamTest(BallastTest):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="ballast-h2up-")
        cls.cert = os.path.join(cls.dir, "cert.pem")
        cls.key = os.path.join(cls.dir, "key.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                        "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", cls.key, "-out",
                        cls.cert, "-days", "2", "-subj", "/CN=backend.test",
                        "-addext", "subjectAltName=DNS:backend.test"],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        cls.app = HttpBackend("app")
        cls.nginx_tls, cls.nginx_clear = free_port(), free_port()
        conf = os.path.join(cls.dir, "nginx.conf")
        with open(conf, "w") as f:
            f.write(f"""
worker_processes 1;
pid {cls.dir}/nginx.pid;
error_log {cls.dir}/error.log;
events {{ worker_connections 1024; }}
http {{
  access_log off;
  client_body_temp_path {cls.dir}/body;
  proxy_temp_path {cls.dir}/proxy;
  fastcgi_temp_path {cls.dir}/fcgi;
  uwsgi_temp_path {cls.dir}/uwsgi;
  scgi_temp_path {cls.dir}/scgi;
  client_max_body_size 0;
  server {{
    listen 127.0.0.1:{cls.nginx_tls} ssl http2;
    listen 127.0.0.1:{cls.nginx_clear} http2;
    ssl_certificate {cls.cert};
    ssl_certificate_key {cls.key};
    location /whoami {{ return 200 "proto=$server_protocol conn=$connection host=$host\\n"; }}
    location / {{
      proxy_pass http://{cls.app.address};
      proxy_http_version 1.1;
      proxy_request_buffering off;
      proxy_buffering off;
    }}
  }}
}}
""")
        cls.nginx = subprocess.Popen(["nginx", "-c", conf, "-p", cls.dir, "-g", "daemon off;"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_until(lambda: port_accepts(cls.nginx_tls) and port_accepts(cls.nginx_clear),
                   what="nginx listening")

    @classmethod
    def tearDownClass(cls):
        cls.nginx.terminate()
        cls.nginx.wait()
        cls.app.close()
        shutil.rmtree(cls.dir, ignore_errors=True)

    def config(self, h1_port, h2c_port, extra_pools="", first_pool="h2"):
        return f"""
workers: 1
logging: {{level: info}}
listeners:
  - {{name: to-h2, bind: "127.0.0.1:{h1_port}", protocol: http, http2: true, pool: {first_pool}}}
  - {{name: to-h2c, bind: "127.0.0.1:{h2c_port}", protocol: http, http2: true, pool: h2c}}
pools:
  - name: h2
    upstream_protocol: h2
    tls: {{ca: "{self.cert}", sni: backend.test}}
    backends: [{{address: "127.0.0.1:{self.nginx_tls}"}}]
  - name: h2c
    upstream_protocol: h2c
    max_streams_per_connection: 8
    backends: [{{address: "127.0.0.1:{self.nginx_clear}"}}]
{extra_pools}"""

    def each_io(self, body, extra_pools=""):
        for io in IO_BACKENDS:
            with self.subTest(io=io):
                h1_port, h2c_port = free_port(), free_port()
                with Ballast(self.config(h1_port, h2c_port, extra_pools), io=io) as b:
                    body(b, f"http://127.0.0.1:{h1_port}", f"http://127.0.0.1:{h2c_port}")

    def test_h1_and_h2_clients_reach_h2_and_h2c_backends(self):
        def body(b, to_h2, to_h2c):
            for base, flags in ((to_h2, ["--http1.1"]), (to_h2, ["--http2-prior-knowledge"]),
                                (to_h2c, ["--http1.1"]), (to_h2c, ["--http2-prior-knowledge"])):
                out, err = curl("-v", *flags, f"{base}/whoami")
                self.assertIn("proto=HTTP/2.0", out.decode(), (base, flags))
                self.assertIn("host=127.0.0.1", out.decode())
                # HTTP/1.1 clients get a reason phrase (h2load's parser refuses an empty one).
                self.assertIn("< HTTP/1.1 200 OK" if "1.1" in flags[0] else "< HTTP/2 200", err)
        self.each_io(body)

    def test_one_backend_connection_carries_the_exchanges(self):
        def body(b, to_h2, to_h2c):
            for base in (to_h2, to_h2c):
                conns = set()
                for _ in range(20):  # a new client connection each time
                    out, _ = curl("--http1.1", f"{base}/whoami")
                    conns.add(out.decode().split("conn=")[1].split()[0])
                self.assertEqual(len(conns), 1, (base, conns))
        self.each_io(body)

    def test_large_bodies_both_ways_keep_their_checksums(self):
        size = 16 * MIB
        path = os.path.join(self.dir, "upload.bin")
        with open(path, "wb") as f:
            f.write(payload(size))
        want = hashlib.sha256(payload(size)).hexdigest()
        def body(b, to_h2, to_h2c):
            for base, flags in ((to_h2, ["--http1.1"]), (to_h2c, ["--http2-prior-knowledge"])):
                out, _ = curl(*flags, "--data-binary", f"@{path}", f"{base}/sha256")
                got = json.loads(out)
                self.assertEqual((got["sha256"], got["length"]), (want, size), base)
                out, _ = curl(*flags, f"{base}/download/chunked/{size}")
                self.assertEqual(hashlib.sha256(out).hexdigest(), payload_sha256(size), base)
        self.each_io(body)

    def test_goaway_refused_stream_goes_again_unseen(self):
        for io in IO_BACKENDS:
            with self.subTest(io=io):
                refuse = GoawayBackend()
                try:
                    h1_port, h2c_port = free_port(), free_port()
                    pools = f"""  - name: refuse
    upstream_protocol: h2c
    backends: [{{address: "127.0.0.1:{refuse.port}"}}]
"""
                    with Ballast(self.config(h1_port, h2c_port, pools, "refuse"), io=io):
                        out, err = curl("-v", "--http1.1", f"http://127.0.0.1:{h1_port}/refuse")
                        self.assertEqual(out, b"second connection")
                        self.assertIn("< HTTP/1.1 200", err)
                        self.assertEqual(refuse.goaways, 1)
                        self.assertEqual(refuse.connections, 2)
                finally:
                    refuse.close()

    @unittest.skipUnless(shutil.which("nghttp"), "needs nghttp (nghttp2-client)")
    def test_trailers_reach_h2_clients(self):
        for io in IO_BACKENDS:
            with self.subTest(io=io):
                backend = GoawayBackend(trailers=True)
                try:
                    h1_port, h2c_port = free_port(), free_port()
                    pools = f"""  - name: refuse
    upstream_protocol: h2c
    backends: [{{address: "127.0.0.1:{backend.port}"}}]
"""
                    with Ballast(self.config(h1_port, h2c_port, pools, "refuse"), io=io):
                        proc = subprocess.run(["nghttp", "-v", "-t", "10",
                                               f"http://127.0.0.1:{h1_port}/svc.Echo/Say"],
                                              capture_output=True, timeout=20)
                        out = proc.stdout.decode()
                        self.assertIn("message", out)
                        # The trailers come in their own HEADERS frame, which ends the stream.
                        tail = out[out.index("message"):]
                        self.assertIn("grpc-status: 7", tail, out)
                        self.assertIn("grpc-message: denied", tail, out)
                        # An HTTP/1.1 client gets the body chunked and the trailers in the
                        # last chunk.
                        out, _ = curl("--http1.1", "--raw", f"http://127.0.0.1:{h1_port}/x")
                        self.assertEqual(out, b"7\r\nmessage\r\n0\r\ngrpc-status: 7\r\n"
                                              b"grpc-message: denied\r\n\r\n")
                finally:
                    backend.close()


if __name__ == "__main__":
    main()
