"""tests/integration/test_h2_smuggling.py — HTTP/2 requests that RFC 9113 §8.2-8.3 calls malformed,
sent with python3-h2's validation turned off, each on its own connection to an h2c listener in
front of an HTTP/1.1 backend. Every one must end in RST_STREAM or GOAWAY with PROTOCOL_ERROR,
never in a request the backend reads as a second one: the backend logs every
request line it parses, and "/smuggled" must never appear. Requests whose head itself is bad must
not reach the backend at all. Then a well-formed request on a new connection still works. Both
I/O backends.
"""
import socket
import sys

from harness import IO_BACKENDS, Ballast, BallastTest, free_port, main
from http_backends import HttpBackend

try:
    import h2.config
    import h2.connection
    import h2.events
except ImportError:  # an interpreter other than Debian's: use its python3-h2 (pure Python)
    sys.path.append("/usr/lib/python3/dist-packages")
    import h2.config
    import h2.connection
    import h2.events

SMUGGLED = b"GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n"
BASE = [(":method", "GET"), (":path", "/v"), (":scheme", "http"), (":authority", "a.test")]
POST = [(":method", "POST"), (":path", "/v"), (":scheme", "http"), (":authority", "a.test")]


def with_field(name, value, base=BASE):
    return base + [(name, value)]


# (name, header list, body or None, whether the head may reach the backend). A head may reach
# the backend only where the fault is in the body, which arrives after it.
VECTORS = [
    ("connection", with_field("connection", "keep-alive"), None, False),
    ("connection close", with_field("connection", "close"), None, False),
    ("keep-alive", with_field("keep-alive", "timeout=5"), None, False),
    ("proxy-connection", with_field("proxy-connection", "keep-alive"), None, False),
    ("transfer-encoding chunked", with_field("transfer-encoding", "chunked", POST),
     b"0\r\n\r\n" + SMUGGLED, False),
    ("transfer-encoding identity", with_field("transfer-encoding", "identity"), None, False),
    ("upgrade", with_field("upgrade", "websocket"), None, False),
    ("te gzip", with_field("te", "gzip"), None, False),
    ("te trailers, gzip", with_field("te", "trailers, gzip"), None, False),
    ("uppercase name", with_field("X-Foo", "1"), None, False),
    ("uppercase content-length", with_field("Content-Length", "0", POST), None, False),
    ("CR in value", with_field("x-foo", "a\rb"), None, False),
    ("LF in value", with_field("x-foo", "a\r\nGET /smuggled HTTP/1.1"), None, False),
    ("NUL in value", with_field("x-foo", "a\x00b"), None, False),
    ("LF in name", with_field("x-foo\r\nx-bar", "1"), None, False),
    ("space in name", with_field("x foo", "1"), None, False),
    ("colon in name", with_field("x:foo", "1"), None, False),
    ("empty name", with_field("", "1"), None, False),
    ("missing :method", BASE[1:], None, False),
    ("missing :path", [BASE[0]] + BASE[2:], None, False),
    ("missing :scheme", BASE[:2] + BASE[3:], None, False),
    ("duplicate :method", BASE + [(":method", "POST")], None, False),
    ("duplicate :path", BASE + [(":path", "/smuggled")], None, False),
    ("duplicate :authority", BASE + [(":authority", "b.test")], None, False),
    ("pseudo after regular", [BASE[0], ("x-foo", "1")] + BASE[1:], None, False),
    ("unknown pseudo", BASE + [(":foo", "1")], None, False),
    ("response pseudo", BASE + [(":status", "200")], None, False),
    ("empty :path", [BASE[0], (":path", ""), BASE[2], BASE[3]], None, False),
    ("space in :path", [BASE[0], (":path", "/a HTTP/1.1\r\nHost: x\r\n\r\nGET /smuggled"),
                        BASE[2], BASE[3]], None, False),
    ("space in :method", [(":method", "GET /smuggled HTTP/1.1\r\n\r\nGET")] + BASE[1:], None,
     False),
    (":authority and host differ", with_field("host", "b.test"), None, False),
    # Found by tests/fuzz/h2_frames_fuzz: bytes nghttp2 takes that our HTTP/1 codec would not.
    ("percent in :authority", BASE[:3] + [(":authority", "a%test")], None, False),
    ("fragment in :path", [BASE[0], (":path", "/v#/smuggled"), BASE[2], BASE[3]], None,
     False),
    ("CRLF in host", with_field("host", "a.test\r\nx: y"), None, False),
    ("two content-lengths", POST + [("content-length", "4"), ("content-length", "40")],
     b"abcd" + SMUGGLED, False),
    ("content-length list", with_field("content-length", "4, 4", POST), b"abcd", False),
    ("content-length not a number", with_field("content-length", "4x", POST), b"abcd", False),
    ("content-length shorter than DATA", with_field("content-length", "4", POST),
     b"abcd" + SMUGGLED, True),
    ("content-length longer than DATA", with_field("content-length", "400", POST),
     b"abcd" + SMUGGLED, True),
]


def attack(port, headers, body):
    """Sends one request; returns 'reset:CODE', 'goaway:CODE', 'closed' or the response status."""
    cfg = h2.config.H2Configuration(client_side=True, validate_outbound_headers=False,
                                    normalize_outbound_headers=False,
                                    validate_inbound_headers=False)
    conn = h2.connection.H2Connection(config=cfg)
    conn.initiate_connection()
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(conn.data_to_send())
        conn.send_headers(1, headers, end_stream=body is None)
        if body is not None:
            conn.send_data(1, body, end_stream=True)
        s.sendall(conn.data_to_send())
        while True:
            try:
                data = s.recv(65536)
            except ConnectionResetError:
                return "closed"
            if not data:
                return "closed"
            for event in conn.receive_data(data):
                if isinstance(event, h2.events.StreamReset):
                    return f"reset:{int(event.error_code)}"
                if isinstance(event, h2.events.ConnectionTerminated):
                    return f"goaway:{int(event.error_code)}"
                if isinstance(event, h2.events.ResponseReceived):
                    return int(dict(event.headers)[b":status"])
            out = conn.data_to_send()
            if out:
                s.sendall(out)


class H2SmugglingTest(BallastTest):
    def test_malformed_requests_never_reach_the_backend_as_a_second_request(self):
        self.assertGreaterEqual(len(VECTORS), 30)
        backend = HttpBackend("app")
        try:
            for io in IO_BACKENDS:
                with self.subTest(io=io):
                    port = free_port()
                    cfg = f"""
workers: 1
listeners:
  - {{name: web, bind: "127.0.0.1:{port}", protocol: http, http2: true, pool: app}}
pools:
  - {{name: app, backends: [{{address: "{backend.address}"}}]}}
"""
                    with Ballast(cfg, io=io):
                        for name, headers, body, head_may_pass in VECTORS:
                            before = len(backend.log)
                            got = attack(port, headers, body)
                            # RFC 9113 §8.1.1: a malformed request is a stream error of type
                            # PROTOCOL_ERROR (1).
                            self.assertIn(got, ("reset:1", "goaway:1"), name)
                            seen = [target for _, target, _ in backend.log[before:]]
                            self.assertNotIn("/smuggled", seen, name)
                            if not head_may_pass:
                                self.assertEqual(seen, [], f"{name} reached the backend")
                        status = attack(port, BASE, None)
                        self.assertEqual(status, 200)
                        self.assertNotIn("/smuggled", [t for _, t, _ in backend.log])
        finally:
            backend.close()


if __name__ == "__main__":
    main()
