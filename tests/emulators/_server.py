"""Shared machinery for the API emulators: HTTPS server, routing, journal, faults, admin API.

Each platform emulator subclasses ``Emulator``, registers its routes with ``@route`` and keeps
its own in-memory state. Everything platform-neutral lives here, once:

* a threaded HTTPS server on 127.0.0.1 with a certificate from a throw-away CA (``trustme``);
* a journal of every mutating call (method != GET/HEAD), entered when the request arrives
  (``status`` None until the answer is ready), so a call the client gave up on is already there;
* fault injection for the next N matching requests: status + body, delay, dropped connection,
  session/token expiry;
* admin endpoints under ``/__emulator__/`` (a prefix no real API uses).
"""

import collections
import json
import re
import socket
import ssl
import tempfile
import threading
import time
import os
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

ADMIN_PREFIX = "/__emulator__"
MUTATING = frozenset(("POST", "PUT", "PATCH", "DELETE"))


class Request:
    """One parsed HTTP request as the route handlers see it."""

    def __init__(self, method, raw_path, headers, body):
        parts = urlsplit(raw_path)
        self.method = method
        self.path = parts.path
        self.raw_query = parts.query
        self.query = parse_qs(parts.query, keep_blank_values=True)
        self.headers = headers
        self.body = body

    def arg(self, name, default=None):
        values = self.query.get(name)
        return values[0] if values else default

    def header(self, name, default=None):
        return self.headers.get(name, default)

    def json(self):
        """The body as JSON; raises ValueError on anything else (handlers map that to 400)."""
        if not self.body:
            return None
        return json.loads(self.body.decode("utf-8"))


class Response:
    def __init__(self, status, body=b"", content_type="application/json", headers=None):
        self.status = status
        self.headers = dict(headers or {})
        if isinstance(body, (dict, list)) or body is None and content_type == "application/json":
            body = b"" if body is None else json.dumps(body).encode()
        elif isinstance(body, str):
            body = body.encode()
        self.body = body
        self.content_type = content_type


def json_response(status, obj, headers=None):
    return Response(status, obj, "application/json", headers)


def text_response(status, text, headers=None):
    return Response(status, text, "text/plain; charset=utf-8", headers)


def empty_response(status, headers=None):
    return Response(status, b"", None, headers)


def route(method, pattern):
    """Mark an Emulator method as the handler of METHOD requests whose path matches PATTERN."""

    def mark(func):
        func.route = (method, re.compile(pattern + r"\Z"))
        return func

    return mark


class Fault:
    """What to do instead of (or before) the normal answer, for the next ``times`` matches."""

    def __init__(self, spec):
        self.method = spec.get("method")
        self.path = re.compile(spec.get("path", ".*"))
        self.query = spec.get("query")
        self.times = int(spec.get("times", 1))
        self.status = spec.get("status")
        self.body = spec.get("body", "")
        self.headers = spec.get("headers") or {}
        self.delay = float(spec.get("delay", 0))
        self.drop = bool(spec.get("drop", False))
        self.expire_session = bool(spec.get("expire_session", False))
        self.after = bool(spec.get("after", False))  # run the real handler first (lost response)
        self.hits = 0

    def matches(self, request):
        if self.times <= 0:
            return False
        if self.method and self.method != request.method:
            return False
        if self.query and self.query not in request.raw_query:
            return False
        return bool(self.path.search(request.path))

    def response(self):
        if isinstance(self.body, (dict, list)):
            return json_response(self.status, self.body, self.headers)
        return text_response(self.status, self.body, self.headers)


class Emulator:
    """Base of every platform emulator. Subclasses define routes and ``expire_sessions``."""

    name = "emulator"

    def __init__(self, seed=None):
        self.lock = threading.RLock()
        self.journal = []
        self.faults = []
        self.requests_seen = 0
        # Every API request as (arrival time, method, path), for benches that count polls.
        self.request_log = collections.deque(maxlen=100000)
        self.server = None
        self._routes = [
            getattr(self, attr).route + (getattr(self, attr),)
            for attr in dir(type(self))
            if callable(getattr(type(self), attr, None)) and hasattr(getattr(type(self), attr), "route")
        ]
        self.load(seed or {})

    # -- to be provided by each platform -------------------------------------------------
    def load(self, seed):
        """Replace the in-memory state with SEED (a dict read from JSON)."""
        raise NotImplementedError

    def snapshot(self):
        """The state as JSON-serialisable data, for the admin API."""
        raise NotImplementedError

    def expire_sessions(self):
        """Make every current session/token invalid (fault kind ``expire_session``)."""
        raise NotImplementedError

    def not_found(self, request):
        return text_response(404, "not found")

    def admin(self, request, action):
        """Platform-specific admin actions (``POST /__emulator__/<action>``); None if unknown."""
        return None

    # -- dispatch -------------------------------------------------------------------------
    def handle(self, request):
        """Return a Response, or None to drop the connection without answering."""
        if request.path.startswith(ADMIN_PREFIX):
            return self._admin(request)
        with self.lock:
            self.requests_seen += 1
            self.request_log.append((time.time(), request.method, request.path))
            fault = next((f for f in self.faults if f.matches(request)), None)
            if fault:
                fault.times -= 1
                fault.hits += 1
            injected = bool(fault and not fault.after and (fault.drop or fault.status))
            entry = self._record(request, injected=injected)
        if fault and fault.delay:
            time.sleep(fault.delay)
        if fault and fault.expire_session:
            with self.lock:
                self.expire_sessions()
        if injected:
            self._complete(entry, fault.status or 0)
            return None if fault.drop else fault.response()
        response = self._dispatch(request, entry)
        if fault and fault.after:
            # The operation happened but the client never hears about it.
            return None if fault.drop else fault.response()
        return response

    def before_request(self):
        """Called under the lock before every API request: advance time-driven state here."""

    def _dispatch(self, request, entry=None):
        with self.lock:
            self.before_request()
        for method, pattern, handler in self._routes:
            if method != request.method:
                continue
            match = pattern.match(request.path)
            if match:
                with self.lock:
                    response = handler(request, **match.groupdict())
                    self._complete(entry, response.status)
                return response
        with self.lock:
            response = self.not_found(request)
            self._complete(entry, response.status)
        return response

    def _record(self, request, injected=False):
        """Journal a mutating request on arrival (call under the lock); its entry, or None."""
        if request.method not in MUTATING:
            return None
        try:
            body = request.json()
        except ValueError:
            body = request.body.decode("utf-8", "replace")
        entry = {
            "time": time.time(),
            "method": request.method,
            "path": request.path,
            "query": request.raw_query,
            "body": body,
            "status": None,  # filled in by _complete when the answer is ready
            "injected": injected,
        }
        self.journal.append(entry)
        return entry

    def _complete(self, entry, status):
        """Fill in the status of ENTRY in place. After a reset or a journal clear the entry is no
        longer in ``self.journal``, so a late answer to a previous test's call writes nowhere."""
        if entry is not None:
            with self.lock:
                entry["status"] = status

    def _admin(self, request):
        action = request.path[len(ADMIN_PREFIX):].strip("/")
        with self.lock:
            if request.method == "GET" and action == "state":
                return json_response(200, self.snapshot())
            if request.method == "GET" and action == "journal":
                return json_response(200, self.journal)
            if request.method == "DELETE" and action == "journal":
                self.journal = []
                return json_response(200, {})
            if request.method == "POST" and action == "faults":
                specs = request.json()
                for spec in specs if isinstance(specs, list) else [specs]:
                    self.faults.append(Fault(spec))
                return json_response(200, {"faults": len(self.faults)})
            if request.method == "DELETE" and action == "faults":
                self.faults = []
                return json_response(200, {})
            if request.method == "POST" and action == "reset":
                try:
                    self.load(request.json() or {})
                except (ValueError, KeyError, TypeError) as exc:
                    return text_response(400, "bad seed: %r" % (exc,))
                self.journal = []
                self.faults = []
                return json_response(200, self.snapshot())
            if request.method == "POST" and action == "expire-sessions":
                self.expire_sessions()
                return json_response(200, {})
            try:
                response = self.admin(request, action)
            except (ValueError, KeyError, TypeError) as exc:  # a bad admin body is the test's mistake
                return text_response(400, "bad admin request: %r" % (exc,))
        return response or text_response(404, "unknown admin action " + action)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "emulator"
    # Headers and body go out in separate writes; without TCP_NODELAY, Nagle plus delayed ACK
    # adds ~40 ms to every response with a body.
    disable_nagle_algorithm = True

    def log_message(self, *args):  # keep test output quiet
        pass

    def _serve(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        request = Request(self.command, self.path, self.headers, body)
        try:
            response = self.server.emulator.handle(request)
        except Exception as exc:  # an emulator bug must show up as a 500, not a hang
            response = text_response(500, "emulator error: %r" % (exc,))
        if response is None:
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return
        self.send_response(response.status)
        if response.content_type and response.body:
            self.send_header("Content-Type", response.content_type)
        for key, value in response.headers.items():
            for item in value if isinstance(value, list) else [value]:
                self.send_header(key, item)
        self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(response.body)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _serve


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request, client_address):
        # Failed TLS handshakes and clients hanging up are expected in tests; stay quiet.
        pass


class TLSMaterial:
    """A throw-away CA and a server certificate for 127.0.0.1/localhost, written to a folder."""

    def __init__(self, folder=None):
        import trustme  # test-only dependency

        self.folder = folder or tempfile.mkdtemp(prefix="emulator-tls-")
        ca = trustme.CA()
        cert = ca.issue_cert("127.0.0.1", "localhost")
        self.ca_path = os.path.join(self.folder, "ca.pem")
        self.cert_path = os.path.join(self.folder, "server.pem")
        ca.cert_pem.write_to_path(self.ca_path)
        cert.private_key_and_cert_chain_pem.write_to_path(self.cert_path)

    def server_context(self):
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.cert_path)
        return context


class Running:
    """A started emulator: its base URL, CA file and a ``stop()``."""

    def __init__(self, emulator, tls=True, port=0, tls_material=None):
        self.emulator = emulator
        self.server = _Server(("127.0.0.1", port), _Handler)
        self.server.emulator = emulator
        self.tls = tls_material if tls_material or not tls else TLSMaterial()
        if self.tls:
            # Handshake in the handler thread, so one slow client cannot stall accept().
            self.server.socket = self.tls.server_context().wrap_socket(
                self.server.socket, server_side=True, do_handshake_on_connect=False)
        self.port = self.server.server_address[1]
        self.url = "%s://127.0.0.1:%d" % ("https" if tls else "http", self.port)
        self.ca_path = self.tls.ca_path if self.tls else None
        emulator.server = self
        self.thread = threading.Thread(target=self.server.serve_forever, name=emulator.name, daemon=True)
        self.thread.start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()
