#!/usr/bin/env python3
"""tests/vm/http_count.py — opens N sequential HTTP/1.0 connections to HOST:PORT and prints how
many answers each backend gave ("n1=10 n2=20 n3=30"); each backend serves its own name. Failures
count as "error".

Connection i binds source port FIRST_PORT + i. IPVS keeps an entry per connection for minutes
after it closes, keyed by the client's address and port; a new connection that happens to reuse
the port of an entry left by an earlier run goes to that entry's backend, not where the
scheduler would send it, and skews the shares. The caller gives each run its own port range, so
every connection is new to IPVS and is scheduled."""
import collections
import socket
import sys

TIMEOUT_S = 3


def fetch(host, port, source_port):
    with socket.create_connection((host, port), timeout=TIMEOUT_S,
                                  source_address=("0.0.0.0", source_port)) as s:
        s.sendall(b"GET / HTTP/1.0\r\nHost: vip\r\n\r\n")
        data = b""
        while True:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
    return data.split(b"\r\n\r\n", 1)[-1].strip().decode() or "empty"


def main():
    host, port, count, first_port = (sys.argv[1], int(sys.argv[2]), int(sys.argv[3]),
                                     int(sys.argv[4]))
    seen = collections.Counter()
    for i in range(count):
        try:
            seen[fetch(host, port, first_port + i)] += 1
        except OSError:
            seen["error"] += 1
    print(" ".join(f"{k}={v}" for k, v in sorted(seen.items())))


if __name__ == "__main__":
    main()
