#!/usr/bin/env python3
"""tests/vm/http_count.py — opens N sequential HTTP/1.0 connections to HOST:PORT and prints how
many answers each backend gave ("n1=10 n2=20 n3=30"); each backend serves its own name. Every
connection is new, so IPVS schedules each one. Failures count as "error"."""
import collections
import socket
import sys

TIMEOUT_S = 3


def fetch(host, port):
    with socket.create_connection((host, port), timeout=TIMEOUT_S) as s:
        s.sendall(b"GET / HTTP/1.0\r\nHost: vip\r\n\r\n")
        data = b""
        while True:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
    return data.split(b"\r\n\r\n", 1)[-1].strip().decode() or "empty"


def main():
    host, port, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    seen = collections.Counter()
    for _ in range(count):
        try:
            seen[fetch(host, port)] += 1
        except OSError:
            seen["error"] += 1
    print(" ".join(f"{k}={v}" for k, v in sorted(seen.items())))


if __name__ == "__main__":
    main()
