"""An ONNX model -> a network description of ordinary ``torch.nn`` modules.

Each ONNX operator a CNN classifier uses becomes the module or function torch would use for it: ``Conv`` an
``nn.Conv2d`` holding the file's weights, ``BatchNormalization`` an ``nn.BatchNorm2d``, ``Gemm`` with stored
weights an ``nn.Linear``, the pools, the activations, ``Flatten``/``Reshape`` to one vector per image a
flatten. Asymmetric padding becomes an explicit pad before the window. Layer names come from the exporter:
the module paths that torch's exporter records (``pkg.torch.onnx.name_scopes``, node names like
``/block/block.0/Conv``, weights named ``conv1.weight``), else the node's name.

Nothing in the file is run (``app.importing.onnx_file`` reads it); operators outside the table below are
refused with their name. Nodes computing only from stored tensors (shapes, axes) are folded by ONNX's
reference evaluator, which runs only ONNX's own operators.
"""

from __future__ import annotations

import ast
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from app.importing.emit import Emitter, ImportFailure, check_input
from app.importing.onnx_file import read
from app.nets import graphspec

Value = tuple[str, Any]  # ("node", emitted name) or ("const", np.ndarray)
LEAF_CLASSES = {  # a torch.nn class -> the ONNX operators torch's exporter writes for it
    "Conv2d": ("Conv",),
    "BatchNorm2d": ("BatchNormalization",),
    "BatchNorm1d": ("BatchNormalization",),
    "Linear": ("Gemm",),
    "MaxPool2d": ("MaxPool",),
    "AvgPool2d": ("AveragePool",),
    "AdaptiveAvgPool2d": ("GlobalAveragePool", "ReduceMean"),
    "AdaptiveMaxPool2d": ("GlobalMaxPool", "ReduceMax"),
    "ReLU": ("Relu",),
    "ReLU6": ("Clip",),
    "Sigmoid": ("Sigmoid",),
    "Tanh": ("Tanh",),
    "Flatten": ("Flatten",),
    "Softmax": ("Softmax",),
}


def _attrs(node: Any) -> dict[str, Any]:
    from onnx import helper

    return {a.name: helper.get_attribute_value(a) for a in node.attribute}


def _text(v: Any) -> Any:
    return v.decode() if isinstance(v, bytes) else v


class Converter:
    def __init__(self, model: Any, example: torch.Tensor, file: str) -> None:
        from onnx import numpy_helper

        self.model = model
        self.out = Emitter(example, {"format": "onnx", "file": file, "opset": self._opset()})
        self.values: dict[str, Value] = {t.name: ("const", numpy_helper.to_array(t)) for t in model.graph.initializer}
        self.numpy_helper = numpy_helper
        self.batch: int | None = None  # the batch size the model was exported with, when fixed

    def _opset(self) -> int:
        versions = [o.version for o in self.model.opset_import if o.domain in ("", "ai.onnx")]
        return int(versions[0]) if versions else 1

    # --- values -------------------------------------------------------------------------------------------

    def node_of(self, name: str, where: str) -> str:
        kind, value = self.values[name]
        if kind == "node":
            return value
        return self.out.tensor(name, torch.from_numpy(np.array(value)))

    def const(self, name: str, where: str) -> np.ndarray:
        kind, value = self.values.get(name, ("missing", None))
        if kind != "const":
            raise ImportFailure(f"{where} needs its input {name!r} stored in the file, not computed")
        return value

    def ref(self, name: str, where: str) -> dict[str, str]:
        return {"node": self.node_of(name, where)}

    # --- names --------------------------------------------------------------------------------------------

    def names(self, node: Any) -> tuple[str | None, str]:
        """(the module path when a torch.nn module of this operator's kind did it, the node's own name)."""
        meta = {p.key: p.value for p in node.metadata_props}
        if "pkg.torch.onnx.name_scopes" in meta:
            scopes = ast.literal_eval(meta["pkg.torch.onnx.name_scopes"])
            classes = ast.literal_eval(meta.get("pkg.torch.onnx.class_hierarchy", "[]"))
            own = scopes[-1] if scopes else node.op_type.lower()
            leaf = str(classes[-2]) if len(scopes) >= 2 and len(classes) >= 2 else ""
            ops = LEAF_CLASSES.get(leaf.rsplit(".", 1)[-1], ()) if leaf.startswith("torch.nn.") else ()
            if node.op_type in ops and scopes[-2]:
                return scopes[-2], own
            return None, own
        if node.name.startswith("/"):  # torch's TorchScript exporter: /block/block.0/Conv
            parts = node.name.strip("/").split("/")
            return (parts[-2] if len(parts) >= 2 else None), (parts[-2] if len(parts) >= 2 else node.op_type.lower())
        return None, node.name or node.op_type.lower()

    def weight_path(self, node: Any, weight: str) -> str:
        """Where a layer with weights lives: the owner of ``conv1.weight``, else the exporter's path."""
        if weight.endswith(".weight"):
            return weight[: -len(".weight")]
        path, own = self.names(node)
        return path or own

    # --- operators ----------------------------------------------------------------------------------------

    def conv(self, node: Any, a: dict[str, Any], where: str) -> str:
        w = self.const(node.input[1], where)
        if w.ndim != 4:
            raise ImportFailure(f"{where} is a {w.ndim - 2}-D convolution; ConvLens shows 2-D ones")
        b = self.const(node.input[2], where) if len(node.input) > 2 and node.input[2] else None
        x = self.node_of(node.input[0], where)
        kernel = [int(w.shape[2]), int(w.shape[3])]
        strides, dilations = list(a.get("strides", [1, 1])), list(a.get("dilations", [1, 1]))
        x, padding = self.padding(x, a, kernel, strides, dilations, where, 0.0, window=False)
        spec = {
            "type": "conv2d",
            "in_channels": int(w.shape[1]) * int(a.get("group", 1)),
            "out_channels": int(w.shape[0]),
            "kernel_size": kernel,
            "stride": strides,
            "padding": padding,
            "dilation": dilations,
            "groups": int(a.get("group", 1)),
            "bias": b is not None,
        }
        weights = {"weight": torch.from_numpy(w.copy()), "bias": None if b is None else torch.from_numpy(b.copy())}
        return self.out.module(self.weight_path(node, node.input[1]), spec, weights, x, where)

    def padding(
        self,
        x: str,
        a: dict[str, Any],
        kernel: list[int],
        strides: list[int],
        dil: list[int],
        where: str,
        fill: float,
        window: bool = True,
    ) -> tuple[str, list[int]]:
        """The symmetric padding a torch conv or pool takes (a pool at most half its window), after an explicit
        pad node for anything else."""
        auto = _text(a.get("auto_pad", "NOTSET"))
        if auto in ("NOTSET", "VALID"):
            pads = list(a.get("pads", [0, 0, 0, 0])) if auto == "NOTSET" else [0, 0, 0, 0]
        else:
            pads = [0, 0, 0, 0]
            size = self.out.shape(x)[-2:]
            for i in range(2):
                span = (math.ceil(size[i] / strides[i]) - 1) * strides[i] + (kernel[i] - 1) * dil[i] + 1
                total = max(span - size[i], 0)
                small = total // 2
                pads[i], pads[i + 2] = (small, total - small) if auto == "SAME_UPPER" else (total - small, small)
        top, left, bottom, right = (int(p) for p in pads)
        fits = not window or all(2 * p <= k for p, k in zip((top, left), kernel, strict=True))
        if (top, left) == (bottom, right) and fits:
            return x, [top, left]
        padded = self.out.function(f"{x}_pad", "pad", [{"node": x}, [left, right, top, bottom], "constant", fill],
                                   None, where)  # fmt: skip
        return padded, [0, 0]

    def batchnorm(self, node: Any, a: dict[str, Any], where: str) -> str:
        if a.get("training_mode", 0) or len([o for o in node.output if o]) > 1:
            raise ImportFailure(f"{where} is BatchNorm in training mode: export the model in eval mode")
        scale, bias, mean, var = (self.const(n, where) for n in node.input[1:5])
        x = self.node_of(node.input[0], where)
        rank = len(self.out.shape(x))
        spec = {"type": "batchnorm", "dims": 2 if rank == 4 else 1, "num_features": int(mean.shape[0]),
                "eps": float(a.get("epsilon", 1e-5)), "momentum": 0.1, "affine": True}  # fmt: skip
        if rank not in (2, 3, 4):
            raise ImportFailure(f"{where} normalises a {rank}-D tensor; ConvLens shows 1-D and 2-D BatchNorm")
        stored = {"weight": scale, "bias": bias, "running_mean": mean, "running_var": var}
        weights: dict[str, torch.Tensor | None] = {
            k: torch.from_numpy(np.array(v, dtype=np.float32)) for k, v in stored.items()
        }
        return self.out.module(self.weight_path(node, node.input[1]), spec, weights, x, where)

    def gemm(self, node: Any, a: dict[str, Any], where: str) -> str:
        x = self.node_of(node.input[0], where)
        if a.get("transA", 0) or len(self.out.shape(x)) != 2:
            raise ImportFailure(f"{where} is a Gemm ConvLens cannot show as a linear layer (transposed input)")
        w = self.const(node.input[1], where).astype(np.float32)
        w = (w if a.get("transB", 0) else w.T) * np.float32(a.get("alpha", 1.0))  # (out, in)
        c = self.const(node.input[2], where) if len(node.input) > 2 and node.input[2] else None
        bias = None
        if c is not None:
            if c.size not in (1, w.shape[0]):
                raise ImportFailure(f"{where} adds a bias of shape {list(c.shape)}, not one per output")
            bias = np.broadcast_to(c.reshape(-1), (w.shape[0],)).astype(np.float32) * np.float32(a.get("beta", 1.0))
        return self.linear(node, x, w, bias, where)

    def matmul(self, node: Any, a: dict[str, Any], where: str) -> str:
        x = self.node_of(node.input[0], where)
        w = self.const(node.input[1], where)
        if w.ndim != 2 or len(self.out.shape(x)) != 2:
            raise ImportFailure(f"{where} multiplies tensors ConvLens cannot show as a linear layer")
        return self.linear(node, x, w.T.astype(np.float32), None, where)

    def linear(self, node: Any, x: str, w: np.ndarray, bias: np.ndarray | None, where: str) -> str:
        spec = {"type": "linear", "in_features": int(w.shape[1]), "out_features": int(w.shape[0])}
        spec["bias"] = bias is not None
        weights = {"weight": torch.from_numpy(np.ascontiguousarray(w)),
                   "bias": None if bias is None else torch.from_numpy(np.ascontiguousarray(bias))}  # fmt: skip
        return self.out.module(self.weight_path(node, node.input[1]), spec, weights, x, where)

    def pool(self, node: Any, a: dict[str, Any], where: str) -> str:
        x = self.node_of(node.input[0], where)
        kernel = list(a["kernel_shape"])
        if len(kernel) != 2:
            raise ImportFailure(f"{where} is a {len(kernel)}-D pool; ConvLens shows 2-D ones")
        if len([o for o in node.output if o]) > 1:
            raise ImportFailure(f"{where} also returns the indices of its maxima, which ConvLens does not keep")
        strides, dilations = list(a.get("strides", [1, 1])), list(a.get("dilations", [1, 1]))
        is_max = node.op_type == "MaxPool"
        include = bool(a.get("count_include_pad", 0))
        fill = -math.inf if is_max else 0.0
        before = x
        x, padding = self.padding(x, a, kernel, strides, dilations, where, fill)
        if x != before and not is_max and not include:
            raise ImportFailure(f"{where} averages over asymmetric padding without counting it; torch cannot")
        ceil = bool(a.get("ceil_mode", 0))
        common = {"kernel_size": kernel, "stride": strides, "padding": padding, "ceil_mode": ceil}
        if is_max:
            spec = {"type": "maxpool2d", **common, "dilation": dilations}
        else:
            if dilations != [1, 1]:
                raise ImportFailure(f"{where} is a dilated average pool, which torch does not have")
            spec = {"type": "avgpool2d", **common, "count_include_pad": include, "divisor_override": None}
        return self.simple(node, spec, where, x)

    def simple(self, node: Any, spec: dict[str, Any], where: str, x: str | None = None) -> str:
        """A weightless layer: the module at the exporter's path, else the function call named after the node."""
        path, own = self.names(node)
        x = x or self.node_of(node.input[0], where)
        if path:
            return self.out.module(path, spec, {}, x, where)
        fn, args = _as_function(spec)
        return self.out.function(own, fn, [{"node": x}, *args], None, where)

    def flatten(self, node: Any, a: dict[str, Any], where: str) -> str:
        if int(a.get("axis", 1)) != 1:
            raise ImportFailure(f"{where} flattens with axis {a.get('axis')}, mixing the images of a batch")
        _, own = self.names(node)
        return self.out.function(own, "flatten", [self.ref(node.input[0], where), 1], None, where)

    def reshape(self, node: Any, a: dict[str, Any], where: str) -> str:
        x = self.node_of(node.input[0], where)
        target = [int(s) for s in self.const(node.input[1], where)]
        before = self.out.shape(x)
        target = [before[i] if s == 0 and not a.get("allowzero", 0) else s for i, s in enumerate(target)]
        if target and target[0] == self.batch:
            target[0] = before[0]  # exported for a fixed batch size: keep the batch free
        _, own = self.names(node)
        rest = math.prod(before[1:])
        if len(target) == 2 and target[0] in (before[0], -1) and target[1] in (rest, -1) and len(before) > 2:
            return self.out.function(own, "flatten", [{"node": x}, 1], None, where)
        if not target or target[0] not in (before[0], -1) or (target[0] == -1 and -1 in target[1:]):
            raise ImportFailure(f"{where} reshapes to {target}, which does not keep the batch dimension first")
        return self.out.function(own, "reshape", [{"node": x}, [-1, *target[1:]]], None, where)

    def binary(self, node: Any, fn: str, where: str) -> str:
        _, own = self.names(node)
        args = [self.ref(n, where) for n in node.input]
        result = self.out.function(own, fn, args[:2], None, where)
        for extra in args[2:]:  # Sum of more than two
            result = self.out.function(own, fn, [{"node": result}, extra], None, where)
        return result

    def concat(self, node: Any, a: dict[str, Any], where: str) -> str:
        _, own = self.names(node)
        parts = [self.ref(n, where) for n in node.input]
        return self.out.function(own, "cat", [parts], {"dim": int(a["axis"])}, where)

    def reduce(self, node: Any, a: dict[str, Any], where: str) -> str:
        """``ReduceMean``/``ReduceMax`` over the maps' rows and columns, keeping them: global pooling (at the
        module's path when an adaptive pool did it); other means over image axes: a mean, other maxima: amax."""
        axes = a.get("axes")
        if axes is None and len(node.input) > 1 and node.input[1]:
            axes = self.const(node.input[1], where)
        if axes is None:
            raise ImportFailure(f"{where} reduces over every axis, batch included")
        rank = len(self.out.shape(self.node_of(node.input[0], where)))
        dims = sorted(int(d) % rank for d in axes)
        if 0 in dims:
            raise ImportFailure(f"{where} reduces over the batch axis")
        keep = bool(a.get("keepdims", 1))
        is_max = node.op_type == "ReduceMax"
        if rank == 4 and dims == [2, 3] and keep:
            kind = "adaptive_maxpool2d" if is_max else "adaptive_avgpool2d"
            return self.simple(node, {"type": kind, "output_size": [1, 1]}, where)
        _, own = self.names(node)
        fn = "aten.amax.default" if is_max else "mean"
        kwargs: dict[str, Any] = {"dim": dims, "keepdim": keep}
        return self.out.function(own, fn, [self.ref(node.input[0], where)], kwargs, where)

    def clip(self, node: Any, a: dict[str, Any], where: str) -> str:
        given = [*node.input, "", ""]
        lo = float(self.const(given[1], where)) if given[1] else a.get("min", -math.inf)
        hi = float(self.const(given[2], where)) if given[2] else a.get("max", math.inf)
        if (lo, hi) == (0.0, 6.0):
            return self.simple(node, {"type": "relu6"}, where)
        if (lo, hi) == (0.0, math.inf):
            return self.simple(node, {"type": "relu"}, where)
        _, own = self.names(node)
        return self.out.function(own, "aten.clamp.default", [self.ref(node.input[0], where), lo, hi], None, where)

    def softmax(self, node: Any, a: dict[str, Any], where: str, kind: str) -> str:
        rank = len(self.out.shape(self.node_of(node.input[0], where)))
        axis = int(a.get("axis", -1 if self._opset() >= 13 else 1)) % rank
        if rank != 2 or axis != 1:
            raise ImportFailure(f"{where} is a softmax over axis {axis} of a {rank}-D tensor, not over the classes")
        return self.simple(node, {"type": kind, "dim": 1}, where)

    def handlers(self) -> dict[str, Callable[[Any, dict[str, Any], str], str]]:
        s = self.simple
        return {
            "Conv": self.conv,
            "BatchNormalization": self.batchnorm,
            "Gemm": self.gemm,
            "MatMul": self.matmul,
            "MaxPool": self.pool,
            "AveragePool": self.pool,
            "GlobalAveragePool": lambda n, a, w: s(n, {"type": "adaptive_avgpool2d", "output_size": [1, 1]}, w),
            "GlobalMaxPool": lambda n, a, w: s(n, {"type": "adaptive_maxpool2d", "output_size": [1, 1]}, w),
            "Relu": lambda n, a, w: s(n, {"type": "relu"}, w),
            "Sigmoid": lambda n, a, w: s(n, {"type": "sigmoid"}, w),
            "Tanh": lambda n, a, w: s(n, {"type": "tanh"}, w),
            "HardSwish": lambda n, a, w: s(n, {"type": "hardswish"}, w),
            "Mish": lambda n, a, w: s(n, {"type": "mish"}, w),
            "LeakyRelu": lambda n, a, w: s(n, {"type": "leaky_relu", "negative_slope": float(a.get("alpha", 0.01))}, w),
            "Elu": lambda n, a, w: s(n, {"type": "elu", "alpha": float(a.get("alpha", 1.0))}, w),
            "Gelu": lambda n, a, w: s(n, {"type": "gelu", "approximate": _text(a.get("approximate", "none"))}, w),
            "Clip": self.clip,
            "Softmax": lambda n, a, w: self.softmax(n, a, w, "softmax"),
            "LogSoftmax": lambda n, a, w: self.softmax(n, a, w, "log_softmax"),
            "Flatten": self.flatten,
            "Reshape": self.reshape,
            "Add": lambda n, a, w: self.binary(n, "add", w),
            "Sum": lambda n, a, w: self.binary(n, "add", w),
            "Sub": lambda n, a, w: self.binary(n, "sub", w),
            "Mul": lambda n, a, w: self.binary(n, "mul", w),
            "Div": lambda n, a, w: self.binary(n, "truediv", w),
            "Concat": self.concat,
            "ReduceMean": self.reduce,
            "ReduceMax": self.reduce,
        }

    # --- the graph ----------------------------------------------------------------------------------------

    def run(self, classes: int) -> tuple[graphspec.GraphConfig, dict[str, torch.Tensor]]:
        graph = self.model.graph
        inputs = [i.name for i in graph.input if i.name not in self.values]
        if len(inputs) != 1:
            raise ImportFailure(f"the model takes {len(inputs)} inputs; ConvLens gives it one batch of images")
        if len(graph.output) != 1:
            raise ImportFailure(f"the model returns {len(graph.output)} values, not one tensor of class scores")
        self.values[inputs[0]] = ("node", self.out.input)
        declared = next(i for i in graph.input if i.name == inputs[0]).type.tensor_type.shape.dim
        self.batch = declared[0].dim_value if declared and declared[0].HasField("dim_value") else None
        if declared:
            sizes = [d.dim_value if d.HasField("dim_value") else None for d in declared[1:]]
            check_input(sizes, tuple(self.out.shape(self.out.input)[1:]))
        handlers = self.handlers()
        for i, node in enumerate(graph.node):
            where = f"node {node.name or i} ({node.op_type})"
            if node.domain not in ("", "ai.onnx"):
                raise ImportFailure(f"{where} is from the operator set {node.domain!r}, which ConvLens does not run")
            a = _attrs(node)
            if node.op_type == "Constant":
                self.values[node.output[0]] = ("const", self._constant(a, where))
            elif node.input and all(not n or self.values.get(n, ("", None))[0] == "const" for n in node.input):
                self._fold(node, where)
            elif node.op_type in ("Identity", "Dropout"):
                self.values[node.output[0]] = self.values[node.input[0]]
            elif node.op_type in handlers:
                missing = [n for n in node.input if n and n not in self.values]
                if missing:
                    raise ImportFailure(f"{where} reads {missing[0]!r} before anything computes it")
                self.values[node.output[0]] = ("node", handlers[node.op_type](node, a, where))
                self.out.origin(self.values[node.output[0]][1], node.output[0])
            else:
                raise ImportFailure(f"{where}: ConvLens does not rebuild the ONNX operator {node.op_type}")
        kind, out = self.values[graph.output[0].name]
        if kind != "node":
            raise ImportFailure("the model's output is a constant, not computed from the image")
        return self.out.finish(out, classes)

    def _fold(self, node: Any, where: str) -> None:
        """A node computing only from stored tensors (shapes, axes): computed now by ONNX's reference
        evaluator, its outputs stored like the file's own tensors."""
        from onnx import helper
        from onnx.reference import ReferenceEvaluator

        inputs = [n for n in node.input if n]
        graph = helper.make_graph(
            [node],
            "fold",
            [],
            [helper.make_value_info(o, helper.TypeProto()) for o in node.output if o],
            [self.numpy_helper.from_array(np.asarray(self.values[n][1]), n) for n in inputs],
        )
        model = helper.make_model(graph, opset_imports=self.model.opset_import)
        try:
            results = ReferenceEvaluator(model).run(None, {})
        except Exception as exc:
            raise ImportFailure(f"{where} cannot be computed from the stored tensors: {exc}") from None
        for name, value in zip([o for o in node.output if o], results, strict=True):
            self.values[name] = ("const", np.asarray(value))

    def _constant(self, a: dict[str, Any], where: str) -> np.ndarray:
        if "value" in a:
            return self.numpy_helper.to_array(a["value"])
        for key in ("value_float", "value_int", "value_floats", "value_ints"):
            if key in a:
                return np.array(a[key], dtype=np.float32 if "float" in key else np.int64)
        raise ImportFailure(f"{where} holds a constant of a kind ConvLens does not read")


def _as_function(spec: dict[str, Any]) -> tuple[str, list[Any]]:
    """The function (in ``graphspec.FUNCTIONS``) doing what a weightless module does, with its arguments."""
    kind = spec["type"]
    if kind == "maxpool2d":
        return "max_pool2d", [spec[k] for k in ("kernel_size", "stride", "padding", "dilation", "ceil_mode")]
    if kind == "avgpool2d":
        return "avg_pool2d", [spec[k] for k in ("kernel_size", "stride", "padding", "ceil_mode", "count_include_pad")]
    if kind in ("adaptive_avgpool2d", "adaptive_maxpool2d"):
        return {"adaptive_avgpool2d": "adaptive_avg_pool2d", "adaptive_maxpool2d": "adaptive_max_pool2d"}[kind], [
            spec["output_size"]
        ]
    extra = {"leaky_relu": "negative_slope", "elu": "alpha", "softmax": "dim", "log_softmax": "dim"}
    extra["gelu"] = "approximate"
    return kind, [spec[extra[kind]]] if kind in extra else []


def convert(path: Path, example: torch.Tensor, classes: int) -> tuple[graphspec.GraphConfig, dict[str, torch.Tensor]]:
    """The network in the ``.onnx`` file at ``path``; ``example`` is a batch of inputs of the stated shape."""
    return Converter(read(path), example, path.name).run(classes)
