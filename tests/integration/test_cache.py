"""tests/integration/test_cache.py — `cache:` through the real binary against a real HTTP
backend, case by case: max-age, s-maxage, Expires, no-store, private, no-cache, heuristic
freshness (off and on), Set-Cookie; Vary; a client's conditional answered 304 from the store;
stale entries revalidated with the backend's 304; stale-if-error with the backend failing and
gone; stale-while-revalidate; purge by key (admin API) and by prefix (CLI), audited; request
coalescing (100 concurrent identical requests reach the backend once); bodies over
max_object_size streamed and not stored; HEAD from a stored GET; POST bypassed; eviction under
max_size; HTTP/2 hits; gzip on a hit; metrics; and the hit ratio at 1, 2 and 4 workers on the same
request stream; compressed copies kept per coding. Entries are made stale at once with the backend's Age field, not by sleeping.
Traffic stays on 127.0.0.1."""
import collections
import email.utils
import gzip
import http.client
import json
import os
import subprocess
import threading
import time
import unittest
import urllib.request

from harness import BALLAST_BIN, Ballast, BallastTest, UnixHTTPConnection, free_port, main, wait_until
from http_backends import HttpBackend

BIG = bytes(range(256)) * 8192  # 2 MiB, over max_object_size


class Origin:
    """Counts requests per path and keeps the fields of the last one."""

    def __init__(self):
        self.hits = collections.Counter()
        self.seen = {}
        self.fail = False
        self.delay = 0.0
        self.lock = threading.Lock()

    def handler(self, body, fields=(), status=200, conditional=False):
        def answer(h, _n):
            h.read_body()
            path = h.path.split("?")[0]
            with self.lock:
                self.hits[path] += 1
                self.seen[path] = dict((k.lower(), v) for k, v in h.headers.items())
            if self.delay:
                time.sleep(self.delay)
            if self.fail:
                h.respond(503, "origin failing")
                return
            etag = dict(fields).get("ETag")
            if conditional and etag and h.headers.get("If-None-Match") == etag:
                h.respond(304, b"", [f for f in fields if f[0] != "Content-Type"])
                return
            h.respond(status, body, list(fields))
        return answer


def request(port, path, headers=None, method="GET"):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
    conn.request(method, path, headers=headers or {})
    r = conn.getresponse()
    body = r.read()
    conn.close()
    return r.status, {k.lower(): v for k, v in r.getheaders()}, body


def metric(port, name, *parts):
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10).read().decode()
    for line in text.splitlines():
        if line.startswith(name + "{") and all(p in line for p in parts):
            return float(line.split()[-1])
    return None


def admin(lb, method, path, body=None):
    conn = UnixHTTPConnection(os.path.join(lb.dir, "admin.sock"))
    conn.request(method, path, body=json.dumps(body) if body is not None else None,
                 headers={"Content-Type": "application/json"})
    r = conn.getresponse()
    data = json.loads(r.read() or b"{}")
    conn.close()
    return r.status, data


class CacheTest(BallastTest):
    @classmethod
    def setUpClass(cls):
        o = cls.origin = Origin()
        page = b"cached page " * 100
        cls.page = page
        cls.backend = HttpBackend("app", {
            "/max-age": o.handler(page, [("Cache-Control", "max-age=60")]),
            "/s-maxage": o.handler(page, [("Cache-Control", "max-age=0, s-maxage=60")]),
            "/expires": o.handler(page, [("Date", "Sat, 05 Dec 2026 10:00:00 GMT"),
                                         ("Expires", "Sat, 05 Dec 2099 10:00:00 GMT")]),
            "/expired": o.handler(page, [("Expires", "Thu, 01 Jan 1970 00:00:00 GMT")]),
            "/no-store": o.handler(page, [("Cache-Control", "no-store, max-age=60")]),
            "/private": o.handler(page, [("Cache-Control", "private, max-age=60")]),
            "/cookie": o.handler(page, [("Cache-Control", "max-age=60"), ("Set-Cookie", "a=b")]),
            "/no-cache": o.handler(page, [("Cache-Control", "no-cache"), ("ETag", '"nc1"')],
                                   conditional=True),
            "/lm": o.handler(page, [("Last-Modified", "Mon, 01 Jan 2024 00:00:00 GMT"),
                                    ("Date", "Sat, 05 Dec 2026 10:00:00 GMT")]),
            # The heuristic lifetime is capped at a day and counts from Date: a fixed Date made
            # this a MISS once the clock was a day past it. Now, at class set-up.
            "/heur/lm": o.handler(page, [("Last-Modified", "Mon, 01 Jan 2024 00:00:00 GMT"),
                                         ("Date", email.utils.formatdate(usegmt=True))]),
            "/vary": lambda h, n: (h.read_body(), o.hits.update(["/vary"]),
                                   h.respond(200, f"lang={h.headers.get('Accept-Language')}",
                                             [("Cache-Control", "max-age=60"),
                                              ("Vary", "Accept-Language")])),
            "/etag": o.handler(page, [("Cache-Control", "max-age=60"), ("ETag", '"e1"'),
                                      ("Last-Modified", "Mon, 01 Jan 2024 00:00:00 GMT")]),
            "/stale-etag": o.handler(page, [("Cache-Control", "max-age=10"), ("Age", "10"),
                                            ("ETag", '"s1"')], conditional=True),
            "/sie": o.handler(page, [("Cache-Control", "max-age=10, stale-if-error=600"),
                                     ("Age", "10")]),
            "/must": o.handler(page, [("Cache-Control", "max-age=10, must-revalidate, "
                                                        "stale-if-error=600"), ("Age", "10")]),
            "/swr": o.handler(page, [("Cache-Control", "max-age=10, stale-while-revalidate=600"),
                                     ("Age", "10"), ("ETag", '"w1"')], conditional=True),
            "/purge/a": o.handler(page, [("Cache-Control", "max-age=60")]),
            "/purge/b": o.handler(page, [("Cache-Control", "max-age=60")]),
            "/slow": o.handler(page, [("Cache-Control", "max-age=60")]),
            "/big": o.handler(BIG, [("Cache-Control", "max-age=60")]),
            "/text": o.handler(b"compress me " * 500, [("Cache-Control", "max-age=60"),
                                                      ("Content-Type", "text/plain")]),
            "/post": o.handler(page, [("Cache-Control", "max-age=60")]),
            "/h2": o.handler(page, [("Cache-Control", "max-age=60")]),
        })

    @classmethod
    def tearDownClass(cls):
        cls.backend.close()

    def config(self, d, port, mport, workers=1, max_size="16MiB", max_object_size="1MiB",
               extra_pool=""):
        return f"""workers: {workers}
metrics: {{bind: "127.0.0.1:{mport}"}}
admin: {{socket: {d}/admin.sock, audit_log: {d}/audit.log}}
listeners:
  - name: web
    bind: "127.0.0.1:{port}"
    protocol: http
    http2: true
    pool: app
    cache: {{max_size: {max_size}, max_object_size: {max_object_size}, coalesce_timeout: 5s}}
    routes:
      - {{name: heur, match: {{path: /heur/}}, pool: app,
         cache: {{heuristic_freshness: true}}}}
      - {{name: text, match: {{path: /text}}, pool: app, compress: on}}
      - {{name: all, match: {{path: /}}, pool: app}}
pools:
  - name: app
    backends: [{{address: "{self.backend.address}"}}]
{extra_pool}"""

    def start(self, **kw):
        port, mport = free_port(), free_port()
        lb = Ballast("")
        lb.write_config(self.config(lb.dir, port, mport, **kw))
        return lb, port, mport  # started by `with`

    def twice(self, port, path, **kw):
        before = self.origin.hits[path.split("?")[0]]
        first = request(port, path, **kw)
        second = request(port, path, **kw)
        return first, second, self.origin.hits[path.split("?")[0]] - before

    def test_freshness_directives_case_by_case(self):
        lb, port, mport = self.start()
        with lb:
            for path, stored in (("/max-age", True), ("/s-maxage", True), ("/expires", True),
                                 ("/expired", False), ("/no-store", False), ("/private", False),
                                 ("/cookie", False), ("/lm", False), ("/heur/lm", True)):
                with self.subTest(path=path):
                    (s1, f1, b1), (s2, f2, b2), upstream = self.twice(port, path)
                    self.assertEqual((s1, s2), (200, 200))
                    self.assertEqual(b1, self.page)
                    self.assertEqual(b2, self.page)
                    self.assertEqual(f1["x-cache"], "MISS")
                    self.assertEqual(f2["x-cache"], "HIT" if stored else "MISS")
                    self.assertEqual(upstream, 1 if stored else 2)
                    if stored:
                        # Age counts from the backend's Date, which some of these fix in the past.
                        fixed_date = path == "/expires"
                        self.assertGreaterEqual(int(f2["age"]), 0)
                        if not fixed_date:
                            self.assertLess(int(f2["age"]), 5)
            self.assertGreaterEqual(metric(mport, "ballast_cache_hits_total", 'listener="web"'), 4)
            self.assertGreaterEqual(metric(mport, "ballast_cache_misses_total", 'listener="web"'),
                                    9)
            self.assertGreater(metric(mport, "ballast_cache_bytes", 'listener="web"'), 0)

    def test_no_cache_is_revalidated_each_time_with_the_backends_304(self):
        lb, port, _ = self.start()
        with lb:
            request(port, "/no-cache")
            for _ in range(2):
                status, fields, body = request(port, "/no-cache")
                self.assertEqual(status, 200)
                self.assertEqual(fields["x-cache"], "REVALIDATED")
                self.assertEqual(body, self.page)
                self.assertEqual(self.origin.seen["/no-cache"].get("if-none-match"), '"nc1"')

    def test_vary_keeps_a_variant_per_request_value(self):
        lb, port, _ = self.start()
        with lb:
            before = self.origin.hits["/vary"]
            got = [request(port, "/vary", {"Accept-Language": lang})
                   for lang in ("en", "en", "fr", "fr", "en")]
            self.assertEqual([g[1]["x-cache"] for g in got], ["MISS", "HIT", "MISS", "HIT", "HIT"])
            self.assertEqual([g[2] for g in got], [b"lang=en", b"lang=en", b"lang=fr", b"lang=fr",
                                                   b"lang=en"])
            self.assertEqual(self.origin.hits["/vary"] - before, 2)

    def test_client_conditionals_get_304_from_the_store(self):
        lb, port, _ = self.start()
        with lb:
            request(port, "/etag")
            before = self.origin.hits["/etag"]
            status, fields, body = request(port, "/etag", {"If-None-Match": '"x", W/"e1"'})
            self.assertEqual((status, body), (304, b""))
            self.assertEqual(fields["etag"], '"e1"')
            self.assertEqual(fields["x-cache"], "HIT")
            status, _, _ = request(port, "/etag",
                                   {"If-Modified-Since": "Tue, 02 Jan 2024 00:00:00 GMT"})
            self.assertEqual(status, 304)
            status, _, body = request(port, "/etag", {"If-None-Match": '"other"'})
            self.assertEqual((status, body), (200, self.page))
            self.assertEqual(self.origin.hits["/etag"], before)

    def test_stale_entry_revalidated_with_304_from_the_backend(self):
        lb, port, mport = self.start()
        with lb:
            _, f1, _ = request(port, "/stale-etag")
            self.assertEqual(f1["x-cache"], "MISS")
            status, f2, body = request(port, "/stale-etag")
            self.assertEqual((status, body), (200, self.page))
            self.assertEqual(f2["x-cache"], "REVALIDATED")
            self.assertEqual(self.origin.seen["/stale-etag"].get("if-none-match"), '"s1"')
            self.assertGreaterEqual(
                metric(mport, "ballast_cache_revalidated_total", 'listener="web"'), 1)

    def test_stale_if_error_with_the_backend_failing_and_gone(self):
        lb, port, mport = self.start()
        with lb:
            self.assertEqual(request(port, "/sie")[1]["x-cache"], "MISS")
            self.assertEqual(request(port, "/must")[1]["x-cache"], "MISS")
            self.origin.fail = True
            try:
                status, fields, body = request(port, "/sie")
                self.assertEqual((status, fields["x-cache"], body), (200, "STALE", self.page))
                status, fields, _ = request(port, "/must")  # must-revalidate: no stale answer
                self.assertEqual(status, 503)
            finally:
                self.origin.fail = False
            # The backend gone altogether (a reload points the pool at a closed port; the
            # cache outlives the reload): still the stale entry.
            lb.reload(self.config(lb.dir, port, mport).replace(self.backend.address,
                                                               f"127.0.0.1:{free_port()}"))
            status, fields, body = request(port, "/sie")
            self.assertEqual((status, fields["x-cache"], body), (200, "STALE", self.page))

    def test_stale_while_revalidate_answers_stale_while_one_request_revalidates(self):
        lb, port, _ = self.start()
        with lb:
            request(port, "/swr")
            self.origin.delay = 1.0
            try:
                results = {}
                t = threading.Thread(target=lambda: results.update(slow=request(port, "/swr")))
                t.start()
                wait_until(lambda: self.origin.seen.get("/swr", {}).get("if-none-match") == '"w1"',
                           what="the revalidation reached the backend")
                started = time.monotonic()
                status, fields, body = request(port, "/swr")
                quick = time.monotonic() - started
                t.join()
            finally:
                self.origin.delay = 0.0
            self.assertEqual((status, fields["x-cache"], body), (200, "STALE", self.page))
            self.assertLess(quick, 0.5)
            self.assertEqual(results["slow"][1]["x-cache"], "REVALIDATED")

    def test_purge_by_key_and_prefix(self):
        lb, port, _ = self.start()
        with lb:
            for p in ("/purge/a", "/purge/b", "/max-age"):
                request(port, p)
                self.assertEqual(request(port, p)[1]["x-cache"], "HIT")
            status, data = admin(lb, "POST", "/api/v1/cache/purge",
                                 {"key": f"http://127.0.0.1:{port}/purge/a"})
            self.assertEqual((status, data["purged"]), (200, 1))
            self.assertEqual(request(port, "/purge/a")[1]["x-cache"], "MISS")
            self.assertEqual(request(port, "/purge/b")[1]["x-cache"], "HIT")
            out = subprocess.run([BALLAST_BIN, "cache", "purge", "--prefix",
                                  f"http://127.0.0.1:{port}/purge/",
                                  "--socket", os.path.join(lb.dir, "admin.sock")],
                                 capture_output=True, text=True, timeout=10)
            self.assertEqual(out.returncode, 0, out.stderr)
            self.assertIn("purged: 2", out.stdout)
            self.assertEqual(request(port, "/purge/b")[1]["x-cache"], "MISS")
            self.assertEqual(request(port, "/max-age")[1]["x-cache"], "HIT")
            self.assertEqual(admin(lb, "POST", "/api/v1/cache/purge", {})[0], 400)
            with open(os.path.join(lb.dir, "audit.log")) as f:
                kinds = [json.loads(line)["kind"] for line in f]
            self.assertEqual(kinds.count("cache.purged"), 2)

    def test_100_concurrent_identical_misses_reach_the_backend_once(self):
        lb, port, mport = self.start(workers=2)
        with lb:
            before = self.origin.hits["/slow"]
            self.origin.delay = 0.3
            try:
                barrier = threading.Barrier(100)
                results = []

                def one():
                    barrier.wait()
                    results.append(request(port, "/slow"))
                threads = [threading.Thread(target=one) for _ in range(100)]
                for t in threads:
                    t.start()
                for t in threads:
                    t.join()
            finally:
                self.origin.delay = 0.0
            self.assertEqual(len(results), 100)
            self.assertTrue(all(r[0] == 200 and r[2] == self.page for r in results))
            self.assertEqual(self.origin.hits["/slow"] - before, 1)
            self.assertGreaterEqual(
                metric(mport, "ballast_cache_coalesced_total", 'listener="web"'), 1)

    def test_big_bodies_stream_unstored_head_and_post(self):
        lb, port, _ = self.start()
        with lb:
            (s1, f1, b1), (s2, f2, b2), upstream = self.twice(port, "/big")
            self.assertEqual((s1, s2, b1 == BIG, b2 == BIG), (200, 200, True, True))
            self.assertEqual(upstream, 2)
            request(port, "/max-age")
            status, fields, body = request(port, "/max-age", method="HEAD")
            self.assertEqual((status, body, fields["x-cache"]), (200, b"", "HIT"))
            self.assertEqual(fields["content-length"], str(len(self.page)))
            _, fields, _ = request(port, "/post", method="POST")
            self.assertEqual(fields["x-cache"], "BYPASS")
            _, fields, _ = request(port, "/max-age", {"Range": "bytes=0-9"})
            self.assertEqual(fields["x-cache"], "BYPASS")

    def test_eviction_keeps_within_max_size(self):
        lb, port, mport = self.start(max_size="64KiB", max_object_size="16KiB")
        with lb:
            for i in range(60):
                request(port, f"/max-age?i={i}")  # 1.2 KB each, ~180 KB in all
            self.assertLessEqual(metric(mport, "ballast_cache_bytes", 'listener="web"'), 64 * 1024)
            self.assertGreater(metric(mport, "ballast_cache_evictions_total", 'listener="web"'), 0)
            self.assertEqual(request(port, "/max-age?i=59")[1]["x-cache"], "HIT")

    def test_http2_hits_and_gzip_on_a_hit(self):
        lb, port, mport = self.start()
        with lb:
            for expect in ("MISS", "HIT"):
                out = subprocess.run(["curl", "-s", "--http2-prior-knowledge", "-D", "-", "-o",
                                      "/dev/null", f"http://127.0.0.1:{port}/h2"],
                                     capture_output=True, text=True, timeout=20).stdout
                self.assertIn("HTTP/2 200", out)
                self.assertIn(f"x-cache: {expect.lower()}", out.lower())
            request(port, "/text")
            status, fields, body = request(port, "/text", {"Accept-Encoding": "gzip"})
            self.assertEqual((status, fields["x-cache"], fields.get("content-encoding")),
                             (200, "HIT", "gzip"))
            self.assertEqual(gzip.decompress(body), b"compress me " * 500)
            # Compression is counted, with its bytes both ways.
            self.assertEqual(metric(mport, "ballast_compressed_responses_total", 'listener="web"',
                                    'encoding="gzip"'), 1)
            self.assertEqual(metric(mport, "ballast_compress_in_bytes_total", 'listener="web"'),
                             len(b"compress me " * 500))
            self.assertEqual(metric(mport, "ballast_compress_out_bytes_total", 'listener="web"'),
                             len(body))

    def test_compressed_copies_are_kept_per_coding(self):
        # The first hit that asks for a coding compresses the stored body and keeps the copy with
        # the entry; later hits send the copy as it is, so the compressor's input stops growing.
        lb, port, mport = self.start()
        text = b"compress me " * 500
        with lb:
            self.assertEqual(request(port, "/text")[1]["x-cache"], "MISS")
            plain_bytes = metric(mport, "ballast_cache_bytes", 'listener="web"')
            decoders = {"gzip": gzip.decompress,
                        "br": lambda b: subprocess.run(["brotli", "-d", "-c"], input=b,
                                                       capture_output=True, check=True).stdout,
                        "zstd": lambda b: subprocess.run(["zstd", "-d", "-c"], input=b,
                                                         capture_output=True, check=True).stdout}
            copies = 0
            for coding, decode in decoders.items():
                bodies = []
                for _ in range(3):
                    status, fields, body = request(port, "/text", {"Accept-Encoding": coding})
                    self.assertEqual((status, fields["x-cache"], fields.get("content-encoding")),
                                     (200, "HIT", coding))
                    self.assertEqual(fields["content-length"], str(len(body)))
                    self.assertIn("Accept-Encoding", fields.get("vary", ""))
                    self.assertEqual(decode(body), text)
                    bodies.append(body)
                self.assertEqual(len(set(bodies)), 1, "every hit sends the same copy")
                copies += len(bodies[0])
                self.assertEqual(metric(mport, "ballast_compressed_responses_total",
                                        'listener="web"', f'encoding="{coding}"'), 3)
            # Each coding was compressed once: three inputs of the body, not nine.
            self.assertEqual(metric(mport, "ballast_compress_in_bytes_total", 'listener="web"'),
                             3 * len(text))
            self.assertEqual(metric(mport, "ballast_compress_out_bytes_total", 'listener="web"'),
                             copies)
            # The copies count against max_size.
            self.assertEqual(metric(mport, "ballast_cache_bytes", 'listener="web"'),
                             plain_bytes + copies)
            # A client without a coding still gets the stored body; HTTP/2 gets the copy.
            status, fields, body = request(port, "/text")
            self.assertEqual((fields.get("content-encoding"), body), (None, text))
            out = subprocess.run(["curl", "-s", "--http2-prior-knowledge", "-H",
                                  "Accept-Encoding: gzip", "-D", "-", "-o", "-",
                                  f"http://127.0.0.1:{port}/text"],
                                 capture_output=True, timeout=20).stdout
            head, _, h2_body = out.partition(b"\r\n\r\n")
            self.assertIn(b"content-encoding: gzip", head.lower())
            self.assertEqual(gzip.decompress(h2_body), text)
            self.assertEqual(metric(mport, "ballast_compress_in_bytes_total", 'listener="web"'),
                             3 * len(text))

    def test_hit_ratio_does_not_fall_as_workers_are_added(self):
        # The same stream each time: 20 keys, 10 rounds, over 8 connections (spread over the
        # workers by SO_REUSEPORT). One store for all workers: 20 misses whatever the count.
        ratios = {}
        for workers in (1, 2, 4):
            lb, port, mport = self.start(workers=workers)
            with lb:
                def client(c):
                    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
                    for r in range(10):
                        for k in range(c, 20, 8):
                            conn.request("GET", f"/max-age?w={workers}&k={k}")
                            conn.getresponse().read()
                    conn.close()
                threads = [threading.Thread(target=client, args=(c,)) for c in range(8)]
                for t in threads:
                    t.start()
                for t in threads:
                    t.join()
                hits = metric(mport, "ballast_cache_hits_total", 'listener="web"')
                misses = metric(mport, "ballast_cache_misses_total", 'listener="web"')
                ratios[workers] = hits / (hits + misses)
        print(f"\n[ MEASURED ] cache hit ratio by workers: {ratios}")
        for workers, ratio in ratios.items():
            self.assertAlmostEqual(ratio, 0.9, delta=0.02, msg=f"{workers} workers")


if __name__ == "__main__":
    main()
