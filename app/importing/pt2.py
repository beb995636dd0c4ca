"""A ``torch.export`` program -> a network description of ordinary ``torch.nn`` modules.

The exported graph is made of ``aten`` operators with the parameters as inputs. Each operator that a module
of ``torch.nn`` performs (``aten.conv2d`` in an ``nn.Conv2d``, ``aten.batch_norm`` in an ``nn.BatchNorm2d``,
``aten.linear``, pooling, activations, ``nn.Flatten``) becomes that module again, holding the file's weights,
at the module path the export recorded (``nn_module_stack``): ``features.0``, ``layer1.0.conv1``. The same
operators called as functions (``F.relu(x)``, ``torch.flatten(x, 1)``, ``x + y``, ``x.mean((2, 3))``) become
the same function calls, named after their node (``relu_1``, ``add``). So the layer table is the one the
original module gives. Any other ``aten`` operator is kept as it is (its layer's kind is ``other``); an
operator from anywhere else is refused.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from torch import fx
from torch.export import ExportedProgram
from torch.export.graph_signature import InputKind, OutputKind

from app.importing import archive
from app.importing.emit import Emitter, ImportFailure, check_input
from app.nets import graphspec

aten = torch.ops.aten
SKIPPED = {"_assert_tensor_metadata", "_assert_scalar", "sym_constrain_range_for_size", "_assert_async"}
ALIASES = {"alias", "clone", "detach", "contiguous", "dropout", "lift_fresh_copy", "feature_dropout"}
LEAF_CLASSES = {  # the torch.nn class (as the export records it) -> its module type in a description
    "Conv2d": "conv2d",
    "BatchNorm1d": "batchnorm",
    "BatchNorm2d": "batchnorm",
    "Linear": "linear",
    "MaxPool2d": "maxpool2d",
    "AvgPool2d": "avgpool2d",
    "AdaptiveAvgPool2d": "adaptive_avgpool2d",
    "AdaptiveMaxPool2d": "adaptive_maxpool2d",
    "ReLU": "relu",
    "ReLU6": "relu6",
    "LeakyReLU": "leaky_relu",
    "ELU": "elu",
    "GELU": "gelu",
    "SiLU": "silu",
    "Sigmoid": "sigmoid",
    "Tanh": "tanh",
    "Hardswish": "hardswish",
    "Hardsigmoid": "hardsigmoid",
    "Mish": "mish",
    "Flatten": "flatten",
    "Softmax": "softmax",
    "LogSoftmax": "log_softmax",
}


def _pair(v: Any) -> list[int]:
    v = list(v) if isinstance(v, list | tuple) else [v]
    return [int(v[0]), int(v[-1])] if v else []


def _args(node: fx.Node) -> tuple[Any, ...]:
    """A node's positional arguments, as the converter reads them (fx types them as any argument at all)."""
    return tuple(node.args)


def _arg(args: tuple, kwargs: dict, i: int, name: str, default: Any) -> Any:
    return args[i] if len(args) > i else kwargs.get(name, default)


class Converter:
    def __init__(self, ep: ExportedProgram, example: torch.Tensor, file: str) -> None:
        self.ep = ep
        self.out = Emitter(example, {"format": "torch.export", "file": file})
        self.names: dict[fx.Node, Any] = {}  # export node -> emitted node name, or a parameter tensor
        self.fqn: dict[str, str] = {}  # placeholder name -> parameter/buffer/constant name
        self.tensor: dict[str, torch.Tensor] = {}
        self.parameters: set[str] = set()  # placeholders that are the network's parameters

    # --- inputs -------------------------------------------------------------------------------------------

    def _signature(self) -> str:
        users, kept = [], {InputKind.PARAMETER, InputKind.BUFFER, InputKind.CONSTANT_TENSOR}
        for spec in self.ep.graph_signature.input_specs:
            if spec.kind == InputKind.USER_INPUT:
                users.append(spec.arg.name)
            elif spec.kind in kept and spec.target is not None:
                self.fqn[spec.arg.name] = spec.target
                if spec.kind == InputKind.PARAMETER:
                    self.parameters.add(spec.arg.name)
                source = self.ep.constants if spec.kind == InputKind.CONSTANT_TENSOR else self.ep.state_dict
                if spec.target not in source:
                    raise ImportFailure(f"the program's {spec.target!r} has no value in the file")
                self.tensor[spec.arg.name] = source[spec.target]
            else:
                raise ImportFailure(f"the program takes a {spec.kind.name.lower()} input, which ConvLens cannot give")
        if len(users) != 1:
            raise ImportFailure(f"the program takes {len(users)} inputs; ConvLens gives it one batch of images")
        placeholder = next(n for n in self.ep.graph.nodes if n.op == "placeholder" and n.name == users[0])
        value = placeholder.meta.get("val")
        if isinstance(value, torch.Tensor):
            declared = [int(s) if isinstance(s, int) else None for s in value.shape[1:]]
            check_input(declared, tuple(self.out.shape(self.out.input)[1:]))
        outputs = self.ep.graph_signature.output_specs
        if any(o.kind != OutputKind.USER_OUTPUT for o in outputs):
            raise ImportFailure(
                "the program updates its buffers (it was exported in training mode): call model.eval() before"
                " torch.export.export"
            )
        if len(outputs) != 1:
            raise ImportFailure(f"the program returns {len(outputs)} values, not one tensor of class scores")
        return users[0]

    def ref(self, a: Any) -> Any:
        """An export argument -> a description argument."""
        if isinstance(a, fx.Node):
            got = self.names.get(a)
            if got is None and a.name in self.tensor:
                parameter = a.name in self.parameters
                got = self.names[a] = self.out.tensor(self.fqn[a.name], self.tensor[a.name], parameter)
            if got is None:
                raise ImportFailure(f"node {a.name} is used before it is computed")
            return {"node": got}
        if isinstance(a, list | tuple):
            return [self.ref(v) for v in a]
        if isinstance(a, torch.dtype):
            return {"dtype": graphspec.dtype_name(a)}
        if isinstance(a, torch.device | torch.layout | torch.memory_format):
            return None
        if a is None or isinstance(a, bool | int | float | str):
            return a
        raise ImportFailure(f"an argument of type {type(a).__name__} cannot be kept")

    # --- modules ------------------------------------------------------------------------------------------

    def _leaf(self, node: fx.Node, kind: str) -> str | None:
        """The module path when ``node`` is the work of a ``torch.nn`` module of type ``kind``."""
        stack = node.meta.get("nn_module_stack") or {}
        if not stack:
            return None
        path, cls = list(stack.values())[-1]
        cls = cls if isinstance(cls, str) else getattr(cls, "__name__", "")
        name = cls.rsplit(".", 1)[-1]
        return path if cls.startswith("torch.nn.") and LEAF_CLASSES.get(name) == kind and path else None

    def _weight(self, a: Any) -> torch.Tensor | None:
        if a is None:
            return None
        if not isinstance(a, fx.Node) or a.name not in self.tensor:
            raise ImportFailure("a layer's weights are computed, not stored; ConvLens needs them stored")
        return self.tensor[a.name]

    def _path_of_weight(self, a: Any, fallback: str) -> str:
        """The module owning a stored tensor (``block.0`` for ``block.0.weight``)."""
        fqn = self.fqn.get(a.name, "") if isinstance(a, fx.Node) else ""
        return fqn.rsplit(".", 1)[0] if "." in fqn else fallback

    def _module_or_function(
        self, node: fx.Node, kind: str, spec: dict[str, Any], fn: str, args: list, kwargs: dict | None = None
    ) -> str:
        """A weightless layer: a module when a module of its kind did it, else the function call."""
        x = self.names[_args(node)[0]]
        path = self._leaf(node, kind)
        if path:
            return self.out.module(path, {"type": kind, **spec}, {}, x, f"node {node.name}")
        return self.out.function(node.name, fn, [{"node": x}, *args], kwargs, f"node {node.name}")

    # --- the operators ------------------------------------------------------------------------------------

    def conv(self, node: fx.Node) -> str:
        a, k = _args(node), node.kwargs
        w, b = self._weight(a[1]), self._weight(_arg(a, k, 2, "bias", None))
        assert w is not None
        if node.target is aten.convolution.default:
            if a[6]:
                return self.generic(node)
            stride, padding, dilation, groups = a[3], a[4], a[5], a[8]
        else:
            stride = _arg(a, k, 3, "stride", 1)
            padding = _arg(a, k, 4, "padding", 0)
            dilation, groups = _arg(a, k, 5, "dilation", 1), _arg(a, k, 6, "groups", 1)
        if w.dim() != 4:
            return self.generic(node)
        spec = {
            "type": "conv2d",
            "in_channels": int(w.shape[1]) * int(groups),
            "out_channels": int(w.shape[0]),
            "kernel_size": [int(w.shape[2]), int(w.shape[3])],
            "stride": _pair(stride),
            "padding": padding if isinstance(padding, str) else _pair(padding),
            "dilation": _pair(dilation),
            "groups": int(groups),
            "bias": b is not None,
        }
        path = self._leaf(node, "conv2d") or self._path_of_weight(a[1], node.name)
        return self.out.module(path, spec, {"weight": w, "bias": b}, self.names[a[0]], f"node {node.name}")

    def batchnorm(self, node: fx.Node) -> str:
        a = _args(node)
        if node.target is aten.batch_norm.default:
            if a[5]:
                raise ImportFailure(f"node {node.name} is BatchNorm in training mode: export after model.eval()")
            momentum, eps = a[6], a[7]
        else:  # _native_batch_norm_legit_no_training(x, w, b, mean, var, momentum, eps)
            momentum, eps = a[5], a[6]
        x = self.names[a[0]]
        dims = len(self.out.shape(x)) - 2
        w, b, mean, var = (self._weight(v) for v in a[1:5])
        if mean is None or var is None or dims not in (0, 1, 2):
            return self.generic(node)
        spec = {"type": "batchnorm", "dims": 2 if dims == 2 else 1, "num_features": int(mean.shape[0]),
                "eps": float(eps), "momentum": float(momentum), "affine": w is not None}  # fmt: skip
        weights = {"weight": w, "bias": b, "running_mean": mean, "running_var": var}
        path = self._leaf(node, "batchnorm") or self._path_of_weight(a[3], node.name)
        return self.out.module(path, spec, weights, x, f"node {node.name}")

    def linear(self, node: fx.Node) -> str:
        a, k = _args(node), node.kwargs
        x = self.names[a[0]]
        w, b = self._weight(a[1]), self._weight(_arg(a, k, 2, "bias", None))
        assert w is not None
        if len(self.out.shape(x)) != 2:
            return self.generic(node)
        spec = {"type": "linear", "in_features": int(w.shape[1]), "out_features": int(w.shape[0])}
        spec["bias"] = b is not None
        path = self._leaf(node, "linear") or self._path_of_weight(a[1], node.name)
        return self.out.module(path, spec, {"weight": w, "bias": b}, x, f"node {node.name}")

    def max_pool(self, node: fx.Node) -> str:
        a, k = _args(node), node.kwargs
        kernel = _pair(a[1])
        spec = {
            "kernel_size": kernel,
            "stride": _pair(_arg(a, k, 2, "stride", []) or kernel),
            "padding": _pair(_arg(a, k, 3, "padding", 0)),
            "dilation": _pair(_arg(a, k, 4, "dilation", 1)),
            "ceil_mode": bool(_arg(a, k, 5, "ceil_mode", False)),
        }
        args = [spec["kernel_size"], spec["stride"], spec["padding"], spec["dilation"], spec["ceil_mode"]]
        return self._module_or_function(node, "maxpool2d", spec, "max_pool2d", args)

    def avg_pool(self, node: fx.Node) -> str:
        a, k = _args(node), node.kwargs
        kernel = _pair(a[1])
        spec = {
            "kernel_size": kernel,
            "stride": _pair(_arg(a, k, 2, "stride", []) or kernel),
            "padding": _pair(_arg(a, k, 3, "padding", 0)),
            "ceil_mode": bool(_arg(a, k, 4, "ceil_mode", False)),
            "count_include_pad": bool(_arg(a, k, 5, "count_include_pad", True)),
            "divisor_override": _arg(a, k, 6, "divisor_override", None),
        }
        args = [spec[n] for n in ("kernel_size", "stride", "padding", "ceil_mode", "count_include_pad")]
        return self._module_or_function(node, "avgpool2d", spec, "avg_pool2d", [*args, spec["divisor_override"]])

    def adaptive(self, node: fx.Node, kind: str, fn: str) -> str:
        size = _pair(_args(node)[1])
        return self._module_or_function(node, kind, {"output_size": size}, fn, [size])

    def activation(self, node: fx.Node, kind: str, spec: dict[str, Any], args: list | None = None) -> str:
        return self._module_or_function(node, kind, spec, kind, args or [], None)

    def hardtanh(self, node: fx.Node) -> str:
        """``nn.ReLU6`` is exported as ``hardtanh(x, 0, 6)``; other bounds stay a hardtanh."""
        a = _args(node)
        bounds = (float(_arg(a, node.kwargs, 1, "min_val", -1.0)), float(_arg(a, node.kwargs, 2, "max_val", 1.0)))
        return self.activation(node, "relu6", {}) if bounds == (0.0, 6.0) else self.generic(node)

    def leaky_relu(self, node: fx.Node) -> str:
        slope = float(_arg(_args(node), node.kwargs, 1, "negative_slope", 0.01))
        return self.activation(node, "leaky_relu", {"negative_slope": slope}, [slope])

    def gelu(self, node: fx.Node) -> str:
        approximate = str(node.kwargs.get("approximate", "none"))
        return self._module_or_function(node, "gelu", {"approximate": approximate}, "gelu", [],
                                        {"approximate": approximate})  # fmt: skip

    def softmax(self, node: fx.Node, kind: str) -> str:
        a = _args(node)
        dim = int(_arg(a, node.kwargs, 1, "dim", -1)) % len(self.out.shape(self.names[a[0]]))
        if dim != 1 or len(self.out.shape(self.names[a[0]])) != 2 or _arg(a, node.kwargs, 2, "half_to_float", False):
            return self.generic(node)
        return self.activation(node, kind, {"dim": 1}, [1])

    def flatten(self, node: fx.Node) -> str:
        a = _args(node)
        start, end = int(_arg(a, node.kwargs, 1, "start_dim", 0)), int(_arg(a, node.kwargs, 2, "end_dim", -1))
        if self._leaf(node, "flatten"):
            return self._module_or_function(node, "flatten", {"start_dim": start, "end_dim": end}, "flatten", [])
        return self.out.function(node.name, "flatten", [{"node": self.names[a[0]]}, start, end], None, node.name)

    def reshape(self, node: fx.Node) -> str:
        """``x.view(n, -1)`` and the like: a flatten when maps become one vector per image, else a reshape that
        keeps the batch size free."""
        x = self.names[_args(node)[0]]
        before, after = self.out.shape(x), tuple(node.meta["val"].shape)
        if len(before) > 2 and len(after) == 2 and after[1] == math.prod(before[1:]):
            return self.out.function(node.name, "flatten", [{"node": x}, 1], None, f"node {node.name}")
        shape = [-1, *(int(s) for s in after[1:])]
        return self.out.function(node.name, "reshape", [{"node": x}, shape], None, f"node {node.name}")

    def binary(self, node: fx.Node, fn: str) -> str:
        a, b = _args(node)[0], _args(node)[1]
        if node.kwargs.get("alpha", 1) != 1 or len(_args(node)) > 2:
            return self.generic(node)
        return self.out.function(node.name, fn, [self.ref(a), self.ref(b)], None, f"node {node.name}")

    def generic(self, node: fx.Node) -> str:
        target = node.target
        if not isinstance(target, torch._ops.OpOverload) or target.namespace != "aten":
            raise ImportFailure(f"node {node.name} calls {target}, which ConvLens does not rebuild")
        name = f"aten.{target._opname}.{target._overloadname}"
        args = [self.ref(a) for a in _args(node)]
        kwargs = {k: self.ref(v) for k, v in node.kwargs.items()}
        return self.out.function(node.name, name, args, kwargs, f"node {node.name} ({name})")

    def handlers(self) -> dict[Any, Callable[[fx.Node], str]]:
        act = self.activation
        return {
            aten.conv2d.default: self.conv,
            aten.conv2d.padding: self.conv,
            aten.convolution.default: self.conv,
            aten.batch_norm.default: self.batchnorm,
            aten._native_batch_norm_legit_no_training.default: self.batchnorm,
            aten.linear.default: self.linear,
            aten.max_pool2d.default: self.max_pool,
            aten.max_pool2d_with_indices.default: self.max_pool,
            aten.avg_pool2d.default: self.avg_pool,
            aten.adaptive_avg_pool2d.default: lambda n: self.adaptive(n, "adaptive_avgpool2d", "adaptive_avg_pool2d"),
            aten._adaptive_avg_pool2d.default: lambda n: self.adaptive(n, "adaptive_avgpool2d", "adaptive_avg_pool2d"),
            aten.adaptive_max_pool2d.default: lambda n: self.adaptive(n, "adaptive_maxpool2d", "adaptive_max_pool2d"),
            aten.relu.default: lambda n: act(n, "relu", {}),
            aten.relu_.default: lambda n: act(n, "relu", {}),
            aten.sigmoid.default: lambda n: act(n, "sigmoid", {}),
            aten.tanh.default: lambda n: act(n, "tanh", {}),
            aten.silu.default: lambda n: act(n, "silu", {}),
            aten.hardswish.default: lambda n: act(n, "hardswish", {}),
            aten.hardsigmoid.default: lambda n: act(n, "hardsigmoid", {}),
            aten.hardtanh.default: self.hardtanh,
            aten.leaky_relu.default: self.leaky_relu,
            aten.gelu.default: self.gelu,
            aten._softmax.default: lambda n: self.softmax(n, "softmax"),
            aten.softmax.int: lambda n: self.softmax(n, "softmax"),
            aten._log_softmax.default: lambda n: self.softmax(n, "log_softmax"),
            aten.log_softmax.int: lambda n: self.softmax(n, "log_softmax"),
            aten.flatten.using_ints: self.flatten,
            aten.view.default: self.reshape,
            aten.reshape.default: self.reshape,
            aten._unsafe_view.default: self.reshape,
            aten.add.Tensor: lambda n: self.binary(n, "add"),
            aten.mul.Tensor: lambda n: self.binary(n, "mul"),
            aten.mean.dim: self.mean,
            aten.cat.default: self.cat,
        }

    def mean(self, node: fx.Node) -> str:
        a, k = _args(node), node.kwargs
        dims, keep = _arg(a, k, 1, "dim", None), bool(_arg(a, k, 2, "keepdim", False))
        if dims is None or len(a) > 3 or k.get("dtype") is not None:
            return self.generic(node)
        x = {"node": self.names[a[0]]}
        return self.out.function(node.name, "mean", [x], {"dim": list(dims), "keepdim": keep}, f"node {node.name}")

    def cat(self, node: fx.Node) -> str:
        dim = int(_arg(_args(node), node.kwargs, 1, "dim", 0))
        return self.out.function(node.name, "cat", [self.ref(_args(node)[0])], {"dim": dim}, f"node {node.name}")

    # --- the graph ----------------------------------------------------------------------------------------

    def run(self, classes: int) -> tuple[graphspec.GraphConfig, dict[str, torch.Tensor]]:
        user = self._signature()
        handlers = self.handlers()
        output = None
        for node in self.ep.graph.nodes:
            if node.op == "placeholder":
                if node.name == user:
                    self.names[node] = self.out.input
                continue
            if node.op == "output":
                output = _args(node)[0][0] if isinstance(_args(node)[0], list | tuple) else _args(node)[0]
                continue
            self.names[node] = self._node(node, handlers)
            self.out.origin(self.names[node], node.name)
        if not isinstance(output, fx.Node) or not isinstance(self.names.get(output), str):
            raise ImportFailure("the program does not return a computed tensor")
        return self.out.finish(self.names[output], classes)

    def _node(self, node: fx.Node, handlers: dict[Any, Callable[[fx.Node], str]]) -> Any:
        target = node.target
        if node.op != "call_function":
            raise ImportFailure(f"node {node.name} is a {node.op}, which ConvLens does not rebuild")
        if target is operator.getitem:
            source = self.names[_args(node)[0]]
            if _args(node)[0].target in _TUPLE_FIRST:
                if _args(node)[1] != 0:
                    if not node.users:
                        return None  # the indices of a max pool nothing reads
                    raise ImportFailure(f"node {node.name} uses a second output of {_args(node)[0].name}")
                return source  # max_pool2d_with_indices, the no-training batch norm: their first output
            return self.out.function(node.name, "getitem", [{"node": source}, _args(node)[1]], None, node.name)
        opname = getattr(target, "_opname", None)
        if isinstance(target, torch._ops.OpOverload) and target.namespace == "aten":
            if opname in SKIPPED:
                return None
            if opname in ALIASES:
                if opname == "dropout" and len(_args(node)) > 2 and _args(node)[2]:
                    raise ImportFailure(f"node {node.name} is dropout in training mode: export after model.eval()")
                return self.names[_args(node)[0]]
        if target in handlers:
            return handlers[target](node)
        return self.generic(node)


_TUPLE_FIRST = {
    aten.max_pool2d_with_indices.default,
    aten._native_batch_norm_legit_no_training.default,
    aten.adaptive_max_pool2d.default,
}


def convert(path: Path, example: torch.Tensor, classes: int) -> tuple[graphspec.GraphConfig, dict[str, torch.Tensor]]:
    """The network in the ``.pt2`` file at ``path``; ``example`` is a batch of inputs of the stated shape."""
    ep = archive.load(path)
    return Converter(ep, example, path.name).run(classes)
