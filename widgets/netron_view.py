"""Netron's viewer embedded in QtWebEngine, with every request that leaves the app blocked.

The page runs in a private (off-the-record) profile whose request interceptor allows only our
loopback server's origin and token (widgets.netron_server) and records everything it sees, so the
telemetry beacons and IP look-up Netron ships are refused at the network layer. Without
QtWebEngine the view offers to open the same hardened page in the system browser instead.
"""
from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import Qt, QUrl, Signal
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QApplication, QLabel, QPushButton, QVBoxLayout, QWidget

from widgets.netron_server import NetronServer

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
    first_party: str = ""  # the page that caused the request


if HAVE_WEBENGINE:

    class RequestGuard(QWebEngineUrlRequestInterceptor):
        """Blocks every request outside the registered prefixes (plus in-page data:/blob:); logs all."""

        def __init__(self, parent=None) -> None:
            super().__init__(parent)
            self._lock = threading.Lock()
            self._prefixes: set[str] = set()
            self._log: list[RequestRecord] = []

        def allow(self, prefix: str) -> None:
            """Let requests starting with `prefix` (a server's origin + token) through."""
            with self._lock:
                self._prefixes.add(prefix)

        def revoke(self, prefix: str) -> None:
            """Stop allowing `prefix`."""
            with self._lock:
                self._prefixes.discard(prefix)

        def interceptRequest(self, info: QWebEngineUrlRequestInfo) -> None:  # noqa: N802 - Qt API
            """Qt calls this for every request of the profile; block what is not ours."""
            url = info.requestUrl().toString()
            with self._lock:
                allowed = info.requestUrl().scheme() in ("data", "blob") or any(
                    url.startswith(p) for p in self._prefixes
                )
                if not allowed:
                    info.block(True)
                self._log.append(RequestRecord(url, allowed, info.firstPartyUrl().toString()))

        def records(self) -> list[RequestRecord]:
            """Every request seen so far, in order."""
            with self._lock:
                return list(self._log)

    _PROFILE: QWebEngineProfile | None = None
    _GUARD: RequestGuard | None = None

    def private_profile() -> tuple[QWebEngineProfile, RequestGuard]:
        """The app-wide off-the-record profile and its request guard, created on first use.

        One profile for the whole application, parented to QApplication: Chromium requires
        every page of a profile to be gone before the profile is, and widgets are deleted in
        an order we do not control (deleteLater), so a per-widget profile warns at exit.
        """
        global _PROFILE, _GUARD
        if _PROFILE is None:
            # A profile without a storage name is off-the-record: no cookies or cache on disk.
            _PROFILE = QWebEngineProfile(QApplication.instance())
            _PROFILE.setHttpCacheType(QWebEngineProfile.HttpCacheType.MemoryHttpCache)
            _PROFILE.setPersistentCookiesPolicy(QWebEngineProfile.PersistentCookiesPolicy.NoPersistentCookies)
            _GUARD = RequestGuard(_PROFILE)
            _PROFILE.setUrlRequestInterceptor(_GUARD)
        assert _GUARD is not None
        return _PROFILE, _GUARD

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
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self.guard = None
        self.web = None
        # The page (and with it Chromium's processes, ~110 MB) is made when the view is first
        # shown: a user who never opens the Netron tab pays nothing for it.
        self._embedded = HAVE_WEBENGINE
        if not self._embedded:
            self._build_fallback(self._layout)

    def _build_web(self) -> None:
        layout = self._layout
        profile, self.guard = private_profile()
        self.guard.allow(self.server.base_url)
        self.web = QWebEngineView(self)
        page = _LocalPage(profile, self.server.base_url, self.web)
        settings = page.settings()
        settings.setAttribute(QWebEngineSettings.WebAttribute.LocalContentCanAccessRemoteUrls, False)
        settings.setAttribute(QWebEngineSettings.WebAttribute.PluginsEnabled, False)
        self.web.setPage(page)
        # Dropped files go to the app (which opens them everywhere), not into Netron's page.
        self.web.setAcceptDrops(False)
        # Chromium's menu offers Back/Reload/View source, none of which make sense here.
        self.web.setContextMenuPolicy(Qt.ContextMenuPolicy.NoContextMenu)
        self.web.loadFinished.connect(self.loadFinished)
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
        return self._embedded

    @property
    def started(self) -> bool:
        """True once the web page exists (the view was shown at least once)."""
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
        """Every request this view's page attempted (empty without QtWebEngine)."""
        if self.guard is None:
            return []
        return [r for r in self.guard.records() if r.first_party.startswith(self.server.base_url) or r.url.startswith(self.server.base_url)]

    def blocked_requests(self) -> list[str]:
        """URLs the interceptor refused."""
        return [r.url for r in self.requests() if not r.allowed]

    def showEvent(self, event) -> None:  # noqa: N802 - Qt API
        """Load lazily: only a visible view spends time (and Chromium processes) on Netron."""
        super().showEvent(event)
        if self._embedded and self.web is None:
            self._build_web()
        if self.web is not None and (self._generation == 0 or self._loaded_model != self._model):
            self.reload()

    def shutdown(self) -> None:
        """Stop the server and revoke its access; called when the window closes."""
        if self.guard is not None:
            self.guard.revoke(self.server.base_url)
        self.server.stop()
