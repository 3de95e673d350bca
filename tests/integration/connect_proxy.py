"""A tiny HTTP CONNECT proxy on 127.0.0.1 for tests: tunnels to 127.0.0.1 only, records every tunnel."""

import select
import socket
import socketserver
import threading


class _Handler(socketserver.BaseRequestHandler):
    def handle(self):
        proxy = self.server.proxy
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = self.request.recv(4096)
            if not chunk:
                return
            head += chunk
        line = head.split(b"\r\n", 1)[0].decode("latin-1")
        method, target = (line.split() + ["", ""])[:2]
        host, dummy, port = target.rpartition(":")
        if method != "CONNECT" or host.strip("[]") not in ("127.0.0.1", "localhost") or not port.isdigit():
            proxy.refused.append(line)
            self.request.sendall(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")
            return
        try:
            upstream = socket.create_connection(("127.0.0.1", int(port)), timeout=10)
        except OSError:
            self.request.sendall(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")
            return
        with proxy.lock:
            proxy.tunnels.append(target)
        self.request.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
        rest = head.split(b"\r\n\r\n", 1)[1]
        if rest:
            upstream.sendall(rest)
        self._pump(self.request, upstream)

    @staticmethod
    def _pump(client, upstream):
        sockets = [client, upstream]
        try:
            while True:
                readable, dummy, broken = select.select(sockets, [], sockets, 60)
                if broken or not readable:
                    return
                for sock in readable:
                    data = sock.recv(65536)
                    if not data:
                        return
                    (upstream if sock is client else client).sendall(data)
        except OSError:
            return
        finally:
            upstream.close()


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


class ConnectProxy:
    """``with ConnectProxy() as proxy:`` -> ``proxy.port``; ``proxy.tunnels`` lists each CONNECT target."""

    def __init__(self):
        self.tunnels = []
        self.refused = []
        self.lock = threading.Lock()
        self.server = _Server(("127.0.0.1", 0), _Handler)
        self.server.proxy = self
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()
