"""The original an imported network is checked against: the file itself, run by its own runtime (the exported
program in PyTorch eager for a ``.pt2``, ONNX Runtime for an ``.onnx``), with every value the rebuilt layers
correspond to.

The importers tag each node of a description with ``origin``, the name of the value it reproduces in the file
(an exported node's name, an ONNX value's name); ``layer_origins`` turns that into {layer name: origin} with
the layer names the traced table gives. ``original(path, fmt, origins)`` then runs the file one image at a
time (a program exported for one image takes only one) and returns those values by layer.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import fx

from app.nets.graphspec import GraphConfig

Original = Callable[[torch.Tensor], dict[str, torch.Tensor]]  # normalised input (N, C, H, W) -> {layer: output}


def layer_origins(cfg: GraphConfig) -> dict[str, str]:
    """{layer name: the file's value it reproduces}, for the layers that reproduce one. Layer names follow
    ``app.nets.graph.trace``: a module's path (``path@2`` for its second call), a function's node name."""
    calls: dict[str, int] = {}
    found: dict[str, str] = {}
    for spec in cfg.nodes:
        if spec["call"] == "module":
            target = str(spec["target"])
            calls[target] = calls.get(target, 0) + 1
            name = target if calls[target] == 1 else f"{target}@{calls[target]}"
        elif spec["call"] == "function":
            name = spec["name"]
        else:
            continue  # the input and loose tensors
        if spec.get("origin"):
            found[name] = str(spec["origin"])
    return found


class _Recorder(fx.Interpreter):
    """Runs a graph module node by node, keeping the values of the nodes named in ``wanted``."""

    def __init__(self, module: fx.GraphModule, wanted: set[str]) -> None:
        super().__init__(module)
        self.wanted = wanted
        self.seen: dict[str, Any] = {}

    def run_node(self, n: fx.Node) -> Any:
        value = super().run_node(n)
        if n.name in self.wanted:  # an operator returning a tuple (a pool's maxima and indices): its first
            self.seen[n.name] = value[0] if isinstance(value, list | tuple) else value
        return value


def _pt2(path: Path, origins: dict[str, str]) -> Original:
    from app.importing import archive

    module = archive.load(path).module()  # the exported graph, run eagerly (aten operators)
    wanted = set(origins.values())

    def run(x: torch.Tensor) -> dict[str, torch.Tensor]:
        rows = []
        with torch.no_grad():
            for row in x.split(1):
                recorder = _Recorder(module, wanted)
                output = recorder.run(row)
                rows.append({**recorder.seen, "": output[0] if isinstance(output, list | tuple) else output})
        return _stack(rows, origins)

    return run


def _onnx(path: Path, origins: dict[str, str]) -> Original:
    import onnx
    import onnxruntime as ort

    from app.importing.onnx_file import read

    model = read(path)  # checked, with any weights kept beside it read in
    final = model.graph.output[0].name
    known = {o.name for o in model.graph.output}
    for name in dict.fromkeys(origins.values()):
        if name not in known:
            model.graph.output.append(onnx.ValueInfoProto(name=name))
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    session = ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])
    names = [o.name for o in session.get_outputs()]
    given = session.get_inputs()[0].name

    def run(x: torch.Tensor) -> dict[str, torch.Tensor]:
        rows = []
        for row in x.split(1):
            values = dict(zip(names, session.run(names, {given: row.numpy()}), strict=True))
            rows.append({**values, "": values[final]})
        return _stack(rows, origins)

    return run


def _stack(rows: list[dict[str, Any]], origins: dict[str, str]) -> dict[str, torch.Tensor]:
    """One image's values at a time -> {layer: (N, ...)}, the output under ``""``."""

    def cat(key: str) -> torch.Tensor:
        return torch.cat([torch.as_tensor(np.asarray(r[key])) if not isinstance(r[key], torch.Tensor) else r[key]
                          for r in rows])  # fmt: skip

    return {**{layer: cat(origin) for layer, origin in origins.items()}, "": cat("")}


def original(path: Path, fmt: str, origins: dict[str, str]) -> Original:
    """The file run by its own runtime: normalised input (N, C, H, W) -> {layer: the file's value for it}, and
    the file's output under ``""``. Only called after the importer accepted the file."""
    return _pt2(path, origins) if fmt == "pt2" else _onnx(path, origins)


def relative_error(ours: torch.Tensor, theirs: torch.Tensor) -> float:
    """The largest difference relative to the original's largest magnitude (at least 1e-6, so a layer that is
    all but zero is compared absolutely)."""
    if ours.shape != theirs.shape:
        return float("inf")
    scale = max(float(theirs.abs().max()) if theirs.numel() else 0.0, 1e-6)
    return float((ours.double() - theirs.double()).abs().max()) / scale if ours.numel() else 0.0
