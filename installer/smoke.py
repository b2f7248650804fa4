"""Build the desktop bundle (or reuse it) and prove it runs on its own, headless.

Usage: `.venv/bin/python installer/smoke.py [--no-build]`. Not part of `make test`: a
PyInstaller build of PySide6 with QtWebEngine takes minutes. Each check runs the bundled
binary with a bare environment (no virtual environment on PATH, no PYTHONPATH, a fresh HOME,
an empty working folder), so nothing can come from the checkout or an installed Python.
Prints the build time, the bundle size and one line per check; exits 1 on the first failure.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import build  # noqa: E402 - installer/ is not a package

SAMPLE = "resnet_small.onnx"
GUI_EXIT_MS = 3000
CHECK_TIMEOUT_S = 300


class SmokeFailed(Exception):
    """A check of the bundle failed; the message says which and what it printed."""


def bare_env(home: Path) -> dict[str, str]:
    """An environment with nothing Python-related, a throw-away HOME and headless Qt."""
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "XDG_CACHE_HOME": str(home / ".cache"),
        "XDG_DATA_HOME": str(home / ".local" / "share"),
        "XDG_RUNTIME_DIR": str(home / "runtime"),
        "LANG": os.environ.get("LANG", "C.UTF-8"),
        "QT_QPA_PLATFORM": "offscreen",
        # Chromium's sandbox needs user namespaces that containers and CI often lack.
        "QTWEBENGINE_CHROMIUM_FLAGS": "--no-sandbox",
    }
    (home / "runtime").mkdir(parents=True, exist_ok=True, mode=0o700)
    return env


def run_bundle(args: list[str], env: dict[str, str], cwd: Path, extra_env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run the bundled binary with `args`; raises SmokeFailed on a non-zero exit or a hang."""
    command = [str(build.executable()), *args]
    try:
        done = subprocess.run(
            command, env={**env, **(extra_env or {})}, cwd=cwd, capture_output=True, text=True, timeout=CHECK_TIMEOUT_S
        )
    except subprocess.TimeoutExpired as exc:
        raise SmokeFailed(f"`{' '.join(args)}` did not finish in {CHECK_TIMEOUT_S} s") from exc
    if done.returncode != 0:
        raise SmokeFailed(
            f"`{' '.join(args)}` exited with status {done.returncode}:\n{done.stdout[-2000:]}\n{done.stderr[-4000:]}"
        )
    return done


def check_version(env: dict[str, str], cwd: Path, sample: Path) -> str:
    """`--version` prints the program name and a version."""
    out = run_bundle(["--version"], env, cwd).stdout.strip()
    if not out.startswith("onnx-workbench "):
        raise SmokeFailed(f"--version printed {out!r}")
    return out


def check_inspect(env: dict[str, str], cwd: Path, sample: Path) -> str:
    """`inspect --json` on the bundled sample gives the analysis keys with plausible values."""
    report = json.loads(run_bundle(["inspect", str(sample), "--json"], env, cwd).stdout)
    missing = {"params", "macs", "nodes", "op_types", "inputs", "outputs", "opsets"} - set(report)
    if missing:
        raise SmokeFailed(f"inspect --json lacks {sorted(missing)}")
    if not (report["nodes"] > 0 and report["params"] > 0 and report["macs"] > 0):
        raise SmokeFailed(f"inspect --json gave implausible figures: {report['nodes']} nodes, {report['params']} params")
    return f"{report['nodes']} nodes, {report['params']:,} params, {report['macs']:,} MACs"


def check_profile(env: dict[str, str], cwd: Path, sample: Path) -> str:
    """`profile --runs 5` measures in a worker process, which the frozen binary must start."""
    result = json.loads(run_bundle(["profile", str(sample), "--runs", "5", "--json"], env, cwd).stdout)
    if result.get("runs") != 5 or len(result.get("latencies_ms", [])) != 5:
        raise SmokeFailed(f"profile did not time 5 runs: {result.get('runs')} runs")
    if "CPUExecutionProvider" not in result.get("providers_used", []):
        raise SmokeFailed(f"profile ran on {result.get('providers_used')}, not the CPU provider")
    return f"p50 {result['latency_ms']['p50']:.2f} ms on {', '.join(result['providers_used'])}"


def check_optimize(env: dict[str, str], cwd: Path, sample: Path) -> str:
    """Transformer fusion and dynamic quantization with verification on the bundled transformer.

    transformer-fusion imports onnxruntime.transformers, whose modules import each other by bare
    name: the first thing to break when the spec's search path is wrong.
    """
    transformer = sample.with_name("transformer_small.onnx")
    out = cwd / "transformer_opt.onnx"
    args = ["optimize", str(transformer), "--pass", "transformer-fusion", "--pass", "quantize-dynamic",
            "-o", str(out), "--verify", "--json"]
    result = json.loads(run_bundle(args, env, cwd).stdout)
    fused = result["steps"][0]["changes"].get("added_by_op", {})
    if not result["passed"] or not out.is_file() or "Attention" not in fused:
        raise SmokeFailed(f"optimize did not fuse attention and pass verification: passed={result['passed']}, added {fused}")
    return f"{result['steps'][0]['nodes_before']} -> {result['steps'][-1]['nodes_after']} nodes, fused {fused}, verified"


def check_gui(env: dict[str, str], cwd: Path, sample: Path) -> str:
    """The window opens offscreen, loads the sample (graph, analysis worker, Netron page) and quits."""
    start = time.perf_counter()
    done = run_bundle([str(sample)], env, cwd, {"ONNX_WORKBENCH_SMOKE_EXIT_MS": str(GUI_EXIT_MS)})
    seconds = time.perf_counter() - start
    loaded = [line for line in done.stdout.splitlines() if line.startswith("loaded ")]
    if not loaded or not loaded[0].startswith(f"loaded {sample.name} "):
        raise SmokeFailed(f"the GUI did not report the model as loaded:\n{done.stdout}\n{done.stderr[-4000:]}")
    if "netron page loaded" not in done.stdout.splitlines():
        raise SmokeFailed(f"the Netron tab did not load its page:\n{done.stdout}\n{done.stderr[-4000:]}")
    return f"{loaded[0]}, Netron page loaded, window closed cleanly after {seconds:.1f} s"


def check_desktop(env: dict[str, str], cwd: Path, sample: Path) -> str:
    """The bundle's install-desktop.sh installs a menu entry that starts the bundle binary."""
    data_home = Path(env["HOME"]) / "share"
    script = build.BUNDLE / "install-desktop.sh"
    done = subprocess.run(
        ["sh", str(script), "--data-home", str(data_home)], env=env, cwd=cwd, capture_output=True, text=True, timeout=60
    )
    if done.returncode != 0:
        raise SmokeFailed(f"install-desktop.sh exited with status {done.returncode}: {done.stderr.strip()}")
    entry = (data_home / "applications" / f"{build.APP_NAME}.desktop").read_text()
    exec_line = next((line for line in entry.splitlines() if line.startswith("Exec=")), "")
    target = exec_line.removeprefix("Exec=").rsplit(" %f", 1)[0].strip('"')
    if Path(target) != build.executable():
        raise SmokeFailed(f"the installed menu entry starts {target!r}, not the bundle")
    return f"menu entry starts {target}"


CHECKS: tuple[tuple[str, Callable[[dict[str, str], Path, Path], str]], ...] = (
    ("version", check_version),
    ("inspect", check_inspect),
    ("profile", check_profile),
    ("optimize", check_optimize),
    ("gui", check_gui),
    ("desktop", check_desktop),
)


def du(path: Path) -> str:
    """The bundle's disk use as `du -sh` reports it (or summed file sizes where du is missing)."""
    if shutil.which("du"):
        return subprocess.run(["du", "-sh", str(path)], capture_output=True, text=True, check=True).stdout.split()[0]
    return f"{build.folder_size(path) / 2**20:.0f}M"


def main(argv: list[str] | None = None) -> int:
    """Build (unless --no-build), check the contents, run each check; 0 when all pass."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-build", action="store_true", help="reuse dist/onnx-workbench as it is")
    args = parser.parse_args(argv)
    if args.no_build:
        if not build.executable().is_file():
            print(f"smoke: there is no bundle at {build.BUNDLE}; run without --no-build first.", file=sys.stderr)
            return 1
        print("smoke: build skipped (--no-build)")
    else:
        print(f"smoke: build time {build.build():.0f} s")
    print(f"smoke: bundle size {du(build.BUNDLE)} ({build.BUNDLE})")
    problems = build.check_bundle()
    if problems:
        print("smoke: FAIL contents: the bundle is missing or wrongly holds: " + "; ".join(problems) + ".", file=sys.stderr)
        return 1
    print(f"smoke: ok   contents: all {len(build.REQUIRED)} required pieces present")
    sample = next(build.BUNDLE.glob(f"**/assets/models/{SAMPLE}"))
    with tempfile.TemporaryDirectory(prefix="owb-smoke-") as tmp:
        home, cwd = Path(tmp) / "home", Path(tmp) / "cwd"
        cwd.mkdir()
        env = bare_env(home)
        for name, check in CHECKS:
            start = time.perf_counter()
            try:
                detail = check(env, cwd, sample)
            except (SmokeFailed, json.JSONDecodeError, KeyError, TypeError) as exc:
                print(f"smoke: FAIL {name}: {exc}", file=sys.stderr)
                return 1
            print(f"smoke: ok   {name} ({time.perf_counter() - start:.1f} s): {detail}")
    print("smoke: all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
