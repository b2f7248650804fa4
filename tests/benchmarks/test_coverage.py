"""The model coverage matrix without torch: applicability rules, the page, the corpus index, a real run.

The corpus itself needs torch; these tests use small models built with the onnx helper API
that carry the quirks real exporters write (weights listed as graph inputs, Gemm with transB,
a weight multiplied through a Transpose, dynamic named dims).
"""
from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

ROOT = Path(__file__).resolve().parents[2]


def _benchmark_module(name: str) -> ModuleType:
    # Loaded from its file: putting benchmarks/ on sys.path would let benchmarks/coverage.py
    # shadow the `coverage` package for the rest of the test session.
    spec = importlib.util.spec_from_file_location(f"benchmark_{name}", ROOT / "benchmarks" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


rules = _benchmark_module("coverage_rules")
report = _benchmark_module("coverage_report")
corpus_index = _benchmark_module("corpus_index")


def _weight(name: str, *shape: int) -> onnx.TensorProto:
    rng = np.random.default_rng(len(name))
    return numpy_helper.from_array(rng.standard_normal(shape).astype(np.float32) * 0.1, name)


def cnn(legacy: bool = True) -> onnx.ModelProto:
    """Conv-BN-Relu twice, global pool, Gemm(transB) head; legacy: IR 3, opset 9, weights also graph inputs."""
    weights = [
        _weight("w1", 8, 3, 3, 3), _weight("w2", 8, 8, 3, 3), _weight("fc_w", 10, 8), _weight("fc_b", 10),
    ]
    for index in (1, 2):
        weights += [_weight(f"bn{index}_{p}", 8) for p in ("scale", "bias", "mean")]
        weights.append(numpy_helper.from_array(np.ones(8, np.float32), f"bn{index}_var"))
    nodes = [
        helper.make_node("Conv", ["x", "w1"], ["c1"], pads=[1, 1, 1, 1]),
        helper.make_node("BatchNormalization", ["c1", "bn1_scale", "bn1_bias", "bn1_mean", "bn1_var"], ["b1"]),
        helper.make_node("Relu", ["b1"], ["r1"]),
        helper.make_node("Conv", ["r1", "w2"], ["c2"], pads=[1, 1, 1, 1]),
        helper.make_node("BatchNormalization", ["c2", "bn2_scale", "bn2_bias", "bn2_mean", "bn2_var"], ["b2"]),
        helper.make_node("GlobalAveragePool", ["b2"], ["p"]),
        helper.make_node("Flatten", ["p"], ["f"]),
        helper.make_node("Gemm", ["f", "fc_w", "fc_b"], ["y"], transB=1),
    ]
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 16, 16])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 10])
    as_inputs = [helper.make_tensor_value_info(w.name, TensorProto.FLOAT, list(w.dims)) for w in weights] if legacy else []
    graph = helper.make_graph(nodes, "cnn", [x, *as_inputs], [y], initializer=weights)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 9 if legacy else 13)])
    if legacy:
        model.ir_version = 3
    return model


def attention_block() -> onnx.ModelProto:
    """Scores through a MatMul with a transposed constant into Softmax; dynamic batch and sequence."""
    weights = [_weight("wq", 16, 16), _weight("proj", 16, 16)]
    nodes = [
        helper.make_node("Transpose", ["wq"], ["wq_t"], perm=[1, 0]),
        helper.make_node("MatMul", ["x", "wq_t"], ["q"]),
        helper.make_node("Transpose", ["x"], ["x_t"], perm=[0, 2, 1]),
        helper.make_node("MatMul", ["q", "x_t"], ["scores"]),
        helper.make_node("Softmax", ["scores"], ["attn"], axis=-1),
        helper.make_node("MatMul", ["attn", "x"], ["ctx"]),
        helper.make_node("MatMul", ["ctx", "proj"], ["y"]),
    ]
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", "sequence", 16])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", "sequence", 16])
    graph = helper.make_graph(nodes, "attention", [x], [y], initializer=weights)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])


@pytest.fixture(scope="module")
def cnn_facts():
    return rules.ModelFacts.of(cnn())


@pytest.fixture(scope="module")
def attention_facts():
    return rules.ModelFacts.of(attention_block())


def test_a_legacy_cnn_gets_folding_pruning_quantization_and_an_opset_upgrade(cnn_facts):
    for name in ("fold-batchnorm", "prune-channels", "quantize-static", "quantize-weights", "convert-opset"):
        verdict = rules.verdict(cnn_facts, name)
        assert verdict.applies and verdict.expects, name
    assert rules.verdict(cnn_facts, "convert-opset").config == {"opset": rules.UPGRADE_OPSET}
    assert rules.verdict(cnn_facts, "fold-batchnorm").expects == "2 BatchNormalization follow a Conv, ConvTranspose or Gemm"


def test_a_legacy_cnn_is_refused_transformer_passes_with_the_reason(cnn_facts):
    assert rules.verdict(cnn_facts, "transformer-fusion").reason == "no attention (MatMul into Softmax) to fuse"
    assert rules.verdict(cnn_facts, "fix-shapes").reason == "every input shape is already fixed"
    assert not rules.verdict(cnn_facts, "prune-neurons").applies  # one linear layer only


def test_weights_listed_as_graph_inputs_are_not_taken_for_model_inputs(cnn_facts):
    assert cnn_facts.dynamic_dims == ()
    assert {"w1", "fc_w"} <= cnn_facts.constants


def test_a_transformer_block_is_refused_conv_passes_and_gets_its_own(attention_facts):
    assert rules.verdict(attention_facts, "prune-channels").reason == "no Conv to prune"
    assert not rules.verdict(attention_facts, "fold-batchnorm").applies
    assert rules.verdict(attention_facts, "transformer-fusion").applies
    assert "opset 18" in rules.verdict(attention_facts, "convert-opset").reason


def test_a_matmul_through_a_transposed_constant_counts_as_a_linear_layer(attention_facts):
    assert rules.verdict(attention_facts, "quantize-weights").applies
    assert len(attention_facts.linear_layers()) == 2  # q (through Transpose) and proj; not the scores
    assert attention_facts.weight_size("wq_t") == 256


def test_fix_shapes_fixes_the_named_dims_as_verification_assumes(attention_facts):
    verdict = rules.verdict(attention_facts, "fix-shapes")
    assert verdict.config == {"dims": {"batch": 1, "sequence": 128}}


def mlp() -> onnx.ModelProto:
    """Gemm, a decomposed activation (x * Sigmoid(x)), Reshape, MatMul: hidden neurons between two linears."""
    nodes = [
        helper.make_node("Gemm", ["x", "w1", "b1"], ["h"], transB=1),
        helper.make_node("Sigmoid", ["h"], ["s"]),
        helper.make_node("Mul", ["h", "s"], ["a"]),
        helper.make_node("Reshape", ["a", "shape"], ["r"]),
        helper.make_node("MatMul", ["r", "w2"], ["y"]),
    ]
    weights = [_weight("w1", 32, 16), _weight("b1", 32), _weight("w2", 32, 4), numpy_helper.from_array(np.array([2, 32]), "shape")]
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 16])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 4])
    return helper.make_model(helper.make_graph(nodes, "mlp", [x], [y], initializer=weights), opset_imports=[helper.make_opsetid("", 17)])


def test_prune_neurons_applies_where_a_linear_layer_feeds_another_through_an_activation(cnn_facts, attention_facts):
    verdict = rules.verdict(rules.ModelFacts.of(mlp()), "prune-neurons")
    assert verdict.applies and verdict.expects == "1 linear layers feed another linear layer through an activation"
    # One Gemm head; attention projections meet only through the score MatMuls.
    assert not rules.verdict(cnn_facts, "prune-neurons").applies
    assert not rules.verdict(attention_facts, "prune-neurons").applies


def _outcome(changed=True, removed=None, added=None, cosine=1.0):
    return rules.Outcome(changed, removed or {}, added or {}, cosine)


def test_a_fold_that_leaves_every_batchnorm_is_a_failure_even_if_it_changed_something(cnn_facts):
    fold = rules.verdict(cnn_facts, "fold-batchnorm")
    renamed = _outcome(removed={"Conv": 2}, added={"Conv": 2})
    assert rules.judge(fold, renamed, "fold-batchnorm", "fusion", 0.9999) == (
        True, "the pass left every BatchNormalization in place although 2 BatchNormalization follow a Conv, ConvTranspose or Gemm."
    )
    folded = _outcome(removed={"BatchNormalization": 2, "Conv": 2}, added={"Conv": 2})
    assert rules.judge(fold, folded, "fold-batchnorm", "fusion", 0.9999) == (False, "")


def test_a_pass_that_must_change_something_and_does_not_fails(attention_facts):
    fusion = rules.verdict(attention_facts, "transformer-fusion")
    failed, sentence = rules.judge(fusion, _outcome(changed=False), "transformer-fusion", "fusion", 0.9999)
    assert failed and sentence == "the pass changed nothing although the model has 1 attention blocks (MatMul into Softmax)."
    failed, sentence = rules.judge(fusion, _outcome(removed={"Gemm": 1}, added={"Gemm": 1}), "transformer-fusion", "fusion", 0.9999)
    assert failed and sentence.startswith("the pass fused nothing (-1 +1 nodes)")
    assert rules.judge(rules.run(), _outcome(changed=False), "cleanup", "cleanup", 0.9999) == (False, "no change")


def test_changed_outputs_fail_an_exact_pass_and_only_mark_a_lossy_one():
    assert rules.judge(rules.run(), _outcome(cosine=0.99), "simplify", "cleanup", 0.9999)[0]
    assert rules.judge(rules.run(), _outcome(cosine=0.5), "prune-channels", "prune", 0.95) == (False, "under its tolerance 0.95")


def test_passes_without_a_rule_always_apply(cnn_facts):
    assert rules.verdict(cnn_facts, "cleanup").applies and not rules.verdict(cnn_facts, "cleanup").expects


def _cells():
    Cell = report.Cell
    return [
        Cell("legacy/cnn", "fold-batchnorm", "ok", nodes_before=8, nodes_after=6, cosine=0.9999991, speedup=1.234),
        Cell("legacy/cnn", "transformer-fusion", "refused", reason="no attention (MatMul into Softmax) to fuse"),
        Cell("legacy/cnn", "quantize-static", "failed", reason="pass 'quantize-static' failed: boom.", config={"samples": 8}),
        Cell("dynamo/block", "fold-batchnorm", "refused", reason="no BatchNormalization follows a Conv"),
        Cell("dynamo/block", "transformer-fusion", "ok", nodes_before=7, nodes_after=7, cosine=1.0, note="no change"),
        Cell("dynamo/block", "quantize-static", "ok", nodes_before=7, nodes_after=20, cosine=0.42),
    ]


def test_the_summary_counts_models_passes_and_outcomes():
    assert report.summary_line(_cells()) == "2 models × 3 passes: 3 ok, 2 refused, 1 failed"


def test_the_page_has_a_row_per_model_and_lists_failures_with_a_command(tmp_path):
    page = report.matrix_markdown(_cells(), corpus=tmp_path, header="Run on a test box.")
    lines = page.splitlines()
    assert "| model | fold-batchnorm | transformer-fusion | quantize-static |" in lines
    assert "| legacy/cnn | ok 8→6 · cos 1.00000 · 1.23× | – | **FAILED** |" in lines
    assert "| dynamo/block | – | ok 7→7 · cos 1.00000 · (no change) | ok 7→20 · cos 0.42 |" in lines
    assert "## Failed cells (1)" in page and "Run on a test box." in page
    command = f"onnx-workbench optimize {tmp_path}/legacy/cnn.onnx --pass quantize-static --set samples=8"
    assert command in page
    assert "- transformer-fusion: no attention (MatMul into Softmax) to fuse — legacy/cnn" in lines


def test_cells_round_trip_through_their_cache_form():
    cell = _cells()[2]
    assert report.Cell.from_dict({**cell.to_dict(), "from_a_newer_run": 1}) == cell


def test_the_corpus_index_lists_failed_exports_with_their_reason(tmp_path):
    (tmp_path / "legacy").mkdir()
    ok = {"name": "cnn", "exporter": "legacy", "file": "legacy/cnn.onnx", "status": "ok", "opset": 9, "ir_version": 4,
          "bytes": 2_500_000, "nodes": 8, "weights_as_inputs": 12, "external_data": [], "notes": []}
    bad = {"name": "rnn", "exporter": "legacy", "file": "legacy/rnn.onnx", "status": "failed", "reason": "opset 9: no | symbolic"}
    for record in (ok, bad):
        (tmp_path / "legacy" / f"{record['name']}.json").write_text(json.dumps(record))
    text = corpus_index.write_index(tmp_path).read_text()
    assert "| `legacy/cnn.onnx` | legacy | 9 | 4 | 2.5 MB | 8 | 12 | ok |  |" in text
    assert "| `legacy/rnn.onnx` | legacy |  |  |  |  |  | **export failed** | opset 9: no \\| symbolic |" in text


def _corpus(tmp_path: Path) -> Path:
    corpus = tmp_path / "models"
    (corpus / "legacy").mkdir(parents=True)
    # Today's layout: the run is under test here, not the passes' handling of legacy quirks.
    onnx.save(cnn(legacy=False), corpus / "legacy" / "cnn.onnx")
    (corpus / "legacy" / "cnn.json").write_text(json.dumps({"name": "cnn", "exporter": "legacy", "file": "legacy/cnn.onnx", "status": "ok"}))
    return corpus


def _coverage(corpus: Path, *args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, str(ROOT / "benchmarks" / "coverage.py"), "--corpus", str(corpus), "--out", str(corpus.parent / "coverage.md"), *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=240, check=True)


def test_a_run_fills_cells_in_workers_caches_them_and_writes_the_page(tmp_path):
    corpus = _corpus(tmp_path)
    first = _coverage(corpus, "--passes", "fold-batchnorm", "transformer-fusion", "--runs", "1", "--samples", "1")
    assert "legacy/cnn                   fold-batchnorm       ok" in first.stdout
    page = (tmp_path / "coverage.md").read_text()
    # Refusals come from the rules for every pass; the applicable passes not run are counted apart.
    assert "1 models × 6 passes: 1 ok, 5 refused, 0 failed" in page
    assert "**Partial: 9 applicable cells have not run yet.**" in page
    cached = json.loads((tmp_path / "coverage-cache" / "legacy__cnn__fold-batchnorm.json").read_text())
    assert cached["cell"]["nodes_before"] == 8 and cached["cell"]["nodes_after"] == 6
    assert cached["cell"]["cosine"] > 0.9999
    again = _coverage(corpus, "--passes", "fold-batchnorm", "--runs", "1", "--samples", "1", "--timeout", "0.01")
    assert "ok" in again.stdout.splitlines()[0]  # from the cache: the tiny time limit never applied


def test_a_cell_that_runs_out_of_time_is_one_failed_cell_logged_for_others(tmp_path):
    corpus = _corpus(tmp_path)
    log = tmp_path / "failures.md"
    _coverage(corpus, "--passes", "fold-batchnorm", "--timeout", "0.01", "--failures-log", str(log))
    cell = json.loads((tmp_path / "coverage-cache" / "legacy__cnn__fold-batchnorm.json").read_text())["cell"]
    assert cell["status"] == "failed" and "did not finish within" in cell["reason"]
    assert "**legacy/cnn × fold-batchnorm**" in log.read_text()


def test_cells_run_side_by_side_and_each_is_reported_once(tmp_path):
    corpus = _corpus(tmp_path)
    done = _coverage(corpus, "--passes", "fold-batchnorm", "cleanup", "--runs", "1", "--samples", "1", "--jobs", "2")
    reported = sorted(line.split()[1] for line in done.stdout.splitlines() if line.startswith("legacy/cnn"))
    assert reported == ["cleanup", "fold-batchnorm"]
    assert "2 cells in" in done.stdout and "2 at a time" in done.stdout
    for name in reported:
        assert json.loads((tmp_path / "coverage-cache" / f"legacy__cnn__{name}.json").read_text())["cell"]["status"] == "ok"
