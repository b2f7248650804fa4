"""Build the desktop bundle dist/onnx-workbench/ with PyInstaller and check what it must contain.

Usage: `.venv/bin/python installer/build.py [--clean]` (what `make bundle` runs). Prints the
build time and the bundle size; exits 1 with the list of missing pieces if the check fails.
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SPEC = ROOT / "installer" / "onnx-workbench.spec"
DIST = ROOT / "dist"
WORK = ROOT / "build" / "pyinstaller"
APP_NAME = "onnx-workbench"
BUNDLE = DIST / APP_NAME

# What a working bundle must hold, as (what, glob under the bundle). Globs rather than fixed
# paths because PyInstaller and the wheels move files between releases and platforms.
REQUIRED = (
    ("QtWebEngine helper process", "**/QtWebEngineProcess*"),
    ("QtWebEngine resources", "**/qtwebengine_resources.pak"),
    ("QtWebEngine ICU data", "**/icudtl.dat"),
    ("QtWebEngine locales", "**/qtwebengine_locales/en-US.pak"),
    ("ONNX Runtime native library", "**/onnxruntime/capi/onnxruntime_pybind11_state*"),
    ("onnxsim native library", "**/onnxsim/onnxsim_cpp2py_export*"),
    ("Netron viewer page", "**/netron/index.html"),
    ("Netron ONNX support", "**/netron/onnx.js"),
    ("pyqtgraph", "**/pyqtgraph"),
    ("report templates", "**/pipelines/report/templates/*"),
    ("report JSON schema", "**/pipelines/report/report.schema.json"),
    ("sample CNN model", "**/assets/models/resnet_small.onnx"),
    ("application icon", "**/assets/icons/onnx-workbench.svg"),
    ("toolbar icons", "**/assets/icons/open.svg"),
    ("optimization presets", "**/assets/presets/cpu_int8.yaml"),
)
# Frameworks that must never be dragged in (hundreds of MB each, and not ours to ship).
FORBIDDEN = ("torch", "tensorflow", "jax")


# Desktop integration files copied to the top of the bundle, so a user who unpacks it runs
# ./install-desktop.sh there and gets a menu entry that starts this very bundle.
DESKTOP_FILES = ("install-desktop.sh", f"{APP_NAME}.desktop", f"{APP_NAME}-mime.xml")


def executable(bundle: Path = BUNDLE) -> Path:
    """The app binary inside a one-folder bundle."""
    return bundle / (APP_NAME + (".exe" if sys.platform == "win32" else ""))


def check_bundle(bundle: Path = BUNDLE) -> list[str]:
    """What the bundle lacks or wrongly holds, one phrase each; empty when it is complete."""
    if not executable(bundle).is_file():
        return [f"the executable {executable(bundle)}"]
    problems = [what for what, pattern in REQUIRED if next(bundle.glob(pattern), None) is None]
    problems += [name for name in DESKTOP_FILES if not (bundle / name).is_file()]
    internal = bundle / "_internal"
    for name in FORBIDDEN:
        if (internal / name).exists():
            problems.append(f"{name} must not be bundled")
    return problems


def folder_size(path: Path) -> int:
    """Bytes used by the files under `path` (what `du` would count, without block rounding)."""
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file() and not f.is_symlink())


def build(clean: bool = False) -> float:
    """Run PyInstaller on the spec; returns the build time in seconds."""
    command = [
        sys.executable, "-m", "PyInstaller", str(SPEC),
        "--noconfirm", "--log-level", "WARN",
        "--distpath", str(DIST), "--workpath", str(WORK),
    ]
    if clean:
        command.append("--clean")
    start = time.perf_counter()
    # The spec reads files relative to the repository root.
    subprocess.run(command, cwd=ROOT, check=True, env={**os.environ, "PYTHONNOUSERSITE": "1"})
    add_desktop_files()
    return time.perf_counter() - start


def add_desktop_files(bundle: Path = BUNDLE) -> None:
    """Copy the Linux menu entry, MIME type and their installer to the top of the bundle."""
    for name in DESKTOP_FILES:
        shutil.copy2(ROOT / "installer" / name, bundle / name)


def main(argv: list[str] | None = None) -> int:
    """Build, check and print the figures; exit status 1 if the bundle is incomplete."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clean", action="store_true", help="drop PyInstaller's cache first")
    args = parser.parse_args(argv)
    try:
        import PyInstaller  # noqa: F401
    except ImportError:
        print("build: PyInstaller is not installed; run `.venv/bin/python -m pip install -e '.[bundle]'`.", file=sys.stderr)
        return 1
    seconds = build(args.clean)
    problems = check_bundle()
    print(f"build: {BUNDLE.relative_to(ROOT)} built in {seconds:.0f} s, {folder_size(BUNDLE) / 2**20:.0f} MiB")
    if problems:
        print("build: the bundle is missing or wrongly holds: " + "; ".join(problems) + ".", file=sys.stderr)
        return 1
    print(f"build: all {len(REQUIRED)} required pieces present")
    return 0


if __name__ == "__main__":
    sys.exit(main())
