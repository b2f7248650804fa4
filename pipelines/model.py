"""Model I/O: load with validation, save atomically.

`load_model` refuses a bad file with one sentence (what, which file, what to do) and never
opens anything outside the model's folder; `save_model` writes a temp file in the target
folder and renames it, keeps large tensors in a data file beside the model and refuses to
write over the file a model was loaded from.
"""
from __future__ import annotations

import math
import os
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import onnx
from google.protobuf.message import DecodeError

from onnx_workbench.pipelines import quirks
from onnx_workbench.pipelines.errors import ModelRefused, WorkbenchError
from onnx_workbench.pipelines.model_graphs import FileVersion, file_version, graph_without_weights, kept_graph, remember_graph
from onnx_workbench.pipelines.safe_write import atomic_path, check_targets, source_files
from onnx_workbench.pipelines.staging import staged_model
from onnx_workbench.pipelines.weights_in_file import parse_leaving_weights
from onnx_workbench.pipelines.validation import (
    check_external_data,
    check_graph_structure,
    check_element_types,
    check_initializers,
    check_versions,
    disk_size,
    expected_data_bytes,
    external_tensors,
    iter_graphs,
    short,
    tensor_bytes,
)

if TYPE_CHECKING:
    import onnx_ir

# Models whose tensors exceed this are saved with external data by default; protobuf caps a
# single message at 2 GB, so we stay well below it.
EXTERNAL_DATA_THRESHOLD_BYTES = 1 << 30
# protobuf cannot serialize or parse one message of 2 GiB or more.
PROTOBUF_LIMIT_BYTES = (1 << 31) - 1
# Above this, shape inference runs from the file (infer_shapes_path) instead of serializing a copy.
IN_MEMORY_INFERENCE_LIMIT_BYTES = 1 << 30
# A graph-only load still reads external tensors up to this size: shapes, axes and other small
# constants that shape inference and analysis read (they evaluate tensors of up to 1024
# elements), never weights.
SMALL_TENSOR_BYTES = 64 << 10
# Tensors smaller than this stay inside the model file when saving with external data.
EXTERNAL_DATA_MIN_TENSOR_BYTES = 1024

# File versions (pipelines.model_files.file_version) that passed every check of load_model in
# this process. A step loads its source and target several times (the pass, the diff, the
# measures, verification); on a model with inline weights the tensor-data check and onnx's
# checker cost seconds each time and would give the same answer.
_validated: set[FileVersion] = set()


@dataclass
class LoadedModel:
    """A validated model and what we learned while loading it.

    With `weights_loaded`, `proto` holds every tensor's data in memory (external data is read
    in after its location was checked); without, external tensors over SMALL_TENSOR_BYTES are
    still references into their data files (a graph-only load). `size_bytes` is the model file
    plus its external data files on disk.
    """

    path: Path
    proto: onnx.ModelProto
    size_bytes: int
    has_external_data: bool = False
    warnings: list[str] = field(default_factory=list)
    opsets: dict[str, int] = field(default_factory=dict)
    data_files: list[Path] = field(default_factory=list)
    # Tensors the file itself annotates (graph.value_info before shape inference added more).
    declared_value_info: frozenset[str] = frozenset()
    # What pipelines.quirks normalised in memory (weights out of the inputs, folded constants...).
    notes: list[str] = field(default_factory=list)
    weights_loaded: bool = True

    def save(self, path: str | os.PathLike[str], *, external_data: bool | None = None) -> Path:
        """Save this model elsewhere; writing over the file it came from is refused."""
        if not self.weights_loaded:
            raise WorkbenchError(f"{short(self.path.name)} was opened without its weights; load it with weights to save it.")
        return save_model(self.proto, path, external_data=external_data, source=self.path)


def load_model(
    path: str | os.PathLike[str],
    *,
    infer_shapes: bool = True,
    weights: bool = True,
    normalize: bool = True,
    inline_weights: bool = True,
) -> LoadedModel:
    """Load, validate, normalise exporter quirks and shape-infer a model; ModelRefused if it is bad.

    weights=False is the graph-only load for analysis, diffs and the window: external tensors
    over SMALL_TENSOR_BYTES are never read. With it, inline_weights=False (the window's open)
    leaves the weights inside the .onnx over SMALL_TENSOR_BYTES unread too: they become
    references into the model file itself (pipelines.weights_in_file), read on demand like
    external data. Either way every check runs before any external data is read, the checker
    sees stand-ins of the weights and shape inference sees the graph without its big weights.
    normalize: apply pipelines.quirks (in memory only) so every pass and analysis sees weights
    as constants; False gives the file's graph as written (diffs against the file, exports).
    The checks that read every weight (tensor data, onnx.checker) run once per file version
    in a process: a step loads the same files several times.
    """
    path = Path(path)
    label = short(path.name)
    _check_file(path, label)
    version = file_version(path)  # before the read: a file rewritten meanwhile is never taken for this parse
    parsed = None if weights or inline_weights else parse_leaving_weights(path, SMALL_TENSOR_BYTES)
    proto, left_in_file = parsed if parsed is not None else (_parse(path, label), [])
    _check_complete(proto, label)
    # Later questions about this file (its size, data files, inputs, float16) then parse nothing.
    remember_graph(version, _inline_again(proto, left_in_file))
    warnings: list[str] = []
    check_versions(proto, label)
    resorted = check_graph_structure(proto.graph, label)
    if resorted:
        warnings.append("Nodes were not in topological order; they were re-sorted in memory.")
    check_element_types(proto, label)
    checked_before = version in _validated
    if not checked_before:
        check_initializers(proto, label)
    # Every time: the data files may have changed since (and this only stats them).
    data_files = [f for f in check_external_data(proto, path.parent, label) if not left_in_file or f != path.resolve()]
    if not checked_before:
        _run_checker(proto, label)
        _validated.add(version)
    # Small external tensors (shapes, axes) before normalising and inference, which read them.
    read_external_tensors(proto, path.parent, max_bytes=SMALL_TENSOR_BYTES)
    if normalize:
        notes = _normalize(proto, path.parent)
        remember_graph(version, _inline_again(proto, left_in_file), normalized=True)  # what load_graph gives
    else:
        notes = []
    declared = frozenset(v.name for v in proto.graph.value_info)
    if infer_shapes:
        proto = _infer_shapes(proto, path, warnings)
    if weights:
        read_external_tensors(proto, path.parent)
    return LoadedModel(
        path=path,
        proto=proto,
        size_bytes=disk_size(path, data_files),
        has_external_data=bool(data_files),
        warnings=warnings,
        opsets={(o.domain or "ai.onnx"): o.version for o in proto.opset_import},
        data_files=data_files,
        declared_value_info=declared,
        notes=notes,
        weights_loaded=weights or not (data_files or left_in_file),
    )


def _inline_again(proto: onnx.ModelProto, left_in_file: list[str]) -> onnx.ModelProto:
    """`proto`, or when weights were left in its file, a weightless copy that shows them inline, as the file does.

    Kept graphs (pipelines.model_graphs) answer what the file holds, whoever parsed it.
    """
    if not left_in_file:
        return proto
    copy = graph_without_weights(proto)
    names = set(left_in_file)
    for tensor in copy.graph.initializer:
        if tensor.name in names and tensor.data_location == onnx.TensorProto.EXTERNAL:
            del tensor.external_data[:]
            tensor.ClearField("data_location")
    return copy


def load_graph(path: str | os.PathLike[str]) -> onnx.ModelProto:
    """What `load_model(path, infer_shapes=False, weights=False)` gives, without the data of any weight over 1 KiB.

    For what the graph says (inputs, types, ops, weight shapes): once a step has loaded the
    file (same file version, same process), this parses nothing again.
    """
    path = Path(path)
    try:
        kept = kept_graph(file_version(path), normalized=True)
    except OSError:
        kept = None  # a missing file: load_model refuses it in its words
    return kept if kept is not None else graph_without_weights(load_model(path, infer_shapes=False, weights=False).proto)


def _normalize(proto: onnx.ModelProto, folder: Path) -> list[str]:
    """onnx_workbench.pipelines.quirks.normalize on a model whose weights may still be in their data files.

    Its constant folding reads the weights a folded node takes (through onnx-ir, which knows no
    model folder), so the external locations are absolute while it runs, relative again after
    (walked anew: an opset upgrade replaces the whole protobuf).
    """
    pin_external_locations(proto, folder)
    try:
        return quirks.normalize(proto)
    finally:
        root = folder.resolve()
        for tensor in external_tensors(proto):
            for entry in tensor.external_data:
                if entry.key == "location" and Path(entry.value).is_absolute():
                    entry.value = Path(entry.value).relative_to(root).as_posix()


def read_external_tensors(model: onnx.ModelProto, folder: Path, *, max_bytes: int | None = None) -> int:
    """Read external tensors (only those up to `max_bytes`, if given) into the protobuf; returns the bytes read.

    The locations must have been checked with check_external_data: this opens what they name.
    """
    read = 0
    for tensor in list(external_tensors(model)):
        info = {entry.key: entry.value for entry in tensor.external_data}
        length = int(info["length"]) if "length" in info else expected_data_bytes(tensor)
        if max_bytes is not None and length > max_bytes:
            continue
        with (folder / info["location"].replace("\\", "/")).open("rb") as data:
            data.seek(int(info.get("offset", 0)))
            values = data.read(length)
        del tensor.external_data[:]
        tensor.data_location = onnx.TensorProto.DEFAULT
        tensor.raw_data = values
        read += len(values)
    return read


def pin_external_locations(model: onnx.ModelProto, folder: Path) -> None:
    """Point every external tensor of a graph-only load at its data file by absolute path.

    For tools that read tensors one at a time without knowing the model's folder (ONNX
    Runtime's weight quantizer, onnxscript's constant folder, both through onnx-ir): they then
    never need all the weights in memory. The locations were checked by `load_model`; nothing
    is saved with them (saving streams the tensors into a new data file with a relative
    location).
    """
    for tensor in external_tensors(model):
        for entry in tensor.external_data:
            if entry.key == "location":
                entry.value = str((folder / entry.value.replace("\\", "/")).resolve())


def _check_file(path: Path, label: str) -> None:
    if not path.exists():
        shown = str(path) if len(str(path)) <= 120 else "…" + str(path)[-119:]  # keep the file name
        raise ModelRefused(f"{short(shown, 120)}: no such file; check the path.")
    if path.is_dir():
        raise ModelRefused(f"{label} is a folder, not a model file; choose the .onnx file inside it.")
    size = path.stat().st_size
    if size == 0:
        raise ModelRefused(f"{label} is empty (0 bytes); export or download the model again.")
    if size > PROTOBUF_LIMIT_BYTES:
        raise ModelRefused(
            f"{label} is a single protobuf over 2 GB, which ONNX cannot read; save it with external data."
        )


def _parse(path: Path, label: str) -> onnx.ModelProto:
    """Parse the protobuf without external data, telling 'not ONNX' from 'damaged ONNX'."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ModelRefused(f"{label} cannot be read ({exc.strerror or exc}); check its permissions.") from exc
    try:
        proto = onnx.ModelProto.FromString(data)
    except DecodeError:
        # A ModelProto starts with ir_version (field 1, varint: tag byte 0x08) in every writer
        # we know of; a file that starts like one but does not parse has been cut or damaged.
        if data[:1] == b"\x08":
            raise ModelRefused(
                f"{label} is truncated or damaged (its ONNX protobuf does not parse); copy or export it again."
            ) from None
        raise ModelRefused(
            f"{label} is not an ONNX model (it is not an ONNX protobuf); choose a .onnx file."
        ) from None
    return proto


def _check_complete(proto: onnx.ModelProto, label: str) -> None:
    """Refuse a parsed protobuf that is not a whole ONNX model (no graph, no IR version)."""
    if not proto.HasField("graph"):
        if proto.ir_version == 0 and not proto.opset_import:
            # Arbitrary bytes sometimes parse as an empty protobuf with unknown fields.
            raise ModelRefused(f"{label} is not an ONNX model (it holds no ONNX fields); choose a .onnx file.")
        raise ModelRefused(f"{label} holds no graph, so there is nothing to open; export the full model.")
    if proto.ir_version == 0:
        raise ModelRefused(f"{label} has no IR version, so it is not a complete ONNX model; export it again.")


def _run_checker(proto: onnx.ModelProto, label: str) -> None:
    """onnx.checker on `_weightless_copy(proto)`, its refusal in one sentence."""
    try:
        onnx.checker.check_model(_weightless_copy(proto), full_check=False)
    except onnx.checker.ValidationError as exc:
        text = str(exc).strip().splitlines()[0] if str(exc).strip() else "unknown problem"
        # The checker may write several sentences; keep ours one sentence.
        reason = short(text.replace(". ", "; "))
        raise ModelRefused(
            f"{label} failed ONNX validation ({reason.rstrip('.')}); fix or re-export the model."
        ) from exc


def _weightless_copy(proto: onnx.ModelProto) -> onnx.ModelProto:
    """A copy of `proto` for onnx.checker: every weight over 1 KiB and every external tensor a one-element stand-in.

    The checker reads a weight's data only to compare its size with its dims, which
    check_initializers has done; given the file instead, it parses every weight again (0.3 s
    of the open of a 100 MB CNN with inline weights), and given the whole protobuf it
    serializes them twice. Given a protobuf, it resolves external data against the working
    directory, hence stand-ins for those too (check_external_data checked them). The copy
    keeps our node order, which matters when check_graph_structure re-sorted the nodes. It
    is checked without full_check, so the stand-ins' dims are compared with nothing.
    """
    copy = graph_without_weights(proto)
    stand_ins = [t for t in copy.graph.initializer if _data_left_out(t)]
    for tensor in [*stand_ins, *external_tensors(copy)]:
        del tensor.external_data[:]
        tensor.data_location = onnx.TensorProto.DEFAULT
        tensor.dims[:] = [1] * len(tensor.dims)
        tensor.raw_data = bytes(expected_data_bytes(tensor))
    return copy


def _data_left_out(tensor: onnx.TensorProto) -> bool:
    # graph_without_weights keeps name, type and dims of a weight it leaves out; a tensor with
    # elements and nothing else is one of those (a stored one without data was refused before).
    fields = {field.name for field, _ in tensor.ListFields()}
    return fields <= {"name", "data_type", "doc_string", "dims"} and math.prod(tensor.dims) > 0


def _infer_shapes(proto: onnx.ModelProto, path: Path, warnings: list[str]) -> onnx.ModelProto:
    """Shape inference that keeps symbolic dims; failures become a warning, never a refusal.

    It runs on a copy without the data of big inline weights (it reads their types and dims,
    and the values of small constants only): onnx's inference serializes the model it is
    given and parses its answer, which on a 530 MB model with inline weights cost 14 s.
    """
    try:
        # Serialized once and measured by its length: ByteSize() and the serializing inside
        # infer_shapes each walked the whole protobuf holding the interpreter lock (~10 and
        # ~7 ms on BERT-base), which the window's thread waits for when a version is loaded.
        serialized = graph_without_weights(proto, SMALL_TENSOR_BYTES).SerializeToString()
        if len(serialized) < IN_MEMORY_INFERENCE_LIMIT_BYTES:
            inferred = onnx.shape_inference.infer_shapes(serialized, strict_mode=False, data_prop=True)
            _take_inferred_types(inferred, proto)
            return proto
        return _infer_shapes_from_file(proto, path)
    except Exception as exc:  # noqa: BLE001 - an inference bug must not stop the model opening
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        warnings.append(f"Shape inference failed ({short(first)}); intermediate shapes are unknown.")
        return proto


def _take_inferred_types(inferred: onnx.ModelProto, proto: onnx.ModelProto) -> None:
    """Copy what inference adds (value_info, output types) from `inferred` into `proto`, graph by graph.

    Inference neither adds nor moves nodes, so both walk their subgraphs in the same order.
    """
    for ours, theirs in zip(iter_graphs(proto.graph), iter_graphs(inferred.graph), strict=True):
        for name in ("value_info", "output"):
            del getattr(ours, name)[:]
            getattr(ours, name).extend(getattr(theirs, name))


def _infer_shapes_from_file(proto: onnx.ModelProto, path: Path) -> onnx.ModelProto:
    # Big single-file models: let onnx infer from the path (no 2 GB serialization) and copy the
    # inferred value_info back into our protobuf.
    with tempfile.TemporaryDirectory(prefix="onnx-workbench-infer-") as folder:
        out = Path(folder) / "inferred.onnx"
        onnx.shape_inference.infer_shapes_path(str(path), str(out), strict_mode=False, data_prop=True)
        inferred = onnx.load(str(out), load_external_data=False)
    del proto.graph.value_info[:]
    proto.graph.value_info.extend(inferred.graph.value_info)
    return proto


def save_model(
    model: onnx.ModelProto,
    path: str | os.PathLike[str],
    *,
    external_data: bool | None = None,
    source: str | os.PathLike[str] | None = None,
    overwrite_source: bool = False,
) -> Path:
    """Write `model` atomically; large tensors go to '<name>.data' beside it.

    external_data: True/False forces the layout; None uses external data when the tensors
    exceed 1 GB. source: the file the model was loaded from; writing over it (or its data
    file) is refused unless overwrite_source is True.
    """
    path = Path(path)
    if source is not None and not overwrite_source and _is_source(path, Path(source)):
        raise WorkbenchError(
            f"{short(path.name)} is the file this model was opened from and is never overwritten; save under a new name."
        )
    if source is not None and not overwrite_source:
        # Nor any file the source references: its data file may carry the name ours would get.
        check_targets([path, path.with_name(f"{path.name}.data")], source_files(source))
    tensor_bytes = _tensor_bytes(model)
    use_external = external_data if external_data is not None else tensor_bytes > EXTERNAL_DATA_THRESHOLD_BYTES
    if not use_external and tensor_bytes >= PROTOBUF_LIMIT_BYTES - (1 << 24):
        raise WorkbenchError(
            f"{short(path.name)} would be over 2 GB as one file, which ONNX cannot hold; save it with external data."
        )
    if use_external:
        _save_with_external_data(model, path)
    else:
        with atomic_path(path) as tmp:
            tmp.write_bytes(model.SerializeToString())
    return path


def _is_source(path: Path, source: Path) -> bool:
    if not source.exists() or not path.exists():
        return path.resolve() == source.resolve()
    return os.path.samefile(path, source)


def _tensor_bytes(model: onnx.ModelProto) -> int:
    return sum(tensor_bytes(t) for graph in iter_graphs(model.graph) for t in graph.initializer)


def _save_with_external_data(model: onnx.ModelProto, path: Path) -> None:
    """Model file plus '<name>.data', through onnx-ir (see `save_ir_model`).

    onnx-ir wraps the protobuf's tensors without copying them (onnx's own save strips raw data
    from the message it is given), so a 10 GB model is not doubled.
    """
    import onnx_ir

    save_ir_model(onnx_ir.serde.deserialize_model(model), path, external_data=True)


def ir_model(loaded: LoadedModel) -> onnx_ir.Model:
    """The onnx-ir model of a load; external tensors not read in are memory-mapped from their data files.

    The protobuf's in-memory tensors are wrapped, not copied. The data file locations were
    checked by `load_model`, so the memory maps cannot reach outside the model's folder.
    """
    import onnx_ir

    model = onnx_ir.serde.deserialize_model(loaded.proto)
    onnx_ir.external_data.set_base_dir(model.graph, loaded.path.parent)
    return model


def save_ir_model(
    model: onnx_ir.Model,
    path: str | os.PathLike[str],
    *,
    external_data: bool | None = None,
    edit: Callable[[onnx.ModelProto], None] | None = None,
) -> Path:
    """Write an onnx-ir model atomically; with external data, its tensors go to '<name>.data' beside it.

    The weights are streamed from where they are (memory, or the memory-mapped data file of the
    version they came from) into the new data file, once; only the graph is ever a protobuf, so
    no protobuf over 2 GB is built. external_data: as in `save_model`. `edit` may change the
    protobuf of the graph before it is written (e.g. drop annotations).
    """
    import onnx_ir

    path = Path(path)
    size = sum(v.const_value.nbytes for v in _ir_initializers(model) if v.const_value is not None)
    use_external = external_data if external_data is not None else size > EXTERNAL_DATA_THRESHOLD_BYTES
    if not use_external and size >= PROTOBUF_LIMIT_BYTES - (1 << 24):
        raise WorkbenchError(
            f"{short(path.name)} would be over 2 GB as one file, which ONNX cannot hold; save it with external data."
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    _release_memory_maps(model)
    with staged_model(path) as staged:
        if use_external:
            onnx_ir.external_data.unload_from_model(
                model, staged.parent, f"{path.name}.data", size_threshold_bytes=EXTERNAL_DATA_MIN_TENSOR_BYTES
            )
        proto = onnx_ir.serde.serialize_model(model)
        if edit is not None:
            edit(proto)
        staged.write_bytes(proto.SerializeToString())
    return path


def _release_memory_maps(model: onnx_ir.Model) -> None:
    # The pages a pass read through a memory map (hashing for dedup, say) stay in this process
    # while mapped; the save copies external tensors file to file in the kernel and needs none.
    import onnx_ir

    for value in _ir_initializers(model):
        if isinstance(value.const_value, onnx_ir.ExternalTensor):
            try:
                value.const_value.release()
            except BufferError:
                pass  # a numpy view of it is still alive: it stays mapped, nothing is lost


def _ir_initializers(model: onnx_ir.Model) -> Iterator[onnx_ir.Value]:
    for graph in (model.graph, *model.graph.subgraphs()):
        yield from graph.initializers.values()
