"""tests/integration/test_cli.py — the command line: version, help pages, usage errors and exit
codes, and `ballast validate` reporting each problem as an exact `file:line:column: message`
(includes and environment substitution too); every shipped example must validate."""
import glob
import os
import shutil
import subprocess
import tempfile
import textwrap
import unittest

from harness import BALLAST_BIN, main

BIN = os.path.abspath(BALLAST_BIN)
EXAMPLES = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                        "../../examples"))
# Variables the env tests set; removed from the inherited environment so the host cannot leak in.
TEST_VARS = ("BALLAST_TEST_LISTEN", "BALLAST_TEST_BACKEND", "WEB_BIND")


def clean_env(**extra):
    env = {k: v for k, v in os.environ.items() if k not in TEST_VARS}
    env.update(extra)
    return env


class CliTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="ballast-cli-")

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def ballast(self, *args, env=None):
        """Runs ballast in the temp dir, so file names in messages are the relative ones given."""
        return subprocess.run([BIN, *args], cwd=self.dir, capture_output=True, text=True,
                              timeout=20, env=env if env is not None else clean_env())

    def write(self, name, text):
        path = os.path.join(self.dir, name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write(textwrap.dedent(text).lstrip("\n"))
        return name

    def assertInvalid(self, name, *errors):
        """validate exits 1 and prints exactly these error lines, then the count, on stderr."""
        r = self.ballast("validate", "-c", name)
        self.assertEqual(r.returncode, 1, r.stderr)
        count = f"{len(errors)} error" + ("" if len(errors) == 1 else "s")
        self.assertEqual(r.stderr.splitlines(), [*errors, f"{name}: {count}"])
        self.assertEqual(r.stdout, "")

    # ---- version and help

    def test_version(self):
        for args in (["--version"], ["-V"], ["version"]):
            with self.subTest(args=args):
                r = self.ballast(*args)
                self.assertEqual(r.returncode, 0)
                self.assertRegex(r.stdout, r"\Aballast \d+\.\d+\.\d+\n\Z")
                self.assertEqual(r.stderr, "")

    def test_main_help(self):
        for args in (["help"], ["--help"], ["-h"]):
            with self.subTest(args=args):
                r = self.ballast(*args)
                self.assertEqual(r.returncode, 0)
                self.assertIn("\nUSAGE\n", r.stdout)
                self.assertIn("\nCOMMANDS\n", r.stdout)
                for command in ("run", "validate", "version", "help"):
                    self.assertRegex(r.stdout, rf"\n  {command} +\S")

    def test_subcommand_help_has_a_synopsis(self):
        synopsis = {
            "run": "  ballast run -c FILE [--io auto|io_uring|epoll] [--workers N] [--upgrade]\n",
            "validate": "  ballast validate -c FILE\n",
            "version": "  ballast version\n",
        }
        for command, line in synopsis.items():
            pages = {}
            for args in ([command, "--help"], [command, "-h"], ["help", command]):
                with self.subTest(args=args):
                    r = self.ballast(*args)
                    self.assertEqual(r.returncode, 0)
                    self.assertIn("\nSYNOPSIS\n" + line, r.stdout)
                    self.assertIn("\nEXIT STATUS\n", r.stdout)
                    pages[tuple(args)] = r.stdout
            # `ballast help X` and `ballast X --help` print the same page.
            self.assertEqual(len(set(pages.values())), 1, f"help pages for {command} differ")

    # ---- usage errors

    def test_no_arguments_is_a_usage_error(self):
        r = self.ballast()
        self.assertEqual(r.returncode, 2)
        self.assertIn("\nUSAGE\n", r.stdout)

    def test_unknown_command(self):
        r = self.ballast("frobnicate")
        self.assertEqual(r.returncode, 2)
        self.assertTrue(r.stderr.startswith("ballast: unknown command 'frobnicate'\n"), r.stderr)

    def test_unknown_option(self):
        for command in ("run", "validate"):
            with self.subTest(command=command):
                r = self.ballast(command, "--frob", "-c", "x.yaml")
                self.assertEqual(r.returncode, 2)
                self.assertEqual(r.stderr, f"ballast: unknown option '--frob'\n"
                                           f"Try 'ballast {command} --help'.\n")

    def test_option_missing_its_value(self):
        r = self.ballast("validate", "-c")
        self.assertEqual(r.returncode, 2)
        self.assertIn("option -c needs a value", r.stderr)

    def test_validate_without_a_file(self):
        r = self.ballast("validate")
        self.assertEqual(r.returncode, 2)
        self.assertIn("validate needs -c FILE", r.stderr)

    def test_help_for_an_unknown_topic(self):
        r = self.ballast("help", "nope")
        self.assertEqual(r.returncode, 2)
        # The hint must name a command that exists: `ballast --help`, with one space.
        self.assertEqual(r.stderr, "ballast: no help for 'nope'\nTry 'ballast --help'.\n")

    def test_run_rejects_bad_overrides(self):
        config = self.write("ok.yaml", """
            listeners:
              - {name: front, bind: "127.0.0.1:8080", pool: app}
            pools:
              - {name: app, backends: [{address: "127.0.0.1:9001"}]}
            """)
        for args in (["--io", "kqueue"], ["--workers", "0"], ["--workers", "two"]):
            with self.subTest(args=args):
                r = self.ballast("run", "-c", config, *args)
                self.assertEqual(r.returncode, 2)
                self.assertIn("Try 'ballast run --help'.", r.stderr)

    # ---- validate

    def test_validate_missing_file_exits_2(self):
        r = self.ballast("validate", "-c", "missing.yaml")
        self.assertEqual(r.returncode, 2)
        self.assertEqual(r.stderr, "missing.yaml: cannot read file: No such file or directory\n")

    def test_validate_valid_file(self):
        name = self.write("ok.yaml", """
            workers: 2
            listeners:
              - name: front
                bind: "127.0.0.1:8080"
                pool: app
              - name: dns
                bind: "[::1]:5353"
                protocol: udp
                pool: app
            pools:
              - name: app
                backends:
                  - address: "127.0.0.1:9001"
            """)
        r = self.ballast("validate", "-c", name)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, "ok.yaml: valid (2 listeners, 1 pool)\n")
        self.assertEqual(r.stderr, "")
        quiet = self.ballast("validate", "-q", "-c", name)
        self.assertEqual((quiet.returncode, quiet.stdout, quiet.stderr), (0, "", ""))

    def test_unknown_key(self):
        name = self.write("unknown.yaml", """
            workers: 1
            listeners:
              - name: front
                bind: "127.0.0.1:8080"
                pool: app
                timeouts: {connect: 1s, idel: 5s}
            pools:
              - name: app
                backends:
                  - address: "127.0.0.1:9001"
            """)
        # Line 6, and column 29: where "idel" starts inside the flow mapping.
        self.assertInvalid(
            name, 'unknown.yaml:6:29: unknown key "idel" in timeouts; allowed keys: connect, idle')

    def test_unknown_top_level_key(self):
        name = self.write("top.yaml", """
            pools:
              - name: app
                backends:
                  - address: "127.0.0.1:9001"
            listners: []
            """)
        r = self.ballast("validate", "-c", name)
        self.assertEqual(r.returncode, 1)
        self.assertRegex(r.stderr.splitlines()[0], r'\Atop\.yaml:5:1: unknown key "listners"')

    def test_bad_addresses(self):
        name = self.write("badaddr.yaml", """
            listeners:
              - name: front
                bind: "127.0.0.1:99999"
                pool: app
            pools:
              - name: app
                backends:
                  - address: "not-an-address"
            """)
        # Both are reported, each at its value.
        self.assertInvalid(
            name,
            'badaddr.yaml:3:11: bind: expected IP:port such as 127.0.0.1:8080 or [::1]:8080, '
            'got "127.0.0.1:99999"',
            'badaddr.yaml:8:18: address: expected IP:port such as 127.0.0.1:8080 or [::1]:8080, '
            'got "not-an-address"')

    def test_duplicate_pool_name(self):
        name = self.write("duppool.yaml", """
            listeners:
              - name: front
                bind: "127.0.0.1:8080"
                pool: app
            pools:
              - name: app
                backends:
                  - address: "127.0.0.1:9001"
              - name: app
                backends:
                  - address: "127.0.0.1:9002"
            """)
        self.assertInvalid(
            name, 'duppool.yaml:9:11: duplicate pool name "app" (first defined at line 6)')

    def test_listener_naming_a_missing_pool(self):
        name = self.write("nopool.yaml", """
            listeners:
              - name: front
                bind: "127.0.0.1:8080"
                pool: nope
            pools:
              - name: app
                backends:
                  - address: "127.0.0.1:9001"
            """)
        self.assertInvalid(
            name,
            'nopool.yaml:4:11: pool: listener "front" names unknown pool "nope"; '
            'defined pools: app')

    def test_weight_out_of_range(self):
        name = self.write("weight.yaml", """
            listeners:
              - name: front
                bind: "127.0.0.1:8080"
                pool: app
            pools:
              - name: app
                backends:
                  - address: "127.0.0.1:9001"
                    weight: 1001
                  - address: "127.0.0.1:9002"
                    weight: 1000
            """)
        # 1000 is the maximum and fine; only 1001 is reported.
        self.assertInvalid(
            name, 'weight.yaml:9:17: weight: expected an integer from 0 to 1000, got "1001"')

    def test_bad_duration(self):
        name = self.write("duration.yaml", """
            listeners:
              - name: front
                bind: "127.0.0.1:8080"
                pool: app
                timeouts:
                  idle: 5 minutes
            pools:
              - name: app
                backends:
                  - address: "127.0.0.1:9001"
            """)
        self.assertInvalid(
            name,
            'duration.yaml:6:13: idle: expected a positive duration like 500ms, 2s, 1m, '
            'got "5 minutes"')

    # ---- includes

    def test_error_in_an_included_file_names_that_file(self):
        self.write("conf.d/pools.yaml", """
            pools:
              - name: app
                backends:
                  - address: "127.0.0.1:9001"
                    wieght: 2
            """)
        name = self.write("main.yaml", """
            listeners:
              - name: front
                bind: "127.0.0.1:8080"
                pool: app
            include: conf.d/pools.yaml
            """)
        # The error is the included file's, at its line; the total is reported for the top file.
        self.assertInvalid(
            name,
            'conf.d/pools.yaml:5:9: unknown key "wieght" in backend; allowed keys: address, weight, health_check, '
            'max_connections, backup')

    def test_duplicate_across_files_names_both(self):
        self.write("conf.d/pools.yaml", """
            pools:
              - name: app
                backends:
                  - address: "127.0.0.1:9001"
            """)
        name = self.write("dup.yaml", """
            include: conf.d/pools.yaml
            listeners:
              - name: front
                bind: "127.0.0.1:8080"
                pool: app
            pools:
              - name: app
                backends:
                  - address: "127.0.0.1:9002"
            """)
        self.assertInvalid(
            name, 'conf.d/pools.yaml:2:11: duplicate pool name "app" (first defined at dup.yaml:7)')

    def test_included_pool_satisfies_a_listener(self):
        self.write("conf.d/pools.yaml", """
            pools:
              - name: app
                backends:
                  - address: "127.0.0.1:9001"
            """)
        name = self.write("main.yaml", """
            listeners:
              - name: front
                bind: "127.0.0.1:8080"
                pool: app
            include: conf.d/*.yaml
            """)
        r = self.ballast("validate", "-c", name)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, "main.yaml: valid (1 listener, 1 pool)\n")

    def test_missing_include(self):
        name = self.write("missinc.yaml", """
            include: conf.d/nothere.yaml
            """)
        self.assertInvalid(
            name,
            'missinc.yaml:1:10: include: cannot read "conf.d/nothere.yaml": '
            'No such file or directory')

    # ---- environment substitution

    def env_config(self):
        return self.write("env.yaml", """
            listeners:
              - name: front
                bind: "${BALLAST_TEST_LISTEN:-default-bind}"
                pool: app
            pools:
              - name: app
                backends:
                  - address: "${BALLAST_TEST_BACKEND}"
            """)

    def test_env_variable_without_default_must_be_set(self):
        name = self.env_config()
        r = self.ballast("validate", "-c", name,
                         env=clean_env(BALLAST_TEST_LISTEN="127.0.0.1:8080"))
        self.assertEqual(r.returncode, 1)
        self.assertEqual(r.stderr.splitlines()[0],
                         'env.yaml:8:18: address: environment variable "BALLAST_TEST_BACKEND" '
                         'is not set and has no default')
        r = self.ballast("validate", "-c", name,
                         env=clean_env(BALLAST_TEST_LISTEN="127.0.0.1:8080",
                                       BALLAST_TEST_BACKEND="127.0.0.1:9001"))
        self.assertEqual(r.returncode, 0, r.stderr)

    def test_env_default_applies_when_unset_or_empty(self):
        name = self.env_config()
        for listen in (None, ""):
            with self.subTest(listen=listen):
                extra = {"BALLAST_TEST_BACKEND": "127.0.0.1:9001"}
                if listen is not None:
                    extra["BALLAST_TEST_LISTEN"] = listen
                r = self.ballast("validate", "-c", name, env=clean_env(**extra))
                # The default was substituted: it is what the address check complains about.
                self.assertEqual(r.returncode, 1)
                self.assertEqual(r.stderr.splitlines()[0],
                                 'env.yaml:3:11: bind: expected IP:port such as 127.0.0.1:8080 '
                                 'or [::1]:8080, got "default-bind"')

    def test_env_value_overrides_the_default(self):
        name = self.env_config()
        r = self.ballast("validate", "-c", name,
                         env=clean_env(BALLAST_TEST_LISTEN="[::1]:8080",
                                       BALLAST_TEST_BACKEND="[::1]:9001"))
        self.assertEqual(r.returncode, 0, r.stderr)
        r = self.ballast("validate", "-c", name,
                         env=clean_env(BALLAST_TEST_LISTEN="from-env",
                                       BALLAST_TEST_BACKEND="127.0.0.1:9001"))
        self.assertEqual(r.returncode, 1)
        self.assertIn('got "from-env"', r.stderr)

    # ---- shipped examples

    def example_tls_material(self):
        """The files examples/https.yaml names, made in a temporary $TLS_DIR."""
        from tls_material import issue, make_ca
        d = tempfile.mkdtemp(prefix="ballast-example-tls-")
        self.addCleanup(shutil.rmtree, d, True)
        ca = make_ca(d, "internal")  # writes internal-ca.pem
        make_ca(d, "partners")        # partners-ca.pem
        issue(d, ca, "site-ecdsa", "/CN=www.example.com", ["www.example.com"])
        # The RSA twin: same names, an RSA key (issue() makes EC keys).
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "30",
                        "-keyout", os.path.join(d, "site-rsa.key"),
                        "-out", os.path.join(d, "site-rsa.pem"), "-subj", "/CN=www.example.com",
                        "-addext", "subjectAltName=DNS:www.example.com"],
                       check=True, capture_output=True)
        return d

    def test_every_example_validates(self):
        examples = sorted(glob.glob(os.path.join(EXAMPLES, "*.yaml")))
        names = {os.path.basename(p) for p in examples}
        self.assertTrue({"quickstart.yaml", "l4-tcp-udp.yaml"} <= names, names)
        tls_dir = self.example_tls_material()
        for path in examples:
            with self.subTest(example=os.path.basename(path)):
                r = self.ballast("validate", "-c", path, env={**clean_env(), "TLS_DIR": tls_dir})
                self.assertEqual(r.returncode, 0, r.stderr)
                self.assertEqual(r.stderr, "")
                self.assertRegex(r.stdout, r": valid \(\d+ listeners?, \d+ pools?(, \d+ (virtual services?|uplinks?))*\)\n\Z")


if __name__ == "__main__":
    main()
