"""tests/integration/test_h2_limits.py — the HTTP/2 denial-of-service attacks, each from raw frames
on an h2c listener: rapid reset (CVE-2023-44487), CONTINUATION flood (CVE-2024-27316 family),
HPACK bomb, SETTINGS flood, PING flood, a zero-window stall and stream-id exhaustion. Each must
end the attacker's connection (GOAWAY with the code below, or a reset of the stream for the
HPACK bomb and the stall) while the process stays up and serves the next client. Both I/O
backends.
"""
import socket
import struct
import sys
import time

from harness import IO_BACKENDS, Ballast, BallastTest, free_port, main
from http_backends import HttpBackend

try:
    import hpack
except ImportError:  # an interpreter other than Debian's: use its python3-hpack (pure Python)
    sys.path.append("/usr/lib/python3/dist-packages")
    import hpack

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
DATA, HEADERS, PRIORITY, RST_STREAM, SETTINGS, PING, GOAWAY, WINDOW_UPDATE, CONTINUATION = (
    0, 1, 2, 3, 4, 6, 7, 8, 9)
END_STREAM, END_HEADERS, ACK = 0x1, 0x4, 0x1
NO_ERROR, PROTOCOL_ERROR, INTERNAL_ERROR, ENHANCE_YOUR_CALM = 0, 1, 2, 11


def frame(kind, flags, stream, payload=b""):
    return struct.pack(">I", len(payload))[1:] + bytes([kind, flags]) + struct.pack(">I", stream) + payload


def request_block(path="/x"):
    return hpack.Encoder().encode([(":method", "GET"), (":path", path), (":scheme", "http"),
                                   (":authority", "a.test")])


def read_frames(sock, deadline_s=10):
    """Frames from the server until it closes (or the deadline): [(type, flags, stream, payload)]."""
    data = b""
    sock.settimeout(deadline_s)
    end = time.monotonic() + deadline_s
    try:
        while time.monotonic() < end:
            chunk = sock.recv(1 << 16)
            if not chunk:
                break
            data += chunk
    except (socket.timeout, ConnectionResetError):
        pass
    frames = []
    while len(data) >= 9:
        length = int.from_bytes(data[:3], "big")
        if len(data) < 9 + length:
            break
        frames.append((data[3], data[4], int.from_bytes(data[5:9], "big") & 0x7FFFFFFF,
                       data[9:9 + length]))
        data = data[9 + length:]
    return frames


def goaway_code(frames):
    for kind, _, _, payload in frames:
        if kind == GOAWAY:
            return int.from_bytes(payload[4:8], "big")
    return None


class H2LimitsTest(BallastTest):
    @classmethod
    def setUpClass(cls):
        cls.backend = HttpBackend("app")

    @classmethod
    def tearDownClass(cls):
        cls.backend.close()

    def run_attack(self, attack, limits=""):
        for io in IO_BACKENDS:
            with self.subTest(io=io):
                port = free_port()
                cfg = f"""
workers: 1
listeners:
  - name: web
    bind: "127.0.0.1:{port}"
    protocol: http
    http2: true
    pool: app
    timeouts: {{body_idle: 1s}}
{limits}
pools:
  - {{name: app, backends: [{{address: "{self.backend.address}"}}]}}
"""
                with Ballast(cfg, io=io) as b:
                    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
                        attack(s)
                    self.assertIsNone(b.proc.poll(), "ballast died")
                    # Unharmed: a new client is served.
                    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
                        s.sendall(PREFACE + frame(SETTINGS, 0, 0) +
                                  frame(HEADERS, END_STREAM | END_HEADERS, 1, request_block()))
                        s.settimeout(10)
                        got = b""
                        while b"app " not in got:  # the backend's body names it
                            chunk = s.recv(65536)
                            self.assertTrue(chunk, "closed before answering")
                            got += chunk

    def test_rapid_reset_ends_with_goaway_and_bounded_backend_requests(self):
        def attack(s):
            before = self.backend.requests
            block = request_block()
            burst = b"".join(frame(HEADERS, END_STREAM | END_HEADERS, sid, block) +
                             frame(RST_STREAM, 0, sid, struct.pack(">I", 8))
                             for sid in range(1, 2 * 3000, 2))
            s.sendall(PREFACE + frame(SETTINGS, 0, 0) + burst)
            frames = read_frames(s)
            # nghttp2's reset rate limit (h2_limits.h) answers with INTERNAL_ERROR.
            self.assertEqual(goaway_code(frames), INTERNAL_ERROR, frames[-3:])
            self.assertLess(self.backend.requests - before, 1100)
        self.run_attack(attack)

    def test_continuation_flood_ends_with_goaway(self):
        def attack(s):
            filler = hpack.Encoder().encode([("x-filler", "a" * 100)])
            flood = b"".join(frame(CONTINUATION, 0, 1, filler) for _ in range(200))
            try:
                s.sendall(PREFACE + frame(SETTINGS, 0, 0) +
                          frame(HEADERS, END_STREAM, 1, request_block()) + flood)
            except (BrokenPipeError, ConnectionResetError):
                pass
            code = goaway_code(read_frames(s))
            self.assertEqual(code, ENHANCE_YOUR_CALM)
        self.run_attack(attack)

    def test_hpack_bomb_is_refused(self):
        def attack(s):
            before = self.backend.requests
            enc = hpack.Encoder()
            # One 4 KiB field enters the dynamic table, then each 1-byte index repeats it: a
            # 1 KiB block that decodes to megabytes.
            first = enc.encode([(":method", "GET"), (":path", "/x"), (":scheme", "http"),
                                (":authority", "a.test"), ("x-bomb", "b" * 4000)])
            bomb = first + enc.encode([("x-bomb", "b" * 4000)]) * 1000
            s.sendall(PREFACE + frame(SETTINGS, 0, 0) +
                      frame(HEADERS, END_STREAM, 1, bomb[:16000]) +
                      frame(CONTINUATION, END_HEADERS, 1, bomb[16000:]))
            frames = read_frames(s, deadline_s=3)
            kinds = [f[0] for f in frames]
            self.assertTrue(RST_STREAM in kinds or GOAWAY in kinds, kinds)
            self.assertNotIn(HEADERS, kinds)  # no response: it never went upstream
            self.assertEqual(self.backend.requests, before)
        self.run_attack(attack)

    def test_settings_flood_ends_the_connection(self):
        def attack(s):
            flood = frame(SETTINGS, 0, 0) * 20000
            try:
                s.sendall(PREFACE + flood)
            except (BrokenPipeError, ConnectionResetError):
                pass
            frames = read_frames(s)
            acks = sum(1 for k, f, _, _ in frames if k == SETTINGS and f & ACK)
            self.assertLess(acks, 20000, "every SETTINGS was answered: nothing bounded the flood")
            self.assertEqual(goaway_code(frames), ENHANCE_YOUR_CALM)
        self.run_attack(attack)

    def test_ping_flood_ends_the_connection(self):
        def attack(s):
            flood = frame(PING, 0, 0, b"12345678") * 20000
            try:
                s.sendall(PREFACE + frame(SETTINGS, 0, 0) + flood)
            except (BrokenPipeError, ConnectionResetError):
                pass
            frames = read_frames(s)
            acks = sum(1 for k, f, _, _ in frames if k == PING and f & ACK)
            self.assertLess(acks, 20000, "every PING was answered: nothing bounded the flood")
            self.assertEqual(goaway_code(frames), ENHANCE_YOUR_CALM)
        self.run_attack(attack)

    def test_control_frames_faster_than_the_limit_end_the_connection(self):
        # A client that reads every ACK never fills the ACK queue: only the rate stops it.
        def attack(s):
            s.sendall(PREFACE + frame(SETTINGS, 0, 0))
            sent = 0
            frames = []
            try:
                for i in range(400):
                    kind = (PING, PRIORITY, WINDOW_UPDATE)[i % 3]
                    payload = {PING: b"12345678", PRIORITY: struct.pack(">IB", 0, 15),
                               WINDOW_UPDATE: struct.pack(">I", 1)}[kind]
                    s.sendall(frame(kind, 0, 0 if kind != PRIORITY else 3, payload))
                    sent += 1
            except (BrokenPipeError, ConnectionResetError):
                pass
            frames = read_frames(s)
            # Without the rate limit every frame is answered and no GOAWAY comes.
            self.assertEqual(goaway_code(frames), ENHANCE_YOUR_CALM, f"sent {sent}")
        self.run_attack(attack, limits="    http2_limits: {control_frames_per_second: 50}")

    def test_zero_window_stall_is_cut_after_body_idle(self):
        def attack(s):
            # SETTINGS_INITIAL_WINDOW_SIZE 0: the response body can never be sent.
            s.sendall(PREFACE + frame(SETTINGS, 0, 0, struct.pack(">HI", 4, 0)) +
                      frame(HEADERS, END_STREAM | END_HEADERS, 1,
                            request_block(f"/download/chunked/{4 << 20}")))
            # body_idle is 1 s; nothing else resets a stream the backend is still answering.
            frames = read_frames(s, deadline_s=4)
            resets = [f for f in frames if f[0] == RST_STREAM and f[2] == 1]
            self.assertTrue(resets, [f[0] for f in frames])
        self.run_attack(attack)

    def test_stream_id_exhaustion_is_answered_then_closed(self):
        def attack(s):
            last = 0x7FFFFFFF
            s.sendall(PREFACE + frame(SETTINGS, 0, 0) +
                      frame(HEADERS, END_STREAM | END_HEADERS, last, request_block()))
            started = time.monotonic()
            frames = read_frames(s, deadline_s=5)
            self.assertLess(time.monotonic() - started, 4, "the connection was left open")
            self.assertEqual(goaway_code(frames), NO_ERROR)
            self.assertIn((HEADERS, last), [(f[0], f[2]) for f in frames])  # the stream was served
        self.run_attack(attack)


if __name__ == "__main__":
    main()
