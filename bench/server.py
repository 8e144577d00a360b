"""The benchmark's HTTP server: one process, one asyncio listener per loopback host.

HTTP/1.1 with keep-alive and Content-Length, conditional GET (If-None-Match and
If-Modified-Since → 304) for resources with validators, 404 elsewhere. It runs in its own
process so serving costs CPU the way a remote site's would not cost the ingest's GIL.

It counts what it answered, and the shortest gap between two requests to one host, for feeds
and for pages (the ingest's per-host spacing, seen from outside): `GET /__stats` on any host
returns them as JSON, `GET /__reset` zeroes them.
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import socket
import time
from collections import Counter
from collections.abc import Sequence
from email.utils import parsedate_to_datetime
from multiprocessing.connection import Connection
from pathlib import Path
from types import TracebackType

from bench.site import HOSTS, LAST_MODIFIED, Resource, build_site

_REASONS = {200: "OK", 304: "Not Modified", 404: "Not Found", 400: "Bad Request"}
_MODIFIED_AT = parsedate_to_datetime(LAST_MODIFIED)


class Stats:
    """What the server answered, and the shortest gap between two requests to one host."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.answers: Counter[str] = Counter()
        self.last_start: dict[tuple[str, str], float] = {}
        self.min_gap: dict[tuple[str, str], float] = {}

    def started(self, host: str, kind: str) -> None:
        """A request for a `kind` ("feed" or "page") of resource arrived at `host`."""
        now = time.monotonic()
        last = self.last_start.get((host, kind))
        if last is not None:
            gap = now - last
            self.min_gap[(host, kind)] = min(self.min_gap.get((host, kind), gap), gap)
        self.last_start[(host, kind)] = now

    def as_json(self) -> bytes:
        def smallest(kind: str) -> float | None:
            gaps = [gap for (_, k), gap in self.min_gap.items() if k == kind]
            return min(gaps) if gaps else None

        return json.dumps(
            {
                "answers": dict(self.answers),
                "min_feed_gap_s": smallest("feed"),
                "min_page_gap_s": smallest("page"),
            }
        ).encode()


def _not_modified(resource: Resource, headers: dict[str, str]) -> bool:
    if not resource.validators:
        return False
    if "if-none-match" in headers:
        return resource.etag in headers["if-none-match"]
    if "if-modified-since" in headers:
        try:
            return parsedate_to_datetime(headers["if-modified-since"]) >= _MODIFIED_AT
        except (TypeError, ValueError):
            return False
    return False


def _answer(status: int, headers: dict[str, str], body: bytes) -> bytes:
    lines = [f"HTTP/1.1 {status} {_REASONS[status]}", f"Content-Length: {len(body)}"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


async def serve_host(resources: dict[str, Resource], host: str, stats: Stats, sock: socket.socket):
    """Answer on `sock`, listening for `host`, from `resources` (path -> resource)."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                request_line, *header_lines = head.decode("latin-1").split("\r\n")
                method, target, _ = request_line.split(" ", 2)
                headers = {}
                for line in header_lines:
                    if ":" in line:
                        name, value = line.split(":", 1)
                        headers[name.strip().lower()] = value.strip()
                if "content-length" in headers:
                    await reader.readexactly(int(headers["content-length"]))
                path = target.split("?", 1)[0]
                if path == "/__stats":
                    reply = _answer(200, {"Content-Type": "application/json"}, stats.as_json())
                elif path == "/__reset":
                    stats.reset()
                    reply = _answer(200, {}, b"")
                elif (resource := resources.get(path)) is None:
                    stats.answers["404"] += 1
                    reply = _answer(404, {"Content-Type": "text/plain"}, b"not found")
                else:
                    kind = (
                        "page"
                        if path.startswith("/news/")
                        else "robots"
                        if path == "/robots.txt"
                        else "feed"
                    )
                    stats.started(host, kind)
                    extra = (
                        {"ETag": resource.etag, "Last-Modified": LAST_MODIFIED}
                        if resource.validators
                        else {}
                    )
                    if _not_modified(resource, headers):
                        stats.answers[f"{kind} 304"] += 1
                        reply = _answer(304, extra, b"")
                    else:
                        stats.answers[f"{kind} 200"] += 1
                        body = b"" if method == "HEAD" else resource.body
                        reply = _answer(200, {"Content-Type": resource.content_type, **extra}, body)
                writer.write(reply)
                await writer.drain()
                if headers.get("connection", "").lower() == "close":
                    break
        except (asyncio.IncompleteReadError, ConnectionError, ValueError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(handle, sock=sock, backlog=512)
    await server.serve_forever()


def _main(
    corpus: Path, limit: int | None, sockets: dict[str, socket.socket], ready: Connection
) -> None:
    ports = {host: sock.getsockname()[1] for host, sock in sockets.items()}
    site = build_site(corpus, ports, tuple(sockets), limit)
    stats = Stats()
    ready.send(ports)

    async def all_hosts() -> None:
        await asyncio.gather(
            *(serve_host(site[host], host, stats, sock) for host, sock in sockets.items())
        )

    asyncio.run(all_hosts())


def listening_sockets(hosts: Sequence[str], backlog: int = 512) -> dict[str, socket.socket]:
    """A socket listening on a free port of each loopback host, for the server process."""
    sockets = {}
    for host in hosts:
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, 0))
        sock.listen(backlog)
        sockets[host] = sock
    return sockets


class BenchServer:
    """The server process; use it as a context manager. `ports` maps host → port."""

    def __init__(
        self, corpus: Path, hosts: tuple[str, ...] = HOSTS, limit: int | None = None
    ) -> None:
        """Serve the first `limit` corpus pages (all by default) on every host."""
        self.sockets = listening_sockets(hosts)
        self.ports = {host: sock.getsockname()[1] for host, sock in self.sockets.items()}
        parent, child = multiprocessing.get_context("fork").Pipe()
        self._process = multiprocessing.get_context("fork").Process(
            target=_main, args=(corpus, limit, self.sockets, child), daemon=True
        )
        self._ready = parent

    def __enter__(self) -> BenchServer:
        self._process.start()
        if not self._ready.poll(60):
            raise RuntimeError("benchmark server did not start")
        self._ready.recv()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._process.kill()
        self._process.join()
        for sock in self.sockets.values():
            sock.close()

    def _get(self, path: str) -> bytes:
        host = next(iter(self.ports))
        with socket.create_connection((host, self.ports[host]), timeout=10) as conn:
            conn.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
            data = b""
            while chunk := conn.recv(65536):
                data += chunk
        return data.split(b"\r\n\r\n", 1)[1]

    def stats(self) -> dict[str, object]:
        return json.loads(self._get("/__stats"))

    def reset(self) -> None:
        self._get("/__reset")
