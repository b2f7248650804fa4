"""Big models: what the workbench costs on Llama-shaped decoders of about 2 GB and 6 GB.

    python benchmarks/big_model.py [--sizes 2 6] [--cache DIR] [--only inspect window ...]

Generates (never downloads) decoders with random float32 weights written straight to
external data, layer by layer (no protobuf over 2 GB is ever built), and caches them under
$XDG_CACHE_HOME/onnx-workbench-bench (or --cache). For each size it prints, for every piece
of work, wall time and peak RSS of the whole process tree (psutil polling every 20 ms, so
workers count), beside the natural cost of the same job measured in the same run:

    inspect           vs  a graph-only onnx.load (no weight read)
    window            vs  the same graph-only load; GUI process RSS is reported separately
    cleanup step      vs  onnx.load + save with external data + two ORT sessions, one run each
    quantize-weights  vs  ONNX Runtime's MatMulNBitsQuantizer on the loaded model, saved
    profile           vs  one ORT session + the same number of runs
    passes            each in-memory (onnx-ir) pass as one step without verification: time
                      and peak RSS beside the weights' size (the bound is 1.5x the weights)

The generation and every measured command are memory-heavy: run it under
`flock /tmp/heavy.lock` on a shared machine. Prints figures; never passes or fails.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx
import psutil
from onnx import TensorProto, helper

ROOT = Path(__file__).resolve().parents[1]
PYTHON = sys.executable

# Llama-7B-like proportions at hidden 2048 (TinyLlama): each layer holds about 205 MB of float32.
HIDDEN, INTERMEDIATE, VOCAB, HEADS = 2048, 5632, 32000, 16
# Offsets in the data file are page-aligned so ONNX Runtime can memory-map the tensors.
ALIGN = 4096
SEQUENCE = 32  # the decoders run on batch 1 x 32 tokens in every measurement
PROFILE_RUNS = 5
# The passes on the onnx-ir contract, each with settings that make it do work on a decoder.
IR_PASSES: dict[str, dict[str, str]] = {
    "to-fp16": {},
    "convert-opset": {"opset": "20"},
    "fix-shapes": {"dims": f"batch:1,sequence:{SEQUENCE}"},
    "fold-batchnorm": {},
    "prune-neurons": {"ratio": "0.3"},
    "prune-magnitude": {"sparsity": "0.5", "op_types": "MatMul"},
    "transformer-fusion": {},
}


# ---- generation -------------------------------------------------------------------------


class DataWriter:
    """Appends tensors to one external data file and returns initializers that point at them."""

    def __init__(self, path: Path) -> None:
        self.file = path.open("wb")
        self.location = path.name
        self.rng = np.random.default_rng(0)

    def random(self, name: str, shape: tuple[int, ...], scale: float = 0.02) -> onnx.TensorProto:
        """A float32 initializer of normal(0, scale) values, written in row chunks (bounded memory)."""
        offset = self._align()
        rows_per_chunk = max(1, (64 << 20) // (4 * int(np.prod(shape[1:]))))
        for start in range(0, shape[0], rows_per_chunk):
            rows = min(rows_per_chunk, shape[0] - start)
            chunk = self.rng.standard_normal((rows, *shape[1:]), dtype=np.float32) * np.float32(scale)
            self.file.write(chunk.tobytes())
        return self._tensor(name, shape, offset)

    def near_ones(self, name: str, shape: tuple[int, ...]) -> onnx.TensorProto:
        """A float32 initializer of values around 1 (norm weights; all different, so nothing dedups)."""
        offset = self._align()
        self.file.write((1 + self.rng.standard_normal(shape, dtype=np.float32) * np.float32(0.01)).tobytes())
        return self._tensor(name, shape, offset)

    def close(self) -> None:
        """Flush and close the data file."""
        self.file.close()

    def _align(self) -> int:
        offset = self.file.tell()
        padding = (-offset) % ALIGN
        self.file.write(b"\0" * padding)
        return offset + padding

    def _tensor(self, name: str, shape: tuple[int, ...], offset: int) -> onnx.TensorProto:
        tensor = TensorProto(name=name, data_type=TensorProto.FLOAT, dims=shape)
        tensor.data_location = TensorProto.EXTERNAL
        length = 4 * int(np.prod(shape))
        for key, value in (("location", self.location), ("offset", str(offset)), ("length", str(length))):
            tensor.external_data.add(key=key, value=value)
        return tensor


def build_decoder(path: Path, layers: int) -> None:
    """Write a Llama-shaped decoder (RMSNorm, attention, SwiGLU MLP) with `layers` layers."""
    path.parent.mkdir(parents=True, exist_ok=True)
    writer = DataWriter(path.with_name(path.name + ".data"))
    nodes: list[onnx.NodeProto] = []
    inits: list[onnx.TensorProto] = [
        helper.make_tensor("eps", TensorProto.FLOAT, [], [1e-5]),
        helper.make_tensor("scale", TensorProto.FLOAT, [], [1.0 / np.sqrt(HIDDEN // HEADS)]),
        helper.make_tensor("heads_shape", TensorProto.INT64, [4], [0, 0, HEADS, HIDDEN // HEADS]),
        helper.make_tensor("merge_shape", TensorProto.INT64, [3], [0, 0, HIDDEN]),
        helper.make_tensor("axes_last", TensorProto.INT64, [1], [-1]),
    ]

    def node(op: str, inputs: list[str], output: str, **attrs: object) -> str:
        nodes.append(helper.make_node(op, inputs, [output], name=output, **attrs))
        return output

    def rms_norm(x: str, prefix: str) -> str:
        inits.append(writer.near_ones(f"{prefix}.weight", (HIDDEN,)))
        square = node("Mul", [x, x], f"{prefix}.sq")
        mean = node("ReduceMean", [square, "axes_last"], f"{prefix}.mean", keepdims=1)
        root = node("Sqrt", [node("Add", [mean, "eps"], f"{prefix}.add")], f"{prefix}.sqrt")
        return node("Mul", [node("Div", [x, root], f"{prefix}.div"), f"{prefix}.weight"], f"{prefix}.out")

    def linear(x: str, name: str, rows: int, cols: int) -> str:
        inits.append(writer.random(f"{name}.weight", (rows, cols)))
        return node("MatMul", [x, f"{name}.weight"], f"{name}.out")

    inits.append(writer.random("embed.weight", (VOCAB, HIDDEN)))
    hidden = node("Gather", ["embed.weight", "input_ids"], "embed.out")
    for index in range(layers):
        p = f"layers.{index}"
        x = rms_norm(hidden, f"{p}.input_norm")
        heads = {}
        for proj in ("q", "k", "v"):
            out = linear(x, f"{p}.attn.{proj}_proj", HIDDEN, HIDDEN)
            split = node("Reshape", [out, "heads_shape"], f"{p}.attn.{proj}.heads")
            heads[proj] = node("Transpose", [split], f"{p}.attn.{proj}.t", perm=[0, 2, 1, 3])
        keys = node("Transpose", [heads["k"]], f"{p}.attn.k.tt", perm=[0, 1, 3, 2])
        scores = node("Mul", [node("MatMul", [heads["q"], keys], f"{p}.attn.qk"), "scale"], f"{p}.attn.scaled")
        probs = node("Softmax", [scores], f"{p}.attn.probs", axis=-1)
        context = node("Transpose", [node("MatMul", [probs, heads["v"]], f"{p}.attn.ctx")], f"{p}.attn.ctx.t", perm=[0, 2, 1, 3])
        merged = node("Reshape", [context, "merge_shape"], f"{p}.attn.merged")
        hidden = node("Add", [hidden, linear(merged, f"{p}.attn.o_proj", HIDDEN, HIDDEN)], f"{p}.attn.residual")
        x = rms_norm(hidden, f"{p}.post_norm")
        gate = linear(x, f"{p}.mlp.gate_proj", HIDDEN, INTERMEDIATE)
        silu = node("Mul", [gate, node("Sigmoid", [gate], f"{p}.mlp.sigmoid")], f"{p}.mlp.silu")
        up = linear(x, f"{p}.mlp.up_proj", HIDDEN, INTERMEDIATE)
        down = linear(node("Mul", [silu, up], f"{p}.mlp.gated"), f"{p}.mlp.down_proj", INTERMEDIATE, HIDDEN)
        hidden = node("Add", [hidden, down], f"{p}.mlp.residual")
    logits = linear(rms_norm(hidden, "final_norm"), "lm_head", HIDDEN, VOCAB)
    writer.close()
    graph = helper.make_graph(
        nodes, "llama_like_decoder",
        [helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch", "sequence"])],
        [helper.make_tensor_value_info(logits, TensorProto.FLOAT, ["batch", "sequence", VOCAB])],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)], producer_name="big_model.py")
    model.ir_version = 9
    path.write_bytes(model.SerializeToString())  # the graph only: a few hundred KB


def layers_for(gigabytes: float) -> int:
    """Decoder layers that bring the weights closest to `gigabytes`."""
    fixed = 2 * VOCAB * HIDDEN * 4
    per_layer = (4 * HIDDEN * HIDDEN + 3 * HIDDEN * INTERMEDIATE) * 4
    return max(1, round((gigabytes * 1e9 - fixed) / per_layer))


def cached_decoder(cache: Path, gigabytes: float) -> Path:
    """The decoder of about `gigabytes` from the cache, generated on first use."""
    layers = layers_for(gigabytes)
    path = cache / f"decoder-{layers}layers" / "model.onnx"
    if not (path.is_file() and path.with_name("model.onnx.data").is_file()):
        shutil.rmtree(path.parent, ignore_errors=True)
        started = time.perf_counter()
        build_decoder(path, layers)
        print(f"generated {path} ({layers} layers) in {time.perf_counter() - started:.1f} s", flush=True)
    return path


# ---- measurement ------------------------------------------------------------------------


@dataclass
class Cost:
    """Wall time and peak memory of one measured command (process tree)."""

    seconds: float
    peak_rss: int
    detail: dict[str, object]


def measure(command: list[str], env: dict[str, str] | None = None) -> Cost:
    """Run `command`, polling the RSS of it and all its descendants; raise if it fails."""
    started = time.perf_counter()
    with tempfile.TemporaryFile() as out:
        proc = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env={**os.environ, **(env or {})})
        root = psutil.Process(proc.pid)
        peak = 0
        while proc.poll() is None:
            peak = max(peak, _tree_rss(root))
            time.sleep(0.02)
        seconds = time.perf_counter() - started
        out.seek(0)
        text = out.read().decode(errors="replace")
    # optimize exits 1 for "out of tolerance": the step still finished.
    if proc.returncode != 0 and not (proc.returncode == 1 and "optimize" in command):
        raise RuntimeError(f"{' '.join(command[:6])} failed ({proc.returncode}):\n{text[-3000:]}")
    detail: dict[str, object] = {}
    for line in text.splitlines():
        if line.startswith("BENCH "):
            detail.update(json.loads(line[6:]))
    return Cost(seconds, peak, detail)


def _tree_rss(root: psutil.Process) -> int:
    total = 0
    try:
        processes = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0
    for process in processes:
        try:
            total += process.memory_info().rss
        except psutil.NoSuchProcess:
            pass
    return total


def cli(*args: str) -> list[str]:
    """The workbench command line, run from this checkout."""
    return [PYTHON, "-m", "onnx_workbench.app.cli", *args]


def snippet(code: str, *args: str) -> list[str]:
    """A Python child running `code` (natural costs: bare onnx / ONNX Runtime calls)."""
    return [PYTHON, "-c", textwrap.dedent(code), *args]


NATURAL_GRAPH_LOAD = """
    import sys, onnx
    onnx.load(sys.argv[1], load_external_data=False)
"""
NATURAL_STEP = """
    import gc, os, sys, numpy as np, onnx, onnxruntime as ort
    source, target = sys.argv[1], sys.argv[2]
    model = onnx.load(source)
    onnx.save(model, target, save_as_external_data=True, location=os.path.basename(target) + ".data")
    del model; gc.collect()
    feed = {"input_ids": np.zeros((1, %d), dtype=np.int64)}
    for path in (source, target):
        session = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
        session.run(None, feed)
        del session
""" % SEQUENCE
NATURAL_QUANTIZE = """
    import os, sys, onnx
    from onnxruntime.quantization.matmul_nbits_quantizer import MatMulNBitsQuantizer
    model = onnx.load(sys.argv[1])
    quantizer = MatMulNBitsQuantizer(model, bits=4, block_size=128, is_symmetric=True)
    quantizer.process()
    onnx.save(quantizer.model.model, sys.argv[2], save_as_external_data=True, location=os.path.basename(sys.argv[2]) + ".data")
"""
NATURAL_PROFILE = """
    import sys, numpy as np, onnxruntime as ort
    session = ort.InferenceSession(sys.argv[1], providers=["CPUExecutionProvider"])
    feed = {"input_ids": np.zeros((1, %d), dtype=np.int64)}
    for _ in range(1 + %d):
        session.run(None, feed)
""" % (SEQUENCE, PROFILE_RUNS)

WINDOW = """
    import json, os, resource, sys, time
    os.environ["QT_QPA_PLATFORM"] = "offscreen"
    os.environ.setdefault("QTWEBENGINE_CHROMIUM_FLAGS", "--no-sandbox")
    from PySide6.QtWidgets import QApplication
    from onnx_workbench.app.main_window import MainWindow
    app = QApplication(sys.argv[:1])
    window = MainWindow()
    window.session_panels.commands.ask_before_close = False
    window.resize(1400, 900)
    window.show()
    app.processEvents()
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    started = time.perf_counter()
    window.open_path(sys.argv[1])
    def wait(condition):
        while not condition():
            if time.perf_counter() - started > 900:
                raise SystemExit("timed out")
            app.processEvents()
            time.sleep(0.005)
    wait(lambda: window.shown.opened is not None and window.graph_view.node_names()
         and not window.graph_view.is_building())
    shown = time.perf_counter() - started
    wait(lambda: not window.opening and window.session_panels.session.workspace is not None)
    ready = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print("BENCH " + json.dumps({"graph_shown_s": shown, "session_ready_s": ready, "gui_peak_rss": peak, "gui_base_rss": base}), flush=True)
    window.jobs.cancel_all()
    window.close()
    os._exit(0)
"""


def gb(value: float) -> str:
    """Bytes as GB with two decimals."""
    return f"{value / 1e9:.2f} GB"


def row(work: str, ours: Cost, natural: Cost | None, note: str = "") -> None:
    """Print one line of the table: ours, natural, ratios."""
    if natural is None:
        print(f"| {work} | {ours.seconds:.1f} s, {gb(ours.peak_rss)} | - | - | {note} |", flush=True)
        return
    print(
        f"| {work} | {ours.seconds:.1f} s, {gb(ours.peak_rss)} | {natural.seconds:.1f} s, {gb(natural.peak_rss)} | "
        f"{ours.seconds / natural.seconds:.2f}x time, {ours.peak_rss / natural.peak_rss:.2f}x RSS | {note} |",
        flush=True,
    )


def bench(model: Path, only: set[str], scratch: Path) -> None:
    """Measure every piece of work on one decoder and print its table."""
    weights = model.with_name(model.name + ".data").stat().st_size
    print(f"\n### {model.parent.name}: weights {gb(weights)} (external data), graph {model.stat().st_size / 1e3:.0f} KB\n")
    print("| Work | Workbench | Natural cost, same run | Ratio | Note |\n|---|---|---|---|---|", flush=True)
    dims = ["--dim", "batch=1", "--dim", f"sequence={SEQUENCE}"]
    env = {"PYTHONPATH": str(ROOT), "XDG_CACHE_HOME": str(scratch / "cache")}
    graph_load = measure(snippet(NATURAL_GRAPH_LOAD, str(model)))
    if "inspect" in only:
        row("inspect", measure(cli("inspect", str(model)), env), graph_load)
    if "window" in only:
        window = measure(snippet(WINDOW, str(model)), env)
        d = window.detail
        row("window: graph shown", Cost(float(d["graph_shown_s"]), int(d["gui_peak_rss"]), {}), graph_load,
            f"GUI process peak RSS {gb(int(d['gui_peak_rss']))} (empty window {gb(int(d['gui_base_rss']))}); "
            f"session ready {float(d['session_ready_s']):.1f} s, whole tree {gb(window.peak_rss)}")
        shutil.rmtree(scratch / "cache", ignore_errors=True)
    if "cleanup" in only:
        out = scratch / "cleanup" / "model.onnx"
        ours = measure(cli("optimize", str(model), "--pass", "cleanup", "--verify", "--samples", "1", *dims, "-o", str(out)), env)
        shutil.rmtree(out.parent, ignore_errors=True)
        natural = measure(snippet(NATURAL_STEP, str(model), str(scratch / "natural-step.onnx")))
        _remove_model(scratch / "natural-step.onnx")
        row("no-op `cleanup` step (+verify, 1 sample)", ours, natural, f"peak RSS {ours.peak_rss / weights:.2f}x weights")
    if "quantize" in only:
        out = scratch / "q4" / "model.onnx"
        ours = measure(cli("optimize", str(model), "--pass", "quantize-weights", "--set", "bits=4", "-o", str(out)), env)
        shutil.rmtree(out.parent, ignore_errors=True)
        natural = measure(snippet(NATURAL_QUANTIZE, str(model), str(scratch / "natural-q4.onnx")))
        _remove_model(scratch / "natural-q4.onnx")
        row("`quantize-weights` 4-bit", ours, natural, f"peak RSS {ours.peak_rss / weights:.2f}x weights")
    if "profile" in only:
        ours = measure(cli("profile", str(model), "--runs", str(PROFILE_RUNS), "--warmup", "1", *dims), env)
        row(f"`profile` ({PROFILE_RUNS} runs)", ours, measure(snippet(NATURAL_PROFILE, str(model))))
    if "passes" in only:
        for name, settings in IR_PASSES.items():
            out = scratch / name / "model.onnx"
            flags = [flag for key, value in settings.items() for flag in ("--set", f"{key}={value}")]
            ours = measure(cli("optimize", str(model), "--pass", name, *flags, "-o", str(out)), env)
            shutil.rmtree(out.parent, ignore_errors=True)
            row(f"`{name}`", ours, None, f"peak RSS {ours.peak_rss / weights:.2f}x weights")



def _remove_model(path: Path) -> None:
    path.unlink(missing_ok=True)
    path.with_name(path.name + ".data").unlink(missing_ok=True)


def main() -> int:
    """Generate the decoders (cached) and print one table per size."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=float, nargs="+", default=[2.0, 6.0], help="weights in GB (default 2 6)")
    default_cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "onnx-workbench-bench"
    parser.add_argument("--cache", type=Path, default=default_cache, help=f"where generated models are kept (default {default_cache})")
    works = ("inspect", "window", "cleanup", "quantize", "profile", "passes")
    parser.add_argument("--only", nargs="+", choices=works, default=list(works), help="measure only these")
    args = parser.parse_args()
    print(f"{psutil.cpu_count()} CPUs, {gb(psutil.virtual_memory().total)} memory "
          f"({gb(psutil.virtual_memory().available)} available); decoders run on batch 1 x {SEQUENCE} tokens")
    for size in args.sizes:
        model = cached_decoder(args.cache, size)
        with tempfile.TemporaryDirectory(prefix="big-model-bench-", dir=args.cache) as scratch:
            bench(model, set(args.only), Path(scratch))
    return 0


if __name__ == "__main__":
    sys.exit(main())
