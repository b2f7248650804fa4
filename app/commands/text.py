"""Command-line text in and out, shared by the subcommands: untrusted model strings made safe
for a terminal, and the `--dim NAME=SIZE` flags parsed the same way everywhere."""
from __future__ import annotations

from onnx_workbench.pipelines.errors import ConfigError

# Model strings are untrusted: names longer than this are cut in text output.
MAX_NAME_WIDTH = 60
# Largest size a --dim may give: ONNX Runtime and numpy index with signed 32/64-bit integers.
MAX_DIM = 2**31 - 1
# What every `--data` takes (pipelines.labelled reads both layouts).
DATA_HELP = (".npz file (or folder of them) with arrays named after the inputs, plus 'labels' for top-1/top-5 "
             "accuracy; or an image folder with one sub-folder per class (default: seeded random data)")


def clean(text: object, width: int = MAX_NAME_WIDTH) -> str:
    """Untrusted model text made safe for a terminal: no control characters, cut to `width`."""
    # An ESC byte in a node name could recolour the terminal, move the cursor or set its title.
    safe = "".join(ch if ch.isprintable() else "?" for ch in str(text))
    return safe if len(safe) <= width else safe[: width - 1] + "…"


def parse_dims(items: list[str]) -> dict[str, int]:
    """`["seq=128", "batch=2"]` → {"seq": 128, "batch": 2}; no items → {}."""
    dims: dict[str, int] = {}
    for item in items:
        name, sep, value = item.partition("=")
        value = value.strip()
        # isdigit() alone accepts '²' and other digits int() refuses.
        if not sep or not name.strip() or not (value.isascii() and value.isdigit()):
            raise ConfigError(f"--dim {clean(item)}: write NAME=SIZE with a whole number, e.g. sequence=128.", "dims")
        if int(value) > MAX_DIM:
            raise ConfigError(f"--dim {clean(item)}: a dimension can be at most {MAX_DIM}.", "dims")
        dims[name.strip()] = int(value)
    return dims
