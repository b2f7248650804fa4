"""Fast checks of installer/: the spec bundles what the app needs, the desktop files validate,
the frozen entry point dispatches workers. The slow bundle build is installer/smoke.py, not here."""
from __future__ import annotations

import configparser
import importlib.util
import os
import shutil
import subprocess
import sys
import types
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
INSTALLER = ROOT / "installer"
SPEC = INSTALLER / "onnx-workbench.spec"
DESKTOP = INSTALLER / "onnx-workbench.desktop"
MIME_XML = INSTALLER / "onnx-workbench-mime.xml"
MIME_NS = "{http://www.freedesktop.org/standards/shared-mime-info}"


def _load(name: str, path: Path) -> types.ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# --- the PyInstaller spec -------------------------------------------------------------------
@pytest.fixture(scope="module")
def spec_run() -> dict:
    """Execute the spec with PyInstaller's build objects replaced by recorders (no build)."""
    recorded: dict = {}

    def recorder(kind):
        def build_step(*args, **kwargs):
            recorded[kind] = (args, kwargs)
            return types.SimpleNamespace(pure=[], scripts=[], binaries=[], datas=[])
        return build_step

    hooks = types.ModuleType("PyInstaller.utils.hooks")
    # Markers instead of PyInstaller's real collection, which needs PyInstaller installed and
    # imports every package: the test checks what the spec asks for, smoke.py what it gets.
    hooks.collect_submodules = lambda package: [f"<submodules of {package}>"]
    hooks.collect_data_files = lambda package: [(f"<data of {package}>", package)]
    fake = {
        "PyInstaller": types.ModuleType("PyInstaller"),
        "PyInstaller.utils": types.ModuleType("PyInstaller.utils"),
        "PyInstaller.utils.hooks": hooks,
    }
    saved = {name: sys.modules.get(name) for name in fake}
    sys.modules.update(fake)
    try:
        namespace = {"SPECPATH": str(INSTALLER), "__file__": str(SPEC)}
        namespace.update({kind: recorder(kind) for kind in ("Analysis", "PYZ", "EXE", "COLLECT")})
        exec(compile(SPEC.read_text(), str(SPEC), "exec"), namespace)
    finally:
        for name, module in saved.items():
            if module is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = module
    return recorded


def test_spec_entry_point_is_the_launcher(spec_run):
    args, kwargs = spec_run["Analysis"]
    scripts = args[0]
    assert [Path(s) for s in scripts] == [INSTALLER / "launcher.py"]
    assert str(ROOT) in kwargs["pathex"]


def test_spec_collects_modules_loaded_by_name_at_run_time(spec_run):
    hidden = spec_run["Analysis"][1]["hiddenimports"]
    for package in ("pipelines", "app", "widgets"):
        assert f"<submodules of onnx_workbench.{package}>" in hidden


def test_spec_bundles_every_data_file_the_app_reads(spec_run):
    datas = spec_run["Analysis"][1]["datas"]
    targets = {(Path(src).name, dest) for src, dest in datas}
    assert ("templates", "onnx_workbench/pipelines/report/templates") in targets
    assert ("report.schema.json", "onnx_workbench/pipelines/report") in targets
    assert ("<data of netron>", "netron") in targets
    assert ("resnet_small.onnx", "assets/models") in targets
    assert ("transformer_small.onnx", "assets/models") in targets
    for name in ("onnx-workbench.svg", "onnx-workbench-512.png", "open.svg", "settings.svg", "LICENSE"):
        assert (name, "assets/icons") in targets
    # Side products tools leave next to the samples (model.onnx.ort.onnx) stay out.
    assert not [src for src, dest in datas if dest == "assets/models" and Path(src).name.count(".onnx") > 1]
    # Every real source exists, so a renamed folder fails here rather than in the build.
    for src, _dest in datas:
        if not src.startswith("<"):
            assert Path(src).exists(), src


def test_spec_finds_onnxruntime_modules_imported_by_bare_name(spec_run):
    pathex = [Path(p) for p in spec_run["Analysis"][1]["pathex"]]
    assert any(p.parts[-2:] == ("onnxruntime", "transformers") and (p / "fusion_utils.py").is_file() for p in pathex)


def test_spec_keeps_heavy_frameworks_out(spec_run):
    excludes = spec_run["Analysis"][1]["excludes"]
    for name in ("torch", "tensorflow", "jax", "PySide6.QtQml"):
        assert name in excludes


def test_spec_makes_a_console_one_folder_app_without_upx(spec_run):
    exe = spec_run["EXE"][1]
    assert exe["name"] == "onnx-workbench" and exe["exclude_binaries"] is True
    # The same binary is the CLI and the worker; both speak on stdout.
    assert exe["console"] is True and exe["upx"] is False
    assert spec_run["COLLECT"][1]["name"] == "onnx-workbench"


# --- the bundle check in build.py -----------------------------------------------------------
def test_check_bundle_lists_what_is_missing_and_what_is_forbidden(tmp_path):
    build = _load("owb_build", INSTALLER / "build.py")
    assert build.check_bundle(tmp_path) == [f"the executable {build.executable(tmp_path)}"]
    build.executable(tmp_path).write_text("")
    missing = build.check_bundle(tmp_path)
    assert "QtWebEngine helper process" in missing and "Netron viewer page" in missing
    # Lay out one file per required glob: then only the desktop files are missing.
    internal = tmp_path / "_internal"
    for _what, pattern in build.REQUIRED:
        relative = pattern.removeprefix("**/").replace("*", "x")
        (internal / relative).parent.mkdir(parents=True, exist_ok=True)
        (internal / relative).write_text("")
    assert build.check_bundle(tmp_path) == list(build.DESKTOP_FILES)
    build.add_desktop_files(tmp_path)
    assert build.check_bundle(tmp_path) == []
    (internal / "torch").mkdir()
    assert build.check_bundle(tmp_path) == ["torch must not be bundled"]


# --- the frozen entry point and the worker command ------------------------------------------
def test_launcher_dispatches_the_worker_argument(monkeypatch):
    launcher = _load("owb_launcher", INSTALLER / "launcher.py")
    import onnx_workbench.app.cli as cli
    import onnx_workbench.pipelines.worker.__main__ as worker_main

    calls = []
    monkeypatch.setattr(worker_main, "main", lambda argv: calls.append(("worker", argv)) or 7)
    monkeypatch.setattr(cli, "main", lambda argv: calls.append(("cli", argv)) or 3)
    assert launcher.main([launcher.WORKER_ARG, "profile"]) == 7
    assert launcher.main(["inspect", "m.onnx"]) == 3
    assert launcher.main([]) == 3
    assert calls == [("worker", ["profile"]), ("cli", ["inspect", "m.onnx"]), ("cli", [])]


def test_worker_command_in_and_out_of_the_bundle(monkeypatch):
    from onnx_workbench.pipelines.worker.client import worker_command

    launcher = _load("owb_launcher", INSTALLER / "launcher.py")
    assert worker_command() == [sys.executable, "-m", "onnx_workbench.pipelines.worker"]
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    assert worker_command() == [sys.executable, launcher.WORKER_ARG]
    # An explicit interpreter is honoured even when frozen (tests, other Pythons).
    assert worker_command("/usr/bin/python3") == ["/usr/bin/python3", "-m", "onnx_workbench.pipelines.worker"]


# --- Linux desktop integration ---------------------------------------------------------------
def _desktop_entry() -> configparser.SectionProxy:
    parser = configparser.ConfigParser(interpolation=None, delimiters=("=",))
    parser.optionxform = str  # keys are case-sensitive in desktop files
    parser.read(DESKTOP, encoding="utf-8")
    return parser["Desktop Entry"]


def test_desktop_entry_fields():
    entry = _desktop_entry()
    assert entry["Type"] == "Application"
    assert entry["Exec"] == "onnx-workbench %f"
    assert entry["Icon"] == "onnx-workbench"
    assert entry["MimeType"] == "application/x-onnx;"
    assert entry["Categories"] == "Development;Science;"


@pytest.mark.skipif(shutil.which("desktop-file-validate") is None, reason="desktop-file-utils not installed")
def test_desktop_entry_passes_desktop_file_validate():
    done = subprocess.run(["desktop-file-validate", str(DESKTOP)], capture_output=True, text=True)
    # Hints (two main categories, as asked for) are advice; errors and warnings fail.
    problems = [line for line in done.stdout.splitlines() if "error:" in line or "warning:" in line]
    assert done.returncode == 0 and not problems, done.stdout


def test_mime_type_is_well_formed_and_matches_the_desktop_entry():
    root = ET.parse(MIME_XML).getroot()
    assert root.tag == f"{MIME_NS}mime-info"
    (mime,) = root.findall(f"{MIME_NS}mime-type")
    assert mime.get("type") + ";" == _desktop_entry()["MimeType"]
    assert [g.get("pattern") for g in mime.findall(f"{MIME_NS}glob")] == ["*.onnx"]
    assert mime.find(f"{MIME_NS}comment").text == "ONNX model"


@pytest.mark.skipif(shutil.which("sh") is None, reason="no POSIX shell")
def test_install_desktop_script_installs_and_removes(tmp_path):
    data = tmp_path / "share"
    env = {**os.environ, "HOME": str(tmp_path / "home"), "XDG_CONFIG_HOME": str(tmp_path / "config")}
    script = INSTALLER / "install-desktop.sh"
    done = subprocess.run(
        ["sh", str(script), "--data-home", str(data), "--exec", "/opt/my apps/onnx-workbench"],
        capture_output=True, text=True, env=env,
    )
    assert done.returncode == 0, done.stderr
    installed = (data / "applications" / "onnx-workbench.desktop").read_text()
    assert 'Exec="/opt/my apps/onnx-workbench" %f' in installed
    assert (data / "icons/hicolor/48x48/apps/onnx-workbench.png").is_file()
    assert (data / "icons/hicolor/scalable/apps/onnx-workbench.svg").is_file()
    assert (data / "mime/packages/onnx-workbench-mime.xml").is_file()
    if shutil.which("update-mime-database"):
        assert "application/x-onnx:*.onnx" in (data / "mime" / "globs2").read_text()
    refused = subprocess.run(
        ["sh", str(script), "--data-home", str(data), "--exec", "/tmp/$HOME/x"], capture_output=True, text=True, env=env
    )
    assert refused.returncode == 1 and "cannot start" in refused.stderr
    done = subprocess.run(["sh", str(script), "--data-home", str(data), "--uninstall"], capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr
    assert not (data / "applications" / "onnx-workbench.desktop").exists()
    assert not list((data / "icons").rglob("*.png"))
