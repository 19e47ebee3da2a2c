"""tests/integration/test_admin_shell.py — `ballast shell` driven in a pseudo-terminal against a
running daemon: tab completion of commands, pool names and backend addresses, `?` listing what
may come next with its help, commands printing their tables, and `exit` leaving with status 0.

Each step types keys into the pty and waits, with a deadline, for the expected text on the
screen (escape sequences stripped); nothing sleeps.
"""
import os
import re
import select
import shutil
import subprocess
import tempfile
import time

from harness import BALLAST_BIN, IO_BACKENDS, Ballast, BallastTest, free_port, main, wait_until
from http_backends import HttpBackend

BIN = os.path.abspath(BALLAST_BIN)
ANSI = re.compile(rb"\x1b\[[0-9;?]*[A-Za-z]|\x1b[()][A-Za-z0-9]|\x1b[=>]|\r|\x07|\x08")


class Pty:
    """A child process on a pseudo-terminal; screen() is everything it wrote, escapes removed."""

    def __init__(self, argv, env):
        self.master, slave = os.openpty()
        self.proc = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave, env=env,
                                     start_new_session=True)
        os.close(slave)
        self.raw = b""

    def _pump(self, timeout):
        ready, _, _ = select.select([self.master], [], [], timeout)
        if ready:
            try:
                data = os.read(self.master, 65536)
            except OSError:  # EIO: the child closed the terminal
                return False
            self.raw += data
            return bool(data)
        return True

    def screen(self):
        return ANSI.sub(b"", self.raw).decode("utf-8", errors="replace")

    def send(self, text):
        os.write(self.master, text.encode())

    def expect(self, pattern, since=0, timeout=10):
        """Waits until `pattern` (regex) appears in the screen text after offset `since`;
        returns (match, offset just past it)."""
        deadline = time.monotonic() + timeout
        rx = re.compile(pattern, re.M)
        while True:
            text = self.screen()
            m = rx.search(text, since)
            if m:
                return m, m.end()
            left = deadline - time.monotonic()
            if left <= 0 or (not self._pump(min(left, 0.2)) and self.proc.poll() is not None):
                raise AssertionError(f"timed out waiting for {pattern!r}; screen after offset "
                                     f"{since}:\n{text[since:]!r}")

    def mark(self):
        """Drains what is already written; returns the current end of the screen text."""
        while True:
            ready, _, _ = select.select([self.master], [], [], 0)
            if not ready or not self._pump(0):
                break
        return len(self.screen())

    def close(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        os.close(self.master)


class AdminShellTest(BallastTest):
    @classmethod
    def setUpClass(cls):
        cls.a = HttpBackend("a")
        cls.b = HttpBackend("b")

    @classmethod
    def tearDownClass(cls):
        cls.a.close()
        cls.b.close()

    def test_completion_help_commands_and_exit(self):
        port = free_port()
        d = Ballast("", io=IO_BACKENDS[0])
        sock = os.path.join(d.dir, "admin.sock")
        d.write_config(
            "workers: 1\nlogging: {level: info}\n"
            f"admin: {{socket: {sock}}}\n"
            "listeners:\n  - name: web\n"
            f"    bind: \"127.0.0.1:{port}\"\n    protocol: http\n    pool: app\n"
            "pools:\n  - name: app\n    backends:\n"
            f"      - {{address: \"{self.a.address}\"}}\n"
            f"      - {{address: \"{self.b.address}\"}}\n")
        home = tempfile.mkdtemp(prefix="ballast-shell-home-")
        self.addCleanup(shutil.rmtree, home, True)
        env = {k: v for k, v in os.environ.items() if k != "BALLAST_ADMIN_SOCKET"}
        env.update(TERM="xterm", HOME=home, COLUMNS="200", LINES="50")
        with d:
            wait_until(lambda: os.path.exists(sock), what="admin socket")
            sh = Pty([BIN, "shell", "--socket", sock], env)
            self.addCleanup(sh.close)
            _, at = sh.expect(r"ballast> ")

            # `?` on an empty line: every command with its help text.
            sh.send("?")
            for word, help_text in (("show", "show status, config"), ("backend", "add, remove"),
                                    ("reload", "re-read the config file"), ("exit", "leave")):
                sh.expect(rf"^\s+{word}\s+{re.escape(help_text)}", at)
            _, at = sh.expect(r"ballast> ", at)

            # sh<TAB> completes to "show "; then `?` lists what show takes.
            at = sh.mark()
            sh.send("sh\t")
            _, at = sh.expect(r"show $", at)
            sh.send("?")
            sh.expect(r"^\s+pools\s+pools and how many backends are up", at)
            _, at = sh.expect(r"^\s+listeners\s+listeners and their traffic", at)
            # The line survives the help listing: finish it and run it.
            at = sh.mark()
            sh.send("pools\r")
            sh.expect(r"^POOL\s+ALGORITHM\s+UP\s+BACKENDS", at)
            _, at = sh.expect(r"^app\s+round_robin\s+2\s+2", at)
            _, at = sh.expect(r"ballast> ", at)

            # An unknown command is refused and the shell goes on (exit
            # then returns the last command's status, like a POSIX shell, so a good one follows).
            sh.send("frobnicate\r")
            _, at = sh.expect(r"% unknown command 'frobnicate'", at)
            _, at = sh.expect(r"ballast> ", at)

            # show backends <TAB> completes the only pool name.
            sh.send("show backends \t")
            _, at = sh.expect(r"show backends app $", at)
            sh.send("\r")
            sh.expect(r"^POOL\s+BACKEND\s+HEALTH", at)
            _, at = sh.expect(rf"^app\s+{re.escape(self.b.address)}\s+unchecked\s+enabled", at)
            _, at = sh.expect(r"ballast> ", at)

            # backend drain app <TAB>: extends to the addresses' common prefix ("127.0.0.1:"
            # and any shared port digits); a second TAB lists both with their help.
            common = os.path.commonprefix([self.a.address, self.b.address])
            sh.send("backend drain app \t")
            _, at = sh.expect(rf"backend drain app {re.escape(common)}$", at)
            sh.send("\t")
            for b in (self.a, self.b):
                sh.expect(rf"^\s+{re.escape(b.address)}\s+backend of app", at)
            # Pick b by typing the rest of its address, run it, and check the daemon did it.
            at = sh.mark()
            sh.send(f"{self.b.address[len(common):]}\r")
            _, at = sh.expect(rf"app {re.escape(self.b.address)}: health unchecked, admin drain",
                              at)
            _, at = sh.expect(r"ballast> ", at)

            sh.send("exit\r")
            self.assertEqual(sh.proc.wait(10), 0, sh.screen()[-3000:])
            with open(os.path.join(home, ".ballast_history")) as f:
                # libedit's history file encodes blanks as \\040 (vis(3)).
                history = f.read().replace("\\040", " ").splitlines()
            self.assertIn("show pools", history)
            self.assertIn(f"backend drain app {self.b.address}", history)

    def test_piped_input_runs_the_same_commands(self):
        port = free_port()
        d = Ballast("", io=IO_BACKENDS[0])
        sock = os.path.join(d.dir, "admin.sock")
        d.write_config(
            "workers: 1\nlogging: {level: info}\n"
            f"admin: {{socket: {sock}}}\n"
            "listeners:\n  - name: web\n"
            f"    bind: \"127.0.0.1:{port}\"\n    protocol: http\n    pool: app\n"
            "pools:\n  - name: app\n    backends:\n"
            f"      - {{address: \"{self.a.address}\"}}\n")
        with d:
            wait_until(lambda: os.path.exists(sock), what="admin socket")
            r = subprocess.run([BIN, "shell", "--socket", sock], input="show pools\nexit\n",
                               capture_output=True, text=True, timeout=20)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertRegex(r.stdout, r"(?m)^app\s+round_robin\s+1\s+1")


if __name__ == "__main__":
    main()
