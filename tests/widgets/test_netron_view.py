"""The embedded Netron view: loads the model with zero requests leaving the app, and no dialogs."""
from __future__ import annotations

import http.client
import urllib.request

import pytest
import shiboken6
from PySide6.QtCore import Qt

from onnx_workbench.widgets.netron_server import NetronServer

webengine = pytest.importorskip("PySide6.QtWebEngineWidgets")
from onnx_workbench.widgets.netron_view import HAVE_WEBENGINE, NetronView  # noqa: E402

LOAD_TIMEOUT_MS = 60_000


def _js(qtbot, view: NetronView, script: str):
    box: list = []
    view.web.page().runJavaScript(script, 0, box.append)
    qtbot.waitUntil(lambda: bool(box), timeout=10_000)
    return box[0]


def _wait_for_graph(qtbot, view: NetronView) -> None:
    """Until Netron has rendered a graph (body class 'default' and node elements exist)."""
    def rendered() -> bool:
        state = _js(qtbot, view, "(document.body ? document.body.className.trim() : '') + '|' + document.querySelectorAll('#canvas .node').length")
        if not isinstance(state, str) or "|" not in state:
            return False  # the page is still being replaced
        cls, nodes = state.split("|")
        return cls == "default" and int(nodes) > 0
    qtbot.waitUntil(rendered, timeout=LOAD_TIMEOUT_MS)


@pytest.fixture
def view(qtbot):
    assert HAVE_WEBENGINE
    v = NetronView()
    v.resize(900, 700)
    yield v
    v.shutdown()
    v.close()
    shiboken6.delete(v)  # pages must go before QApplication drops the shared profile


def test_loads_model_with_nothing_leaving_the_machine(qtbot, view, sample_cnn):
    view.set_model(sample_cnn)
    view.show()
    _wait_for_graph(qtbot, view)
    qtbot.wait(500)  # let late beacons (page_view, scroll) be attempted
    records = view.requests()
    ours = view.server.base_url
    assert any(r.url.startswith(ours + "data/resnet_small.onnx") for r in records)
    # Every request that was let through is to our loopback server, under our token.
    allowed = [r.url for r in records if r.allowed]
    assert allowed and all(u.startswith(ours) for u in allowed)
    # Netron did try to phone home, and each attempt was blocked.
    blocked = view.blocked_requests()
    assert any(u.startswith("https://analytics.google.com/") for u in blocked)
    assert all(not u.startswith(ours) for u in blocked)
    # No consent, update or error message: the graph is shown and the message box is empty.
    assert _js(qtbot, view, "document.getElementById('message-text').innerText") == ""
    body = _js(qtbot, view, "document.body.className")
    assert "notification" not in body and "alert" not in body
    assert int(_js(qtbot, view, "document.querySelectorAll('#canvas .node').length")) >= 54


def test_interceptor_blocks_ip_lookup(qtbot, view, sample_cnn):
    view.set_model(sample_cnn)
    view.show()
    _wait_for_graph(qtbot, view)
    outcome = _js(qtbot, view, """
        (function () {
          window.__probe = 'pending';
          fetch('https://ipinfo.io/json').then(() => { window.__probe = 'reached'; }, () => { window.__probe = 'failed'; });
          return 'started';
        })()""")
    assert outcome == "started"
    qtbot.waitUntil(lambda: _js(qtbot, view, "window.__probe") != "pending", timeout=10_000)
    assert _js(qtbot, view, "window.__probe") == "failed"
    assert "https://ipinfo.io/json" in view.blocked_requests()


def test_follows_the_current_model(qtbot, view, sample_cnn, sample_transformer):
    view.set_model(sample_cnn)
    view.show()
    _wait_for_graph(qtbot, view)
    view.set_model(sample_transformer)
    qtbot.waitUntil(
        lambda: any("data/transformer_small.onnx" in r.url for r in view.requests()), timeout=LOAD_TIMEOUT_MS
    )
    _wait_for_graph(qtbot, view)
    text = _js(qtbot, view, "document.getElementById('canvas').textContent")
    assert "Softmax" in text and "Conv" not in text


# The server on its own ------------------------------------------------------------------------


@pytest.fixture
def server(sample_cnn):
    s = NetronServer()
    s.start()
    s.set_model(sample_cnn)
    yield s
    s.stop()


def _get(url: str, host: str | None = None) -> tuple[int, bytes]:
    parsed = urllib.request.urlparse(url)
    conn = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=5)
    headers = {"Host": host} if host else {}
    conn.request("GET", parsed.path, headers=headers)
    response = conn.getresponse()
    return response.status, response.read()


def test_server_requires_token_and_own_host(server, sample_cnn):
    assert _get(server.url())[0] == 200
    assert _get(f"{server.origin}/index.html")[0] == 404
    assert _get(f"{server.origin}/wrong-token/index.html")[0] == 404
    assert _get(server.url(), host="evil.example:80")[0] == 404  # DNS rebinding
    status, body = _get(server.base_url + "data/resnet_small.onnx")
    assert status == 200 and body == sample_cnn.read_bytes()


def test_server_serves_models_with_awkward_names(tmp_path, sample_cnn):
    odd = tmp_path / 'my model #1 "x".onnx'
    odd.write_bytes(sample_cnn.read_bytes())
    s = NetronServer()
    s.start()
    try:
        s.set_model(odd)
        html = s.resource("index.html")[0].decode()
        meta = html[html.index('<meta name="file"'):].split(">", 1)[0]
        location = meta.split('content="', 1)[1].rsplit('"', 1)[0]
        assert '"' not in location and " " not in location and "#" not in location
        status, body = _get(s.base_url + location)
        assert status == 200 and body == odd.read_bytes()
    finally:
        s.stop()


def test_server_refuses_paths_outside_its_folders(server):
    assert _get(server.base_url + "../server.py")[0] == 404
    assert _get(server.base_url + "%2e%2e/%2e%2e/etc/passwd")[0] == 404
    assert _get(server.base_url + "data/../../../etc/passwd")[0] == 404
    assert _get(server.base_url + "server.py")[0] == 404  # Python sources are not served
    assert _get(server.base_url + "view.js")[0] == 200


def test_index_is_dated_today_and_loads_consent_script_first(server, monkeypatch, tmp_path):
    # A Netron build older than 180 days would show an endless update dialog; we re-date it.
    import onnx_workbench.widgets.netron_server as ns

    original = (ns.NETRON_DIR / "index.html").read_text(encoding="utf-8")
    old = tmp_path / "index.html"
    old.write_text(original.replace(original[original.index('<meta name="date"'):].split(">", 1)[0] + ">",
                                    '<meta name="date" content="2020-01-01 00:00:00">'), encoding="utf-8")
    monkeypatch.setattr(ns, "NETRON_DIR", tmp_path)
    html = server.resource("index.html")[0].decode()
    assert "2020-01-01" not in html
    import datetime as dt

    assert f'<meta name="date" content="{dt.datetime.now(dt.timezone.utc):%Y-%m-%d}' in html
    assert html.index('src="workbench.js"') < html.index('src="index.js"')
    script = server.resource("workbench.js")[0].decode()
    assert "consent=" in script and "sendBeacon" not in script  # embedded: the interceptor guards


def test_browser_mode_guards_requests_in_page():
    s = NetronServer(page_guard=True)
    script = s.resource("workbench.js")[0].decode()
    assert "navigator.sendBeacon =" in script and "window.fetch =" in script


def test_without_webengine_offers_a_guarded_browser_view(qtbot, monkeypatch, sample_cnn):
    import onnx_workbench.widgets.netron_view as nv

    monkeypatch.setattr(nv, "HAVE_WEBENGINE", False)
    opened: list[str] = []
    monkeypatch.setattr(nv.QDesktopServices, "openUrl", lambda url: opened.append(url.toString()) or True)
    view = nv.NetronView()
    qtbot.addWidget(view)
    try:
        assert not view.embedded and view.requests() == []
        view.set_model(sample_cnn)
        qtbot.mouseClick(view.open_in_browser, Qt.MouseButton.LeftButton)
        assert opened == [view.server.url()]
        assert opened[0].startswith(f"http://127.0.0.1:{view.server.port}/{view.server.token}/")
        # In a browser there is no interceptor, so the page itself refuses outside requests.
        assert "navigator.sendBeacon =" in _get(view.server.base_url + "workbench.js")[1].decode()
        assert _get(view.server.base_url + "data/resnet_small.onnx")[0] == 200
    finally:
        view.shutdown()


def test_an_old_netron_build_shows_no_update_dialog(qtbot, monkeypatch, tmp_path, sample_cnn):
    # Netron nags forever once its build date is 180 days old; simulate an old build in a copy.
    import shutil as _shutil

    import onnx_workbench.widgets.netron_server as ns

    old = tmp_path / "netron"
    _shutil.copytree(ns.NETRON_DIR, old, ignore=_shutil.ignore_patterns("*.py", "__pycache__"))
    index = old / "index.html"
    text = index.read_text(encoding="utf-8")
    start = text.index('<meta name="date" content="')
    end = text.index(">", start) + 1
    index.write_text(text[:start] + '<meta name="date" content="2020-01-01 00:00:00">' + text[end:], encoding="utf-8")
    monkeypatch.setattr(ns, "NETRON_DIR", old)
    v = NetronView()
    v.resize(800, 600)
    try:
        v.set_model(sample_cnn)
        v.show()
        _wait_for_graph(qtbot, v)
        assert _js(qtbot, v, "document.getElementById('message-text').innerText") == ""
        assert "update" not in _js(qtbot, v, "document.body.innerText").lower()
    finally:
        v.shutdown()
        v.close()
        shiboken6.delete(v)


def test_no_web_page_until_the_view_is_shown(qtbot, sample_cnn):
    v = NetronView()
    try:
        v.set_model(sample_cnn)
        assert v.embedded and not v.started and v.web is None  # no Chromium processes yet
        v.resize(600, 400)
        v.show()
        assert v.started and v.web is not None
    finally:
        v.shutdown()
        v.close()
        shiboken6.delete(v)
