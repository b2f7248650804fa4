"""The layering rules of the house, checked: app above widgets above pipelines, no import cycles,
and one place that creates ONNX Runtime sessions."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_import_contracts_hold() -> None:
    # The contracts are in pyproject.toml ([tool.importlinter]).
    lint = Path(sys.executable).with_name("lint-imports")
    done = subprocess.run([str(lint), "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]


def test_one_place_creates_onnx_runtime_sessions() -> None:
    creators = [
        path.relative_to(ROOT).as_posix()
        for folder in ("app", "widgets", "pipelines")
        for path in (ROOT / folder).rglob("*.py")
        if re.search(r"\bInferenceSession\(", path.read_text(encoding="utf-8"))
    ]
    assert creators == ["pipelines/runtime.py"]
