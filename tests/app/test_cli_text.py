"""Shared CLI text helpers: terminal-safe model strings, one --dim parser, one byte/count formatter."""
from __future__ import annotations

from pathlib import Path

import onnx
import pytest

from onnx_workbench.app.cli import main
from onnx_workbench.app.commands.text import clean, parse_dims
from onnx_workbench.pipelines.errors import ConfigError
from onnx_workbench.pipelines.units import count, size

ESC = "\x1b"


def test_clean_replaces_control_characters_and_cuts() -> None:
    assert clean("a\x1b[31mred\x07") == "a?[31mred?"
    assert clean("x" * 100, 10) == "x" * 9 + "…"
    assert clean(["batch", 3]) == "['batch', 3]"


def test_parse_dims_is_one_parser_for_every_command() -> None:
    assert parse_dims([" sequence = 128", "batch=2"]) == {"sequence": 128, "batch": 2}
    assert parse_dims([]) == {}
    for bad in ("batch", "=3", "batch=-1", "batch=two"):
        with pytest.raises(ConfigError, match=f"--dim {bad}: write NAME=SIZE"):
            parse_dims([bad])


@pytest.mark.parametrize(
    ("value", "text"),
    [(0, "0 B"), (1023, "1023 B"), (1024, "1.0 KiB"), (1536, "1.5 KiB"), (3 * 2**20, "3.0 MiB"),
     (5 * 2**30 + 2**29, "5.5 GiB"), (2**40, "1.0 TiB"), (None, "—")],
)
def test_sizes_use_binary_units(value: int | None, text: str) -> None:
    assert size(value) == text


def test_counts_use_decimal_prefixes() -> None:
    assert (count(950), count(75_104_256), count(1_500), count(None, "n/a")) == ("950", "75.1 M", "1.5 k", "n/a")


@pytest.fixture(scope="module")
def hostile(sample_cnn: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample CNN with a terminal escape sequence in every node name."""
    model = onnx.load(str(sample_cnn))
    for node in model.graph.node:
        node.name = f"a{ESC}[31mred{node.name}"
    path = tmp_path_factory.mktemp("hostile") / "hostile.onnx"
    onnx.save(model, str(path))
    return path


def _text_of(capsys: pytest.CaptureFixture[str], argv: list[str]) -> str:
    assert main(argv) == 0
    captured = capsys.readouterr()
    return captured.out + captured.err


@pytest.mark.parametrize(
    "argv",
    [
        ["inspect", "{model}"],
        ["prune-scan", "{model}", "--ratios", "0.5", "--min-cosine", "0.5"],
        ["profile", "{model}", "--runs", "3", "--warmup", "0", "--per-op", "--per-op-runs", "2"],
    ],
    ids=lambda argv: argv[0],
)
def test_hostile_node_names_cannot_drive_the_terminal(hostile: Path, capsys, argv: list[str]) -> None:  # noqa: ANN001
    text = _text_of(capsys, [arg.format(model=hostile) for arg in argv])
    assert ESC not in text
    assert "a?[31mred" in text  # the names are shown, made harmless


def test_quant_debug_names_cannot_drive_the_terminal(hostile: Path, tmp_path: Path, capsys) -> None:  # noqa: ANN001
    quantized = tmp_path / "q.onnx"
    _text_of(capsys, ["optimize", str(hostile), "--pass", "quantize-static", "--set", "samples=2", "-o", str(quantized)])
    text = _text_of(capsys, ["quant-debug", str(hostile), str(quantized), "--samples", "2", "--top", "3"])
    assert ESC not in text and "a?[31mred" in text
