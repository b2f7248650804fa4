"""The window acts on the version you see and never shows one version's (or model's) figures on another."""
from __future__ import annotations

import pytest
from PySide6.QtCore import QPoint, Qt

from onnx_workbench.pipelines.background import Request, ThreadCall
from onnx_workbench.pipelines.model import load_model
from onnx_workbench.pipelines.opening import OpenedModel
from onnx_workbench.pipelines.session_model import ANALYSIS, PROFILE
from onnx_workbench.pipelines.versions import ROOT_ID, Workspace

WAIT_MS = 60_000


@pytest.fixture
def two_versions(session_window, sample_cnn, tmp_path):
    """The sample CNN shown, in a session with v0 and v1 (fold-batchnorm) made in-process."""
    win = session_window
    win.show_model(OpenedModel(load_model(sample_cnn)))
    ws = Workspace.create(sample_cnn, tmp_path / "ws", samples=2)
    folded = ws.apply(ROOT_ID, "fold-batchnorm")
    panels = win.session_panels
    panels.version_display.shown_version = ROOT_ID
    panels.session.adopt(ws)
    return win, ws, folded


def _row_point(tree, vid: str) -> QPoint:
    # Near the row's left end: the row can be wider than the viewport (long notes), and a click
    # at its centre would then land outside the view and be ignored.
    rect = tree.visualItemRect(tree.item_for(vid))
    return QPoint(rect.left() + 8, rect.center().y())


def _click_row(qtbot, tree, vid: str) -> None:
    qtbot.mouseClick(tree.viewport(), Qt.MouseButton.LeftButton, pos=_row_point(tree, vid))


def _shown(qtbot, panels, vid: str) -> None:
    qtbot.waitUntil(lambda: panels.version_display.shown_version == vid, timeout=WAIT_MS)


def test_clicking_a_row_makes_it_current_and_f5_profiles_it(qtbot, two_versions, monkeypatch):
    win, ws, folded = two_versions
    panels = win.session_panels
    tree = panels.version_tree
    _click_row(qtbot, tree, folded.id)
    assert panels.session.current_id == folded.id
    assert tree.currentItem() is tree.item_for(folded.id) and tree.item_for(folded.id).font(0).bold()
    _shown(qtbot, panels, folded.id)

    started = []
    submit = panels.session.jobs.submit
    monkeypatch.setattr(panels.session.jobs, "submit", lambda lane, work, about=(): started.append(work.params)
                        if lane == PROFILE else submit(lane, work, about))
    _click_row(qtbot, tree, ROOT_ID)
    win.actions["profile"].trigger()
    assert started[-1]["model"] == str(ws.path_of(ROOT_ID))  # the highlighted row is the one profiled

    # Double-clicking the original (which has a child) keeps the branch open.
    qtbot.mouseDClick(tree.viewport(), Qt.MouseButton.LeftButton, pos=_row_point(tree, ROOT_ID))
    assert tree.item_for(ROOT_ID).isExpanded()
    # Undo still walks back through the clicked versions.
    panels.session.undo()
    assert panels.session.current_id == folded.id and tree.currentItem() is tree.item_for(folded.id)


def _profile_result(node_names: list[str]) -> dict:
    share = 1.0 / len(node_names)
    return {
        "latency_ms": {"p50": 1.0, "p99": 2.0}, "latencies_ms": [1.0, 1.1, 0.9], "throughput_per_s": 1000.0,
        "memory": {"peak_rss_bytes": 2**20}, "runs": 3, "options": {"intra_op_threads": 1},
        "per_op": {"op_types": [{"op_type": "Conv", "ms_per_run": 0.5}],
                   "nodes": [{"node": n, "model_node": n, "share": share, "ms_per_run": 0.1} for n in node_names]},
    }


def _profile_and_analyse(qtbot, win, vid: str) -> list[str]:
    """Make `vid` current and give it a per-op profile and a quantization-error table (no workers)."""
    panels, graph = win.session_panels, win.graph_view
    session = panels.session
    session.go_to(vid)
    _shown(qtbot, panels, vid)
    names = graph.node_names()[:5]
    profile = _profile_result(names)
    session.jobs.submit(PROFILE, ThreadCall("profile", lambda _context: profile), about=(vid,))
    report = {"tensors": [{"quant_node": names[0], "op_type": "Conv", "sqnr_db": 20.0, "added_noise": 0.1}],
              "samples": 2, "by_quant_node": {names[0]: {"relative_error": 0.2}}}
    session.jobs.submit(ANALYSIS, ThreadCall("quant-debug", lambda _context: report), about=(vid,))
    qtbot.waitUntil(lambda: vid in session.profiles and vid in session.analyses, timeout=WAIT_MS)
    return names


def test_a_versions_heat_map_and_analysis_stay_on_that_version(qtbot, two_versions):
    win, ws, folded = two_versions
    panels, graph = win.session_panels, win.graph_view
    session = panels.session
    _profile_and_analyse(qtbot, win, folded.id)
    assert graph.overlay() is not None and panels.analysis_views.worst_table.rowCount() == 1

    session.go_to(ROOT_ID)
    assert graph.overlay() is None  # not even for the moment v0 is loading
    _shown(qtbot, panels, ROOT_ID)
    assert graph.overlay() is None
    assert panels.analysis_views.worst_table.rowCount() == 0
    assert panels.profile_dashboard.stat_labels["p50"].text() == "—"
    panels.profile_dashboard.redraw()
    assert panels.profile_dashboard.placeholder.isVisible() and not panels.profile_dashboard.charts.isVisible()

    session.go_to(folded.id)  # back: its own figures return
    _shown(qtbot, panels, folded.id)
    assert graph.overlay() is not None and panels.analysis_views.worst_table.rowCount() == 1


def test_a_profile_of_another_version_does_not_stream_into_the_shown_one(qtbot, two_versions):
    win, _ws, folded = two_versions
    panels = win.session_panels
    assert panels.profile_dashboard.version_id == ROOT_ID  # v0 is current; a profile of v1 streams a record
    profile_of_v1 = Request(PROFILE, 1, "profile", (folded.id,))
    panels.session.jobs.lane(PROFILE).record.emit(profile_of_v1, {"kind": "sample", "phase": "timed", "latencies_ms": [5.0, 6.0]})
    panels.profile_dashboard.redraw()
    assert panels.profile_dashboard.stat_labels["runs"].text() == "—"


def test_opening_another_model_clears_every_figure_and_message(qtbot, two_versions, sample_transformer):
    win, _ws, folded = two_versions
    panels, graph = win.session_panels, win.graph_view
    session = panels.session
    _profile_and_analyse(qtbot, win, folded.id)
    panels.optimize_panel.show_error("the analysis failed")
    assert graph.highlighted() and graph.overlay() is not None

    session.dirty = False
    win.open_path(sample_transformer)
    qtbot.waitUntil(lambda: session.workspace is not None and session.workspace.source == sample_transformer,
                    timeout=WAIT_MS)
    assert graph.overlay() is None and not graph.highlighted()
    assert panels.analysis_views.worst_table.rowCount() == 0
    assert panels.optimize_panel.status.text() == ""
    assert panels.profile_dashboard.stat_labels["p50"].text() in ("—", "")
    assert panels.compare_view.result is None
    # The next progress line is a plain one, not red from the old error.
    panels.optimize_panel.set_progress(0.5, "verifying")
    assert panels.optimize_panel.status.styleSheet() == ""


def test_versions_are_named_as_the_user_knows_them(qtbot, two_versions):
    win, _ws, folded = two_versions
    panels = win.session_panels
    panels.session.go_to(folded.id)
    _shown(qtbot, panels, folded.id)
    qtbot.waitUntil(lambda: win.summary_panel.tree.value("Parameters") not in (None, "—"), timeout=WAIT_MS)
    assert win.summary_panel.tree.value("Name") == "resnet_small.onnx · v1"
    assert win.status_line.model_label.text() == "resnet_small.onnx · v1"
    panels.session.undo()
    _shown(qtbot, panels, ROOT_ID)
    qtbot.waitUntil(lambda: win.summary_panel.tree.value("Name") == "resnet_small.onnx · v0 original", timeout=WAIT_MS)
    texts = [m.text for m in win.message_log.messages()]
    assert not any("model.onnx" in t for t in texts), texts  # the session's internal file name


def row_shown(tree, version_id: str) -> bool:
    try:
        tree.item_for(version_id)
    except KeyError:
        return False
    return True


def test_a_no_op_step_says_why_beside_the_result_and_in_the_log(qtbot, two_versions):
    win, ws, folded = two_versions
    panels = win.session_panels
    again = ws.apply(folded.id, "fold-batchnorm")  # nothing left to fold
    panels.session.version_added.emit(again.id)
    panels.session.step_applied.emit(again.id)
    status = panels.optimize_panel.status.text()
    reason = "the model has no BatchNormalization node"
    assert status.startswith(f"Applied as v{again.number}: no node changed") and reason in status
    qtbot.waitUntil(lambda: row_shown(panels.version_tree, again.id))  # the row follows a turn later
    assert reason in panels.version_tree.cell(again.id, "Notes")
    assert any(reason in m.text for m in win.message_log.messages("warning"))


def test_failures_stay_in_the_message_log(qtbot, two_versions):
    win, _ws, _folded = two_versions
    win.session_panels.session.problem.emit("Profiling failed: the worker ran out of memory.")
    errors = win.message_log.messages("error")
    assert errors and errors[-1].text == "Profiling failed: the worker ran out of memory."
    saved = (win.session_panels.session.workspace.root / "messages.log").read_text(encoding="utf-8")
    assert saved.rstrip().endswith("error   Profiling failed: the worker ran out of memory.")  # kept with the session
    assert "1 errors" in win.message_log.counts.text()
    qtbot.wait(50)
    win.statusBar().clearMessage()  # the status bar forgets; the log does not
    assert win.message_log.messages("error")[-1].text.startswith("Profiling failed")


def test_the_graph_says_which_version_it_still_shows_while_another_loads(qtbot, two_versions):
    win, _ws, folded = two_versions
    panels = win.session_panels
    panels.session.go_to(folded.id)
    assert win.graph_view.notice.isVisible() and win.graph_view.notice.text() == "Showing v0 original — loading v1…"
    _shown(qtbot, panels, folded.id)
    assert not win.graph_view.notice.isVisible()


def test_a_version_left_before_its_load_starts_is_never_loaded(qtbot, two_versions, monkeypatch):
    """Loads start once the window has reacted to the change (version_display.LOAD_AFTER_MS)."""
    win, _ws, folded = two_versions
    panels = win.session_panels
    loads = []
    submit = win.jobs.submit
    monkeypatch.setattr(win.jobs, "submit", lambda lane, work, about=(): loads.append(about) or submit(lane, work, about))
    panels.session.go_to(folded.id)
    panels.session.go_to(ROOT_ID)  # back (Ctrl+Z) before v1's load started
    assert not win.graph_view.notice.isVisible()  # nothing is loading
    panels.session.go_to(folded.id)
    _shown(qtbot, panels, folded.id)
    assert loads == [(folded.id,)]  # one load, of the version that stayed current


def test_rings_turned_off_in_diff_stay_off_on_the_next_version(qtbot, two_versions):
    win, _ws, folded = two_versions
    panels, graph = win.session_panels, win.graph_view
    panels.diff_panel.toggle.setChecked(False)  # the user's click on "Ring in graph"
    panels.session.go_to(folded.id)
    _shown(qtbot, panels, folded.id)
    rings = {kind: set(names) for kind, names in folded.changes.items() if kind in ("added", "removed", "changed") and names}
    assert rings and graph.highlighted() == rings and not graph.highlight_visible()
    panels.diff_panel.toggle.setChecked(True)
    assert graph.highlight_visible()
