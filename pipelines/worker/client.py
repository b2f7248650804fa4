"""Parent side of the worker protocol, without Qt: start a job, read its records, cancel it.

The CLI iterates `records()`; the GUI does too, on a helper thread (app/background.py), because
the end of a job reaps the child process, which may wait. `poll()` never waits for records
but, once the job has ended, reaps the child like `records()`: keep it off the GUI thread.
Reads wait on a queue with a timeout and notice a child that died, so nothing blocks forever.
"""
from __future__ import annotations

import collections
import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from onnx_workbench.pipelines import errors
from onnx_workbench.pipelines.errors import Cancelled, WorkbenchError, WorkFailed
from onnx_workbench.pipelines.worker import protocol

STDERR_TAIL_LINES = 40
# A worker seen stopped (SIGSTOP) this long is ended instead of waited for forever.
STOPPED_GRACE_S = 10.0
_EOF = object()


class WorkerCrashed(WorkFailed):
    """The worker process died without a result or an error record (segfault, OOM kill, abort)."""

    def __init__(self, message: str, exit_status: int | None, signal_name: str | None, stderr_tail: str) -> None:
        super().__init__(message)
        self.exit_status = exit_status
        self.signal_name = signal_name
        self.stderr_tail = stderr_tail


class WorkerTimeout(WorkFailed):
    """The worker did not finish (or said nothing) within the time the caller allowed."""


def describe_exit(kind: str, status: int | None) -> tuple[str, str | None]:
    """One sentence for how a worker ended without reporting, and the signal name if any."""
    if status is None:
        return f"the {kind} worker stopped responding.", None
    if status < 0:
        try:
            name = signal.Signals(-status).name
        except ValueError:
            name = f"signal {-status}"
        hint = {
            "SIGKILL": "was killed (often the system running out of memory)",
            "SIGSEGV": "crashed with a segmentation fault",
            "SIGABRT": "aborted",
            "SIGBUS": "crashed with a bus error",
            "SIGFPE": "crashed with an arithmetic error (often a zero stride or size in the model)",
            "SIGTERM": "was terminated",
        }.get(name, "was killed")
        return f"the {kind} worker {hint} ({name}, exit status {status}); nothing else was affected.", name
    return f"the {kind} worker exited with status {status} without a result; see its log.", None


def worker_command(python: str | None = None) -> list[str]:
    """The command line that starts a worker: `python -m onnx_workbench.pipelines.worker`, or the frozen app's own entry."""
    if python is None and getattr(sys, "frozen", False):
        # Inside the PyInstaller bundle sys.executable is the app itself, which cannot run
        # `-m`; installer/launcher.py dispatches this first argument to the worker instead.
        return [sys.executable, "__worker__"]
    return [python or sys.executable, "-m", "onnx_workbench.pipelines.worker"]


class WorkerJob:
    """One job in a child process: `start()`, then `records()` or `poll()`, `cancel()` any time."""

    def __init__(
        self,
        kind: str,
        params: dict[str, Any] | None = None,
        *,
        env: dict[str, str] | None = None,
        python: str | None = None,
    ) -> None:
        self.kind = kind
        self.params = params or {}
        self.env = env or {}
        self.python = python
        self.result: dict[str, Any] | None = None
        self.error: dict[str, Any] | None = None
        self.cancelled = False
        self._process: subprocess.Popen[bytes] | None = None
        # start() may run on another thread than cancel() (the window spawns on a helper thread):
        # a job cancelled before its start never spawns a child.
        self._start_lock = threading.Lock()
        self._queue: queue.Queue[Any] = queue.Queue()
        self._stderr: collections.deque[str] = collections.deque(maxlen=STDERR_TAIL_LINES)
        self._finished = False
        self._pending: BaseException | None = None  # an end raised after poll() returned records
        self._stderr_reader: threading.Thread | None = None
        self._stopped_since: float | None = None  # when the child was first seen stopped
        self._stopped_checked = 0.0

    def __enter__(self) -> WorkerJob:
        return self if self._process is not None else self.start()

    def __exit__(self, *exc: object) -> None:
        # Leaving the block never leaves a worker behind.
        if self.is_running():
            self.cancel()

    # --- life cycle -------------------------------------------------------------------------
    def start(self) -> WorkerJob:
        """Spawn `python -m onnx_workbench.pipelines.worker KIND` with the params on stdin (Cancelled if cancelled first)."""
        env = {**os.environ, **self.env}
        with self._start_lock:
            if self.cancelled:
                raise Cancelled(f"the {self.kind} job was cancelled before it started.")
            self._process = subprocess.Popen(
                [*worker_command(self.python), self.kind],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                env=env,
                # Own process group: a Ctrl+C in the terminal reaches the parent, which cancels.
                start_new_session=True,
            )
        threading.Thread(target=self._read_stdout, daemon=True).start()
        self._stderr_reader = threading.Thread(target=self._read_stderr, daemon=True)
        self._stderr_reader.start()
        assert self._process.stdin is not None
        try:
            self._process.stdin.write(json.dumps(protocol.to_plain(self.params)).encode())
            self._process.stdin.close()
        except BrokenPipeError:
            pass  # the child died at once; records() reports how
        return self

    @property
    def pid(self) -> int | None:
        """The child's process id once started."""
        return self._process.pid if self._process else None

    @property
    def exit_status(self) -> int | None:
        """The child's exit status (negative: killed by that signal), None while it runs."""
        return self._process.poll() if self._process else None

    def is_running(self) -> bool:
        """True while the child process is alive."""
        return self._process is not None and self._process.poll() is None

    def stderr_tail(self) -> str:
        """The last lines the child wrote to stderr (ORT logs, tracebacks)."""
        return "".join(self._stderr)

    def cancel(self, grace_s: float = 3.0) -> None:
        """Terminate the child; kill it if it has not gone after `grace_s` seconds."""
        with self._start_lock:
            self.cancelled = True
            process = self._process
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(grace_s)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    # --- reading ----------------------------------------------------------------------------
    def poll(self, max_records: int = 1000) -> list[dict[str, Any]]:
        """Records available now, without waiting; raises like `records()` once the job ends badly."""
        if self._pending is not None:
            pending, self._pending = self._pending, None
            raise pending
        out: list[dict[str, Any]] = []
        while len(out) < max_records and not self._finished:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
            try:
                record = self._handle(item)
            except WorkbenchError as exc:
                if not out:
                    raise
                self._pending = exc  # hand over what came before the end first
                break
            if record is not None:
                out.append(record)
        return out

    def records(self, *, timeout_s: float | None = None, idle_timeout_s: float | None = None) -> Iterator[dict[str, Any]]:
        """Yield records until the job's result; raise its error, WorkerCrashed, Cancelled or WorkerTimeout.

        `timeout_s` bounds the whole job, `idle_timeout_s` the silence between two records;
        either expiring cancels the child.
        """
        if self._process is None:
            self.start()
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        last = time.monotonic()
        while not self._finished:
            now = time.monotonic()
            if deadline is not None and now > deadline:
                self.cancel()
                raise WorkerTimeout(f"the {self.kind} worker did not finish within {timeout_s:g} s; it was stopped.")
            if idle_timeout_s is not None and now - last > idle_timeout_s:
                self.cancel()
                raise WorkerTimeout(f"the {self.kind} worker said nothing for {idle_timeout_s:g} s; it was stopped.")
            try:
                item = self._queue.get(timeout=0.1)
            except queue.Empty:
                self._check_not_stopped(now)
                continue
            last = time.monotonic()
            record = self._handle(item)
            if record is not None:
                yield record

    def wait_result(
        self,
        on_record: Callable[[dict[str, Any]], None] | None = None,
        *,
        timeout_s: float | None = None,
    ) -> dict[str, Any]:
        """Run to the end, passing each record to `on_record`; return the job's result."""
        try:
            for record in self.records(timeout_s=timeout_s):
                if on_record is not None:
                    on_record(record)
        except KeyboardInterrupt:
            self.cancel()
            raise
        assert self.result is not None
        return self.result

    # --- internals --------------------------------------------------------------------------
    def _handle(self, item: Any) -> dict[str, Any] | None:
        if item is _EOF:
            self._finished = True
            self._finish_without_record()
        record: dict[str, Any] = item
        if record["kind"] == "result":
            self._finished = True
            self.result = record.get("result", {})
            self._reap()
        elif record["kind"] == "error":
            self._finished = True
            self.error = record
            self._reap()
            if self.cancelled:
                raise Cancelled("Cancelled by the user.")
            if record.get("type") == "Cancelled" and record.get("message") == protocol.TERMINATED_MESSAGE:
                # SIGTERM that we did not send (the user did not cancel): someone ended it.
                raise WorkerCrashed(
                    f"the {self.kind} worker was terminated from outside this program (SIGTERM); nothing else was affected.",
                    None, "SIGTERM", self.stderr_tail(),
                )
            raise _error_from_record(record)
        return record

    def _check_not_stopped(self, now: float) -> None:
        """End a worker that has been stopped (SIGSTOP, state T) for STOPPED_GRACE_S: it says nothing and never will.

        Read from /proc (Linux); elsewhere a stopped worker is noticed only by a timeout.
        """
        if self._process is None or now - self._stopped_checked < 1.0:
            return
        self._stopped_checked = now
        if not _is_stopped(self._process.pid):
            self._stopped_since = None
            return
        if self._stopped_since is None:
            self._stopped_since = now
        elif now - self._stopped_since > STOPPED_GRACE_S:
            self._process.kill()  # a stopped process ignores SIGTERM until continued
            self._process.wait()
            self._finished = True
            raise WorkerTimeout(
                f"the {self.kind} worker was stopped (SIGSTOP) for over {STOPPED_GRACE_S:g} s; it was ended."
            )

    def _finish_without_record(self) -> None:
        status = self._reap()
        if self.cancelled:
            raise Cancelled("Cancelled by the user.")
        message, name = describe_exit(self.kind, status)
        raise WorkerCrashed(message, status, name, self.stderr_tail())

    def _reap(self) -> int | None:
        assert self._process is not None
        try:
            status = self._process.wait(10)
        except subprocess.TimeoutExpired:
            # It said its last word but hangs on exit (a stuck native thread): end it.
            self._process.kill()
            status = self._process.wait()
        # stdout and stderr are read by two threads: let stderr catch up so reports carry
        # the child's last words.
        if self._stderr_reader is not None:
            self._stderr_reader.join(timeout=2.0)
        return status

    def _read_stdout(self) -> None:
        assert self._process is not None and self._process.stdout is not None
        for line in self._process.stdout:
            try:
                self._queue.put(protocol.decode(line))
            except protocol.ProtocolError:
                # Not ours (should not happen: the child redirects stray output); keep it as log.
                self._stderr.append(line.decode("utf-8", "replace"))
        self._queue.put(_EOF)

    def _read_stderr(self) -> None:
        assert self._process is not None and self._process.stderr is not None
        for line in self._process.stderr:
            self._stderr.append(line.decode("utf-8", "replace"))


def _is_stopped(pid: int) -> bool:
    """True when `pid` is in the stopped state (Linux /proc; False where it cannot be read)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    # "pid (comm) state ...": comm may hold spaces and parentheses, the state follows the last ')'.
    # Only "T" (SIGSTOP): "t" is a debugger's breakpoint, which a developer expects to last.
    return stat[stat.rindex(")") + 2 : stat.rindex(")") + 3] == "T"


def _error_from_record(record: dict[str, Any]) -> WorkbenchError:
    # Re-raise the child's error as the same WorkbenchError class so callers can tell a bad
    # setting (ConfigError, with its field) from a refused model or a failed pass.
    message = record.get("message") or "the worker failed without a message."
    cls = getattr(errors, str(record.get("type")), None)
    if isinstance(cls, type) and issubclass(cls, errors.ConfigError):
        return cls(message, record.get("field"))
    if isinstance(cls, type) and issubclass(cls, WorkbenchError):
        return cls(message)
    return WorkbenchError(message)


def run_job(
    kind: str,
    params: dict[str, Any],
    on_record: Callable[[dict[str, Any]], None] | None = None,
    *,
    timeout_s: float | None = None,
    env: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Start a worker for `kind`, run it to the end and return its result (raises on failure)."""
    job = WorkerJob(kind, params, env=env).start()
    try:
        return job.wait_result(on_record, timeout_s=timeout_s)
    finally:
        if job.is_running():
            job.cancel()
