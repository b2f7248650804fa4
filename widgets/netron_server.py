"""Serve Netron's static viewer and one model on the loopback, to holders of a random token only.

Netron's own server (netron/server.py) listens without authentication and serves index.html as
shipped; ours differs in four ways, all done in memory at serve time (site-packages is never
written):
- every URL lives under `/<token>/`; anything else, or a foreign Host header (DNS rebinding),
  gets 404;
- index.html's build date is replaced by today's date, because browser.js shows an endless
  "Please update to the newest version" dialog once `meta[name=date]` is over 180 days old;
- a same-origin `workbench.js` runs before index.js and pre-sets the `consent` cookie that
  browser.js checks before it looks up the user's country at ipinfo.io and shows the cookie
  dialog (an inline script would be refused by index.html's CSP `script-src 'self'`);
- with `page_guard=True` (the "Open in browser" fallback, where no request interceptor exists)
  workbench.js also refuses cross-origin sendBeacon/fetch/XHR, which is how Netron sends Google
  Analytics events. The embedded view leaves that to its network-level interceptor instead.
"""
from __future__ import annotations

import datetime as _dt
import html
import http.server
import os
import re
import secrets
import shutil
import threading
import urllib.parse
from pathlib import Path

import netron

from onnx_workbench.pipelines.errors import WorkbenchError
from onnx_workbench.pipelines.model_graphs import external_data_files

NETRON_DIR = Path(netron.__file__).resolve().parent
CHUNK_BYTES = 1 << 20
MIME_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".png": "image/png",
    ".ico": "image/x-icon",
    ".json": "application/json",
    ".svg": "image/svg+xml",
    ".woff": "font/woff",
    ".woff2": "font/woff2",
    ".ttf": "font/ttf",
}

_CONSENT_JS = (
    "// Served by ONNX Workbench: consent is pre-set so Netron neither asks nor looks up the IP.\n"
    "document.cookie = 'consent=' + Date.now() + ';path=/;max-age=31536000';\n"
)
_GUARD_JS = """
// Served by ONNX Workbench: nothing may leave this origin (Netron sends analytics beacons).
(function () {
  const local = (url) => {
    try { return new URL(url, document.baseURI).origin === window.location.origin; } catch (e) { return false; }
  };
  const blocked = (url) => { console.warn('ONNX Workbench blocked a request to ' + url); };
  const beacon = navigator.sendBeacon ? navigator.sendBeacon.bind(navigator) : null;
  navigator.sendBeacon = (url, data) => { if (local(url) && beacon) { return beacon(url, data); } blocked(url); return true; };
  const fetch0 = window.fetch.bind(window);
  window.fetch = (input, init) => {
    const url = typeof input === 'string' ? input : (input && input.url) || String(input);
    if (local(url)) { return fetch0(input, init); }
    blocked(url); return Promise.reject(new TypeError('blocked'));
  };
  const open0 = XMLHttpRequest.prototype.open;
  XMLHttpRequest.prototype.open = function (method, url) {
    if (!local(url)) { blocked(url); throw new Error('blocked'); }
    return open0.apply(this, arguments);
  };
})();
"""


class NetronServer:
    """A loopback HTTP server for Netron and the current model; start() before use, stop() after."""

    def __init__(self, *, page_guard: bool = False, host: str = "127.0.0.1") -> None:
        self.token = secrets.token_urlsafe(24)
        self.page_guard = page_guard
        self._host = host
        self._model: Path | None = None
        self._data_cache: tuple[Path, frozenset[Path]] | None = None
        self._lock = threading.Lock()
        self._httpd: http.server.ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        """The TCP port bound on the loopback (0 before start)."""
        return self._httpd.server_address[1] if self._httpd else 0

    @property
    def origin(self) -> str:
        """`http://127.0.0.1:<port>`."""
        return f"http://{self._host}:{self.port}"

    @property
    def base_url(self) -> str:
        """The URL prefix every served resource starts with (token included)."""
        return f"{self.origin}/{self.token}/"

    def url(self, cache_buster: str | int | None = None) -> str:
        """The viewer URL for the current model."""
        suffix = f"?v={cache_buster}" if cache_buster is not None else ""
        return f"{self.base_url}index.html{suffix}"

    def set_model(self, path: str | os.PathLike[str] | None) -> None:
        """Serve `path` as the model from now on (None: Netron's empty start page)."""
        with self._lock:
            self._model = Path(path).resolve() if path is not None else None

    @property
    def model(self) -> Path | None:
        """The model file being served."""
        with self._lock:
            return self._model

    def start(self) -> None:
        """Bind a free loopback port and serve on a daemon thread."""
        if self._httpd is not None:
            return
        handler = _make_handler(self)
        self._httpd = http.server.ThreadingHTTPServer((self._host, 0), handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="netron-server", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop serving and release the port."""
        if self._httpd is None:
            return
        self._httpd.shutdown()
        self._httpd.server_close()
        self._httpd = None
        self._thread = None

    # Content -------------------------------------------------------------------------------
    def resource(self, relative: str) -> tuple[bytes | Path, str] | None:
        """(body, content type) for a path below the token, or None for 404.

        Model files come back as a Path so the handler streams them: a model may be gigabytes.
        """
        if relative in ("", "index.html"):
            return self._index_html(), MIME_TYPES[".html"]
        if relative == "workbench.js":
            script = _CONSENT_JS + (_GUARD_JS if self.page_guard else "")
            return script.encode("utf-8"), MIME_TYPES[".js"]
        if relative.startswith("data/"):
            body = self._model_file(relative[len("data/"):])
            return (body, "application/octet-stream") if body is not None else None
        return self._static(relative)

    def _static(self, relative: str) -> tuple[bytes, str] | None:
        target = (NETRON_DIR / relative).resolve()
        ext = target.suffix.lower()
        if not target.is_relative_to(NETRON_DIR) or ext not in MIME_TYPES or not target.is_file():
            return None
        return target.read_bytes(), MIME_TYPES[ext]

    def _model_file(self, relative: str) -> Path | None:
        model = self.model
        if model is None:
            return None
        if relative == model.name:
            return model if model.is_file() else None
        # Netron asks for the external-data files the model names; nothing else beside it.
        target = (model.parent / relative).resolve()
        return target if target in self._data_files(model) and target.is_file() else None

    def _data_files(self, model: Path) -> frozenset[Path]:
        """The external data files `model` references (checked inside its folder), parsed once per model."""
        with self._lock:
            cached = self._data_cache
        if cached is not None and cached[0] == model:
            return cached[1]
        try:
            files = frozenset(p.resolve() for p in external_data_files(model))
        except WorkbenchError:
            files = frozenset()  # a model we cannot parse names no data file we would serve
        with self._lock:
            self._data_cache = (model, files)
        return files

    def _index_html(self) -> bytes:
        text = (NETRON_DIR / "index.html").read_text(encoding="utf-8")
        meta = ['<meta name="type" content="Python">', f'<meta name="version" content="{netron.__version__}">']
        model = self.model
        if model is not None:
            name = html.escape(model.name, quote=True)
            meta.append(f'<meta name="file" content="data/{urllib.parse.quote(model.name)}">')
            meta.append(f'<meta name="identifier" content="{name}">')
        text = re.sub(r'<meta name="version" content="[^"]*">', lambda _m: "\n".join(meta), text, count=1)
        today = _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S")
        # Without the meta at all browser.js falls back to "now", which is equally fine.
        text = re.sub(r'<meta name="date" content="[^"]*">', f'<meta name="date" content="{today}">', text, count=1)
        # Our script must run before index.js so the consent cookie exists when browser.js looks.
        text = text.replace(
            '<script type="text/javascript" src="index.js"></script>',
            '<script type="text/javascript" src="workbench.js"></script>\n'
            '<script type="text/javascript" src="index.js"></script>',
            1,
        )
        return text.encode("utf-8")


def _make_handler(server: NetronServer) -> type[http.server.BaseHTTPRequestHandler]:
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's naming
            self._serve(send_body=True)

        def do_HEAD(self) -> None:  # noqa: N802
            self._serve(send_body=False)

        def _serve(self, send_body: bool) -> None:
            # A page on another origin could point a browser at us through a DNS name that
            # resolves to 127.0.0.1; only our own host:port is accepted.
            if self.headers.get("Host") != f"{server._host}:{server.port}":
                return self._reply(404, b"", "text/plain", send_body)
            path = urllib.parse.unquote(urllib.parse.urlparse(self.path).path)
            prefix = f"/{server.token}/"
            if not path.startswith(prefix):
                return self._reply(404, b"", "text/plain", send_body)
            found = server.resource(path[len(prefix):])
            if found is None:
                return self._reply(404, b"", "text/plain", send_body)
            self._reply(200, found[0], found[1], send_body)

        def _reply(self, status: int, body: bytes | Path, content_type: str, send_body: bool) -> None:
            length = body.stat().st_size if isinstance(body, Path) else len(body)
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(length))
            self.send_header("Cache-Control", "no-store")
            self.send_header("Referrer-Policy", "no-referrer")
            self.end_headers()
            if not send_body:
                return
            if isinstance(body, Path):
                with body.open("rb") as file:
                    shutil.copyfileobj(file, self.wfile, CHUNK_BYTES)
            else:
                self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            pass  # quiet: the GUI has no console

    return Handler
