"""tests/integration/test_http_smuggling.py — request smuggling vectors sent as raw bytes through
the HTTP proxy to a backend with a strict parser of its own. For every vector the proxy either
answers 4xx/5xx itself, or the backend sees exactly the expected requests; never a request hidden
in a body or header (GET /admin), never bytes it cannot frame unambiguously, and always the same
requests as the proxy's access log names; on io_uring and epoll. Prints which vectors the proxy
rejected."""
import re
import socket
import threading

from harness import IO_BACKENDS, Backend, Ballast, BallastTest, free_port, main, wait_until
from http_backends import ResponseReader, http_config, log_events

HIDDEN = b"GET /admin HTTP/1.1\r\nHost: x\r\n\r\n"
SENTINEL = b"GET /sentinel HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
TOKEN = re.compile(rb"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")


class StrictViolation(Exception):
    pass


class _Conn:
    """Buffered strict reads for the backend: CRLF lines only."""

    def __init__(self, sock):
        self.sock = sock
        self.buf = b""

    def fill(self):
        data = self.sock.recv(65536)
        if not data:
            raise EOFError
        self.buf += data

    def line(self, limit=1 << 16):
        while b"\n" not in self.buf:
            if len(self.buf) > limit:
                raise StrictViolation("line too long")
            self.fill()
        i = self.buf.index(b"\n")
        if i == 0 or self.buf[i - 1:i] != b"\r":
            raise StrictViolation(f"bare LF near {self.buf[:i + 1][-40:]!r}")
        line, self.buf = self.buf[:i - 1], self.buf[i + 1:]
        if b"\r" in line:
            raise StrictViolation(f"bare CR in {line!r}")
        return line

    def exact(self, n):
        while len(self.buf) < n:
            self.fill()
        out, self.buf = self.buf[:n], self.buf[n:]
        return out


def parse_fields(conn):
    fields = []
    while True:
        line = conn.line()
        if not line:
            return fields
        if line[:1] in (b" ", b"\t"):
            raise StrictViolation(f"obs-fold {line!r}")
        name, colon, value = line.partition(b":")
        if not colon or not TOKEN.match(name):
            raise StrictViolation(f"bad field line {line!r}")
        value = value.strip(b" \t")
        if any(c < 0x20 and c != 0x09 or c == 0x7f for c in value):
            raise StrictViolation(f"control byte in {line!r}")
        fields.append((name.decode().lower(), value))


def behaviour_strict(sock, server):
    """Parses requests as a strict origin server would; anything ambiguous is a violation (the
    proxy must only ever send clean HTTP/1.1), recorded with the connection then closed."""
    conn = _Conn(sock)
    try:
        while True:
            try:
                line = conn.line()
            except EOFError:
                return
            parts = line.split(b" ")
            if len(parts) != 3 or parts[2] != b"HTTP/1.1" or not TOKEN.match(parts[0]) or \
                    any(c <= 0x20 or c >= 0x7f for c in parts[1]):
                raise StrictViolation(f"bad request line {line!r}")
            fields = parse_fields(conn)
            names = [n for n, _ in fields]
            entry = {"method": parts[0].decode(), "target": parts[1].decode(), "body": b"",
                     "complete": False}
            with server.lock:
                server.seen.append(entry)
            if names.count("host") != 1:
                raise StrictViolation(f"{names.count('host')} Host fields")
            cl = [v for n, v in fields if n == "content-length"]
            te = [v for n, v in fields if n == "transfer-encoding"]
            if cl and te:
                raise StrictViolation("both Content-Length and Transfer-Encoding")
            if len(cl) > 1 or len(te) > 1:
                raise StrictViolation(f"repeated framing field: {fields!r}")
            if cl:
                if not cl[0].isdigit():
                    raise StrictViolation(f"Content-Length {cl[0]!r}")
                entry["body"] = conn.exact(int(cl[0]))
            elif te:
                if te[0] != b"chunked":
                    raise StrictViolation(f"Transfer-Encoding {te[0]!r}")
                body = b""
                while True:
                    size_line = conn.line()
                    if not re.fullmatch(rb"[0-9a-fA-F]{1,16}", size_line):
                        raise StrictViolation(f"chunk size line {size_line!r}")
                    size = int(size_line, 16)
                    if size == 0:
                        parse_fields(conn)  # trailers, as strictly as fields
                        break
                    body += conn.exact(size)
                    if conn.exact(2) != b"\r\n":
                        raise StrictViolation("chunk data not followed by CRLF")
                entry["body"] = body
            entry["complete"] = True
            answer = f"backend:{entry['method']} {entry['target']}".encode()
            sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(answer) + answer)
    except EOFError:
        return  # inside a request: the proxy gave up on it (the entry stays incomplete)
    except StrictViolation as e:
        with server.lock:
            server.violations.append(f"{e} (buffer {conn.buf[:200]!r})")


def post(headers, body, target="/", version=b"HTTP/1.1", host=True):
    head = b"POST " + target.encode() + b" " + version + b"\r\n"
    if host:
        head += b"Host: x\r\n"
    return head + headers + b"\r\n" + body


def chunked(*pieces, trailers=b""):
    out = b""
    for p in pieces:
        out += b"%x\r\n" % len(p) + p + b"\r\n"
    return out + b"0\r\n" + trailers + b"\r\n"


def cl(body):
    return b"Content-Length: %d\r\n" % len(body)


TE = b"Transfer-Encoding: chunked\r\n"
HELLO_CHUNKED = chunked(b"hello")
SMUGGLING_BODY = b"0\r\n\r\n" + HIDDEN


def P(body=b"hello"):
    return [("POST", "/", body)]


# (name, raw bytes, expected requests at the backend if the proxy does not reject: a list of
# (method, target[, body]); None: the only acceptable outcome is the proxy rejecting it).
VECTORS = [
    # Content-Length next to Transfer-Encoding, in every disguise.
    ("CL.TE", post(cl(SMUGGLING_BODY) + TE, SMUGGLING_BODY), None),
    ("TE.CL", post(TE + b"Content-Length: 4\r\n", b"%x\r\n" % len(HIDDEN) + HIDDEN + b"\r\n0\r\n\r\n"),
     None),
    ("TE space before colon + CL", post(cl(SMUGGLING_BODY) + b"Transfer-Encoding : chunked\r\n",
                                        SMUGGLING_BODY), None),
    ("TE tab before colon + CL", post(cl(SMUGGLING_BODY) + b"Transfer-Encoding\t: chunked\r\n",
                                      SMUGGLING_BODY), None),
    ("TE xchunked + CL", post(cl(SMUGGLING_BODY) + b"Transfer-Encoding: xchunked\r\n",
                              SMUGGLING_BODY), None),
    ("TE identity + CL", post(cl(SMUGGLING_BODY) + b"Transfer-Encoding: identity\r\n",
                              SMUGGLING_BODY), None),
    ("TE chunked, identity", post(b"Transfer-Encoding: chunked, identity\r\n", SMUGGLING_BODY), None),
    ("TE identity, chunked", post(b"Transfer-Encoding: identity, chunked\r\n", HELLO_CHUNKED), P()),
    ("TE twice", post(TE + TE, HELLO_CHUNKED), None),
    ("TE chunked, chunked", post(b"Transfer-Encoding: chunked, chunked\r\n", HELLO_CHUNKED), None),
    ("TE quoted", post(cl(SMUGGLING_BODY) + b'Transfer-Encoding: "chunked"\r\n', SMUGGLING_BODY),
     None),
    ("TE with parameter", post(b"Transfer-Encoding: chunked;q=1\r\n", HELLO_CHUNKED), None),
    ("TE obs-fold value", post(cl(SMUGGLING_BODY) + b"Transfer-Encoding:\r\n chunked\r\n",
                               SMUGGLING_BODY), None),
    ("TE hidden by obs-fold", post(cl(b"hello") + b"X-Foo: bar\r\n Transfer-Encoding: chunked\r\n",
                                   b"hello"), P()),
    ("TE vertical tab", post(cl(SMUGGLING_BODY) + b"Transfer-Encoding:\x0bchunked\r\n",
                             SMUGGLING_BODY), None),
    ("TE high byte", post(cl(SMUGGLING_BODY) + b"Transfer-Encoding: chunked\xff\r\n",
                          SMUGGLING_BODY), None),
    ("TE in HTTP/1.0", post(TE, chunked(HIDDEN), version=b"HTTP/1.0", host=False), None),
    ("TE uppercase, request in chunk", post(b"Transfer-Encoding: CHUNKED\r\n", chunked(HIDDEN)),
     P(HIDDEN)),
    ("TE tab OWS", post(b"Transfer-Encoding:\tchunked\t\r\n", HELLO_CHUNKED), P()),
    ("TE empty list element", post(b"Transfer-Encoding: , chunked\r\n", HELLO_CHUNKED), P()),
    ("Transfer_Encoding underscore + CL", post(b"Transfer_Encoding: chunked\r\n" + cl(b"hello"),
                                               b"hello"), P()),
    ("Connection nominates Content-Length",
     post(b"Connection: Content-Length\r\n" + cl(b"hello"), b"hello"), P()),
    ("Connection nominates Transfer-Encoding",
     post(b"Connection: Transfer-Encoding\r\n" + TE, HELLO_CHUNKED), P()),
    # Content-Length forms.
    ("CL differing duplicates", post(b"Content-Length: 5\r\nContent-Length: 38\r\n",
                                     b"hello" + HIDDEN), None),
    ("CL equal duplicates", post(b"Content-Length: 5\r\nContent-Length: 5\r\n", b"hello"), P()),
    ("CL list equal", post(b"Content-Length: 5, 5\r\n", b"hello"), P()),
    ("CL list differing", post(b"Content-Length: 5, 38\r\n", b"hello" + HIDDEN), None),
    ("CL plus sign", post(b"Content-Length: +5\r\n", b"hello"), None),
    ("CL negative", post(b"Content-Length: -1\r\n", HIDDEN), None),
    ("CL hex", post(b"Content-Length: 0x5\r\n", b"hello"), None),
    ("CL overflow 2^64+5", post(b"Content-Length: 18446744073709551621\r\n", b"hello" + HIDDEN),
     None),
    ("CL inner space", post(b"Content-Length: 1 0\r\n", b"hello" + HIDDEN), None),
    ("CL trailing space", post(b"Content-Length: 5 \r\n", b"hello"), P()),
    ("CL leading zeros", post(b"Content-Length: 005\r\n", b"hello"), P()),
    ("CL space before colon", post(b"Content-Length : 5\r\n", b"hello" + HIDDEN), None),
    ("CL in name with space", post(b"Content Length: 5\r\n", b"hello" + HIDDEN), None),
    # Line endings and bytes that parsers disagree on.
    ("bare LF everywhere", b"GET / HTTP/1.1\nHost: x\n\n", [("GET", "/")]),
    ("bare LF hides TE", post(cl(SMUGGLING_BODY) + b"X-A: 1\nTransfer-Encoding: chunked\r\n",
                              SMUGGLING_BODY), None),
    ("bare CR hides TE", post(cl(SMUGGLING_BODY) + b"X-A: 1\rTransfer-Encoding: chunked\r\n",
                              SMUGGLING_BODY), None),
    ("NUL in field value", post(cl(b"hello") + b"X-A: a\x00b\r\n", b"hello"), None),
    ("NUL in target", b"GET /a\x00/admin HTTP/1.1\r\nHost: x\r\n\r\n", None),
    ("field line without colon", post(cl(SMUGGLING_BODY) + b"Transfer-Encoding chunked\r\n",
                                      SMUGGLING_BODY), None),
    ("request line double space", b"GET  / HTTP/1.1\r\nHost: x\r\n\r\n", [("GET", "/")]),
    ("request line trailing text", b"GET / HTTP/1.1 /admin\r\nHost: x\r\n\r\n", None),
    ("HTTP/2.0 version", b"GET / HTTP/2.0\r\nHost: x\r\n\r\n", None),
    ("duplicate Host", b"GET / HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n", None),
    ("too many leading CRLF", b"\r\n" * 10 + b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", [("GET", "/")]),
    ("leading CRLF", b"\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n", [("GET", "/")]),
    # Chunk framing.
    ("chunk size 17 digits", post(TE, b"00000000000000005\r\nhello\r\n0\r\n\r\n"), P()),
    ("chunk size overflow", post(TE, b"10000000000000005\r\nhello\r\n0\r\n\r\n" + HIDDEN), None),
    ("chunk size huge (over max_body)", post(TE, b"ffffffffffffffff\r\nhello\r\n" + HIDDEN), None),
    ("chunk size negative", post(TE, b"-5\r\nhello\r\n0\r\n\r\n" + HIDDEN), None),
    ("chunk size 0x prefix", post(TE, b"0x5\r\nhello\r\n0\r\n\r\n" + HIDDEN), None),
    ("chunk size leading space", post(TE, b" 5\r\nhello\r\n0\r\n\r\n" + HIDDEN), None),
    ("chunk data longer than size", post(TE, b"3\r\nhello\r\n0\r\n\r\n" + HIDDEN), None),
    ("chunk data without CRLF", post(TE, b"5\r\nhello0\r\n\r\n" + HIDDEN), None),
    ("chunk data then bare LF", post(TE, b"5\r\nhello\n0\r\n\r\n" + HIDDEN), None),
    ("chunk extension bare LF", post(TE, b"5;a=b\nhello\r\n0\r\n\r\n" + HIDDEN), None),
    ("chunk extension quoted", post(TE, b'5;name="q\\"v";x\r\nhello\r\n0\r\n\r\n'), P()),
    ("chunk extension 5000 bytes", post(TE, b"5;" + b"a" * 5000 + b"\r\nhello\r\n0\r\n\r\n"), None),
    ("request as trailer line", post(TE, b"0\r\n" + HIDDEN), None),
    ("framing fields in trailers", post(TE, chunked(b"hello", trailers=b"Content-Length: 38\r\n"
                                                    b"Transfer-Encoding: chunked\r\n")), P()),
    # Requests inside bodies, and honest pipelining around them.
    ("request in CL body", post(cl(HIDDEN), HIDDEN), P(HIDDEN)),
    ("request in chunk", post(TE, chunked(HIDDEN)), P(HIDDEN)),
    ("GET with CL body", b"GET / HTTP/1.1\r\nHost: x\r\n" + cl(HIDDEN) + b"\r\n" + HIDDEN,
     [("GET", "/", HIDDEN)]),
    ("CL 0 then pipelined", post(b"Content-Length: 0\r\n", b"") +
     b"GET /next HTTP/1.1\r\nHost: x\r\n\r\n", [("POST", "/", b""), ("GET", "/next")]),
    ("HTTP/1.0 keep-alive then pipelined",
     post(b"Connection: keep-alive\r\n" + cl(b"hello"), b"hello", version=b"HTTP/1.0") +
     b"GET /next HTTP/1.1\r\nHost: x\r\n\r\n", [("POST", "/", b"hello"), ("GET", "/next")]),
    ("Expect 100-continue with body", post(b"Expect: 100-continue\r\n" + cl(b"hello"), b"hello"), P()),
    ("refused Upgrade then pipelined",
     b"GET / HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n"
     b"GET /next HTTP/1.1\r\nHost: x\r\n\r\n", [("GET", "/"), ("GET", "/next")]),
]


class HttpSmugglingTest(BallastTest):
    maxDiff = None  # a violation's message carries the bytes the backend got
    def test_smuggling_vectors(self):
        self.assertGreaterEqual(len(VECTORS), 30)
        backend = Backend("strict", behaviour=behaviour_strict)
        backend.seen = []
        backend.violations = []
        report = {}
        try:
            for io in IO_BACKENDS:
                with self.subTest(io=io):
                    port = free_port()
                    cfg = http_config(port, {"app": [backend.address]},
                                      timeouts={"header": "1s", "response_header": "2s"},
                                      limits={"max_body": "1MiB"})
                    violations_before = len(backend.violations)
                    with Ballast(cfg, io=io) as b:
                        for name, data, expect in VECTORS:
                            with self.subTest(vector=name):
                                report[(io, name)] = self.run_vector(b, port, backend, data, expect)
                    self.assertEqual(backend.violations[violations_before:], [],
                                     "the proxy sent the backend something it cannot frame")
        finally:
            backend.close()
            width = max(len(n) for n, _, _ in VECTORS)
            print(f"\n{'vector':<{width}}  " + "  ".join(f"{io:<24}" for io in IO_BACKENDS))
            for name, _, _ in VECTORS:
                print(f"{name:<{width}}  " + "  ".join(f"{report.get((io, name), '-'):<24}"
                                                       for io in IO_BACKENDS))

    def test_refused_request_body_never_leaks_to_the_backend(self):
        """A request refused in its body after its head went out on a pooled upstream
        connection: the upstream is dropped, and the backend must see that head and nothing
        else. Not the 400 the client gets, not any other bytes."""
        backend = Backend("strict", behaviour=behaviour_strict)
        backend.seen = []
        backend.violations = []
        bad = post(TE, b"00000000000000005\r\nhello\r\n0\r\n\r\n")  # 17-digit chunk size
        try:
            for io in IO_BACKENDS:
                with self.subTest(io=io):
                    port = free_port()
                    violations_before = len(backend.violations)
                    seen_before = len(backend.seen)
                    with Ballast(http_config(port, {"app": [backend.address]}), io=io) as b:
                        for _ in range(5):
                            # A good request leaves an idle upstream connection in the pool...
                            with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
                                s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
                                self.assertEqual(ResponseReader(s).read().status, 200)
                            # ...which the bad one takes: head out, then 400 and the upstream
                            # dropped, all in one turn of the loop.
                            with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
                                s.sendall(bad)
                                self.assertEqual(ResponseReader(s).read().status, 400)
                        # Whatever the backend got has arrived once its connections are gone.
                        wait_until(lambda: len(backend.seen) >= seen_before + 10 or
                                   len(backend.violations) > violations_before,
                                   what="requests at the backend")
                    self.assertEqual(backend.violations[violations_before:], [],
                                     "bytes that are not the refused request reached the backend")
        finally:
            backend.close()

    def run_vector(self, b, port, backend, data, expect):
        """Sends one vector; returns a short outcome for the report."""
        seen_before = len(backend.seen)
        log_before = len(log_events(b, "http.access"))
        violations_before = len(backend.violations)
        responses = []
        with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
            s.sendall(data)
            reader = ResponseReader(s)
            open_ = self.read_responses(reader, responses, len(expect) if expect else None)
            if open_:
                # Whatever the proxy still holds comes out before this, or is cut off by it.
                try:
                    s.sendall(SENTINEL)
                except OSError:
                    pass
                self.read_responses(reader, responses, None)
        rejected = [r.status for r in responses if not r.body.startswith(b"backend:")]
        for status in rejected:
            self.assertTrue(400 <= status < 600, f"proxy answered {status}")
        self.assertEqual(backend.violations[violations_before:], [],
                         "the proxy sent the backend bytes a strict server cannot frame")
        # Every request the backend parsed is one the proxy parsed and logged, in order. The log
        # may also name requests the proxy refused before their head went out (4xx/5xx).
        def unmatched():
            logged = [e for e in log_events(b, "http.access")[log_before:] if e["backend"]]
            i, lost = 0, []
            for e in backend.seen[seen_before:]:
                while i < len(logged) and (logged[i]["method"], logged[i]["path"]) != \
                        (e["method"], e["target"]):
                    lost.append(logged[i])
                    i += 1
                if i == len(logged):
                    return f"the backend parsed {e['method']} {e['target']}, the proxy never did"
                i += 1
            lost += logged[i:]
            bad = [e for e in lost if e["status"] < 400]
            return f"logged as forwarded and answered, never parsed: {bad}" if bad else None
        try:
            wait_until(lambda: unmatched() is None, timeout=2)
        except AssertionError:
            pass
        self.assertIsNone(unmatched())
        seen = [e for e in backend.seen[seen_before:] if e["target"] != "/sentinel"]
        for e in seen:
            self.assertNotIn("admin", e["target"], "a smuggled request reached the backend")
        if not rejected:
            self.assertIsNotNone(expect, f"accepted a vector that must be rejected: {responses}")
            self.assertEqual(len(seen), len(expect), seen)
            for e, want in zip(seen, expect):
                self.assertEqual((e["method"], e["target"]), want[:2])
                self.assertTrue(e["complete"])
                if len(want) > 2:
                    self.assertEqual(e["body"], want[2])
            return "passed through"
        # Rejected: whatever got through is what the vector meant, never more.
        if expect is None:
            self.assertTrue(all(not e["complete"] for e in seen) and len(seen) <= 1,
                            f"a complete request got through before the rejection: {seen}")
        else:
            self.assertEqual([(e["method"], e["target"]) for e in seen],
                             [tuple(w[:2]) for w in expect[:len(seen)]])
        return "rejected " + ",".join(str(s) for s in rejected)

    @staticmethod
    def read_responses(reader, responses, count):
        """Reads responses until the connection closes (False) or `count` arrived (True)."""
        while count is None or len(responses) < count:
            try:
                responses.append(reader.read())
            except (EOFError, ConnectionResetError):
                return False
            except socket.timeout:
                return True
            if responses[-1].header("Connection") == "close":
                try:
                    reader.at_eof()
                except socket.timeout:
                    pass
                return False
        return True


if __name__ == "__main__":
    main()
