"""A loopback HTTP server for the bundled sample feeds and pages (`newsdesk demo`, tests)."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

SAMPLE_DIR = Path(__file__).parent / "sample"
DEMO_PORT = 8765
"""Preferred port: a stable base URL keeps article URLs stable across demo runs."""


class _Handler(BaseHTTPRequestHandler):
    server: _SampleServer

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        folder, _, name = path.strip("/").partition("/")
        file = SAMPLE_DIR / folder / name
        if folder not in ("feeds", "articles") or "/" in name or not file.is_file():
            self._send(404, b"not found", "text/plain")
            return
        body = file.read_bytes()
        if folder == "feeds":
            body = body.replace(b"{{base}}", self.server.base_url.encode())
            kind = "application/rss+xml" if b"<rss" in body[:500] else "application/atom+xml"
        else:
            kind = "text/html"  # no charset on purpose: pages must declare or be detected
        etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
        if self.headers.get("If-None-Match") == etag:
            self._send(304, b"", kind, etag)
            return
        self._send(200, body, kind, etag)

    def _send(self, status: int, body: bytes, kind: str, etag: str | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        if etag:
            self.send_header("ETag", etag)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


class _SampleServer(ThreadingHTTPServer):
    daemon_threads = True
    base_url: str


@contextmanager
def serve_sample(port: int = 0) -> Iterator[str]:
    """Serve the sample on 127.0.0.1 (`port` 0: any free port); yield the base URL."""
    try:
        server = _SampleServer(("127.0.0.1", port), _Handler)
    except OSError:
        server = _SampleServer(("127.0.0.1", 0), _Handler)
    server.base_url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.base_url
    finally:
        server.shutdown()
        server.server_close()


def write_sample_feeds(base_url: str, target: Path) -> Path:
    """Write the sample feeds file with its `{base}` placeholders filled in."""
    text = (SAMPLE_DIR / "feeds.toml").read_text(encoding="utf-8")
    target.write_text(text.replace("{base}", base_url), encoding="utf-8")
    return target
