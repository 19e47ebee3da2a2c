"""tests/integration/fake_kube_api.py — a small stand-in for kube-apiserver, for the
EndpointSlice discovery tests: HTTPS on 127.0.0.1 with a test CA, a bearer token checked on
every request, and just the two calls a client of one Service's slices makes:

  GET /apis/discovery.k8s.io/v1/namespaces/NS/endpointslices?labelSelector=kubernetes.io/service-name=SVC
      -> an EndpointSliceList (metadata.resourceVersion, items)
  ... &watch=1&resourceVersion=RV&allowWatchBookmarks=true
      -> 200 and newline-delimited watch events (ADDED, MODIFIED, DELETED, BOOKMARK, ERROR)

The JSON shapes follow the Kubernetes API reference (discovery.k8s.io/v1 EndpointSlice,
meta/v1 WatchEvent and Status). The test drives it: set or delete a slice (each change is a new
resourceVersion and an event for open watches), expire watches (an ERROR event with code 410, or
HTTP 410 for a watch from a compacted resourceVersion), stop and start again on the same port."""
import http.server
import json
import socket
import ssl
import threading
import urllib.parse

BOOKMARK_EVERY_S = 0.5


def endpoint(address, ready=True, serving=None, terminating=False, conditions=True):
    """One endpoint of a slice; conditions=False leaves them out (the API reads nil ready as
    true)."""
    e = {"addresses": [address], "nodeName": "node-1",
         "targetRef": {"kind": "Pod", "namespace": "shop", "name": f"web-{address}"}}
    if conditions:
        e["conditions"] = {"ready": ready, "serving": ready if serving is None else serving,
                           "terminating": terminating}
    return e


class FakeKubeApi:
    def __init__(self, cert, key, token, namespace, service):
        self.cert, self.key, self.token = cert, key, token
        self.namespace, self.service = namespace, service
        self.cond = threading.Condition()
        self.rv = 1000
        self.slices = {}      # name -> slice object
        self.history = []     # (rv, event) for watches that start behind
        self.compacted = 0    # a watch from an older resourceVersion gets 410
        self.generation = 0   # bumped to end open watches
        self.expire_with_event = False
        self.requests = []    # (kind, query) of each authorized request
        self.unauthorized = 0
        self.port = 0
        self.httpd = None
        self.watch_sockets = set()
        self.stopped = False  # a request still in flight when stop() ran gets no answer

    # --- the test's side -------------------------------------------------------------------
    def start(self):
        api = self
        self.stopped = False

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_GET(self):
                api.handle(self)

        class Server(http.server.ThreadingHTTPServer):
            daemon_threads = True
            allow_reuse_address = True

        self.httpd = Server(("127.0.0.1", self.port), Handler)
        self.port = self.httpd.server_address[1]
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(self.cert, self.key)
        self.httpd.socket = ctx.wrap_socket(self.httpd.socket, server_side=True)
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        return self

    def stop(self):
        """As an API server that went away: the port refuses, open watches are cut."""
        self.httpd.shutdown()
        self.httpd.server_close()
        with self.cond:
            self.stopped = True
            self.generation += 1
            self.expire_with_event = False
            self.cond.notify_all()
            for s in list(self.watch_sockets):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def url(self):
        return f"https://localhost:{self.port}"

    def set_slice(self, name, endpoints, ports):
        with self.cond:
            kind = "MODIFIED" if name in self.slices else "ADDED"
            self.rv += 1
            self.slices[name] = self._slice(name, endpoints, ports)
            self._record(kind, self.slices[name])

    def delete_slice(self, name):
        with self.cond:
            self.rv += 1
            gone = self.slices.pop(name)
            gone = dict(gone, metadata=dict(gone["metadata"], resourceVersion=str(self.rv)))
            self._record("DELETED", gone)

    def expire(self, with_event):
        """Every resourceVersion so far is compacted. with_event: open watches get an ERROR
        event with code 410; else they are just closed, and the client's next watch (from its
        last resourceVersion) gets HTTP 410."""
        with self.cond:
            self.compacted = self.rv + 1
            self.history.clear()
            self.expire_with_event = with_event
            self.generation += 1
            self.cond.notify_all()

    def open_watches(self):
        with self.cond:
            return len(self.watch_sockets)

    def count(self, kind):
        with self.cond:
            return sum(1 for k, _ in self.requests if k == kind)

    # --- shapes ------------------------------------------------------------------------------
    def _slice(self, name, endpoints, ports):
        return {"kind": "EndpointSlice", "apiVersion": "discovery.k8s.io/v1",
                "metadata": {"name": name, "namespace": self.namespace,
                             "uid": f"uid-{name}", "resourceVersion": str(self.rv),
                             "generateName": f"{self.service}-",
                             "labels": {"kubernetes.io/service-name": self.service,
                                        "endpointslice.kubernetes.io/managed-by":
                                            "endpointslice-controller.k8s.io"}},
                "addressType": "IPv4",
                "ports": [{"name": n, "port": p, "protocol": "TCP"} for n, p in ports],
                "endpoints": endpoints}

    def _record(self, kind, obj):
        self.history.append((self.rv, {"type": kind, "object": obj}))
        self.cond.notify_all()

    def _status(self, code, reason, message):
        return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                "message": message, "reason": reason, "code": code}

    def list_body(self):
        with self.cond:
            return {"kind": "EndpointSliceList", "apiVersion": "discovery.k8s.io/v1",
                    "metadata": {"resourceVersion": str(self.rv)},
                    "items": [self.slices[n] for n in sorted(self.slices)]}

    # --- serving -----------------------------------------------------------------------------
    def _reply(self, h, code, body):
        data = json.dumps(body).encode()
        h.send_response(code)
        h.send_header("Content-Type", "application/json")
        h.send_header("Content-Length", str(len(data)))
        h.end_headers()
        h.wfile.write(data)

    def handle(self, h):
        if self.stopped:
            h.close_connection = True
            return
        url = urllib.parse.urlsplit(h.path)
        query = urllib.parse.parse_qs(url.query)
        if h.headers.get("Authorization") != f"Bearer {self.token}":
            with self.cond:
                self.unauthorized += 1
            return self._reply(h, 401, self._status(401, "Unauthorized", "Unauthorized"))
        want = f"/apis/discovery.k8s.io/v1/namespaces/{self.namespace}/endpointslices"
        selector = query.get("labelSelector", [""])[0]
        if url.path != want or selector != f"kubernetes.io/service-name={self.service}":
            return self._reply(h, 404, self._status(404, "NotFound", f"no {url.path}"))
        if query.get("watch", ["0"])[0] not in ("1", "true"):
            with self.cond:
                self.requests.append(("list", query))
            return self._reply(h, 200, self.list_body())
        with self.cond:
            self.requests.append(("watch", query))
        self.watch(h, int(query.get("resourceVersion", ["0"])[0] or 0),
                   query.get("allowWatchBookmarks", ["false"])[0] == "true")

    def watch(self, h, since, bookmarks):
        with self.cond:
            generation = self.generation
            if self.stopped:
                h.close_connection = True
                return
            if since < self.compacted:
                expired = True
            else:
                expired = False
        if expired:
            return self._reply(h, 410, self._status(410, "Expired",
                                                    f"too old resource version: {since}"))
        h.send_response(200)
        h.send_header("Content-Type", "application/json")
        h.send_header("Connection", "close")  # the stream ends when the connection does
        h.end_headers()
        h.close_connection = True
        sock = h.connection
        with self.cond:
            self.watch_sockets.add(sock)
        sent = since
        try:
            while True:
                with self.cond:
                    pending = [(rv, e) for rv, e in self.history if rv > sent]
                    if not pending and self.generation == generation:
                        self.cond.wait(BOOKMARK_EVERY_S)
                        pending = [(rv, e) for rv, e in self.history if rv > sent]
                    ended = self.generation != generation or self.stopped
                    with_event = self.expire_with_event
                    rv_now = self.rv
                if ended:
                    if with_event:
                        self._line(h, {"type": "ERROR", "object": self._status(
                            410, "Expired", f"too old resource version: {sent} ({rv_now})")})
                    return
                for rv, e in pending:
                    self._line(h, e)
                    sent = rv
                if not pending and bookmarks:
                    self._line(h, {"type": "BOOKMARK", "object": {
                        "kind": "EndpointSlice", "apiVersion": "discovery.k8s.io/v1",
                        "metadata": {"resourceVersion": str(rv_now)}}})
                    sent = max(sent, rv_now)
        except OSError:
            pass
        finally:
            with self.cond:
                self.watch_sockets.discard(sock)

    def _line(self, h, event):
        h.wfile.write(json.dumps(event).encode() + b"\n")
        h.wfile.flush()
