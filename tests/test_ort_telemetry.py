"""Issue 15 item 4: every process the workbench starts switches ONNX Runtime telemetry off before
it creates a session: the CLI, its workers and the window (spied on by tests/telemetry_spy)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SPY = Path(__file__).with_name("telemetry_spy")


def _spied_run(args: list[str], tmp_path: Path, **env: str) -> list[dict]:
    spy_dir = tmp_path / "spy"
    spy_dir.mkdir()
    environment = {
        **os.environ, **env,
        "ORT_TELEMETRY_SPY_DIR": str(spy_dir),
        "PYTHONPATH": os.pathsep.join([str(SPY), str(ROOT), os.environ.get("PYTHONPATH", "")]),
        "QT_QPA_PLATFORM": "offscreen",
    }
    done = subprocess.run([sys.executable, "-m", "onnx_workbench.app.cli", *args], cwd=ROOT, env=environment,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return [json.loads(p.read_text()) for p in spy_dir.glob("*.json")]


def _assert_switched_off(records: list[dict], processes: int, sessions: bool = True) -> None:
    assert len(records) >= processes, records
    users = [r for r in records if r["imported"]]
    assert users and (any(r["sessions"] for r in users) or not sessions), records
    for record in users:
        assert record["disabled"] and record["sessions_before_off"] == 0, record


def test_cli_and_its_worker_switch_telemetry_off(tmp_path: Path) -> None:
    model = ROOT / "assets" / "models" / "resnet_small.onnx"
    records = _spied_run(["optimize", str(model), "--pass", "cleanup", "-o", str(tmp_path / "o.onnx"), "--verify"], tmp_path)
    _assert_switched_off(records, processes=2)


def test_profile_worker_switches_telemetry_off(tmp_path: Path) -> None:
    model = ROOT / "assets" / "models" / "resnet_small.onnx"
    _assert_switched_off(_spied_run(["profile", str(model), "--runs", "3", "--warmup", "1"], tmp_path), processes=2)


@pytest.mark.timeout(300)
def test_window_and_its_workers_switch_telemetry_off(tmp_path: Path) -> None:
    model = ROOT / "assets" / "models" / "resnet_small.onnx"
    # Opening a model needs no ONNX Runtime in the window or its analysis worker (startup speed), so
    # each process imports it at exit: the import must find telemetry switched off by then.
    records = _spied_run([str(model)], tmp_path, ONNX_WORKBENCH_SMOKE_EXIT_MS="100",
                         XDG_CACHE_HOME=str(tmp_path / "cache"), ORT_TELEMETRY_SPY_IMPORT_AT_EXIT="1")
    window = [r for r in records if r["argv"][-1] == str(model)]
    assert window and window[0]["imported"], records
    assert all(r["imported"] for r in records), records
    _assert_switched_off(records, processes=2, sessions=False)


def test_a_later_import_is_switched_off_at_once() -> None:
    code = (
        "import sys, onnx_workbench.pipelines; from onnx_workbench.pipelines.ort_telemetry import telemetry_switched_off as off;"
        "assert 'onnxruntime' not in sys.modules and not off();"
        "import onnxruntime; assert off(); print('ok')"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
                          capture_output=True, text=True, timeout=120)
    assert done.stdout.strip() == "ok", done.stderr
