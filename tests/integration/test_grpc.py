"""tests/integration/test_grpc.py — gRPC through Ballast: a python3-grpcio client and server
(generic handlers over raw bytes, no generated code) on either side of an h2c listener and an
h2c pool. All four RPC kinds pass, and 100 MiB streamed each way keeps its checksum; a status
with its message reaches the client, whether in trailers after messages or in a trailers-only
answer; grpc-status is in the access log and the metrics; grpc-timeout is a deadline (a
trailers-only DEADLINE_EXCEEDED, the backend's stream cancelled); a pool with an HTTP/1.1
backend answers INTERNAL; `health_check: {type: grpc}` marks a backend down and up with
grpc.health.v1.Health/Check; and with `retries: {on: [grpc_unavailable]}` a backend's
trailers-only UNAVAILABLE goes to the other backend (without it, the client sees it). Each case
on both I/O backends.
"""
import hashlib
import socket
import sys
import threading
import unittest
import urllib.request
from concurrent import futures

try:
    import grpc
    import h2.config
    import h2.connection
    import h2.events
except ImportError:
    sys.path.append("/usr/lib/python3/dist-packages")  # Debian's python3-grpcio, python3-h2
    import grpc
    import h2.config
    import h2.connection
    import h2.events

from harness import IO_BACKENDS, Ballast, BallastTest, free_port, main, wait_until
from http_backends import HttpBackend, log_events

SERVICE = "test.Echo"
CHANNEL_OPTIONS = [("grpc.enable_http_proxy", 0)]
SERVING, NOT_SERVING = 1, 2
MIB = 1 << 20


def chunk(i):
    """The i-th MiB of a streamed transfer: distinct bytes per chunk."""
    return hashlib.sha256(b"%d" % i).digest() * (MIB // 32)


def health_response(status):
    """HealthCheckResponse{status}: field 1, varint."""
    return bytes([0x08, status])


def health_service_of(request):
    """HealthCheckRequest{service}: field 1, length-delimited (short names only)."""
    if len(request) >= 2 and request[0] == 0x0A:
        return request[2:2 + request[1]].decode()
    return ""


class GrpcBackend:
    """A grpcio server on loopback: echo RPCs of each kind, a failing one, a slow one that
    notes its cancellation, and grpc.health.v1.Health whose answers the test sets."""

    def __init__(self):
        self.cancelled = threading.Event()
        self.health = {"": SERVING, "echo": SERVING}
        self.health_checks = 0
        self.server = grpc.server(futures.ThreadPoolExecutor(max_workers=8))
        handlers = {
            "Unary": grpc.unary_unary_rpc_method_handler(self.unary),
            "ServerStream": grpc.unary_stream_rpc_method_handler(self.server_stream),
            "ClientStream": grpc.stream_unary_rpc_method_handler(self.client_stream),
            "Bidi": grpc.stream_stream_rpc_method_handler(self.bidi),
            "Fail": grpc.unary_unary_rpc_method_handler(self.fail),
            "FailAfterMessages": grpc.unary_stream_rpc_method_handler(self.fail_after_messages),
            "Slow": grpc.unary_unary_rpc_method_handler(self.slow),
            "Download": grpc.unary_stream_rpc_method_handler(self.download),
            "Upload": grpc.stream_unary_rpc_method_handler(self.upload),
        }
        health = {"Check": grpc.unary_unary_rpc_method_handler(self.check)}
        self.server.add_generic_rpc_handlers((
            grpc.method_handlers_generic_handler(SERVICE, handlers),
            grpc.method_handlers_generic_handler("grpc.health.v1.Health", health)))
        self.port = self.server.add_insecure_port("127.0.0.1:0")
        self.server.start()

    def unary(self, request, context):
        return b"echo:" + request

    def server_stream(self, request, context):
        for i in range(int(request)):
            yield b"part-%d" % i

    def client_stream(self, requests, context):
        return b"+".join(requests)

    def bidi(self, requests, context):
        for r in requests:
            yield r.upper()

    def fail(self, request, context):
        context.abort(grpc.StatusCode.PERMISSION_DENIED, "denied by test")

    def fail_after_messages(self, request, context):
        yield b"first"
        yield b"second"
        context.abort(grpc.StatusCode.RESOURCE_EXHAUSTED, "quota gone")

    def download(self, request, context):
        for i in range(int(request)):
            yield chunk(i)

    def upload(self, requests, context):
        digest = hashlib.sha256()
        for r in requests:
            digest.update(r)
        return digest.hexdigest().encode()

    def slow(self, request, context):
        done = threading.Event()
        context.add_callback(done.set)
        if not done.wait(30):
            return b"too late"
        self.cancelled.set()
        return b""

    def check(self, request, context):
        self.health_checks += 1
        service = health_service_of(request)
        if service not in self.health:
            context.abort(grpc.StatusCode.NOT_FOUND, "unknown service")
        return health_response(self.health[service])

    def close(self):
        self.server.stop(0)


class UnavailableBackend:
    """A grpcio server on loopback whose Unary answers UNAVAILABLE before anything else (a
    trailers-only answer, as a server shutting down gives); it counts the calls it refused."""

    def __init__(self):
        self.calls = 0
        self.lock = threading.Lock()
        self.server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
        handlers = {"Unary": grpc.unary_unary_rpc_method_handler(self.unary)}
        self.server.add_generic_rpc_handlers(
            (grpc.method_handlers_generic_handler(SERVICE, handlers),))
        self.port = self.server.add_insecure_port("127.0.0.1:0")
        self.server.start()

    def unary(self, request, context):
        with self.lock:
            self.calls += 1
        context.abort(grpc.StatusCode.UNAVAILABLE, "shutting down")

    def close(self):
        self.server.stop(0)


class SilentH2cBackend:
    """An h2c server (python3-h2) that takes requests and never answers; it notes the streams
    the proxy cancels (RST_STREAM)."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.requests = 0
        self.resets = []
        self.closed = False
        threading.Thread(target=self.serve, daemon=True).start()

    def serve(self):
        while not self.closed:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self.handle, args=(conn,), daemon=True).start()

    def handle(self, conn):
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
                        self.requests += 1
                    elif isinstance(ev, h2.events.StreamReset):
                        self.resets.append(ev.error_code)
                conn.sendall(h2c.data_to_send())
        except OSError:
            return
        finally:
            conn.close()

    def close(self):
        self.closed = True
        self.sock.close()


def raw_grpc_call(port, path, timeout_field, body=b"\x00\x00\x00\x00\x00",
                  content_type="application/grpc"):
    """One gRPC request over a raw h2c connection (python3-h2), so the test sees exactly what
    the proxy answers: a list of (headers, end_stream) blocks and the DATA bytes."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
    conn.initiate_connection()
    headers = [(":method", "POST"), (":scheme", "http"), (":authority", f"127.0.0.1:{port}"),
               (":path", path), ("content-type", content_type), ("te", "trailers")]
    if timeout_field:
        headers.append(("grpc-timeout", timeout_field))
    conn.send_headers(1, headers)
    conn.send_data(1, body, end_stream=True)
    sock.sendall(conn.data_to_send())
    blocks, data, done = [], b"", False
    try:
        while not done:
            chunk = sock.recv(65536)
            if not chunk:
                break
            for ev in conn.receive_data(chunk):
                if isinstance(ev, (h2.events.ResponseReceived, h2.events.TrailersReceived)):
                    fields = {k.decode(): v.decode() for k, v in ev.headers}
                    blocks.append((fields, ev.stream_ended is not None))
                elif isinstance(ev, h2.events.DataReceived):
                    data += ev.data
                    conn.acknowledge_received_data(ev.flow_controlled_length, 1)
                if isinstance(ev, (h2.events.StreamEnded, h2.events.StreamReset)):
                    done = True
            sock.sendall(conn.data_to_send())
    finally:
        sock.close()
    return blocks, data


def scrape(port):
    return urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10).read().decode()


def metric(text, name, **labels):
    """The value of one sample, 0 when absent."""
    want = ",".join(f'{k}="{v}"' for k, v in labels.items())
    for line in text.splitlines():
        if line.startswith(f"{name}{{{want}}} "):
            return float(line.split()[-1])
    return 0


def metric_sum(text, name, **labels):
    """The sum of the samples of `name` that carry these labels (among others)."""
    want = [f'{k}="{v}"' for k, v in labels.items()]
    total = 0
    for line in text.splitlines():
        if line.startswith(name + "{") and all(w in line.split("}")[0] for w in want):
            total += float(line.split()[-1])
    return total


def config(port, metrics_port, pool_port, upstream_protocol="h2c", health="", retries=""):
    ports = pool_port if isinstance(pool_port, (list, tuple)) else [pool_port]
    backends = ", ".join(f'{{address: "127.0.0.1:{p}"}}' for p in ports)
    return f"""
workers: 1
logging: {{level: info}}
metrics: {{bind: "127.0.0.1:{metrics_port}"}}
listeners:
  - {{name: grpc, bind: "127.0.0.1:{port}", protocol: http, http2: true, pool: app}}
pools:
  - name: app
    upstream_protocol: {upstream_protocol}
{health}{retries}    backends: [{backends}]
"""


class GrpcTest(BallastTest):
    @classmethod
    def setUpClass(cls):
        cls.backend = GrpcBackend()

    @classmethod
    def tearDownClass(cls):
        cls.backend.close()

    def each_io(self, body, backend_port=None, **kw):
        for io in IO_BACKENDS:
            with self.subTest(io=io):
                port, metrics_port = free_port(), free_port()
                cfg = config(port, metrics_port, backend_port or self.backend.port, **kw)
                with Ballast(cfg, io=io) as b:
                    with grpc.insecure_channel(f"127.0.0.1:{port}",
                                               options=CHANNEL_OPTIONS) as channel:
                        body(b, channel, port, metrics_port)

    def test_all_four_rpc_kinds(self):
        def body(b, channel, port, metrics_port):
            unary = channel.unary_unary(f"/{SERVICE}/Unary")
            self.assertEqual(unary(b"hello", timeout=10), b"echo:hello")
            server_stream = channel.unary_stream(f"/{SERVICE}/ServerStream")
            self.assertEqual(list(server_stream(b"50", timeout=10)),
                             [b"part-%d" % i for i in range(50)])
            client_stream = channel.stream_unary(f"/{SERVICE}/ClientStream")
            self.assertEqual(client_stream(iter([b"a", b"b", b"c"]), timeout=10), b"a+b+c")
            bidi = channel.stream_stream(f"/{SERVICE}/Bidi")
            self.assertEqual(list(bidi(iter([b"x", b"yz"]), timeout=10)), [b"X", b"YZ"])
            wait_until(lambda: metric(scrape(metrics_port), "ballast_listener_grpc_responses_total",
                                      listener="grpc", code="OK") == 4,
                       what="four OK answers counted")
            lines = wait_until(lambda: [e for e in log_events(b, "http.access")
                                        if e.get("path") == f"/{SERVICE}/Unary"],
                               what="the access log line")
            self.assertEqual((lines[0]["status"], lines[0]["grpc_status"]), (200, 0))
        self.each_io(body)

    def test_100_mib_streamed_both_ways_keep_their_checksums(self):
        count = 100
        want = hashlib.sha256()
        for i in range(count):
            want.update(chunk(i))
        def body(b, channel, port, metrics_port):
            got = hashlib.sha256()
            n = 0
            for m in channel.unary_stream(f"/{SERVICE}/Download")(b"%d" % count, timeout=120):
                got.update(m)
                n += len(m)
            self.assertEqual((n, got.hexdigest()), (count * MIB, want.hexdigest()))
            sent = channel.stream_unary(f"/{SERVICE}/Upload")(
                (chunk(i) for i in range(count)), timeout=120)
            self.assertEqual(sent.decode(), want.hexdigest())
        self.each_io(body)

    def test_status_and_message_reach_the_client(self):
        def body(b, channel, port, metrics_port):
            # Trailers-only: the status is in the one HEADERS frame.
            with self.assertRaises(grpc.RpcError) as caught:
                channel.unary_unary(f"/{SERVICE}/Fail")(b"", timeout=10)
            self.assertEqual(caught.exception.code(), grpc.StatusCode.PERMISSION_DENIED)
            self.assertEqual(caught.exception.details(), "denied by test")
            # Messages, then the status in trailers.
            got = []
            with self.assertRaises(grpc.RpcError) as caught:
                for m in channel.unary_stream(f"/{SERVICE}/FailAfterMessages")(b"", timeout=10):
                    got.append(m)
            self.assertEqual(got, [b"first", b"second"])
            self.assertEqual(caught.exception.code(), grpc.StatusCode.RESOURCE_EXHAUSTED)
            self.assertEqual(caught.exception.details(), "quota gone")
            # As a raw h2 client sees it: trailers-only is one HEADERS block ending the stream.
            blocks, _ = raw_grpc_call(port, f"/{SERVICE}/Fail", None)
            self.assertEqual(len(blocks), 1, blocks)
            fields, ended = blocks[0]
            self.assertTrue(ended)
            self.assertEqual((fields[":status"], fields["grpc-status"]), ("200", "7"), fields)
            text = wait_until(lambda: (lambda t: t if metric(
                t, "ballast_listener_grpc_responses_total", listener="grpc",
                code="PERMISSION_DENIED") == 2 else None)(scrape(metrics_port)),
                what="PERMISSION_DENIED counted")
            self.assertEqual(metric(text, "ballast_listener_grpc_responses_total",
                                    listener="grpc", code="RESOURCE_EXHAUSTED"), 1)
            statuses = sorted(e.get("grpc_status") for e in log_events(b, "http.access"))
            self.assertEqual(statuses, [7, 7, 8], statuses)
        self.each_io(body)

    def test_deadline_exceeded_is_a_trailers_only_answer(self):
        silent = SilentH2cBackend()
        try:
            def body(b, channel, port, metrics_port):
                blocks, data = raw_grpc_call(port, f"/{SERVICE}/Slow", "300m")
                self.assertEqual(data, b"")
                self.assertEqual(len(blocks), 1, blocks)
                fields, ended = blocks[0]
                self.assertTrue(ended)
                self.assertEqual((fields[":status"], fields["content-type"],
                                  fields["grpc-status"]), ("200", "application/grpc", "4"))
                # The backend's stream is cancelled.
                wait_until(lambda: silent.resets, what="RST_STREAM at the backend")
                self.assertEqual(silent.resets[-1], 8)  # CANCEL
                # A grpcio client sees DEADLINE_EXCEEDED (its own timer or ours, whichever
                # comes first).
                with self.assertRaises(grpc.RpcError) as caught:
                    channel.unary_unary(f"/{SERVICE}/Slow")(b"", timeout=0.3)
                self.assertEqual(caught.exception.code(), grpc.StatusCode.DEADLINE_EXCEEDED)
                self.assertTrue(log_events(b, "l7.grpc_deadline_exceeded"))
                wait_until(lambda: metric(scrape(metrics_port),
                                          "ballast_listener_grpc_responses_total",
                                          listener="grpc", code="DEADLINE_EXCEEDED") >= 1,
                           what="DEADLINE_EXCEEDED counted")
                line = wait_until(lambda: [e for e in log_events(b, "http.access")
                                           if e.get("grpc_status") == 4], what="access log")
                self.assertEqual(line[0]["status"], 200)
            self.each_io(body, backend_port=silent.port)
        finally:
            silent.close()

    def test_deadline_cancels_a_grpc_backend(self):
        def body(b, channel, port, metrics_port):
            self.backend.cancelled.clear()
            with self.assertRaises(grpc.RpcError) as caught:
                channel.unary_unary(f"/{SERVICE}/Slow")(b"", timeout=0.3)
            self.assertEqual(caught.exception.code(), grpc.StatusCode.DEADLINE_EXCEEDED)
            wait_until(self.backend.cancelled.is_set, what="the backend's call cancelled")
        self.each_io(body)

    def test_malformed_timeout_is_ignored_and_counted(self):
        def body(b, channel, port, metrics_port):
            blocks, data = raw_grpc_call(port, f"/{SERVICE}/Unary", "soon",
                                         body=b"\x00\x00\x00\x00\x02hi")
            self.assertEqual(blocks[-1][0].get("grpc-status"), "0", blocks)
            self.assertEqual(data, b"\x00\x00\x00\x00\x07echo:hi")
            wait_until(lambda: metric(scrape(metrics_port),
                                      "ballast_listener_grpc_timeout_invalid_total",
                                      listener="grpc") == 1, what="the bad timeout counted")
        self.each_io(body)

    def test_an_http1_pool_is_refused_with_internal(self):
        h1 = HttpBackend("h1")
        try:
            def body(b, channel, port, metrics_port):
                with self.assertRaises(grpc.RpcError) as caught:
                    channel.unary_unary(f"/{SERVICE}/Unary")(b"x", timeout=10)
                self.assertEqual(caught.exception.code(), grpc.StatusCode.INTERNAL)
                self.assertIn("h2c", caught.exception.details())
                self.assertTrue(log_events(b, "l7.grpc_to_http1"))
                # Not gRPC, the same pool still serves.
                blocks, _ = raw_grpc_call(port, "/whoami", None, content_type="text/plain")
                self.assertEqual(blocks[0][0][":status"], "200")
                self.assertNotIn("grpc-status", blocks[0][0])
            self.each_io(body, backend_port=int(h1.address.rsplit(":", 1)[1]),
                         upstream_protocol="http1")
        finally:
            h1.close()

    def unavailable_calls(self, retries):
        """Eight unary calls to a pool of the echo backend and one answering UNAVAILABLE (round
        robin), with this `retries:`; the outcomes, the calls the bad backend saw, and the
        grpc_unavailable retries counted."""
        bad = UnavailableBackend()
        results = []
        try:
            def body(b, channel, port, metrics_port):
                before = bad.calls
                unary = channel.unary_unary(f"/{SERVICE}/Unary")
                outcomes = []
                for i in range(8):
                    try:
                        outcomes.append(unary(b"%d" % i, timeout=10))
                    except grpc.RpcError as e:
                        outcomes.append((e.code(), e.details()))
                retried = metric_sum(scrape(metrics_port), "ballast_backend_http_retries_total",
                                     pool="app", reason="grpc_unavailable")
                results.append((b, outcomes, bad.calls - before, retried))
            self.each_io(body, backend_port=[self.backend.port, bad.port],
                         retries=f"    retries: {retries}\n")
        finally:
            bad.close()
        return results

    def test_unavailable_is_retried_on_another_backend_with_grpc_unavailable(self):
        # POST, and no retry_non_idempotent: naming grpc_unavailable is enough (gRPC's own
        # retry rule: UNAVAILABLE was not processed).
        for b, outcomes, bad_calls, retried in self.unavailable_calls(
                "{on: [grpc_unavailable], backoff: {base: 0}}"):
            self.assertEqual(outcomes, [b"echo:%d" % i for i in range(8)])
            self.assertGreaterEqual(bad_calls, 3, "round robin sent the bad backend calls")
            self.assertEqual(retried, bad_calls)
            # l7.retry is repeat-limited (5 a kind per window): at least one, none other.
            reasons = {e.get("reason") for e in log_events(b, "l7.retry")}
            self.assertEqual(reasons, {"grpc_unavailable"})
            twice = wait_until(lambda: (lambda t: t if len(t) == bad_calls else None)(
                [e for e in log_events(b, "http.access") if e.get("attempts") == 2]),
                what="an access line per retried call")
            self.assertTrue(all(e.get("grpc_status") == 0 for e in twice), twice)

    def test_unavailable_reaches_the_client_without_grpc_unavailable(self):
        # The default six reasons do not include it: the answer is forwarded as it came.
        for b, outcomes, bad_calls, retried in self.unavailable_calls("{backoff: {base: 0}}"):
            failed = [o for o in outcomes if isinstance(o, tuple)]
            self.assertEqual(len(failed), bad_calls, outcomes)
            self.assertGreaterEqual(bad_calls, 3)
            self.assertEqual(set(failed), {(grpc.StatusCode.UNAVAILABLE, "shutting down")})
            self.assertEqual(retried, 0)
            self.assertFalse(log_events(b, "l7.retry"))

    def test_health_check_marks_a_backend_down_and_up(self):
        health = ("    health_check: {type: grpc, service: echo, interval: 200ms, timeout: 150ms,"
                  " rise: 1, fall: 1}\n")
        def down_events(b):
            return [e for e in log_events(b, "health.down") if e.get("type") == "grpc"]
        def body(b, channel, port, metrics_port):
            unary = channel.unary_unary(f"/{SERVICE}/Unary")
            before = self.backend.health_checks
            wait_until(lambda: self.backend.health_checks > before, what="a gRPC health check")
            self.assertEqual(unary(b"up", timeout=10), b"echo:up")
            self.backend.health["echo"] = NOT_SERVING
            try:
                wait_until(lambda: down_events(b), what="health.down")
                self.assertEqual(down_events(b)[0]["reason"], "NOT_SERVING")
                # No backend left: the client sees UNAVAILABLE (Ballast's 503).
                with self.assertRaises(grpc.RpcError) as caught:
                    unary(b"down", timeout=10)
                self.assertEqual(caught.exception.code(), grpc.StatusCode.UNAVAILABLE)
            finally:
                self.backend.health["echo"] = SERVING
            wait_until(lambda: [e for e in log_events(b, "health.up")
                                if e.get("reason") == "SERVING"], what="health.up")
            self.assertEqual(unary(b"again", timeout=10), b"echo:again")
            # A service the backend does not know is its NOT_FOUND status.
            del self.backend.health["echo"]
            try:
                wait_until(lambda: len(down_events(b)) == 2, what="the second health.down")
                self.assertEqual(down_events(b)[1]["reason"],
                                 "grpc-status NOT_FOUND: unknown service")
            finally:
                self.backend.health["echo"] = SERVING
            self.assertGreater(metric(scrape(metrics_port), "ballast_health_checks_by_type_total",
                                      type="grpc"), 0)
        self.each_io(body, health=health)


if __name__ == "__main__":
    main()
