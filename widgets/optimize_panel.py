"""The Optimize panel: passes by category, the chosen pass's generated form, Apply/Cancel, presets."""
from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QElapsedTimer, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSplitter,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from onnx_workbench.pipelines.background import JobLanes, ThreadCall
from onnx_workbench.pipelines.errors import ConfigError
from onnx_workbench.pipelines.passes.base import CATEGORIES, Pass
from onnx_workbench.pipelines.passes.engine import all_passes
from onnx_workbench.pipelines.recipe import Recipe, load_recipe
from onnx_workbench.pipelines.session_model import APPLY, SessionModel
from onnx_workbench.pipelines.versions import Version
from onnx_workbench.widgets.gc_pauses import collection_paused
from onnx_workbench.widgets.giving_way import giving_way
from onnx_workbench.widgets.pass_form import PassForm
from onnx_workbench.widgets.version_tree import step_notes

# A PyInstaller bundle unpacks data files under sys._MEIPASS (spec: "assets/presets"); a source
# checkout or an editable install has assets/ next to widgets/.
PRESETS_DIR = Path(getattr(sys, "_MEIPASS", Path(__file__).resolve().parents[1])) / "assets" / "presets"
LOAD_LANE = "load-passes"  # background work of this panel's own
CATEGORY_TITLES = {"cleanup": "Clean up", "fusion": "Fuse", "prune": "Prune", "quantize": "Quantize", "convert": "Convert"}


def load_presets(folder: Path = PRESETS_DIR) -> dict[str, Recipe]:
    """The preset recipes shipped in assets/presets, by display name ("cpu_int8" -> "CPU INT8")."""
    names = {"fold_and_simplify": "Fold and simplify", "cpu_int8": "CPU INT8",
             "transformer_int8": "Transformer INT8", "half_precision": "Half precision"}
    presets: dict[str, Recipe] = {}
    for path in sorted(folder.glob("*.yaml")):
        presets[names.get(path.stem, path.stem.replace("_", " ").capitalize())] = load_recipe(path)
    return presets


def _load_presets_quietly() -> dict[str, Recipe]:
    # Seconds of imports: no collection stalls the window meanwhile, and they wait while it is busy.
    with collection_paused(), giving_way():
        return load_presets()


class OptimizePanel(QWidget):
    """Pick a pass, set its options, apply it to the current version (in a worker)."""

    applyRequested = Signal(str, dict)  # pass name, config values
    presetRequested = Signal(str, object)  # preset name, Recipe
    cancelRequested = Signal()

    def __init__(self, selection: Callable[[], list[str]] | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.selection = selection
        self.forms: dict[str, PassForm] = {}
        self.presets: dict[str, Recipe] = {}
        # The passes are imported on first need, not when the window is built: their modules
        # pull in onnx-ir (with sympy), onnxscript and ONNX Runtime, seconds of a cold start
        # that showing the graph does not need. load_in_background() imports them on a thread,
        # through the session's background work, once a session is ready to apply them (a
        # panel alone loads them on first need).
        self._loaded = False
        self._jobs: JobLanes | None = None

        self.tree = QTreeWidget(self)
        self.tree.setHeaderHidden(True)
        self.tree.setRootIsDecorated(True)
        self.tree.setUniformRowHeights(True)
        self.tree.currentItemChanged.connect(self._on_pass_chosen)
        QTreeWidgetItem(self.tree, ["Loading the passes…"]).setFlags(Qt.ItemFlag.NoItemFlags)

        self.title = QLabel(self)
        font = self.title.font()
        font.setBold(True)
        self.title.setFont(font)
        self.description = QLabel(self)
        self.description.setWordWrap(True)
        self.tolerance_note = QLabel(self)
        self.tolerance_note.setWordWrap(True)
        self.tolerance_note.setToolTip("Every version is run beside the original on the same inputs; a version "
                                       "whose outputs fall under this is marked ✗, never hidden.")
        self.form_area = QScrollArea(self)
        self.form_area.setWidgetResizable(True)
        self.form_area.setFrameShape(QScrollArea.Shape.NoFrame)

        self.apply_button = QPushButton("Apply", self)
        self.apply_button.setToolTip("Apply the pass to the current version (runs in the background)")
        self.apply_button.clicked.connect(self._on_apply)
        self.cancel_button = QPushButton("Cancel", self)
        self.cancel_button.clicked.connect(self.cancelRequested)
        self.progress = QProgressBar(self)
        self.progress.setRange(0, 1000)
        self.progress.setTextVisible(False)
        self.progress.setMaximumHeight(12)
        self.status = QLabel(self)
        self.status.setWordWrap(True)
        self.status.setTextFormat(Qt.TextFormat.PlainText)  # messages quote node names

        self.preset_combo = QComboBox(self)
        self.preset_button = QPushButton("Run preset", self)
        self.preset_button.clicked.connect(self._on_preset)

        presets = QHBoxLayout()
        presets.addWidget(QLabel("Preset:", self))
        presets.addWidget(self.preset_combo, 1)
        presets.addWidget(self.preset_button)
        buttons = QHBoxLayout()
        buttons.addWidget(self.apply_button)
        buttons.addWidget(self.cancel_button)
        buttons.addWidget(self.progress, 1)

        details = QWidget(self)
        right = QVBoxLayout(details)
        right.setContentsMargins(4, 0, 0, 0)
        right.addWidget(self.title)
        right.addWidget(self.description)
        right.addWidget(self.tolerance_note)
        right.addWidget(self.form_area, 1)
        right.addLayout(buttons)
        right.addWidget(self.status)
        splitter = QSplitter(Qt.Orientation.Vertical, self)
        splitter.addWidget(self.tree)
        splitter.addWidget(details)
        splitter.setStretchFactor(0, 1)
        splitter.setStretchFactor(1, 2)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(presets)
        layout.addWidget(splitter, 1)
        # While a step runs: its stage, progress and elapsed time, refreshed every second.
        self._clock = QElapsedTimer()
        self._stage = ""
        self._fraction = 0.0
        self._ticker = QTimer(self)
        self._ticker.setInterval(1000)
        self._ticker.timeout.connect(self._show_running)
        self.set_running(False)
        self.set_enabled_for_session(False)

    # ---- loading ----------------------------------------------------------------------------
    def load_in_background(self) -> None:
        """Import the passes and presets on a thread; the list fills when they are ready."""
        if self._loaded or self._jobs is None or self._jobs.busy(LOAD_LANE):
            return
        # Parsing the presets imports every pass.
        self._jobs.submit(LOAD_LANE, ThreadCall("load the passes", lambda _context: _load_presets_quietly()))

    @property
    def loaded(self) -> bool:
        """Whether the passes are imported and listed."""
        return self._loaded

    def ensure_loaded(self) -> None:
        """Fill the pass list now if the background load has not yet (imports wait for it)."""
        if not self._loaded:
            self._fill(load_presets())

    def _fill(self, presets: dict[str, Recipe]) -> None:
        if self._loaded:
            return
        self._loaded = True
        self.presets = presets
        self.tree.clear()  # the "Loading the passes…" line
        by_category: dict[str, list[type[Pass]]] = {c: [] for c in CATEGORIES}
        for cls in all_passes():
            by_category[cls.category].append(cls)
        for category in CATEGORIES:
            if not by_category[category]:
                continue
            group = QTreeWidgetItem(self.tree, [CATEGORY_TITLES.get(category, category)])
            group.setFlags(Qt.ItemFlag.ItemIsEnabled)
            font = group.font(0)
            font.setBold(True)
            group.setFont(0, font)
            for cls in by_category[category]:
                item = QTreeWidgetItem(group, [cls.name])
                item.setData(0, Qt.ItemDataRole.UserRole, cls.name)
                item.setToolTip(0, cls.description)
            group.setExpanded(True)
        for name, recipe in presets.items():
            self.preset_combo.addItem(name, name)
            steps = " → ".join(step.pass_name for step in recipe.steps)
            self.preset_combo.setItemData(self.preset_combo.count() - 1, steps, Qt.ItemDataRole.ToolTipRole)
        self.set_enabled_for_session(self._session_open)
        self.select_pass(all_passes()[0].name)

    # ---- choosing ---------------------------------------------------------------------------
    def pass_names(self) -> list[str]:
        """Every pass listed, in display order."""
        self.ensure_loaded()
        names = []
        for i in range(self.tree.topLevelItemCount()):
            group = self.tree.topLevelItem(i)
            names.extend(group.child(j).data(0, Qt.ItemDataRole.UserRole) for j in range(group.childCount()))
        return names

    def select_pass(self, name: str) -> None:
        """Show the form of pass `name`."""
        self.ensure_loaded()
        for i in range(self.tree.topLevelItemCount()):
            group = self.tree.topLevelItem(i)
            for j in range(group.childCount()):
                if group.child(j).data(0, Qt.ItemDataRole.UserRole) == name:
                    self.tree.setCurrentItem(group.child(j))
                    return
        raise ConfigError(f"no pass named '{name}' is registered; see the list of passes.")

    @property
    def current_pass(self) -> str | None:
        """The pass whose form is shown."""
        item = self.tree.currentItem()
        return item.data(0, Qt.ItemDataRole.UserRole) if item is not None else None

    def form(self, name: str | None = None) -> PassForm:
        """The form of pass `name` (default: the shown one), built on first use."""
        self.ensure_loaded()
        name = name or self.current_pass
        assert name is not None
        if name not in self.forms:
            cls = next(c for c in all_passes() if c.name == name)
            self.forms[name] = PassForm(cls.Config, self.selection)
        return self.forms[name]

    def _on_pass_chosen(self, item: QTreeWidgetItem | None, _previous: QTreeWidgetItem | None) -> None:
        name = item.data(0, Qt.ItemDataRole.UserRole) if item is not None else None
        if not name:
            return
        cls = next(c for c in all_passes() if c.name == name)
        self.title.setText(name)
        self.description.setText(cls.description)
        self.tolerance_note.setText(f"Fidelity check: every output's cosine to the original ≥ {cls.min_cosine:g} "
                                    f"(the default for {CATEGORY_TITLES.get(cls.category, cls.category).lower()} steps)")
        self.form_area.takeWidget()  # keep the old form (and its values) alive in self.forms
        self.form_area.setWidget(self.form(name))
        self.status.clear()

    def bind(self, model: SessionModel) -> None:
        """Follow a session: Apply needs one open; the running step's progress, result or failure shows here."""

        def on_workspace() -> None:
            self.set_enabled_for_session(model.workspace is not None)
            if model.workspace is None:
                self.show_message("")  # nothing said about the previous model stays
            else:
                # Now, not when the window is shown or a model opened: the import is ~1.5 s of
                # CPU that, even on a thread, shares the GIL with loading and drawing the graph.
                self.load_in_background()

        self._jobs = model.jobs
        model.jobs.lane(LOAD_LANE).succeeded.connect(lambda _request, presets: self._fill(presets))
        lane = model.jobs.lane(APPLY)
        lane.busy.connect(self.set_running)
        lane.progress.connect(self.set_progress)
        lane.cancelled.connect(lambda _request: self.show_message("Cancelled; the current version is unchanged."))
        self.cancelRequested.connect(model.cancel_step)
        model.step_applied.connect(lambda vid: self.show_step(model.version(vid)))
        model.step_failed.connect(self.show_error)
        model.workspace_changed.connect(on_workspace)

    # ---- running ----------------------------------------------------------------------------
    def _on_apply(self) -> None:
        name = self.current_pass
        if name is None:
            return
        try:
            values = self.form(name).config().to_dict()
        except ConfigError as exc:
            self.show_error(str(exc))
            return
        self.applyRequested.emit(name, values)

    def _on_preset(self) -> None:
        name = self.preset_combo.currentData()
        self.presetRequested.emit(name, self.presets[name])

    def set_running(self, running: bool) -> None:
        """Busy: Apply and presets off, Cancel on, progress shown."""
        self.apply_button.setEnabled(not running and self._session_open and self._loaded)
        self.preset_button.setEnabled(not running and self._session_open and self._loaded)
        self.cancel_button.setEnabled(running)
        self.progress.setVisible(running)
        if running:
            self.progress.setValue(0)
            self._clock.start()
            self._stage, self._fraction = "starting", 0.0
            self._ticker.start()
            self._show_running()
        else:
            self._ticker.stop()

    _session_open = False

    def set_enabled_for_session(self, open_: bool) -> None:
        """Apply needs a session (a model opened) and the passes loaded."""
        self._session_open = open_
        ready = open_ and self._loaded and not self.cancel_button.isEnabled()
        self.apply_button.setEnabled(ready)
        self.preset_button.setEnabled(ready)

    def set_progress(self, fraction: float, message: str) -> None:
        """Show a worker's progress."""
        self.progress.setValue(int(fraction * 1000))
        self._fraction = fraction
        if message:
            self._stage = message
        if self._ticker.isActive():
            self._show_running()
        elif message:
            self.show_message(message)

    def _show_running(self) -> None:
        seconds = self._clock.elapsed() // 1000 if self._clock.isValid() else 0
        self.show_message(f"{self._stage} — {self._fraction:.0%}, {seconds} s")

    def show_error(self, text: str) -> None:
        """Say why a step failed (no version was added)."""
        self.status.setText(f"Not applied: {text}")
        self.status.setStyleSheet("color: #c0392b;")

    def show_step(self, version: Version) -> None:
        """What a finished step made, with the reasons and warnings that go with it."""
        self.show_result(f"Applied as v{version.number}: {version.summary or 'done'}", step_notes(version))

    def show_result(self, text: str, notes: list[str]) -> None:
        """A step's result with the reasons and warnings that go with it, one per line."""
        self.show_message("\n".join([text, *(f"⚠ {note}" for note in notes)]))

    def show_message(self, text: str) -> None:
        """A neutral status line."""
        self.status.setText(text)
        self.status.setStyleSheet("")
