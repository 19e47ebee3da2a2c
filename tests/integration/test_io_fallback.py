"""tests/integration/test_io_fallback.py — `io: auto` falls back to epoll, with a log line, when
io_uring cannot be set up; `io: io_uring` refuses to start instead. The test disables io_uring
machine-wide for a moment through kernel.io_uring_disabled (root only, Linux 6.6+) and always
puts the previous value back; where that knob is missing or read-only it skips."""
import os
import subprocess
import unittest

from harness import BALLAST_BIN, Backend, Ballast, BallastTest, free_port, main, tcp_config

KNOB = "/proc/sys/kernel/io_uring_disabled"


def knob_usable():
    return os.path.exists(KNOB) and os.access(KNOB, os.W_OK)


class IoFallbackTest(BallastTest):
    @unittest.skipUnless(knob_usable(), "kernel.io_uring_disabled not writable here")
    def test_auto_falls_back_to_epoll_and_explicit_io_uring_refuses(self):
        backend = Backend("fb")
        with open(KNOB) as f:
            previous = f.read().strip()
        try:
            with open(KNOB, "w") as f:
                f.write("2")  # io_uring_setup() now fails with EPERM for everyone
            port = free_port()
            cfg = tcp_config(port, [backend.address])
            with Ballast(cfg, io="auto") as lb:
                started = lb.events("server.started")[0]
                self.assertEqual(started["io"], "epoll")
                fallback = lb.events("core.io_fallback")
                self.assertEqual(len(fallback), 1)
                self.assertIn("io_uring_queue_init", fallback[0]["reason"])
            refused = Ballast(cfg, io="io_uring")
            with open(refused.log_path, "w") as log:
                r = subprocess.run([BALLAST_BIN, "run", "-c", refused.config_path, "--io",
                                    "io_uring"], stderr=log, stdout=log, timeout=10)
            self.assertEqual(r.returncode, 1)
            self.assertIn("io_uring unavailable", refused.log_text())
        finally:
            with open(KNOB, "w") as f:
                f.write(previous)
            backend.close()


if __name__ == "__main__":
    main()
