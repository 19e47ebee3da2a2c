"""tests/integration/http_backends.py — HTTP/1.1 peers for the reverse-proxy tests: a keep-alive
backend on http.server that names itself, echoes headers, digests bodies and streams large
downloads; a byte-exact response reader for raw sockets; and the `protocol: http` config builder.

Stdlib only. Every backend listens on 127.0.0.1 and counts the TCP connections it accepted.
"""
import hashlib
import http.server
import json
import os
import re
import socket
import threading

# One MiB of random bytes; downloads repeat it, so a test computes the expected digest cheaply.
BLOCK = os.urandom(1 << 20)


def payload(n_bytes):
    """The bytes a download of n_bytes carries (whole blocks, then a prefix of one)."""
    whole, rest = divmod(n_bytes, len(BLOCK))
    return BLOCK * whole + BLOCK[:rest]


def payload_sha256(n_bytes):
    h = hashlib.sha256()
    whole, rest = divmod(n_bytes, len(BLOCK))
    for _ in range(whole):
        h.update(BLOCK)
    h.update(BLOCK[:rest])
    return h.hexdigest()


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, Content-Length framing
    server_version = "test-backend"
    sys_version = ""

    def setup(self):
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, *args):
        pass

    # -- helpers --------------------------------------------------------------------------

    def read_body(self):
        """The request body, de-chunked; also which framing carried it."""
        te = self.headers.get("Transfer-Encoding")
        if te is not None:
            if te.strip().lower() != "chunked":
                raise ValueError(f"unexpected Transfer-Encoding {te!r}")
            parts = []
            while True:
                line = self.rfile.readline(1024)
                if not line.endswith(b"\r\n"):
                    raise ValueError(f"bad chunk line {line!r}")
                size = int(line[:-2].split(b";")[0], 16)
                if size == 0:
                    while self.rfile.readline(1024) not in (b"\r\n", b""):
                        pass  # trailers
                    return b"".join(parts), "chunked"
                parts.append(self.rfile.read(size))
                if self.rfile.read(2) != b"\r\n":
                    raise ValueError("chunk data not followed by CRLF")
        length = self.headers.get("Content-Length")
        if length is not None:
            return self.rfile.read(int(length)), "length"
        return b"", "none"

    def respond(self, status, body=b"", headers=(), reason=None):
        """One write: status line, headers, Content-Length, body."""
        if isinstance(body, str):
            body = body.encode()
        reason = reason or http.server.BaseHTTPRequestHandler.responses.get(status, ("",))[0]
        head = [f"HTTP/1.1 {status} {reason}"]
        head += [f"{k}: {v}" for k, v in headers]
        head.append(f"Content-Length: {len(body)}")
        if self.close_connection:
            head.append("Connection: close")
        data = ("\r\n".join(head) + "\r\n\r\n").encode("latin-1")
        if self.command != "HEAD":
            data += body
        self.wfile.write(data)

    # -- dispatch ---------------------------------------------------------------------------

    def _dispatch(self):
        server = self.server
        with server.lock:
            server.requests += 1
            n = server.requests
            server.log.append((self.command, self.path, self.headers.items()))
        path = self.path.split("?")[0]
        custom = server.handlers.get(path)
        if custom is not None:
            custom(self, n)
            return
        if path == "/echo-headers":
            self.read_body()
            self.respond(200, json.dumps(self.headers.items()), [("Content-Type", "application/json")])
        elif path == "/sha256":
            body, framing = self.read_body()
            server.last_body = body  # for a failure message that says where bytes differ
            self.respond(200, json.dumps({"sha256": hashlib.sha256(body).hexdigest(),
                                          "length": len(body), "framing": framing}),
                         [("Content-Type", "application/json")])
        elif (m := re.fullmatch(r"/download/chunked/(\d+)", path)):
            self.read_body()
            self.send_chunked(int(m.group(1)))
        elif (m := re.fullmatch(r"/download/close/(\d+)", path)):
            self.read_body()
            self.send_until_close(int(m.group(1)))
        else:
            self.read_body()
            self.respond(200, f"{server.name} {n} {self.command} {self.path}")

    def send_chunked(self, n_bytes):
        self.wfile.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
        step = 256 * 1024
        data = memoryview(payload(n_bytes))
        for off in range(0, n_bytes, step):
            piece = data[off:off + step]
            self.wfile.write(b"%x\r\n" % len(piece) + bytes(piece) + b"\r\n")
        self.wfile.write(b"0\r\n\r\n")

    def send_until_close(self, n_bytes):
        """HTTP/1.0 style: no Content-Length, the end of the body is our close."""
        self.wfile.write(b"HTTP/1.0 200 OK\r\nContent-Type: application/octet-stream\r\n\r\n")
        self.wfile.write(payload(n_bytes))
        self.wfile.flush()
        self.close_connection = True

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = do_HEAD = _dispatch


class HttpBackend(http.server.ThreadingHTTPServer):
    """http.server backend on loopback, one thread per connection, HTTP/1.1 keep-alive.

    Default answers: "<name> <request counter> <method> <target>"; /echo-headers (JSON list of
    [name, value] as received); /sha256 (digest and length of the de-chunked body);
    /download/chunked/N and /download/close/N (N bytes of payload(N)). `handlers` maps a path to
    fn(handler, request_number) for anything else."""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 1024

    def __init__(self, name, handlers=None):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.name = name
        self.handlers = dict(handlers or {})
        self.lock = threading.Lock()
        self.connections = 0
        self.requests = 0
        self.log = []  # (method, target, header items)
        self.last_body = b""
        self.thread = threading.Thread(target=self.serve_forever, daemon=True)
        self.thread.start()

    def handle_error(self, request, client_address):
        pass  # a peer that resets mid-response (an aborted download) is not news

    def get_request(self):
        conn, addr = super().get_request()
        with self.lock:
            self.connections += 1
        return conn, addr

    @property
    def port(self):
        return self.server_address[1]

    @property
    def address(self):
        return f"127.0.0.1:{self.port}"

    def close(self):
        self.shutdown()
        self.server_close()


# ---- client side: parse responses off a raw socket ------------------------------------------


class Response:
    def __init__(self, version, status, reason, headers, body, chunked):
        self.version = version
        self.status = status
        self.reason = reason
        self.headers = headers  # [(name, value)] in order
        self.body = body
        self.chunked = chunked

    def header(self, name):
        for k, v in self.headers:
            if k.lower() == name.lower():
                return v
        return None

    def header_all(self, name):
        return [v for k, v in self.headers if k.lower() == name.lower()]

    def __repr__(self):
        return f"<Response {self.status} {self.headers!r} body={self.body[:80]!r}>"


class ResponseReader:
    """Reads HTTP/1.1 responses one at a time from a socket, keeping unread bytes buffered, so
    pipelined responses come out in order. Bodies may be hashed instead of kept (sha=True)."""

    def __init__(self, sock):
        self.sock = sock
        self.buf = bytearray()
        self.eof = False

    def _fill(self):
        data = self.sock.recv(1 << 20)
        if not data:
            self.eof = True
            raise EOFError("connection closed")
        self.buf += data

    def _line(self):
        while True:
            i = self.buf.find(b"\r\n")
            if i >= 0:
                line = bytes(self.buf[:i])
                del self.buf[:i + 2]
                return line
            if len(self.buf) > 1 << 20:
                raise ValueError("line too long")
            self._fill()

    def _exact(self, n, sink):
        while n > 0:
            if not self.buf:
                self._fill()
            take = min(n, len(self.buf))
            sink(bytes(self.buf[:take]))
            del self.buf[:take]
            n -= take

    def at_eof(self):
        """True when the peer closed with nothing more buffered (waits for the next read)."""
        if self.buf:
            return False
        try:
            self._fill()
        except EOFError:
            return True
        except ConnectionResetError:
            return True
        return False

    def read(self, method="GET", sha=False):
        """One response. Raises EOFError if the connection closed before a status line."""
        if not self.buf:
            self._fill()
        status_line = self._line().decode("latin-1")
        version, status, *reason = status_line.split(" ", 2)
        status = int(status)
        headers = []
        while True:
            line = self._line()
            if not line:
                break
            name, _, value = line.decode("latin-1").partition(":")
            headers.append((name, value.strip()))
        h = hashlib.sha256() if sha else None
        parts = []
        sink = h.update if sha else parts.append
        te = [v for k, v in headers if k.lower() == "transfer-encoding"]
        cl = [v for k, v in headers if k.lower() == "content-length"]
        chunked = bool(te) and te[-1].lower() == "chunked"
        length = 0
        if method == "HEAD" or status in (204, 304) or 100 <= status < 200:
            pass
        elif chunked:
            while True:
                size = int(self._line().split(b";")[0], 16)
                if size == 0:
                    while self._line():
                        pass
                    break
                self._exact(size, sink)
                length += size
                if self._line() != b"":
                    raise ValueError("chunk not followed by CRLF")
        elif cl:
            length = int(cl[0])
            self._exact(length, sink)
        else:
            while True:
                if self.buf:
                    length += len(self.buf)
                    sink(bytes(self.buf))
                    self.buf.clear()
                try:
                    self._fill()
                except (EOFError, ConnectionResetError):
                    break
        body = h.hexdigest() if sha else b"".join(parts)
        resp = Response(version, status, reason[0] if reason else "", headers, body, chunked)
        resp.length = length
        return resp


def exchange(port, data, timeout=10, method="GET"):
    """Sends raw bytes on a new connection and reads one response."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(data)
        return ResponseReader(s).read(method=method)


# ---- config -----------------------------------------------------------------------------------


def http_config(port, pools, default_pool="app", routes=(), timeouts=None, limits=None,
                workers=1, algorithm="round_robin", connect_retries=None):
    """A one-listener `protocol: http` config.

    pools: {name: [address or (address, weight)]}; routes: [{"name", "match" (YAML flow text),
    "pool"}]; timeouts/limits: {key: value} written as given."""
    lines = [f"workers: {workers}", "logging: {level: debug}", "listeners:",
             "  - name: web", f"    bind: \"127.0.0.1:{port}\"", "    protocol: http"]
    if default_pool:
        lines.append(f"    pool: {default_pool}")
    if timeouts:
        lines.append("    timeouts: {" + ", ".join(f"{k}: {v}" for k, v in timeouts.items()) + "}")
    if limits:
        lines.append("    limits: {" + ", ".join(f"{k}: {v}" for k, v in limits.items()) + "}")
    if routes:
        lines.append("    routes:")
        for r in routes:
            lines.append(f"      - name: {r['name']}")
            if r.get("match"):
                lines.append(f"        match: {r['match']}")
            lines.append(f"        pool: {r['pool']}")
    lines.append("pools:")
    for name, backends in pools.items():
        lines += [f"  - name: {name}", f"    algorithm: {algorithm}"]
        if connect_retries is not None:
            lines.append(f"    connect_retries: {connect_retries}")
        lines.append("    backends:")
        for b in backends:
            if isinstance(b, tuple):
                lines.append(f"      - {{address: \"{b[0]}\", weight: {b[1]}}}")
            else:
                lines.append(f"      - {{address: \"{b}\"}}")
    return "\n".join(lines) + "\n"


def h2_front_config(tls_port, clear_port, cert, key, backend_address):
    """One worker, two listeners in front of one HTTP/1.1 backend: `tls` (https, ALPN h2 then
    http/1.1) and `clear` (http with h2c by prior knowledge)."""
    return f"""
workers: 1
logging: {{level: info}}
listeners:
  - name: tls
    bind: "127.0.0.1:{tls_port}"
    protocol: https
    pool: app
    tls:
      certificates: [{{cert: "{cert}", key: "{key}"}}]
      alpn: [h2, http/1.1]
  - name: clear
    bind: "127.0.0.1:{clear_port}"
    protocol: http
    http2: true
    pool: app
pools:
  - {{name: app, backends: [{{address: "{backend_address}"}}]}}
"""


def log_events(ballast, name):
    """ballast.events(name), tolerant of bytes that are not UTF-8 in the log."""
    with open(ballast.log_path, "rb") as f:
        text = f.read().decode("utf-8", errors="replace")
    out = []
    for line in text.splitlines():
        try:
            event = json.loads(line)
        except ValueError:
            continue
        if event.get("event") == name:
            out.append(event)
    return out
