"""Runs fuzz cases through the CLI in one process: `python tests/fuzz_runner.py CASES.json OUT.jsonl`.

Started by tests/test_fuzz.py as a subprocess, because a native crash in ONNX or ONNX Runtime
code would kill the process it happens in. Each case is run in-process with `app.cli.main`
(start-up costs seconds, a case milliseconds); a "start" line is written before and a result
line after, so the parent can name the case that killed this process and resume after it.
"""
from __future__ import annotations

import contextlib
import io
import json
import resource
import signal
import sys
import time
import traceback
from pathlib import Path

CASE_TIMEOUT_S = 30


def _timeout(signum: int, frame: object) -> None:
    raise TimeoutError("case took too long")


def main(cases_file: str, out_file: str, first: int) -> int:
    """Run cases from index `first` on; return 0."""
    from onnx_workbench.app.cli import main as cli

    cases = json.loads(Path(cases_file).read_text())
    signal.signal(signal.SIGALRM, _timeout)
    with open(out_file, "a", encoding="utf-8") as out:
        for index in range(first, len(cases)):
            out.write(json.dumps({"index": index, "state": "start"}) + "\n")
            out.flush()
            stdout, stderr = io.StringIO(), io.StringIO()
            started = time.perf_counter()
            outcome = "exit"
            code: int | None = None
            signal.alarm(CASE_TIMEOUT_S)
            try:
                with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
                    code = cli(cases[index]["argv"])
            except TimeoutError:
                outcome = "hang"
            except BaseException:  # noqa: BLE001 - anything escaping main is what we hunt
                outcome, code = "traceback", None
                stderr.write(traceback.format_exc())
            finally:
                signal.alarm(0)
            out.write(json.dumps({
                "index": index, "state": "end", "outcome": outcome, "code": code,
                "stderr": stderr.getvalue()[-2000:], "seconds": round(time.perf_counter() - started, 3),
                "maxrss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
            }) + "\n")
            out.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2], int(sys.argv[3]) if len(sys.argv) > 3 else 0))
