"""Model coverage matrix: every applicable pass on every corpus model, ok / refused / failed.

For each model of the corpus (benchmarks/corpus.py) and each registered pass, the content of
the graph decides whether the pass applies (benchmarks/coverage_rules.py: "no Conv to
prune"); an applicable pass runs through the project's engine in a worker process with a
time limit (one crash or hang is one failed cell), the result is verified against the original
(worst cosine over the outputs) and both are timed in a short interleaved run. A cell fails
when the pass raises, crashes or times out, changes nothing where the rule says it must, or
changes the outputs of a pass that should be exact (cleanup, fusion, convert).

Each cell is cached as JSON (keyed by the model file and the pass config), so a re-run only
runs what is new; `--rerun failed` repeats the failed cells, `--rerun all` everything. The
page is rewritten after every model: docs/coverage.md.

    .venv/bin/python benchmarks/coverage.py --corpus /work/corpus/models [--only legacy/resnet50]
        [--passes quantize-static ...] [--rerun failed] [--jobs 2] [--lock /tmp/heavy.lock]
"""
from __future__ import annotations

import argparse
import fcntl
import functools
import json
import os
import platform
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor, as_completed
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

import onnx  # noqa: E402

from corpus_index import read_records  # noqa: E402  (benchmarks/ is this script's folder)
from coverage_report import Cell, matrix_markdown, reproduce_command, summary_line  # noqa: E402
from coverage_rules import ModelFacts, Outcome, Verdict, judge, verdict  # noqa: E402
from onnx_workbench.pipelines.errors import ConfigError, WorkbenchError  # noqa: E402
from onnx_workbench.pipelines.passes.base import Pass  # noqa: E402
from onnx_workbench.pipelines.passes.engine import all_passes  # noqa: E402
from onnx_workbench.pipelines.worker.client import run_job  # noqa: E402
from onnx_workbench.pipelines.worker.jobs import ENV_EXTRA_JOBS  # noqa: E402

CELL_JOB = f"coverage-cell={HERE / 'coverage_cell.py'}:run_cell"
# transformer-fusion's onnxruntime engine wants the architecture; a user would pick it too.
MODEL_TYPE_HINTS = {"gpt2": "gpt2", "vit": "vit", "t5": "t5", "bert": "bert", "distilbert": "bert"}


def main(argv: list[str] | None = None) -> int:
    """Fill the matrix (cached cells are reused) and write the markdown page."""
    args = _parse(argv)
    records = read_records(args.corpus)
    selected = [r for r in records if r.get("status") == "ok" and (not args.only or _model_id(r) in args.only)]
    if not selected:
        print(f"{args.corpus}: no exported models to run; build the corpus first (make corpus).", file=sys.stderr)
        return 2
    passes = {p.name: p for p in all_passes()}
    args.cache.mkdir(parents=True, exist_ok=True)
    if args.scratch:
        args.scratch.mkdir(parents=True, exist_ok=True)
    # Pass by pass over the models, in the order asked: a run cut short has the passes it was
    # asked for first on every model. Cells run `--jobs` at a time: each is a worker process, and
    # much of a cell (parsing, checking, saving) uses one core.
    started = time.monotonic()
    order = [(name, record) for name in (args.passes or list(passes)) for record in selected] if not args.page_only else []
    with ThreadPoolExecutor(max_workers=args.jobs) as pool:
        running = [pool.submit(_cell, args, record, args.corpus / record["file"], name, passes[name]) for name, record in order]
        for done in as_completed(running):
            cell = done.result()
            print(f"{cell.model:28} {cell.pass_name:20} {cell.status:8} {cell.text() if cell.status == 'ok' else cell.reason}", flush=True)
            # The page after every cell: an interrupted run still leaves what it measured.
            _write_page(args, records, passes)
    _write_page(args, records, passes)
    cells, pending = _all_cells(args, records, passes)
    print(summary_line(cells) + (f" ({pending} cells not run yet)" if pending else "")
          + f"; {len(order)} cells in {(time.monotonic() - started) / 60:.1f} min, {args.jobs} at a time")
    return 0


@functools.lru_cache(maxsize=None)
def _facts(model: Path) -> ModelFacts:
    return ModelFacts.of(onnx.load(str(model), load_external_data=False))


def _cell(args: argparse.Namespace, record: dict[str, Any], model: Path, name: str, pass_cls: type[Pass]) -> Cell:
    """The cached cell when still valid, else a new one (refused from the rules, or run)."""
    model_id = _model_id(record)
    rule = verdict(_facts(model), name)
    if not rule.applies:
        return Cell(model_id, name, "refused", reason=rule.reason)
    config = dict(rule.config)
    if name == "transformer-fusion":
        hint = MODEL_TYPE_HINTS.get(record["name"].split("_")[0])
        config.update({"model_type": hint} if hint else {})
    cache = _cache_path(args, model_id, name)
    key = {"model": _fingerprint(model), "config": config, "samples": args.samples, "runs": args.runs}
    if cache.exists():
        cached = json.loads(cache.read_text())
        rerun = args.rerun == "all" or (args.rerun == "failed" and cached["cell"]["status"] == "failed")
        if cached.get("key") == key and not rerun:
            return Cell.from_dict(cached["cell"])
    with _lock(args.lock):
        cell = _run_cell(args, model_id, model, pass_cls, replace(rule, config=config))
    cache.write_text(json.dumps({"key": key, "cell": cell.to_dict()}, indent=1))
    if cell.status == "failed" and args.failures_log:
        _log_failure(args.failures_log, cell, args.corpus)
    return cell


def _log_failure(path: Path, cell: Cell, corpus: Path) -> None:
    """Append a failed cell to a shared notes file as soon as it is found (others fix them)."""
    with open(path, "a") as handle:
        handle.write(
            f"\n- {datetime.now(timezone.utc):%H:%M} UTC, commit {cell.commit}: **{cell.model} × {cell.pass_name}**: "
            f"{cell.reason}\n  `{reproduce_command(cell, corpus)}`\n"
        )


def _run_cell(args: argparse.Namespace, model_id: str, model: Path, pass_cls: type[Pass], rule: Verdict) -> Cell:
    """Run one pass in a worker with a time limit and judge what came back."""
    name = pass_cls.name
    cell = Cell(model_id, name, "ok", config=rule.config, commit=_commit(), samples=args.samples, runs=args.runs)
    params = {"model": str(model), "pass": name, "config": rule.config, "samples": args.samples, "runs": args.runs, "scratch": str(args.scratch) if args.scratch else None}
    started = time.monotonic()
    try:
        out = run_job("coverage-cell", params, timeout_s=args.timeout, env={ENV_EXTRA_JOBS: CELL_JOB})
    except ConfigError as exc:
        # The rules say the pass applies, so the pass refusing is the pass's gap.
        cell.status, cell.reason = "failed", f"refused by the pass: {_sentence(exc)}"
    except WorkbenchError as exc:  # PassFailed, ModelRefused, WorkerCrashed, WorkerTimeout, ...
        cell.status, cell.reason = "failed", _sentence(exc)
    else:
        cell.nodes_before = len(_facts(model).nodes)
        removed, added = out["removed_by_op"], out["added_by_op"]
        cell.nodes_after = cell.nodes_before + sum(added.values()) - sum(removed.values())
        cell.cosine, cell.speedup = out["cosine"], out["speedup"]
        failed, sentence = judge(rule, Outcome(out["changed"], removed, added, cell.cosine), name, pass_cls.category, pass_cls.min_cosine)
        if failed:
            cell.status, cell.reason = "failed", sentence
        else:
            cell.note = sentence
    cell.seconds = round(time.monotonic() - started, 1)
    cell.finished = f"{datetime.now(timezone.utc):%H:%M}"
    cell.load = round(os.getloadavg()[0], 1)
    return cell


def _write_page(args: argparse.Namespace, records: list[dict[str, Any]], passes: dict[str, type[Pass]]) -> None:
    cells, pending = _all_cells(args, records, passes)
    if not cells:
        return
    ran = [c for c in cells if c.finished]
    loads = sorted(c.load for c in ran if c.load is not None)
    cell_seconds = sum(c.seconds or 0 for c in cells)
    header = [
        f"Written by `benchmarks/coverage.py` ({datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC, commit {_commit()}) "
        f"on {os.cpu_count()} CPU cores ({platform.machine()}). The cells that ran took {cell_seconds / 60:.0f} min "
        "together (pass, verification and timing, each in its own worker)"
        + (f", finished between {min(c.finished for c in ran)} and {max(c.finished for c in ran)} UTC" if ran else "")
        + (f", under a load average of {loads[len(loads) // 2]:.1f} (median; {loads[0]:.1f}-{loads[-1]:.1f})" if loads else "")
        + ".",
        "",
        f"Corpus: real architectures with random weights (`make corpus`, see benchmarks/corpus.py). "
        + "; ".join(
            f"fidelity on {samples} random samples, speed-up from {runs} interleaved runs per model"
            for samples, runs in sorted({(c.samples, c.runs) for c in ran}, key=str)
        ).capitalize()
        + " (a glance, not a benchmark: the other benchmarks measure properly). Passes run with their "
        "defaults except where the cell's command below says otherwise.",
    ]
    if pending:
        header += ["", f"**Partial: {pending} applicable cells have not run yet.**"]
    failed_exports = [r for r in records if r.get("status") != "ok"]
    if failed_exports:
        header += ["", "Export failures (not in the matrix):", ""]
        header += [f"- {_model_id(r)}: {r.get('reason', '')}" for r in failed_exports]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(matrix_markdown(cells, corpus=args.corpus, header="\n".join(header)))


def _all_cells(args: argparse.Namespace, records: list[dict[str, Any]], passes: dict[str, type[Pass]]) -> tuple[list[Cell], int]:
    """Every cell known so far, all models by all passes (refusals from the rules, runs from the
    cache), and how many applicable cells have not run yet."""
    cells, pending = [], 0
    for record in records:
        if record.get("status") != "ok":
            continue
        model = args.corpus / record["file"]
        for name in passes:
            rule = verdict(_facts(model), name)
            cache = _cache_path(args, _model_id(record), name)
            if not rule.applies:
                cells.append(Cell(_model_id(record), name, "refused", reason=rule.reason))
            elif cache.exists():
                cached = json.loads(cache.read_text())
                cell = Cell.from_dict(cached["cell"])
                # Cells cached before these were recorded: the file was written at the end, the
                # key holds the settings.
                cell.finished = cell.finished or f"{datetime.fromtimestamp(cache.stat().st_mtime, timezone.utc):%H:%M}"
                cell.samples = cell.samples or cached["key"]["samples"]
                cell.runs = cell.runs if cell.runs is not None else cached["key"]["runs"]
                cells.append(cell)
            else:
                pending += 1
    return cells, pending


@contextmanager
def _lock(path: Path | None) -> Iterator[None]:
    """Hold an exclusive flock on `path` (shared machines: one heavy job at a time) per cell."""
    if path is None:
        yield
        return
    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _model_id(record: dict[str, Any]) -> str:
    return f"{record['exporter']}/{record['name']}"


def _cache_path(args: argparse.Namespace, model_id: str, pass_name: str) -> Path:
    return args.cache / f"{model_id.replace('/', '__')}__{pass_name}.json"


def _fingerprint(path: Path) -> str:
    stat = path.stat()
    return f"{stat.st_size}:{stat.st_mtime_ns}"


def _sentence(exc: BaseException) -> str:
    lines = [line.strip() for line in str(exc).strip().splitlines() if line.strip()]
    return lines[0] if lines else type(exc).__name__


def _commit() -> str:
    try:
        return subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=ROOT / "build" / "corpus", help="folder made by benchmarks/corpus.py")
    parser.add_argument("--cache", type=Path, default=None, help="per-cell results (default: CORPUS/../coverage-cache)")
    parser.add_argument("--scratch", type=Path, default=None, help="where pass outputs are written and deleted (default: system temp)")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "coverage.md")
    parser.add_argument("--only", nargs="*", default=[], help="models as EXPORTER/NAME, e.g. legacy/resnet50")
    parser.add_argument("--passes", nargs="*", default=[], help="only these passes, in this order")
    parser.add_argument("--rerun", choices=("none", "failed", "all"), default="none", help="run cached cells again")
    parser.add_argument("--timeout", type=float, default=420.0, help="seconds one cell may take")
    parser.add_argument("--jobs", type=int, default=2, help="cells run at the same time (each in its own worker)")
    parser.add_argument("--samples", type=int, default=2, help="random samples for the fidelity check")
    parser.add_argument("--runs", type=int, default=3, help="interleaved timed runs per model (0: no timing)")
    parser.add_argument("--lock", type=Path, default=None, help="flock this file around every cell")
    parser.add_argument("--page-only", action="store_true", help="only write the page from the cached cells")
    parser.add_argument("--failures-log", type=Path, default=None, help="append every new failed cell to this file")
    args = parser.parse_args(argv)
    args.cache = args.cache or args.corpus.parent / "coverage-cache"
    return args


if __name__ == "__main__":
    raise SystemExit(main())
