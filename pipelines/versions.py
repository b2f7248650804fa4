"""The version tree of one session: immutable model files in a workspace folder, and how they relate.

Version 0 ("original") is a copy of the user's model; every other version is one pass applied
to its parent. A version's id hashes (parent id, pass name, full config), so applying the same
step twice returns the existing version without recomputing it (as Olive's footprint does).
The tree is kept in `workspace.json` beside the versions so a session can be reopened.

Layout::

    <root>/workspace.json
    <root>/versions/<id>/model.onnx   (+ external data files, if the pass wrote any)
"""
from __future__ import annotations

import functools
import hashlib
import json
import re
import shutil
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import onnx
import platformdirs

from onnx_workbench.pipelines.errors import Cancelled, ConfigError, ModelRefused
from onnx_workbench.pipelines.machine import installed_versions
from onnx_workbench.pipelines.model import ir_model, load_model, save_ir_model
from onnx_workbench.pipelines.model_files import copy_model, file_fingerprints, model_size_bytes
from onnx_workbench.pipelines.model_graphs import external_data_files
from onnx_workbench.pipelines.passes.base import PassConfig
from onnx_workbench.pipelines.passes.engine import make_config, run_pass
from onnx_workbench.pipelines.recipe import Recipe, save_recipe
from onnx_workbench.pipelines.safe_write import atomic_path, write_text_atomic
from onnx_workbench.pipelines.speed import step_latency
from onnx_workbench.pipelines.staging import scratch_folder
from onnx_workbench.pipelines.tolerances import default_tolerance
from onnx_workbench.pipelines.verify import Tolerance, verify_models

ROOT_ID = "original"
WORKSPACE_FILE = "workspace.json"
MODEL_FILE = "model.onnx"
WORKSPACE_FORMAT = 1
FLAG_OUT_OF_TOLERANCE = "fidelity below tolerance"
FLAG_NOT_VERIFIED = "not verified"
STAGING = "staging"  # scratch_folder purpose of a version being built: versions/.<id>.staging.*


# workspace.json is untrusted on reopen (a session folder can be copied, edited, shared).
MAX_WORKSPACE_BYTES = 64 << 20
MAX_VERSIONS = 10_000
_VERSION_ID = re.compile(r"[0-9a-f]{12}")


def _checked_workspace(data: dict[str, Any], root: Path) -> tuple[Path, dict[str, Any], list[Version]]:
    """Source, settings and versions of a parsed workspace.json; ValueError says what is wrong.

    Every version file must lie in its own folder under `root` (delete removes that folder and
    Netron serves beside it), ids must be ours, and parents must form one tree from the original.
    """
    source, settings, entries = data.get("source"), data.get("settings"), data.get("versions")
    if not isinstance(source, str) or not isinstance(settings, dict) or not isinstance(entries, list):
        raise ValueError("'source', 'settings' or 'versions' is missing or of the wrong type")
    if len(entries) > MAX_VERSIONS:
        raise ValueError(f"more than {MAX_VERSIONS} versions")
    versions: dict[str, Version] = {}
    for entry in entries:
        if not isinstance(entry, dict):
            raise ValueError("a version is not a JSON object")
        try:
            version = Version.from_dict(entry)
        except TypeError:
            raise ValueError("a version lacks required fields") from None
        if not isinstance(version.id, str) or not (version.id == ROOT_ID or _VERSION_ID.fullmatch(version.id)):
            raise ValueError(f"version id {str(version.id)[:40]!r} is not one this program writes")
        if version.id in versions:
            raise ValueError(f"version {version.id} appears twice")
        _check_version_file(version, root)
        versions[version.id] = version
    if ROOT_ID not in versions or versions[ROOT_ID].parent is not None:
        raise ValueError("the original version is missing")
    for version in versions.values():
        # Walk up to the original: a missing parent or a cycle would loop forever in recipe_for.
        seen: set[str] = set()
        current = version
        while current.parent is not None:
            if current.id in seen or current.parent not in versions:
                raise ValueError(f"version {version.id} does not lead back to the original")
            seen.add(current.id)
            current = versions[current.parent]
        if current.id != ROOT_ID:
            raise ValueError(f"version {version.id} does not lead back to the original")
    return Path(source), settings, list(versions.values())


def _check_version_file(version: Version, root: Path) -> None:
    """A version's model must be `versions/<id>/<file name>`, no link leading out of the session."""
    if not isinstance(version.file, str):
        raise ValueError(f"version {version.id} names no model file")
    relative = Path(version.file)
    if relative.is_absolute() or relative.parts[:2] != ("versions", version.id) or len(relative.parts) != 3:
        raise ValueError(f"version {version.id} points outside its folder")
    # Resolved against the real versions/ folder: a version folder that is a symlink resolves elsewhere.
    if not (root / relative).resolve().is_relative_to((root / "versions").resolve() / version.id):
        raise ValueError(f"version {version.id} links outside its folder")


def default_sessions_dir() -> Path:
    """Where sessions live unless told otherwise: the user's cache dir."""
    return Path(platformdirs.user_cache_dir("onnx-workbench")) / "sessions"


# The tools whose version can change what a pass writes: a step is the same step only with them.
_STEP_TOOLS = ("onnx-workbench", "onnx", "onnxruntime", "onnxsim", "onnx-ir", "onnxscript")


@functools.cache
def tool_versions() -> dict[str, str]:
    """Installed versions of the tools a pass's output depends on (missing ones left out)."""
    return installed_versions(_STEP_TOOLS)


def version_id(parent_id: str, pass_name: str, config: dict[str, Any]) -> str:
    """Stable id of the step (parent, pass, config, tool versions): same step, same id.

    Only what changes the output counts: how the step was checked or timed does not.
    """
    canonical = json.dumps(
        {"parent": parent_id, "pass": pass_name, "config": config, "tools": tool_versions()},
        sort_keys=True, separators=(",", ":"), ensure_ascii=True,
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:12]


@dataclass
class Version:
    """One immutable model file in the tree and what we know about it."""

    id: str
    number: int  # creation order, for display ("v3")
    parent: str | None
    pass_name: str | None
    config: dict[str, Any]
    file: str  # relative to the workspace root
    created: str  # ISO 8601, UTC
    metrics: dict[str, Any] = field(default_factory=dict)  # size_bytes, nodes, params, macs, fidelity, latency...
    changes: dict[str, Any] = field(default_factory=dict)  # GraphDiff.to_dict() against the parent
    summary: str = ""  # GraphDiff.summary()
    seconds: float = 0.0
    warnings: list[str] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)
    label: str = ""

    @property
    def fidelity_passed(self) -> bool | None:
        """True/False when the version was verified against the original, None when it was not."""
        fidelity = self.metrics.get("fidelity")
        return None if not fidelity else bool(fidelity.get("passed"))

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON data, as stored in workspace.json."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Version:
        """The version written by `to_dict`."""
        return cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data})


class Workspace:
    """A session folder with its tree of versions; all methods are pure Python (no Qt)."""

    def __init__(
        self, root: Path, source: Path, settings: dict[str, Any], versions: list[Version], *, model_file: str = MODEL_FILE,
        flag_unverifiable: bool = True,
    ) -> None:
        self.root = root
        self.source = source
        # Verification inputs are session-wide so every version is compared on the same data.
        self.settings = settings
        self._versions: dict[str, Version] = {v.id: v for v in versions}
        self.model_file = model_file  # the file name of every new version's model
        # A model ONNX Runtime cannot verify: a flagged version in a session, an error where the
        # caller asked for the check (a one-off run, `throwaway`).
        self.flag_unverifiable = flag_unverifiable

    # ---- creation and persistence -------------------------------------------------------

    @classmethod
    def create(
        cls,
        source: str | Path,
        root: str | Path | None = None,
        *,
        dims: dict[str, int] | None = None,
        data: str | Path | None = None,
        samples: int = 4,
        seed: int = 0,
        tolerance: Tolerance | None = None,
    ) -> Workspace:
        """Start a session on `source`: copy it (and its external data) in as version 0.

        `tolerance` holds every step to one bound; None: each step to its passes' defaults.
        """
        source = Path(source).resolve()
        loaded = load_model(source, infer_shapes=False, weights=False)  # refuse a bad model before making a folder
        if root is None:
            stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")
            root = default_sessions_dir() / f"{stamp}-{uuid.uuid4().hex[:6]}"
        root = Path(root)
        if (root / WORKSPACE_FILE).exists():
            raise ConfigError(f"{root} already holds a session; open it or choose another folder.")
        relative = Path("versions") / ROOT_ID / MODEL_FILE
        # Hard-linked where possible: opening a model no longer copies it into the cache.
        written = copy_model(source, root / relative, link=True)
        # Version 0 may share its bytes with the user's file: its fingerprint tells if that
        # file was rewritten in place since (check_original).
        settings = {"original_fingerprint": file_fingerprints(written, root),
                    **_check_settings(dims, data, samples, seed, tolerance)}
        workspace = cls(root, source, settings, [])
        workspace._add_original(relative.as_posix(), loaded.proto)
        workspace.save()
        return workspace

    @classmethod
    def throwaway(
        cls,
        source: str | Path,
        root: str | Path,
        *,
        model_file: str = MODEL_FILE,
        dims: dict[str, int] | None = None,
        data: str | Path | None = None,
        samples: int | None = 4,
        tolerance: Tolerance | None = None,
    ) -> Workspace:
        """A workspace for one headless run (a recipe replay) in the existing folder `root`, never saved.

        Its original is `source` itself, not a copy: a one-off run must not copy gigabytes of
        external data first, and nothing here writes the original. Versions are written as
        `versions/<id>/<model_file>`; a model that cannot be verified is an error, not a flag.
        """
        source = Path(source).absolute()
        loaded = load_model(source, infer_shapes=False, weights=False)
        workspace = cls(Path(root), source, _check_settings(dims, data, samples, 0, tolerance), [],
                        model_file=model_file, flag_unverifiable=False)
        # An absolute `file`: root / file is the source (pathlib joins onto an absolute path as that path).
        workspace._add_original(str(source), loaded.proto)
        return workspace

    def _add_original(self, file: str, proto: onnx.ModelProto) -> None:
        """Record version 0, measured from its already loaded graph."""
        original = Version(id=ROOT_ID, number=0, parent=None, pass_name=None, config={}, file=file,
                           created=_now(), label="original")
        original.metrics = self._measure(self.root / file, proto)
        self._versions[ROOT_ID] = original

    @classmethod
    def open(cls, root: str | Path) -> Workspace:
        """Reopen a saved session."""
        root = Path(root)
        path = root / WORKSPACE_FILE
        try:
            with path.open("rb") as handle:
                raw = handle.read(MAX_WORKSPACE_BYTES + 1)
        except OSError:
            raise ConfigError(f"{root} holds no session ({WORKSPACE_FILE} is missing); choose a session folder.") from None
        damaged = f"{path} is damaged"
        if len(raw) > MAX_WORKSPACE_BYTES:
            raise ConfigError(f"{damaged} (larger than {MAX_WORKSPACE_BYTES} bytes); start a new session from the model.")
        try:
            data = json.loads(raw.decode("utf-8"))
        except UnicodeDecodeError:
            raise ConfigError(f"{damaged} (not UTF-8 text); start a new session from the model.") from None
        except json.JSONDecodeError as exc:
            raise ConfigError(f"{damaged} (line {exc.lineno}); start a new session from the model.") from None
        except RecursionError:
            raise ConfigError(f"{damaged} (nested too deep); start a new session from the model.") from None
        if not isinstance(data, dict):
            raise ConfigError(f"{damaged} (not a JSON object); start a new session from the model.")
        if data.get("format") != WORKSPACE_FORMAT:
            raise ConfigError(f"{path} has format {str(data.get('format'))[:40]!r}; this release reads format {WORKSPACE_FORMAT}.")
        try:
            source, settings, versions = _checked_workspace(data, root)
        except ValueError as exc:
            raise ConfigError(f"{damaged} ({exc}); start a new session from the model.") from None
        return cls(root, source, settings, versions)

    def save(self) -> Path:
        """Write workspace.json atomically."""
        data = {
            "format": WORKSPACE_FORMAT,
            "source": str(self.source),
            "settings": self.settings,
            # Fields as they are, not to_dict()'s deep copy: json.dumps only reads them, and the
            # copy of every profile's latencies was a third of a save the window waits for.
            "versions": [{f.name: getattr(v, f.name) for f in fields(v)} for v in self._versions.values()],
        }
        # Compact, which json writes in C: indented it takes the pure-Python encoder, ~3x slower,
        # and every profiled version adds up to results.KEPT_LATENCIES floats to each save the window waits for.
        return write_text_atomic(self.root / WORKSPACE_FILE, json.dumps(data, separators=(",", ":")))

    # ---- queries ------------------------------------------------------------------------

    @property
    def versions(self) -> list[Version]:
        """Every version in creation order."""
        return sorted(self._versions.values(), key=lambda v: v.number)

    @property
    def original(self) -> Version:
        """Version 0, the copy of the user's model."""
        return self._versions[ROOT_ID]

    @property
    def tolerance(self) -> Tolerance | None:
        """The one tolerance the session holds every step to; None: each step its passes' default."""
        values = self.settings.get("tolerance")
        return Tolerance.from_dict(values) if values else None

    def check_original(self) -> None:
        """Refuse to work on when version 0's files changed since the session started.

        Version 0 is hard-linked to the user's model where the file system allows; a tool that
        rewrites that model in place rewrites version 0 too, and every fidelity figure is
        measured against it.
        """
        recorded = self.settings.get("original_fingerprint") or {}
        for name, (size, mtime_ns) in recorded.items():
            path = self.root / name
            stat = path.stat() if path.is_file() else None
            if stat is None or (stat.st_size, stat.st_mtime_ns) != (size, mtime_ns):
                raise ConfigError(
                    f"the original model of this session ({self.source.name}) was changed on disk after the session "
                    "started, and version 0 shares its file; open the model again to start a new session.")

    def get(self, version_id: str) -> Version:
        """The version with this id, or ConfigError."""
        try:
            return self._versions[version_id]
        except KeyError:
            raise ConfigError(f"this session has no version '{version_id}'; pick one from the tree.") from None

    def path_of(self, version_id: str) -> Path:
        """The model file of a version."""
        return self.root / self.get(version_id).file

    def children(self, version_id: str) -> list[Version]:
        """Direct children of a version, oldest first."""
        return [v for v in self.versions if v.parent == version_id]

    def path_to(self, version_id: str) -> list[Version]:
        """The versions from the original down to `version_id`, both included."""
        chain = [self.get(version_id)]
        while chain[-1].parent is not None:
            chain.append(self.get(chain[-1].parent))
        return chain[::-1]

    def recipe_for(self, version_id: str) -> Recipe:
        """The recipe that rebuilds `version_id` from the original."""
        steps = [(v.pass_name or "", v.config) for v in self.path_to(version_id)[1:]]
        return Recipe.from_steps(steps, where=f"version {version_id}")

    # ---- changes ------------------------------------------------------------------------

    def apply(
        self,
        parent_id: str,
        pass_name: str,
        config: PassConfig | dict[str, Any] | None = None,
        *,
        verify: bool = True,
        tolerance: Tolerance | None = None,
        on_progress: Callable[[float, str], None] | None = None,
        is_cancelled: Callable[[], bool] | None = None,
        save: bool = True,
        time_step: bool = True,
    ) -> Version:
        """Apply a pass to a version and add the result; the same step again returns the cached version.

        The engine, not the pass, checks the new model: verified against the original (`verify`)
        and timed against its parent in a few interleaved runs (`time_step`, metrics['step_latency']).

        save=False leaves workspace.json alone: a worker process applies on its own copy of the
        tree and the GUI, the file's one writer, records the result with `add_version`.

        A failing or cancelled pass adds nothing and leaves no file behind.
        """
        parent = self.get(parent_id)
        self.check_original()
        if not isinstance(config, PassConfig):
            config = make_config(pass_name, config)
        config_dict = config.to_dict()
        vid = version_id(parent.id, pass_name, config_dict)
        tolerance = tolerance or self.tolerance or default_tolerance(
            [v.pass_name for v in self.path_to(parent.id)[1:] if v.pass_name] + [pass_name])
        cached = self._versions.get(vid)
        if cached is not None and (self.root / cached.file).is_file():
            if verify and (cached.metrics.get("fidelity") or {}).get("tolerance") != tolerance.to_dict():
                self._verify_into(cached, self.root / cached.file, tolerance, None, is_cancelled)
                if save:
                    self.save()
            return cached

        pass_share = 1.0 - 0.2 * verify - 0.1 * time_step
        final = self.root / "versions" / vid
        # Built in a scratch folder beside its final place, renamed in when complete: a failing
        # or cancelled pass adds no file.
        with scratch_folder(final, STAGING) as staging:
            target = staging / self.model_file
            result = run_pass(
                pass_name, self.root / parent.file, target, config,
                on_progress=_scaled(on_progress, 0.0, pass_share),
                is_cancelled=is_cancelled,
            )
            version = Version(
                id=vid,
                number=max(v.number for v in self._versions.values()) + 1,
                parent=parent.id,
                pass_name=pass_name,
                config=config_dict,
                file=(Path("versions") / vid / self.model_file).as_posix(),
                created=_now(),
                changes=result.changes.to_dict(),
                summary=result.changes.summary(),
                seconds=round(result.seconds, 4),
                warnings=list(result.warnings),
                flags=list(result.flags),
                details=result.details,
            )
            version.metrics = self._measure(target)
            if verify:
                self._verify_into(version, target, tolerance, _scaled(on_progress, pass_share, pass_share + 0.2), is_cancelled)
            if time_step:
                timing = _scaled(on_progress, pass_share + 0.2 * verify, 1.0)
                if timing is not None:
                    timing(0.0, "timing against the parent")
                version.metrics["step_latency"], slower = step_latency(self.root / parent.file, target)
                if slower:
                    version.warnings.append(slower)
                if timing is not None:
                    timing(1.0, "timed against the parent")
            if final.exists():  # left over from a version deleted from the tree: replace it
                shutil.rmtree(final)
            staging.rename(final)
        if version.metrics.get("fidelity"):
            version.metrics["fidelity"]["candidate"] = str(self.root / version.file)
        self._versions[vid] = version
        if save:
            self.save()
        return version

    def add_version(self, version: Version) -> None:
        """Record a version computed elsewhere (e.g. by a worker process on this same folder)."""
        if version.parent not in self._versions or version.id in self._versions:
            raise ConfigError(f"version {version.id} has unknown parent '{version.parent}' or exists already.")
        try:
            _check_version_file(version, self.root)
        except ValueError as exc:
            raise ConfigError(f"version {version.id}: {exc}.") from None
        if not (self.root / version.file).is_file():
            raise ConfigError(f"version {version.id} has no model file at {version.file}.")
        self._versions[version.id] = version
        self.save()

    def drop_files(self, version_id: str) -> None:
        """Delete a version's model files but keep it in the tree (a one-off run keeps only its latest model).

        The original is never dropped. Applying the step again rebuilds the files: a version
        without its file is no cache hit.
        """
        if version_id != ROOT_ID:
            shutil.rmtree(self.path_of(version_id).parent, ignore_errors=True)

    def update_metrics(self, version_id: str, **values: Any) -> Version:
        """Store more figures on a version (e.g. latency from the profiler) and save."""
        version = self.get(version_id)
        version.metrics.update(values)
        self.save()
        return version

    def rename(self, version_id: str, label: str) -> Version:
        """Give a version a user label."""
        version = self.get(version_id)
        version.label = label.strip()
        self.save()
        return version

    def delete(self, version_id: str) -> list[str]:
        """Remove a version and all its descendants (files included); the original cannot go."""
        if version_id == ROOT_ID:
            raise ConfigError("the original version cannot be deleted; start a new session instead.")
        doomed = [version_id]
        for vid in doomed:  # grows while we walk: breadth-first over descendants
            doomed.extend(v.id for v in self.children(vid))
        for vid in doomed:
            version = self._versions.pop(vid)
            shutil.rmtree((self.root / version.file).parent, ignore_errors=True)
        self.save()
        return doomed

    def export(self, version_id: str, model_path: str | Path, recipe_path: str | Path | None = None) -> Path:
        """Copy a version's model (with its external data) out of the workspace, optionally with its recipe."""
        model_path = Path(model_path)
        if model_path.resolve() == self.source.resolve():
            raise ConfigError(f"{model_path.name} is the model this session was opened from; export under a new name.")
        recipe = self.recipe_for(version_id)  # validate first: nothing is written if it fails
        version_file = self.path_of(version_id)
        if external_data_files(version_file):
            # Re-saved, not copied: the workspace names data after its own file
            # ("model.onnx.data"), which could land on the user's data file beside the export.
            # The re-save names it OUT.onnx.data; the checks here refuse the source's own files.
            data_file = model_path.with_name(f"{model_path.name}.data")
            if self.source.exists() and data_file.resolve() in {p.resolve() for p in external_data_files(self.source)}:
                raise ConfigError(f"{data_file.name} holds the weights of the model this session was opened from; export under a new name.")
            # Streamed file to file (onnx-ir copies the byte ranges): no weight enters this process.
            graph = load_model(version_file, infer_shapes=False, weights=False)
            save_ir_model(ir_model(graph), model_path, external_data=True)
        else:
            with atomic_path(model_path) as staged:
                shutil.copyfile(version_file, staged)
        if recipe_path is not None:
            save_recipe(recipe, recipe_path)
        return model_path

    # ---- helpers ------------------------------------------------------------------------

    def _measure(self, path: Path, proto: onnx.ModelProto | None = None) -> dict[str, Any]:
        """Size, node count, parameters and MACs of a model file (`proto`: already loaded copy)."""
        from onnx_workbench.pipelines.analysis import analyze

        if proto is None:
            proto = load_model(path, infer_shapes=False, weights=False).proto
        analysis = analyze(proto, dims=self.settings.get("dims") or None)
        return {
            "size_bytes": model_size_bytes(path),
            "nodes": len(proto.graph.node),
            "params": analysis.params,
            "macs": analysis.macs,
        }

    def _verify_into(
        self,
        version: Version,
        path: Path,
        tolerance: Tolerance,
        on_progress: Callable[[float, str], None] | None,
        is_cancelled: Callable[[], bool] | None,
    ) -> None:
        """Compare `path` with the original and record fidelity and flags on `version`."""
        # Re-verifying (another tolerance) replaces the previous verdict.
        version.flags = [
            f for f in version.flags if f != FLAG_OUT_OF_TOLERANCE and not f.startswith(FLAG_NOT_VERIFIED)
        ]
        try:
            report = verify_models(
                self.root / self.original.file, path,
                data=self.settings.get("data"), samples=self.settings.get("samples", 4),
                seed=self.settings.get("seed", 0), dims=self.settings.get("dims") or None,
                tolerance=tolerance, on_progress=on_progress, is_cancelled=is_cancelled,
            )
        except Cancelled:
            raise
        except (ModelRefused, ConfigError) as exc:
            if not self.flag_unverifiable:
                raise
            # A model ORT cannot run here (custom ops, other outputs) is still a version: mark it.
            version.metrics["fidelity"] = None
            version.flags.append(f"{FLAG_NOT_VERIFIED} ({exc})")
            return
        version.metrics["fidelity"] = report.to_dict()
        if not report.passed:
            version.flags.append(FLAG_OUT_OF_TOLERANCE)


def _check_settings(
    dims: dict[str, int] | None, data: str | Path | None, samples: int | None, seed: int, tolerance: Tolerance | None
) -> dict[str, Any]:
    """The session-wide settings of verification, as workspace.json keeps them."""
    return {
        "dims": dims or {},
        "data": str(data) if data is not None else None,
        "samples": samples,
        "seed": seed,
        "tolerance": tolerance.to_dict() if tolerance is not None else None,
    }


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _scaled(
    callback: Callable[[float, str], None] | None, start: float, end: float
) -> Callable[[float, str], None] | None:
    """Map a sub-task's progress in [0, 1] onto [start, end] of the whole."""
    if callback is None:
        return None

    def report(fraction: float, message: str) -> None:
        callback(start + (end - start) * fraction, message)

    return report


__all__ = [
    "FLAG_NOT_VERIFIED",
    "FLAG_OUT_OF_TOLERANCE",
    "ROOT_ID",
    "Version",
    "Workspace",
    "default_sessions_dir",
    "version_id",
]
