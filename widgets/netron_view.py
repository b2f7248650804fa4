"""Netron's viewer embedded in QtWebEngine, with every request that leaves the app blocked.

The page runs in a private (off-the-record) profile whose request interceptor allows only our
loopback server's origin and token (app.netron_server) and records everything it sees, so the
telemetry beacons and IP look-up Netron ships are refused at the network layer. Without
QtWebEngine the view offers to open the same hardened page in the system browser instead.
"""
from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QUrl, Signal
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QLabel, QPushButton, QVBoxLayout, QWidget

from app.netron_server import NetronServer

try:  # QtWebEngine is an optional part of some PySide6 builds (and absent on some platforms)
    from PySide6.QtWebEngineCore import (
        QWebEnginePage,
        QWebEngineProfile,
        QWebEngineSettings,
        QWebEngineUrlRequestInfo,
        QWebEngineUrlRequestInterceptor,
    )
    from PySide6.QtWebEngineWidgets import QWebEngineView

    HAVE_WEBENGINE = True
except ImportError:  # pragma: no cover - depends on the installed Qt
    HAVE_WEBENGINE = False


def ensure_webengine_environment() -> None:
    """Chromium refuses to start as root unless its sandbox is off; call before QApplication."""
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        os.environ.setdefault("QTWEBENGINE_CHROMIUM_FLAGS", "--no-sandbox")


@dataclass(frozen=True)
class RequestRecord:
    """One request the page attempted and whether it was let through."""

    url: str
    allowed: bool


if HAVE_WEBENGINE:

    class RequestGuard(QWebEngineUrlRequestInterceptor):
        """Blocks every request outside `allowed_prefix` (plus in-page data:/blob:) and logs all."""

        def __init__(self, allowed_prefix: str, parent=None) -> None:
            super().__init__(parent)
            self.allowed_prefix = allowed_prefix
            self._lock = threading.Lock()
            self._log: list[RequestRecord] = []

        def interceptRequest(self, info: QWebEngineUrlRequestInfo) -> None:  # noqa: N802 - Qt API
            """Qt calls this for every request of the profile; block what is not ours."""
            url = info.requestUrl().toString()
            allowed = url.startswith(self.allowed_prefix) or info.requestUrl().scheme() in ("data", "blob")
            if not allowed:
                info.block(True)
            with self._lock:
                self._log.append(RequestRecord(url, allowed))

        def records(self) -> list[RequestRecord]:
            """Every request seen so far, in order."""
            with self._lock:
                return list(self._log)

    class _LocalPage(QWebEnginePage):
        """Refuses navigation away from our server (e.g. Netron's 'Update' link)."""

        def __init__(self, profile: QWebEngineProfile, allowed_prefix: str, parent=None) -> None:
            super().__init__(profile, parent)
            self._allowed_prefix = allowed_prefix

        def acceptNavigationRequest(self, url: QUrl, nav_type, is_main_frame: bool) -> bool:  # noqa: N802
            return url.toString().startswith(self._allowed_prefix)

        def createWindow(self, window_type):  # noqa: N802 - no pop-ups
            return None


class NetronView(QWidget):
    """Shows the current model in Netron; call set_model(path) whenever the model changes."""

    loadFinished = Signal(bool)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._model: Path | None = None
        self._loaded_model: Path | None = None
        self._generation = 0
        self.server = NetronServer(page_guard=not HAVE_WEBENGINE)
        self.server.start()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.guard = None
        self.web = None
        if HAVE_WEBENGINE:
            self._build_web(layout)
        else:
            self._build_fallback(layout)

    def _build_web(self, layout: QVBoxLayout) -> None:
        # A profile without a storage name is off-the-record: no cookies or cache on disk.
        profile = QWebEngineProfile()
        profile.setHttpCacheType(QWebEngineProfile.HttpCacheType.MemoryHttpCache)
        profile.setPersistentCookiesPolicy(QWebEngineProfile.PersistentCookiesPolicy.NoPersistentCookies)
        self.guard = RequestGuard(self.server.base_url, profile)
        profile.setUrlRequestInterceptor(self.guard)
        self.web = QWebEngineView(self)
        page = _LocalPage(profile, self.server.base_url, self.web)
        settings = page.settings()
        settings.setAttribute(QWebEngineSettings.WebAttribute.LocalContentCanAccessRemoteUrls, False)
        settings.setAttribute(QWebEngineSettings.WebAttribute.PluginsEnabled, False)
        self.web.setPage(page)
        self.web.loadFinished.connect(self.loadFinished)
        # Reparent last so Qt deletes the page (a child of the view) before the profile.
        profile.setParent(self)
        self._profile = profile
        layout.addWidget(self.web)

    def _build_fallback(self, layout: QVBoxLayout) -> None:
        self.fallback_label = QLabel(
            "The embedded Netron view needs QtWebEngine, which this installation lacks. "
            "You can open the same view, served only on this machine, in your browser.",
            self,
        )
        self.fallback_label.setWordWrap(True)
        self.open_in_browser = QPushButton("Open in browser", self)
        self.open_in_browser.clicked.connect(self.open_external)
        layout.addStretch(1)
        layout.addWidget(self.fallback_label)
        layout.addWidget(self.open_in_browser)
        layout.addStretch(1)

    @property
    def embedded(self) -> bool:
        """True when Netron runs inside the app (QtWebEngine is available)."""
        return self.web is not None

    def set_model(self, path: str | os.PathLike[str] | None) -> None:
        """Serve `path` and show it (now if visible, else the next time the view is shown)."""
        self._model = Path(path).resolve() if path is not None else None
        self.server.set_model(self._model)
        if self.isVisible():
            self.reload()

    def reload(self) -> None:
        """Load the viewer for the current model into the page."""
        if self.web is None:
            return
        self._generation += 1
        self._loaded_model = self._model
        # A fresh query string makes the page re-read index.html and so the new model.
        self.web.setUrl(QUrl(self.server.url(cache_buster=self._generation)))

    def open_external(self) -> None:
        """Open the viewer in the system browser (loopback only, token in the URL)."""
        QDesktopServices.openUrl(QUrl(self.server.url()))

    def requests(self) -> list[RequestRecord]:
        """Every request the embedded page attempted (empty without QtWebEngine)."""
        return self.guard.records() if self.guard is not None else []

    def blocked_requests(self) -> list[str]:
        """URLs the interceptor refused."""
        return [r.url for r in self.requests() if not r.allowed]

    def showEvent(self, event) -> None:  # noqa: N802 - Qt API
        """Load lazily: only a visible view spends time on Netron."""
        super().showEvent(event)
        if self.web is not None and (self._generation == 0 or self._loaded_model != self._model):
            self.reload()

    def shutdown(self) -> None:
        """Stop the server; called when the window closes."""
        self.server.stop()
