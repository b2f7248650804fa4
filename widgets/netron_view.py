"""Netron's viewer embedded in QtWebEngine, with every request that leaves the app blocked.

The page runs in a private (off-the-record) profile whose request interceptor allows only our
loopback server's origin and token (widgets.netron_server) and records everything it sees, so the
telemetry beacons and IP look-up Netron ships are refused at the network layer. Without
QtWebEngine the view offers to open the same hardened page in the system browser instead.
"""
from __future__ import annotations

import importlib.util
import os
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QCoreApplication, Qt, QUrl, Signal
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QLabel, QPushButton, QVBoxLayout, QWidget

from onnx_workbench.widgets.netron_server import NetronServer
from onnx_workbench.widgets.one_per_turn import deferred

if TYPE_CHECKING:
    from onnx_workbench.widgets.netron_web import RequestGuard, RequestRecord
    from onnx_workbench.widgets.shown_model import ShownModel

# QtWebEngine is an optional part of some PySide6 builds (and absent on some platforms). Its
# modules take ~0.25 s to import, so they are imported (widgets/netron_web.py) only when the
# view is first shown; here we only look whether they are installed.
HAVE_WEBENGINE = importlib.util.find_spec("PySide6.QtWebEngineWidgets") is not None


def ensure_webengine_environment() -> None:
    """What QtWebEngine needs before QApplication exists; call before creating it.

    Chromium refuses to start as root unless its sandbox is off. QtWebEngine also wants
    OpenGL contexts shared application-wide, which importing it would set, but it is imported
    only when the Netron tab is first shown, after QApplication exists.
    """
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        os.environ.setdefault("QTWEBENGINE_CHROMIUM_FLAGS", "--no-sandbox")
    if QCoreApplication.instance() is None:
        QCoreApplication.setAttribute(Qt.ApplicationAttribute.AA_ShareOpenGLContexts)


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
        self.guard: RequestGuard | None = None
        self.web = None
        # The page (and with it Chromium's processes, ~110 MB) is made when the view is first
        # shown: a user who never opens the Netron tab pays nothing for it.
        self._embedded = HAVE_WEBENGINE
        if not self._embedded:
            self._build_fallback(self._layout)

    def _build_web(self) -> None:
        from onnx_workbench.widgets.netron_web import local_web_view

        self.web, self.guard = local_web_view(self.server.base_url, self)
        self.web.loadFinished.connect(self.loadFinished)
        self._layout.addWidget(self.web)

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

    def bind(self, shown: ShownModel) -> None:
        """Follow the model on screen."""
        # A turn after the graph (see one_per_turn).
        shown.changed.connect(deferred(self, lambda opened: self.set_model(opened.path if opened else None)))

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
