"""A real HTTP server on 127.0.0.1 for tests and benchmarks: canned replies, every request recorded.

    with LocalServer({"/feed.xml": Reply(body=b"<rss/>")}) as server:
        ...fetch server.url("/feed.xml")...
        assert server.requests[0].headers["if-none-match"] == '"v1"'

A route is a `Reply` or a function from the `Seen` request to a `Reply` (called on the server's
thread, so it may sleep). Unknown paths answer 404.
"""

from __future__ import annotations

import socket
import sys
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType


@dataclass(frozen=True, slots=True)
class Reply:
    """What the server answers."""

    status: int = 200
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""
    trickle: float = 0.0
    """When set, send the body one byte at a time with this many seconds between bytes."""
    content_length: bool = True
    """Send Content-Length; when False the body ends where the server closes the connection."""


@dataclass(frozen=True, slots=True)
class Seen:
    """A request the server received; header names are lower-case."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes = b""
    """What a POST sent."""


Route = Reply | Callable[[Seen], Reply]


def redirect(location: str, status: int = 302) -> Reply:
    """A redirect to `location`."""
    return Reply(status=status, headers={"Location": location})


def then(*replies: Reply) -> Callable[[Seen], Reply]:
    """A route that gives these replies in turn, then the last one forever; the times it was
    asked (`time.monotonic()`) are in its `times`."""
    answers = list(replies)
    times: list[float] = []

    def route(seen: Seen) -> Reply:
        times.append(time.monotonic())
        return answers.pop(0) if len(answers) > 1 else answers[0]

    route.times = times  # type: ignore[attr-defined]
    return route


def free_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (connections to it are refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class LocalServer:
    """A threaded HTTP/1.1 server on a free port of 127.0.0.1; use it as a context manager."""

    def __init__(
        self, routes: Mapping[str, Route] | None = None, host: str = "127.0.0.1", port: int = 0
    ) -> None:
        """`host` may be any address of 127.0.0.0/8 (all are loopback on Linux)."""
        self.routes: dict[str, Route] = dict(routes or {})
        self.host = host
        self._seen: list[Seen] = []
        self._lock = threading.Lock()
        self._server = _Server((host, port), _Handler)
        self._server.owner = self
        # A short poll interval makes shutdown() return promptly instead of after 0.5 s.
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def url(self, path: str = "/") -> str:
        return f"http://{self.host}:{self.port}{path}"

    @property
    def requests(self) -> list[Seen]:
        """Every request received so far, oldest first."""
        with self._lock:
            return list(self._seen)

    def paths(self) -> list[str]:
        return [seen.path for seen in self.requests]

    def start(self) -> LocalServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> LocalServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _answer(self, seen: Seen) -> Reply:
        with self._lock:
            self._seen.append(seen)
        route = self.routes.get(seen.path) or self.routes.get(seen.path.split("?")[0])
        if route is None:
            return Reply(status=404, headers={"Content-Type": "text/plain"}, body=b"not found")
        return route(seen) if callable(route) else route


class _Server(ThreadingHTTPServer):
    daemon_threads = True  # a trickling handler must not keep the test run alive
    owner: LocalServer

    def handle_error(self, request: object, client_address: object) -> None:
        # A client that gives up (a size cap, a timeout, a killed process) resets the
        # connection: expected in these tests, so not printed.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)  # type: ignore[arg-type]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def do_GET(self) -> None:
        self._reply(
            Seen(
                method="GET",
                path=self.path,
                headers={name.lower(): value for name, value in self.headers.items()},
            )
        )

    def do_POST(self) -> None:
        """A webhook's request: recorded with its body, answered like a GET."""
        length = int(self.headers.get("Content-Length") or 0)
        self._reply(
            Seen(
                method="POST",
                path=self.path,
                headers={name.lower(): value for name, value in self.headers.items()},
                body=self.rfile.read(length),
            )
        )

    def _reply(self, seen: Seen) -> None:
        reply = self.server.owner._answer(seen)
        self.send_response(reply.status)
        names = {name.lower() for name in reply.headers}
        for name, value in reply.headers.items():
            self.send_header(name, value)
        if not reply.content_length:
            self.send_header("Connection", "close")
            self.close_connection = True
        elif "content-length" not in names:
            self.send_header("Content-Length", str(len(reply.body)))
        self.end_headers()
        try:
            if reply.trickle:
                for index in range(len(reply.body)):
                    self.wfile.write(reply.body[index : index + 1])
                    self.wfile.flush()
                    time.sleep(reply.trickle)
            else:
                self.wfile.write(reply.body)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client gave up, as tests of limits expect

    def log_message(self, format: str, *args: object) -> None:
        pass  # keep pytest output clean
