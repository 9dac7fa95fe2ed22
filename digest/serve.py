"""`site serve`: the built site over HTTP on 127.0.0.1, for looking at it locally.

The standard library's server is enough for one person's browser; it serves 404.html for
missing paths, as static hosts do. Search needs HTTP (browsers refuse WebAssembly from
`file://`), which is what this is for.
"""

from __future__ import annotations

import functools
import logging
from http import HTTPStatus
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

from paperdigest.errors import SiteError
from paperdigest.settings import Settings

log = logging.getLogger(__name__)
HOST = "127.0.0.1"


class SiteHandler(SimpleHTTPRequestHandler):
    extensions_map: ClassVar[dict[str, str]] = {
        **SimpleHTTPRequestHandler.extensions_map,
        ".xml": "application/xml",
        ".pagefind": "application/wasm",
        ".js": "text/javascript",
        ".css": "text/css",
    }

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        page = Path(self.directory) / "404.html"
        if code != HTTPStatus.NOT_FOUND or not page.is_file():
            super().send_error(code, message, explain)
            return
        body = page.read_bytes()
        self.send_response(code, message)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # the stdlib's signature
        log.info("%s %s", self.address_string(), format % args)


def make_server(site_dir: Path, port: int = 8000) -> ThreadingHTTPServer:
    """A server for the site folder (port 0: any free port); call serve_forever() on it."""
    if not (site_dir / "index.html").is_file():
        raise SiteError(f"no site in {site_dir}: run `paperdigest site build` first (or set SITE_DIR)")
    handler = functools.partial(SiteHandler, directory=str(site_dir))
    try:
        return ThreadingHTTPServer((HOST, port), handler)
    except OSError as err:
        raise SiteError(f"cannot listen on {HOST}:{port} ({err.strerror}); pick another --port") from err


def site_address(server: ThreadingHTTPServer) -> str:
    return f"http://{HOST}:{server.server_address[1]}/"


def serve_site(settings: Settings, port: int = 8000) -> None:
    """Serve SITE_DIR until interrupted, printing its address."""
    server = make_server(Path(settings.SITE_DIR), port)
    print(f"Serving {settings.SITE_DIR} at {site_address(server)} (Ctrl+C to stop)", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
