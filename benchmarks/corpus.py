"""Build the real-model corpus: real architectures with seeded random weights, exported by torch.

Two exporters, the two kinds of file people bring:

- legacy: the TorchScript exporter (`dynamo=False`) at opset 9-11 with every weight also listed
  as a graph input (`keep_initializers_as_inputs=True`), the way the ONNX model zoo's CNNs look;
  static 1x3xHxW input. The lowest opset the model exports at is used, and why a lower one
  did not work is recorded.
- dynamo: the `torch.export` based exporter at opset 18, weights in external data (its default
  when given a file name), with dynamic batch (and sequence) axes where the export allows them.

Each model is written to OUT/<exporter>/<name>.onnx next to a record <name>.json (the
exporter's figures, or the reason the export failed); OUT/INDEX.md lists them all. A model
whose record exists is skipped, so an interrupted build resumes where it stopped.

Needs the optional extra `corpus` (torch CPU, torchvision, transformers); the rest of the
project never imports this module. Heavy: run it under `flock /tmp/heavy.lock` on a shared box.

    python benchmarks/corpus.py [--out /work/corpus/models] [--exporter legacy|dynamo] [--only NAME ...]
"""
from __future__ import annotations

import argparse
import json
import re
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from corpus_index import write_index  # noqa: E402  (benchmarks/ is this script's folder)

SEED = 0
IMAGE = (1, 3, 224, 224)


@dataclass(frozen=True)
class Example:
    """What an exporter needs besides the module: inputs, their names, the output names and dynamic axes."""

    args: tuple[Any, ...]
    input_names: list[str]
    output_names: list[str]
    # input name -> {axis: dim name}; used for the dynamo exporter only.
    dynamic: dict[str, dict[int, str]] = field(default_factory=dict)


@dataclass(frozen=True)
class CorpusModel:
    """One corpus entry: a name, the exporter, the opsets to try in order and a builder."""

    name: str
    exporter: str  # "legacy" or "dynamo"
    opsets: tuple[int, ...]
    build: Callable[[], tuple[Any, Example]]


# --- builders (torch imported lazily: listing the corpus must not need it) -----------------------


def _torchvision(name: str, size: int = 224, **kwargs: Any) -> Callable[[], tuple[Any, Example]]:
    def build() -> tuple[Any, Example]:
        import torch
        import torchvision

        torch.manual_seed(SEED)
        model = getattr(torchvision.models, name)(weights=None, **kwargs).eval()
        image = torch.randn(IMAGE[0], IMAGE[1], size, size)
        return model, Example((image,), ["input"], ["output"], {"input": {0: "batch"}})

    return build


def _single_output(model: Any, output: str) -> Any:
    """Wrap a transformers model so the export takes ids and mask and returns one tensor."""
    import torch

    class SingleOutput(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, input_ids: Any, attention_mask: Any) -> Any:
            return getattr(self.model(input_ids=input_ids, attention_mask=attention_mask, return_dict=True), output)

    return SingleOutput().eval()


def _transformer(config_name: str, model_name: str, output: str, **config: Any) -> Callable[[], tuple[Any, Example]]:
    def build() -> tuple[Any, Example]:
        import torch
        import transformers

        torch.manual_seed(SEED)
        cfg = getattr(transformers, config_name)(**config)
        model = getattr(transformers, model_name)(cfg).eval()
        # Batch 2 and sequence 16 in the example: sizes 0 and 1 would be specialised by torch.export.
        ids = torch.randint(0, cfg.vocab_size, (2, 16))
        mask = torch.ones(2, 16, dtype=torch.int64)
        axes = {0: "batch", 1: "sequence"}
        example = Example((ids, mask), ["input_ids", "attention_mask"], [output], {"input_ids": axes, "attention_mask": axes})
        return _single_output(model, output), example

    return build


LEGACY_OPSETS = (9, 10, 11)
DYNAMO_OPSETS = (18,)

MODELS: list[CorpusModel] = [
    # Cheap and most needed first: the CNNs of the model zoo's era, legacy exporter.
    CorpusModel("resnet50", "legacy", LEGACY_OPSETS, _torchvision("resnet50")),
    CorpusModel("densenet121", "legacy", LEGACY_OPSETS, _torchvision("densenet121")),
    CorpusModel("squeezenet1_1", "legacy", LEGACY_OPSETS, _torchvision("squeezenet1_1")),
    CorpusModel("mobilenet_v2", "legacy", LEGACY_OPSETS, _torchvision("mobilenet_v2")),
    CorpusModel("shufflenet_v2_x1_0", "legacy", LEGACY_OPSETS, _torchvision("shufflenet_v2_x1_0")),
    CorpusModel("inception_v3", "legacy", LEGACY_OPSETS, _torchvision("inception_v3", size=299, aux_logits=False, init_weights=True)),
    CorpusModel("mobilenet_v3_large", "legacy", LEGACY_OPSETS, _torchvision("mobilenet_v3_large")),
    CorpusModel("efficientnet_b0", "legacy", LEGACY_OPSETS, _torchvision("efficientnet_b0")),
    CorpusModel("vgg11_bn", "legacy", LEGACY_OPSETS, _torchvision("vgg11_bn")),
    # Today's exporter: transformers first (the passes for them need these most).
    CorpusModel("gpt2", "dynamo", DYNAMO_OPSETS, _transformer("GPT2Config", "GPT2LMHeadModel", "logits", use_cache=False)),
    CorpusModel("bert_base", "dynamo", DYNAMO_OPSETS, _transformer("BertConfig", "BertModel", "last_hidden_state")),
    CorpusModel("distilbert", "dynamo", DYNAMO_OPSETS, _transformer("DistilBertConfig", "DistilBertModel", "last_hidden_state")),
    CorpusModel("resnet50", "dynamo", DYNAMO_OPSETS, _torchvision("resnet50")),
    CorpusModel("vit_b_16", "dynamo", DYNAMO_OPSETS, _torchvision("vit_b_16")),
    CorpusModel("convnext_tiny", "dynamo", DYNAMO_OPSETS, _torchvision("convnext_tiny")),
    # t5-small's sizes; the encoder alone (what people export for embeddings and retrieval).
    # Eager attention: with transformers' default (sdpa) torch 2.14's decomposition fails
    # ("Cannot view a tensor with shape [2, 16, 8, 64] and strides ... as (2, 16, 512)").
    CorpusModel(
        "t5_encoder", "dynamo", DYNAMO_OPSETS,
        _transformer("T5Config", "T5EncoderModel", "last_hidden_state", attn_implementation="eager"),
    ),
    # A small Llama: grouped-query attention, RMSNorm, rotary embeddings, SwiGLU.
    CorpusModel(
        "llama_small",
        "dynamo",
        DYNAMO_OPSETS,
        _transformer(
            "LlamaConfig",
            "LlamaForCausalLM",
            "logits",
            hidden_size=512,
            intermediate_size=1376,
            num_hidden_layers=4,
            num_attention_heads=8,
            num_key_value_heads=2,
            vocab_size=32000,
            max_position_embeddings=2048,
            use_cache=False,
        ),
    ),
]


# --- export ----------------------------------------------------------------------------------------


def export_legacy(model: Any, example: Example, path: Path, opset: int) -> None:
    """The TorchScript exporter, weights also listed as graph inputs (the model zoo's layout).

    Without constant folding, as the zoo's files were made: with it the exporter folds every
    BatchNormalization into its Conv itself (its eval peephole), hiding the quirk that matters.
    """
    import torch

    torch.onnx.export(
        model,
        example.args,
        str(path),
        dynamo=False,
        opset_version=opset,
        keep_initializers_as_inputs=True,
        do_constant_folding=False,
        input_names=example.input_names,
        output_names=example.output_names,
    )


def export_dynamo(model: Any, example: Example, path: Path, opset: int) -> str:
    """The torch.export based exporter, called as users call it (a file name: the weights go to
    external data, the exporter's default); returns a note when the dynamic axes were refused."""
    import torch

    # A tuple in input order: a dict would have to use forward()'s argument names.
    dynamic = tuple(
        {axis: torch.export.Dim(dim, min=1, max=4096) for axis, dim in example.dynamic.get(name, {}).items()}
        for name in example.input_names
    )
    names = {"input_names": example.input_names, "output_names": example.output_names}
    # torch.export specialises a dimension of size 1: trace a dynamic batch with two samples.
    args = tuple(
        torch.cat([arg, arg]) if 0 in example.dynamic.get(name, {}) and arg.shape[0] == 1 else arg
        for name, arg in zip(example.input_names, example.args)
    )
    try:
        torch.onnx.export(model, args, str(path), dynamo=True, opset_version=opset, dynamic_shapes=dynamic, **names)
        return ""
    except Exception as exc:  # noqa: BLE001 - fall back to static shapes, recording why
        torch.onnx.export(model, example.args, str(path), dynamo=True, opset_version=opset, **names)
        return f"static shapes (dynamic axes refused: {_first_line(exc)})"


def build_one(entry: CorpusModel, out: Path) -> dict[str, Any]:
    """Export one corpus model and return its record (figures, or the reason it failed)."""
    folder = out / entry.exporter
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{entry.name}.onnx"
    record: dict[str, Any] = {"name": entry.name, "exporter": entry.exporter, "file": str(path.relative_to(out))}
    started = time.perf_counter()
    tried: list[str] = []
    try:
        model, example = entry.build()
    except Exception as exc:  # noqa: BLE001 - a model that cannot even be built is recorded
        return {**record, "status": "failed", "reason": f"building the torch model failed: {_first_line(exc)}"}
    for opset in entry.opsets:
        try:
            if entry.exporter == "legacy":
                export_legacy(model, example, path, opset)
                note = ""
            else:
                note = export_dynamo(model, example, path, opset)
        except Exception as exc:  # noqa: BLE001 - try the next opset; keep every reason
            tried.append(f"opset {opset}: {_first_line(exc)}")
            traceback.print_exc(limit=3)
            continue
        notes = [note] if note else []
        if tried:
            notes.append("lower opsets refused: " + "; ".join(tried))
        return {**record, **_file_facts(path), "status": "ok", "seconds": round(time.perf_counter() - started, 1), "notes": notes}
    return {**record, "status": "failed", "reason": "; ".join(tried)}


def _file_facts(path: Path) -> dict[str, Any]:
    import onnx

    proto = onnx.load(str(path), load_external_data=False)
    initializers = {t.name for t in proto.graph.initializer}
    external = sorted({e.value for t in proto.graph.initializer for e in t.external_data if e.key == "location"})
    size = path.stat().st_size + sum((path.parent / name).stat().st_size for name in external)
    return {
        "opset": next((o.version for o in proto.opset_import if o.domain in ("", "ai.onnx")), None),
        "ir_version": proto.ir_version,
        "bytes": size,
        "external_data": external,
        "nodes": len(proto.graph.node),
        "weights_as_inputs": sum(1 for i in proto.graph.input if i.name in initializers),
    }


def _first_line(exc: BaseException) -> str:
    """The first line of the root cause (torch wraps it in "Failed to export ... step 1/3"), no colours."""
    while exc.__cause__ is not None:
        exc = exc.__cause__
    text = re.sub(r"\x1b\[[0-9;]*m", "", str(exc))
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    text = lines[0] if lines else type(exc).__name__
    return (text[:300] + "...") if len(text) > 300 else text


def main(argv: list[str] | None = None) -> int:
    """Export the corpus models that have no record yet, then rewrite INDEX.md."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("/work/corpus/models"))
    parser.add_argument("--exporter", choices=("legacy", "dynamo"), help="only this exporter's models")
    parser.add_argument("--only", nargs="*", default=[], help="only these model names")
    parser.add_argument("--force", action="store_true", help="export again even where a record exists")
    args = parser.parse_args(argv)
    for entry in MODELS:
        if (args.exporter and entry.exporter != args.exporter) or (args.only and entry.name not in args.only):
            continue
        record_path = args.out / entry.exporter / f"{entry.name}.json"
        if record_path.exists() and not args.force:
            continue
        print(f"== {entry.exporter}/{entry.name}", flush=True)
        record = build_one(entry, args.out)
        record_path.write_text(json.dumps(record, indent=1))
        print(f"   {record['status']}: {record.get('reason') or record.get('seconds')}", flush=True)
        write_index(args.out)
    write_index(args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
