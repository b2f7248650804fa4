"""Timing loops (warm-up, timed runs, concurrent streams) and a background memory sampler."""
from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import psutil

from onnx_workbench.pipelines.profiling.providers import GpuMemoryProbe

# Live samples and progress go out at most this often; the GUI redraws at <= 30 Hz anyway.
EMIT_INTERVAL_NS = 100_000_000
# Memory time series kept in the result; older points are thinned out beyond this.
MAX_MEMORY_POINTS = 2000

OnSamples = Callable[[int, list[int], float], None]  # (first index, latencies ns, fraction done)


@dataclass
class TimedRuns:
    """Latencies of completed runs (ns, in completion order) and the wall time they took."""

    latencies_ns: list[int]
    wall_s: float


def warmup(runners: Sequence[Callable[[], Any]], count: int) -> list[int]:
    """Untimed-for-stats runs; their latencies are returned so reports can show the cold start."""
    latencies = []
    clock = time.perf_counter_ns
    for index in range(count):
        run = runners[index % len(runners)]
        started = clock()
        run()
        latencies.append(clock() - started)
    return latencies


def timed_runs(
    runners: Sequence[Callable[[], Any]],
    *,
    runs: int,
    duration_s: float = 0.0,
    pause_s: float = 0.0,
    concurrency: int = 1,
    on_samples: OnSamples | None = None,
) -> TimedRuns:
    """Run `runs` inferences (or for `duration_s` seconds), cycling through `runners`.

    With concurrency > 1, that many threads issue requests on the same session at once, so
    the wall time gives throughput under load; each latency still covers one request.
    """
    if concurrency > 1:
        return _concurrent_runs(runners, runs, duration_s, pause_s, concurrency, on_samples)
    clock = time.perf_counter_ns
    latencies: list[int] = []
    append = latencies.append
    deadline = clock() + int(duration_s * 1e9) if duration_s > 0 else None
    total = runs if deadline is None else None
    count = len(runners)
    started = last_emit = clock()
    emitted = 0
    index = 0
    while True:
        if deadline is None:
            if index >= runs:
                break
        elif clock() >= deadline:
            break
        run = runners[index % count]
        # Only the inference sits between the two clock reads, as in a bare loop.
        t0 = clock()
        run()
        t1 = clock()
        append(t1 - t0)
        index += 1
        if on_samples is not None and t1 - last_emit >= EMIT_INTERVAL_NS:
            on_samples(emitted, latencies[emitted:], _fraction(index, total, t1, started, deadline))
            emitted, last_emit = len(latencies), t1
        if pause_s:
            time.sleep(pause_s)
    wall_s = (clock() - started) / 1e9
    if on_samples is not None and emitted < len(latencies):
        on_samples(emitted, latencies[emitted:], 1.0)
    return TimedRuns(latencies, wall_s)


def _concurrent_runs(
    runners: Sequence[Callable[[], Any]],
    runs: int,
    duration_s: float,
    pause_s: float,
    concurrency: int,
    on_samples: OnSamples | None,
) -> TimedRuns:
    clock = time.perf_counter_ns
    lock = threading.Lock()
    latencies: list[int] = []
    issued = [0]
    finished = [0]  # clock of the last completed request: wall time ends there, not at join
    errors: list[BaseException] = []
    deadline = clock() + int(duration_s * 1e9) if duration_s > 0 else None
    total = runs if deadline is None else None

    def stream() -> None:
        while True:
            with lock:
                if errors or (deadline is None and issued[0] >= runs):
                    return
                index = issued[0]
                issued[0] += 1
            if deadline is not None and clock() >= deadline:
                return
            run = runners[index % len(runners)]
            t0 = clock()
            try:
                run()
            except BaseException as exc:  # noqa: BLE001 - re-raised in the calling thread
                with lock:
                    errors.append(exc)
                return
            t1 = clock()
            with lock:
                latencies.append(t1 - t0)
                finished[0] = max(finished[0], t1)
            if pause_s:
                time.sleep(pause_s)

    started = clock()
    threads = [threading.Thread(target=stream, daemon=True) for _ in range(concurrency)]
    for thread in threads:
        thread.start()
    emitted = 0
    # The calling thread only reports; the request threads do the work.
    while alive := [t for t in threads if t.is_alive()]:
        alive[0].join(EMIT_INTERVAL_NS / 1e9)
        with lock:
            new = latencies[emitted:]
        if on_samples is not None and new:
            on_samples(emitted, new, _fraction(len(latencies), total, clock(), started, deadline))
            emitted += len(new)
    wall_s = (max(finished[0], started + 1) - started) / 1e9
    if errors:
        raise errors[0]
    if on_samples is not None and emitted < len(latencies):
        on_samples(emitted, latencies[emitted:], 1.0)
    return TimedRuns(latencies, wall_s)


def _fraction(done: int, total: int | None, now: int, started: int, deadline: int | None) -> float:
    if total:
        return done / total
    assert deadline is not None
    return (now - started) / max(deadline - started, 1)


class MemorySampler:
    """Samples this process's RSS (and GPU memory when a probe is given) in a background thread."""

    def __init__(
        self,
        interval_s: float,
        gpu: GpuMemoryProbe | None = None,
        on_sample: Callable[[dict[str, Any]], None] | None = None,
    ) -> None:
        self.interval_s = interval_s
        self.gpu = gpu
        self.on_sample = on_sample
        self.points: list[tuple[float, int]] = []  # (seconds since start, rss bytes)
        self.peak_rss = 0
        self.peak_gpu: int | None = None
        self._process = psutil.Process()
        self._lock = threading.Lock()  # the sampler thread and sample_now() callers share state
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True, name="memory-sampler")
        self._started = time.perf_counter()

    def rss(self) -> int:
        """Resident set size of this process now."""
        return int(self._process.memory_info().rss)

    def __enter__(self) -> MemorySampler:
        self._started = time.perf_counter()
        self.sample_now()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.sample_now()

    def sample_now(self) -> dict[str, Any]:
        """Take one sample, update peaks and report it."""
        with self._lock:
            rss = self.rss()
            t = time.perf_counter() - self._started
            self.peak_rss = max(self.peak_rss, rss)
            record: dict[str, Any] = {"kind": "memory", "t_s": round(t, 4), "rss_bytes": rss}
            if self.gpu is not None and self.gpu.available:
                gpu = self.gpu.sample()
                used = gpu.get("process_bytes") or gpu.get("used_bytes")
                record["gpu_bytes"] = used
                if used is not None:
                    self.peak_gpu = max(self.peak_gpu or 0, int(used))
            self._keep(t, rss)
        if self.on_sample is not None:
            self.on_sample(record)
        return record

    def _keep(self, t: float, rss: int) -> None:
        # Thin the series instead of growing without bound on hour-long runs.
        if len(self.points) >= MAX_MEMORY_POINTS:
            self.points = self.points[::2]
        self.points.append((round(t, 4), rss))

    def _loop(self) -> None:
        while not self._stop.wait(self.interval_s):
            self.sample_now()
