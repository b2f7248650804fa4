"""The QtWebEngine side of the Netron view: the private profile, its request guard, the page.

Imported by widgets.netron_view only when the view is first shown: QtWebEngine's modules are
slow to import and a user who never opens the Netron tab should not pay for them.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass

from PySide6.QtCore import Qt, QUrl
from PySide6.QtWebEngineCore import (
    QWebEnginePage,
    QWebEngineProfile,
    QWebEngineSettings,
    QWebEngineUrlRequestInfo,
    QWebEngineUrlRequestInterceptor,
)
from PySide6.QtWebEngineWidgets import QWebEngineView
from PySide6.QtWidgets import QApplication, QWidget


@dataclass(frozen=True)
class RequestRecord:
    """One request the page attempted and whether it was let through."""

    url: str
    allowed: bool
    first_party: str = ""  # the page that caused the request


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


class LocalPage(QWebEnginePage):
    """Refuses navigation away from our server (e.g. Netron's 'Update' link)."""

    def __init__(self, profile: QWebEngineProfile, allowed_prefix: str, parent=None) -> None:
        super().__init__(profile, parent)
        self._allowed_prefix = allowed_prefix

    def acceptNavigationRequest(self, url: QUrl, nav_type, is_main_frame: bool) -> bool:  # noqa: N802
        return url.toString().startswith(self._allowed_prefix)

    def createWindow(self, window_type):  # noqa: N802 - no pop-ups
        return None


def local_web_view(allowed_prefix: str, parent: QWidget) -> tuple[QWebEngineView, RequestGuard]:
    """A web view in the private profile that may load only URLs under `allowed_prefix`; and its guard."""
    profile, guard = private_profile()
    guard.allow(allowed_prefix)
    web = QWebEngineView(parent)
    page = LocalPage(profile, allowed_prefix, web)
    settings = page.settings()
    settings.setAttribute(QWebEngineSettings.WebAttribute.LocalContentCanAccessRemoteUrls, False)
    settings.setAttribute(QWebEngineSettings.WebAttribute.PluginsEnabled, False)
    web.setPage(page)
    # Dropped files go to the app (which opens them everywhere), not into the page.
    web.setAcceptDrops(False)
    # Chromium's menu offers Back/Reload/View source, none of which make sense here.
    web.setContextMenuPolicy(Qt.ContextMenuPolicy.NoContextMenu)
    return web, guard
