"""The `onnx-workbench` dispatcher: version, help, subcommand names, no display."""
from __future__ import annotations

import importlib
import os
import subprocess
import sys

import pytest

from onnx_workbench.app import __version__
from onnx_workbench.app.cli import COMMAND_MODULES, _command_names, main


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0
    assert __version__ in capsys.readouterr().out


def test_every_command_module_is_named_after_its_command() -> None:
    names = {importlib.import_module(f"onnx_workbench.app.commands.{m}").NAME for m in COMMAND_MODULES}
    assert names == _command_names()


def test_gui_without_display_says_so_in_one_sentence() -> None:
    env = {"PATH": "/usr/bin:/bin", "HOME": "/tmp"}  # no DISPLAY, no WAYLAND_DISPLAY, no QT_QPA_PLATFORM
    result = subprocess.run([sys.executable, "-m", "onnx_workbench.app.cli"], env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "No display found" in result.stderr and "xvfb-run" in result.stderr
    assert "Traceback" not in result.stderr and result.stderr.count("\n") == 1


def test_broken_pipe_is_not_a_traceback() -> None:
    reader = subprocess.Popen([sys.executable, "-m", "onnx_workbench.app.cli", "passes", "--json"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert reader.stdout is not None
    reader.stdout.close()  # the reader is gone before the first line is printed, like `| head -c 0`
    stderr = reader.stderr.read().decode() if reader.stderr else ""
    assert reader.wait(timeout=60) == 0
    assert "Traceback" not in stderr


def test_loader_errors_name_the_missing_library() -> None:
    from onnx_workbench.app.gui import library_named_in

    message = ("/venv/PySide6/Qt/plugins/platforms/libqxcb.so: libxcb-icccm.so.4: cannot open shared object "
               "file: No such file or directory")
    assert library_named_in(message) == "libxcb-icccm.so.4"
    assert library_named_in("undefined symbol: foo") is None


def test_x11_check_passes_where_the_libraries_are_installed(monkeypatch: pytest.MonkeyPatch) -> None:
    import ctypes.util

    from onnx_workbench.app.gui import display_problem, missing_x11_library

    monkeypatch.setenv("DISPLAY", ":0")
    monkeypatch.delenv("QT_QPA_PLATFORM", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    if missing_x11_library() is None:
        assert display_problem() is None
    monkeypatch.setattr(ctypes.util, "find_library", lambda name: None)
    problem = display_problem()
    assert problem is not None and "apt-get install" in problem and ".so" in problem


@pytest.mark.parametrize("argv", [["--debug", "passes"], ["passes", "--debug"]])
def test_debug_flag_survives_the_subcommand(argv: list[str]) -> None:
    from onnx_workbench.app.cli import build_parser

    assert build_parser().parse_args(argv).debug is True
    assert build_parser().parse_args(["passes"]).debug is False


def _failing_run(args: object) -> int:
    raise PermissionError(13, "Permission denied", "/out/model.onnx")


@pytest.mark.parametrize("debug", [False, True])
def test_os_error_is_one_sentence_with_exit_1(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], debug: bool) -> None:
    import onnx_workbench.app.commands.passes as passes

    monkeypatch.setattr(passes, "run", _failing_run)
    assert main(["--debug", "passes"] if debug else ["passes"]) == 1
    err = capsys.readouterr().err
    assert err.strip().splitlines()[-1] == (
        "onnx-workbench: /out/model.onnx: permission denied; check the path, its permissions and the free disk space."
    )
    assert ("Traceback" in err) is debug


def test_unwritable_output_path_is_not_a_traceback(tmp_path, sample_cnn) -> None:  # noqa: ANN001
    blocker = tmp_path / "file"
    blocker.write_text("")
    proc = subprocess.run(
        [sys.executable, "-m", "onnx_workbench.app.cli", "optimize", str(sample_cnn), "--pass", "fold-batchnorm", "-o", str(blocker / "out.onnx")],
        capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    assert proc.stderr.count("\n") == 1 and str(blocker) in proc.stderr


def test_the_window_process_hands_the_interpreter_lock_over_within_a_millisecond() -> None:
    # A fresh interpreter: the setting is process-wide. Background threads of the window's process
    # (imports, parses, layouts) would otherwise keep its thread waiting 5 ms per hand-over.
    script = ("import sys; from onnx_workbench.app.gui import LOCK_HANDOVER_S, window_module; "
              "before = sys.getswitchinterval(); window_module(); print(before, sys.getswitchinterval(), LOCK_HANDOVER_S)")
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=120,
                         env={**os.environ, "QT_QPA_PLATFORM": "offscreen"})
    before, after, wanted = map(float, run.stdout.split())
    assert before == 0.005 and after == wanted <= 0.001


def test_the_chart_library_is_imported_before_the_window_not_on_a_thread_after() -> None:
    # pyqtgraph makes Qt types as it is imported; imported on a thread while the window ran it crashed it.
    script = ("import sys; from onnx_workbench.app.gui import window_module; window_module(); "
              "print('pyqtgraph' in sys.modules)")
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=120,
                         env={**os.environ, "QT_QPA_PLATFORM": "offscreen"})
    assert run.stdout.split() == ["True"]
