"""tests/integration/test_grpc_tls.py — gRPC health checks over TLS: a python3-grpcio server
that speaks only TLS (a certificate from a CA made here), behind a pool with
`upstream_protocol: h2` and `tls: {verify: true, ca, sni}`. `health_check: {type: grpc}` on
that pool speaks TLS with the pool's settings and ALPN h2: the backend counts the checks, calls
pass through, NOT_SERVING takes the backend down and SERVING brings it back. A pool that trusts
another CA sees the backend down for its certificate. Each case on both I/O backends; traffic
stays on 127.0.0.1.
"""
import shutil
import tempfile
import threading
from concurrent import futures

from test_grpc import (CHANNEL_OPTIONS, NOT_SERVING, SERVING, grpc, health_response,
                       health_service_of, metric, scrape)

from harness import IO_BACKENDS, Ballast, BallastTest, free_port, main, wait_until
from http_backends import log_events
from tls_material import issue, make_ca

SERVICE = "test.Echo"
SNI = "grpc.test"


class TlsGrpcBackend:
    """A grpcio server on loopback over TLS only: Echo/Unary and grpc.health.v1.Health."""

    def __init__(self, cert, key):
        self.health = {"": SERVING, "echo": SERVING}
        self.health_checks = 0
        self.lock = threading.Lock()
        self.server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
        self.server.add_generic_rpc_handlers((
            grpc.method_handlers_generic_handler(
                SERVICE, {"Unary": grpc.unary_unary_rpc_method_handler(self.unary)}),
            grpc.method_handlers_generic_handler(
                "grpc.health.v1.Health",
                {"Check": grpc.unary_unary_rpc_method_handler(self.check)})))
        with open(cert, "rb") as c, open(key, "rb") as k:
            creds = grpc.ssl_server_credentials([(k.read(), c.read())])
        self.port = self.server.add_secure_port("127.0.0.1:0", creds)
        self.server.start()

    def unary(self, request, context):
        return b"tls-echo:" + request

    def check(self, request, context):
        with self.lock:
            self.health_checks += 1
        service = health_service_of(request)
        if service not in self.health:
            context.abort(grpc.StatusCode.NOT_FOUND, "unknown service")
        return health_response(self.health[service])

    def checks(self):
        with self.lock:
            return self.health_checks

    def close(self):
        self.server.stop(0)


def config(port, metrics_port, backend_port, ca, level="info"):
    return f"""
workers: 1
logging: {{level: {level}}}
metrics: {{bind: "127.0.0.1:{metrics_port}"}}
listeners:
  - {{name: grpc, bind: "127.0.0.1:{port}", protocol: http, http2: true, pool: app}}
pools:
  - name: app
    upstream_protocol: h2
    tls: {{verify: true, ca: "{ca}", sni: {SNI}}}
    health_check: {{type: grpc, service: echo, interval: 300ms, timeout: 250ms, rise: 1,
                    fall: 1}}
    backends: [{{address: "127.0.0.1:{backend_port}"}}]
"""


def grpc_events(b, name):
    return [e for e in log_events(b, name) if e.get("type") == "grpc"]


class GrpcTlsHealthTest(BallastTest):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="ballast-grpc-tls-")
        cls.ca = make_ca(cls.dir, "backend")
        cls.other_ca = make_ca(cls.dir, "other")
        cert, key = issue(cls.dir, cls.ca, "grpc-backend", f"/CN={SNI}", sans=[SNI])
        cls.backend = TlsGrpcBackend(cert, key)

    @classmethod
    def tearDownClass(cls):
        cls.backend.close()
        shutil.rmtree(cls.dir, ignore_errors=True)

    def test_health_check_speaks_tls_with_alpn_h2_and_follows_the_status(self):
        for io in IO_BACKENDS:
            with self.subTest(io=io):
                port, metrics_port = free_port(), free_port()
                cfg = config(port, metrics_port, self.backend.port, self.ca[0])
                with Ballast(cfg, io=io) as b, grpc.insecure_channel(
                        f"127.0.0.1:{port}", options=CHANNEL_OPTIONS) as channel:
                    unary = channel.unary_unary(f"/{SERVICE}/Unary")
                    before = self.backend.checks()
                    wait_until(lambda: self.backend.checks() > before + 1,
                               what="gRPC health checks over TLS")
                    self.assertEqual(unary(b"up", timeout=10), b"tls-echo:up")
                    self.backend.health["echo"] = NOT_SERVING
                    try:
                        wait_until(lambda: grpc_events(b, "health.down"), what="health.down")
                        self.assertEqual(grpc_events(b, "health.down")[0]["reason"],
                                         "NOT_SERVING")
                        with self.assertRaises(grpc.RpcError) as caught:
                            unary(b"down", timeout=10)
                        self.assertEqual(caught.exception.code(), grpc.StatusCode.UNAVAILABLE)
                    finally:
                        self.backend.health["echo"] = SERVING
                    wait_until(lambda: [e for e in grpc_events(b, "health.up")
                                        if e.get("reason") == "SERVING"], what="health.up")
                    self.assertEqual(unary(b"again", timeout=10), b"tls-echo:again")
                    self.assertGreater(metric(scrape(metrics_port),
                                              "ballast_health_checks_by_type_total",
                                              type="grpc"), 0)

    def test_a_certificate_from_another_ca_keeps_the_backend_down(self):
        # Every failed check says why in a health.check_failed line (debug); the first one also
        # takes the backend down (backends start up, as in HAProxy).
        for io in IO_BACKENDS:
            with self.subTest(io=io):
                port, metrics_port = free_port(), free_port()
                cfg = config(port, metrics_port, self.backend.port, self.other_ca[0], "debug")
                with Ballast(cfg, io=io) as b:
                    wait_until(lambda: len([e for e in grpc_events(b, "health.check_failed")
                                            if "certificate" in e.get("reason", "")]) >= 2,
                               what="two checks failed for the certificate")
                    self.assertFalse(grpc_events(b, "health.up"))
                    self.assertEqual(metric(scrape(metrics_port), "ballast_backend_up", pool="app",
                                            backend=f"127.0.0.1:{self.backend.port}"), 0)


if __name__ == "__main__":
    main()
