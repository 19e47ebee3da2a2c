"""tests/integration/test_proxy_protocol.py — PROXY protocol on TCP listeners end to end: the v1
and v2 headers ballast sends to backends, headers it accepts from clients (v1 and v2, IPv4 and
IPv6) and relays, and a malformed header refused before any backend is dialled; on io_uring and
epoll."""
import contextlib
import socket
import struct
import time

from harness import (IO_BACKENDS, Backend, Ballast, BallastTest, free_port, main, tcp_config,
                     wait_until)

V2_SIGNATURE = b"\r\n\r\n\x00\r\nQUIT\n"


class Reader:
    """Buffered reads from a socket: exact byte counts and CRLF lines."""

    def __init__(self, sock):
        self.sock = sock
        self.buf = b""

    def _fill(self):
        data = self.sock.recv(65536)
        if not data:
            raise EOFError("peer closed")
        self.buf += data

    def exact(self, n):
        while len(self.buf) < n:
            self._fill()
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def line(self, limit=107):
        while b"\r\n" not in self.buf:
            if len(self.buf) >= limit:
                raise ValueError("no CRLF within the v1 limit")
            self._fill()
        end = self.buf.index(b"\r\n") + 2
        out, self.buf = self.buf[:end], self.buf[end:]
        return out


def read_proxy_header(reader):
    """Reads and parses one PROXY header (v1 text or v2 binary), as a backend would.

    Returns a dict: version (1 or 2), proto ("TCP4"/"TCP6"), src and dst as (ip, port), raw."""
    first = reader.exact(1)
    if first == b"P":
        raw = first + reader.line()
        if not raw.startswith(b"PROXY ") or not raw.endswith(b"\r\n"):
            raise ValueError(f"bad v1 header {raw!r}")
        fields = raw[len(b"PROXY "):-2].decode("ascii").split(" ")
        if len(fields) != 5 or fields[0] not in ("TCP4", "TCP6"):
            raise ValueError(f"bad v1 fields {fields!r}")
        proto, src_ip, dst_ip, src_port, dst_port = fields
        family = socket.AF_INET if proto == "TCP4" else socket.AF_INET6
        # Canonical text, and a check that the address is of the protocol's family.
        src_ip = socket.inet_ntop(family, socket.inet_pton(family, src_ip))
        dst_ip = socket.inet_ntop(family, socket.inet_pton(family, dst_ip))
        return {"version": 1, "proto": proto, "src": (src_ip, int(src_port)),
                "dst": (dst_ip, int(dst_port)), "raw": raw}
    if first == V2_SIGNATURE[:1]:
        fixed = first + reader.exact(15)
        if fixed[:12] != V2_SIGNATURE:
            raise ValueError(f"bad v2 signature {fixed!r}")
        ver_cmd, fam, length = fixed[12], fixed[13], struct.unpack("!H", fixed[14:16])[0]
        if ver_cmd != 0x21:
            raise ValueError(f"expected v2 PROXY command, got {ver_cmd:#x}")
        body = reader.exact(length)
        if fam == 0x11:
            if length < 12:
                raise ValueError("short v2 TCP4 block")
            src_ip = socket.inet_ntop(socket.AF_INET, body[0:4])
            dst_ip = socket.inet_ntop(socket.AF_INET, body[4:8])
            src_port, dst_port = struct.unpack("!HH", body[8:12])
            proto = "TCP4"
        elif fam == 0x21:
            if length < 36:
                raise ValueError("short v2 TCP6 block")
            src_ip = socket.inet_ntop(socket.AF_INET6, body[0:16])
            dst_ip = socket.inet_ntop(socket.AF_INET6, body[16:32])
            src_port, dst_port = struct.unpack("!HH", body[32:36])
            proto = "TCP6"
        else:
            raise ValueError(f"unexpected v2 family/transport {fam:#x}")
        return {"version": 2, "proto": proto, "src": (src_ip, src_port),
                "dst": (dst_ip, dst_port), "raw": fixed + body}
    raise ValueError(f"no PROXY signature: {first!r}")


def behaviour_proxy_report(sock, server):
    """Parses the PROXY header, answers "<version> <proto> <src ip> <src port> <dst ip> <dst port>",
    then echoes the payload until EOF."""
    reader = Reader(sock)
    try:
        header = read_proxy_header(reader)
    except (ValueError, EOFError) as e:
        with server.lock:
            server.headers.append({"error": str(e)})
        sock.sendall(b"NOHEADER\n")
        return
    with server.lock:
        server.headers.append(header)
    src, dst = header["src"], header["dst"]
    sock.sendall(f"{header['version']} {header['proto']} {src[0]} {src[1]} {dst[0]} {dst[1]}\n"
                 .encode())
    if reader.buf:
        sock.sendall(reader.buf)
    while True:
        data = sock.recv(65536)
        if not data:
            break
        sock.sendall(data)


def proxy_backend(name="pp"):
    backend = Backend(name, behaviour=behaviour_proxy_report)
    backend.headers = []
    return backend


def pp_config(port, backend, send="none", accept=False):
    listener = f"    proxy_protocol: {{send: {send}, accept: {'true' if accept else 'false'}}}"
    return tcp_config(port, [backend.address], extra_listener=listener)


def v2_header(src, dst):
    """A v2 PROXY header (TCP over IPv4 or IPv6) naming src and dst, both (ip, port)."""
    family = socket.AF_INET6 if ":" in src[0] else socket.AF_INET
    block = (socket.inet_pton(family, src[0]) + socket.inet_pton(family, dst[0]) +
             struct.pack("!HH", src[1], dst[1]))
    fam = 0x21 if family == socket.AF_INET6 else 0x11
    return V2_SIGNATURE + bytes([0x21, fam]) + struct.pack("!H", len(block)) + block


@contextlib.contextmanager
def client(port, host="127.0.0.1"):
    """A client connection and a reader on it; both closed on exit, so the proxy sees our FIN
    (a file from makefile() alone would keep the socket open)."""
    s = socket.create_connection((host, port), timeout=10)
    f = s.makefile("rb")
    try:
        yield s, f
    finally:
        f.close()
        s.close()


def read_report(f):
    line = f.readline().decode().strip()
    parts = line.split(" ")
    if len(parts) != 6:
        raise AssertionError(f"backend did not see a PROXY header: {line!r}")
    version, proto, sip, sport, dip, dport = parts
    return int(version), proto, (sip, int(sport)), (dip, int(dport))


def connection_closed(sock):
    """True once the peer has closed (FIN or RST); False if data arrives instead."""
    try:
        return sock.recv(4096) == b""
    except ConnectionResetError:
        return True


class ProxyProtocolTest(BallastTest):
    def test_send_v1_and_v2_carry_the_client_address(self):
        backend = proxy_backend()
        try:
            for io in IO_BACKENDS:
                for send, version in (("v1", 1), ("v2", 2)):
                    with self.subTest(io=io, send=send):
                        port = free_port()
                        with Ballast(pp_config(port, backend, send=send), io=io):
                            for _ in range(3):
                                with client(port) as (s, f):
                                    me = s.getsockname()
                                    got_version, proto, src, dst = read_report(f)
                                    s.sendall(b"payload after the header")
                                    self.assertEqual(f.read(24), b"payload after the header")
                                self.assertEqual(got_version, version)
                                self.assertEqual(proto, "TCP4")
                                self.assertEqual(src, me)
                                self.assertEqual(dst, ("127.0.0.1", port))
        finally:
            backend.close()

    def test_accepted_v2_header_is_relayed_as_v1(self):
        backend = proxy_backend()
        try:
            for io in IO_BACKENDS:
                with self.subTest(io=io):
                    port = free_port()
                    with Ballast(pp_config(port, backend, send="v1", accept=True), io=io):
                        with backend.lock:
                            backend.headers.clear()
                        with client(port) as (s, f):
                            # Header and payload in one write, as a real proxy in front would.
                            s.sendall(v2_header(("198.18.0.7", 4242), ("203.0.113.9", 443)) +
                                      b"hello through two proxies")
                            version, proto, src, dst = read_report(f)
                            self.assertEqual(f.read(25), b"hello through two proxies")
                    self.assertEqual((version, proto), (1, "TCP4"))
                    self.assertEqual(src, ("198.18.0.7", 4242))
                    self.assertEqual(dst, ("203.0.113.9", 443))
                    with backend.lock:
                        raw = backend.headers[-1]["raw"]
                    self.assertEqual(raw, b"PROXY TCP4 198.18.0.7 203.0.113.9 4242 443\r\n")
        finally:
            backend.close()

    def test_accepted_header_split_across_segments(self):
        backend = proxy_backend()
        headers = {
            "v1": b"PROXY TCP4 198.18.0.9 203.0.113.1 5151 8443\r\n",
            "v2": v2_header(("198.18.0.9", 5151), ("203.0.113.1", 8443)),
        }
        try:
            for io in IO_BACKENDS:
                for kind, header in headers.items():
                    with self.subTest(io=io, header=kind):
                        port = free_port()
                        with Ballast(pp_config(port, backend, send="v2", accept=True), io=io):
                            with client(port) as (s, f):
                                s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                                # Cuts inside the signature, a field and the address part; the
                                # pauses only pace the writes into separate segments.
                                for piece in (header[:5], header[5:14], header[14:20],
                                              header[20:]):
                                    s.sendall(piece)
                                    time.sleep(0.05)
                                s.sendall(b"tail")
                                version, proto, src, dst = read_report(f)
                                self.assertEqual(f.read(4), b"tail")
                        self.assertEqual((version, proto), (2, "TCP4"))
                        self.assertEqual(src, ("198.18.0.9", 5151))
                        self.assertEqual(dst, ("203.0.113.1", 8443))
        finally:
            backend.close()

    def test_header_payload_and_fin_before_the_backend_answers(self):
        backend = proxy_backend()
        try:
            for io in IO_BACKENDS:
                with self.subTest(io=io):
                    port = free_port()
                    with Ballast(pp_config(port, backend, send="v1", accept=True), io=io):
                        with client(port) as (s, f):
                            s.sendall(b"PROXY TCP4 198.18.0.3 198.18.0.4 3333 4444\r\nbye")
                            s.shutdown(socket.SHUT_WR)
                            # The FIN waits for the backend connection, then follows the
                            # payload; the backend's FIN comes back after the echo.
                            everything = f.read()
                    self.assertEqual(everything, b"1 TCP4 198.18.0.3 3333 198.18.0.4 4444\nbye")
        finally:
            backend.close()

    def test_local_and_unknown_headers_fall_back_to_the_real_addresses(self):
        backend = proxy_backend()
        headers = {
            "v1 UNKNOWN": b"PROXY UNKNOWN\r\n",
            "v1 UNKNOWN with addresses": b"PROXY UNKNOWN ffff::1 ffff::2 1 2\r\n",
            "v2 LOCAL": V2_SIGNATURE + bytes([0x20, 0x00, 0x00, 0x00]),
        }
        try:
            for io in IO_BACKENDS:
                with self.subTest(io=io):
                    port = free_port()
                    with Ballast(pp_config(port, backend, send="v1", accept=True), io=io):
                        for kind, header in headers.items():
                            with self.subTest(header=kind):
                                with client(port) as (s, f):
                                    me = s.getsockname()
                                    s.sendall(header + b"data")
                                    version, proto, src, dst = read_report(f)
                                    self.assertEqual(f.read(4), b"data")
                                # The header said "addresses unknown": the connection's own
                                # are sent on.
                                self.assertEqual((version, proto), (1, "TCP4"))
                                self.assertEqual(src, me)
                                self.assertEqual(dst, ("127.0.0.1", port))
        finally:
            backend.close()

    def test_malformed_header_is_refused_before_any_backend_connection(self):
        backend = proxy_backend()
        try:
            for io in IO_BACKENDS:
                with self.subTest(io=io):
                    port = free_port()
                    with Ballast(pp_config(port, backend, send="v1", accept=True), io=io) as lb:
                        before = backend.connections
                        with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
                            s.sendall(b"GET / HTTP/1.1\r\n")
                            self.assertTrue(connection_closed(s),
                                            "proxy answered a malformed PROXY header")
                        events = wait_until(lambda: lb.events("l4.proxy_header_invalid"),
                                            what="l4.proxy_header_invalid")
                        self.assertEqual(len(events), 1)
                        self.assertEqual(events[0].get("listener"), "front")
                        self.assertIn("no PROXY signature", events[0].get("reason", ""))
                        # Still serving: a well-formed header on a new connection goes through,
                        # and it is the only connection the backend ever got.
                        with client(port) as (s, f):
                            s.sendall(b"PROXY TCP4 198.18.0.1 198.18.0.2 1000 2000\r\n")
                            _, _, src, _ = read_report(f)
                        self.assertEqual(src, ("198.18.0.1", 1000))
                        self.assertEqual(backend.connections - before, 1)
        finally:
            backend.close()

    def test_accepted_ipv6_v1_header(self):
        backend = proxy_backend()
        line = b"PROXY TCP6 2001:db8::7 2001:db8:0:1::1 4242 443\r\n"
        try:
            for io in IO_BACKENDS:
                for send, version in (("v1", 1), ("v2", 2)):
                    with self.subTest(io=io, send=send):
                        port = free_port()
                        with Ballast(pp_config(port, backend, send=send, accept=True), io=io):
                            with client(port) as (s, f):
                                s.sendall(line + b"six")
                                got_version, proto, src, dst = read_report(f)
                                self.assertEqual(f.read(3), b"six")
                        self.assertEqual((got_version, proto), (version, "TCP6"))
                        self.assertEqual(src, ("2001:db8::7", 4242))
                        self.assertEqual(dst, ("2001:db8:0:1::1", 443))
                        if send == "v1":
                            with backend.lock:
                                self.assertEqual(backend.headers[-1]["raw"], line)
        finally:
            backend.close()


if __name__ == "__main__":
    main()
