"""Every command of the README's Examples block runs as written and exits 0."""
from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def readme_examples() -> list[str]:
    """The commands of README.md's '### Examples' shell block (continuation lines joined)."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(r"### Examples\s+```sh\n(.*?)```", text, re.S)
    assert block, "README.md has no '### Examples' sh block"
    joined = block.group(1).replace("\\\n", " ")
    return [line.split("  #")[0].strip() for line in joined.splitlines() if line.strip()]


def test_every_readme_example_runs(tmp_path):
    commands = readme_examples()
    assert any(c.startswith("onnx-workbench optimize") and "--verify" in c for c in commands)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    variables: dict[str, str] = {}
    for command in commands:
        # The examples write to /tmp; each test run gets its own folder instead, nothing else changes.
        words = [w.replace("/tmp/", f"{tmp_path}/") for w in shlex.split(command)]
        if len(words) == 1 and "=" in words[0]:
            name, value = words[0].split("=", 1)
            variables[name] = value
            continue
        words = [variables.get(w[1:], w) if w.startswith("$") else w for w in words]
        assert words[0] == "onnx-workbench", command
        done = subprocess.run([sys.executable, "-m", "onnx_workbench.app.cli", *words[1:]], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, f"{command}\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}"
