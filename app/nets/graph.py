"""A network as data: its layer table, derived by tracing it with ``torch.fx``.

``trace(module, input_shape)`` runs ``torch.fx.symbolic_trace`` and shape propagation on a zero input and
returns a ``Graph``: the layers in execution order (name, kind, the layers feeding it, output shape,
parameters, sliding-window geometry) and ``capture``, a module over the same submodules whose forward
returns every layer's output by name, so a request needs no hooks.

Names are the module paths (``conv1``, ``features.0``); a layer that is a function call rather than a
module (``x + y``, ``torch.flatten(x, 1)``) is named after its fx node (``add``, ``flatten``), and a module
called more than once gets ``@2``, ``@3`` ... for its later calls. The input is ``input``. Kinds are read
from the module's class or the function called, never guessed from a name.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as F
from torch import fx, nn
from torch.fx.passes.shape_prop import ShapeProp

INPUT = "input"

ACTIVATIONS: dict[type[nn.Module], str] = {
    nn.ReLU: "relu",
    nn.ReLU6: "relu6",
    nn.LeakyReLU: "leaky_relu",
    nn.ELU: "elu",
    nn.GELU: "gelu",
    nn.SiLU: "silu",
    nn.Sigmoid: "sigmoid",
    nn.Tanh: "tanh",
    nn.Hardswish: "hardswish",
    nn.Hardsigmoid: "hardsigmoid",
    nn.Mish: "mish",
    nn.PReLU: "prelu",
}
ACTIVATION_FUNCTIONS: dict[Any, str] = {
    F.relu: "relu",
    torch.relu: "relu",
    F.relu6: "relu6",
    F.leaky_relu: "leaky_relu",
    F.elu: "elu",
    F.gelu: "gelu",
    F.silu: "silu",
    torch.sigmoid: "sigmoid",
    F.sigmoid: "sigmoid",
    torch.tanh: "tanh",
    F.tanh: "tanh",
    F.hardswish: "hardswish",
}
ACTIVATION_KINDS = frozenset(ACTIVATIONS.values()) | frozenset(ACTIVATION_FUNCTIONS.values())
MODULE_KINDS: tuple[tuple[tuple[type[nn.Module], ...], str], ...] = (
    ((nn.Conv2d,), "conv"),
    ((nn.BatchNorm1d, nn.BatchNorm2d), "batchnorm"),
    ((nn.MaxPool2d, nn.AdaptiveMaxPool2d), "maxpool"),
    ((nn.AvgPool2d, nn.AdaptiveAvgPool2d), "avgpool"),
    ((nn.Linear,), "linear"),
    ((nn.Flatten,), "flatten"),
    ((nn.Dropout, nn.Dropout2d), "dropout"),
    ((nn.Softmax, nn.LogSoftmax), "softmax"),
    ((nn.Identity,), "identity"),
)
FUNCTION_KINDS: dict[Any, str] = {
    operator.add: "add",
    torch.add: "add",
    operator.mul: "mul",  # an elementwise product: a per-channel scale, a gate
    torch.mul: "mul",
    torch.cat: "concat",
    torch.flatten: "flatten",
    F.max_pool2d: "maxpool",
    F.avg_pool2d: "avgpool",
    F.adaptive_avg_pool2d: "avgpool",
    F.adaptive_max_pool2d: "maxpool",
    torch.softmax: "softmax",
    F.softmax: "softmax",
    F.dropout: "dropout",
    **ACTIVATION_FUNCTIONS,
}
METHOD_KINDS = {
    "flatten": "flatten",
    "view": "flatten",
    "reshape": "flatten",
    "relu": "relu",
    "add": "add",
    "mul": "mul",
}


@dataclass(frozen=True)
class Window:
    """A sliding window, per axis (rows, columns)."""

    kernel: tuple[int, int]
    stride: tuple[int, int]
    padding: tuple[int, int]
    dilation: tuple[int, int] = (1, 1)
    groups: int = 1
    ceil_mode: bool = False


@dataclass(frozen=True)
class Layer:
    name: str
    kind: str
    inputs: tuple[str, ...]  # the layers feeding it
    shape: tuple[int, ...]  # one image's output: (C, H, W), (features,) ...
    params: int = 0
    module: str | None = None  # the module path, when the layer is a module call
    window: Window | None = None

    @property
    def spatial(self) -> bool:
        """A stack of maps (C, H, W)."""
        return len(self.shape) == 3


@dataclass
class Graph:
    """The traced network: its layers in execution order and a module returning all their outputs."""

    layers: list[Layer]
    capture: fx.GraphModule  # forward(x) -> {layer name: output}, x already normalised
    output: str  # the layer whose output the network returns (the class scores)
    by_name: dict[str, Layer] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.by_name = {layer.name: layer for layer in self.layers}


def _pair(value: Any) -> tuple[int, int]:
    if isinstance(value, tuple | list):
        return (int(value[0]), int(value[-1]))
    return (int(value), int(value))


def _module_kind(module: nn.Module) -> str:
    for types, kind in MODULE_KINDS:
        if isinstance(module, types):
            return kind
    return ACTIVATIONS.get(type(module), "other")


def _even_window(in_hw: tuple[int, ...], out_hw: tuple[int, ...]) -> Window | None:
    """An adaptive pool is a plain pool when every output cell covers the same number of input cells."""
    if len(in_hw) != 2 or len(out_hw) != 2 or any(i % o for i, o in zip(in_hw, out_hw, strict=True)):
        return None
    k = (in_hw[0] // out_hw[0], in_hw[1] // out_hw[1])
    return Window(kernel=k, stride=k, padding=(0, 0))


def _same_padding(kernel: Any, dilation: Any) -> tuple[int, int]:
    """Top/left padding of a conv with ``padding="same"`` (torch puts any odd extra on the bottom/right)."""
    k, d = _pair(kernel), _pair(dilation)
    return ((d[0] * (k[0] - 1)) // 2, (d[1] * (k[1] - 1)) // 2)


def _module_window(module: nn.Module, in_shape: tuple[int, ...], out_shape: tuple[int, ...]) -> Window | None:
    if isinstance(module, nn.Conv2d):
        if isinstance(module.padding, str):
            pad = (0, 0) if module.padding == "valid" else _same_padding(module.kernel_size, module.dilation)
        else:
            pad = _pair(module.padding)
        return Window(_pair(module.kernel_size), _pair(module.stride), pad, _pair(module.dilation), module.groups)
    if isinstance(module, nn.MaxPool2d | nn.AvgPool2d):
        stride = module.stride if module.stride is not None else module.kernel_size
        dilation = _pair(getattr(module, "dilation", 1))
        return Window(_pair(module.kernel_size), _pair(stride), _pair(module.padding), dilation, 1, module.ceil_mode)
    if isinstance(module, nn.AdaptiveAvgPool2d | nn.AdaptiveMaxPool2d):
        return _even_window(in_shape[-2:], out_shape[-2:])
    return None


def _is_global_mean(node: fx.Node, in_shape: tuple[int, ...]) -> bool:
    """``x.mean((2, 3))`` or ``torch.mean(x, dim=(-2, -1))``: global average pooling written as a mean."""
    if len(in_shape) != 3 or not ((node.op == "call_method" and node.target == "mean") or node.target is torch.mean):
        return False
    dims = node.kwargs.get("dim", node.args[1] if len(node.args) > 1 else None)
    if dims is None:
        return False
    return {int(d) % 4 for d in (dims if isinstance(dims, tuple | list) else (dims,))} == {2, 3}


def _function_window(node: fx.Node, kind: str, in_shape: tuple[int, ...], out_shape: tuple[int, ...]) -> Window | None:
    """The window of a functional pool (``F.max_pool2d(x, 2)``) or a global mean."""
    if len(in_shape) != 3 or kind not in ("maxpool", "avgpool"):
        return None
    if node.target in (F.adaptive_avg_pool2d, F.adaptive_max_pool2d) or _is_global_mean(node, in_shape):
        return _even_window(in_shape[-2:], out_shape[-2:] if len(out_shape) == 3 else (1, 1))
    names = ("input", "kernel_size", "stride", "padding", "dilation", "ceil_mode")
    args = {**dict(zip(names, node.args, strict=False)), **node.kwargs}
    kernel = _pair(args["kernel_size"])
    stride = _pair(args.get("stride") or kernel)
    dilation = _pair(args.get("dilation", 1)) if kind == "maxpool" else (1, 1)
    return Window(kernel, stride, _pair(args.get("padding", 0)), dilation, 1, bool(args.get("ceil_mode", False)))


def _kind(node: fx.Node, root: nn.Module, in_shape: tuple[int, ...], out_shape: tuple[int, ...]) -> str:
    if node.op == "placeholder":
        return "input"
    if node.op == "call_module":
        return _module_kind(root.get_submodule(str(node.target)))
    if _is_global_mean(node, in_shape):
        return "avgpool"
    kind = METHOD_KINDS.get(str(node.target), "other") if node.op == "call_method" else FUNCTION_KINDS.get(node.target)
    kind = kind or "other"
    if kind == "flatten" and not (len(in_shape) > 1 and len(out_shape) == 1):
        return "other"  # a reshape that does not turn maps into a vector
    return kind


def _shape(node: fx.Node) -> tuple[int, ...] | None:
    meta = node.meta.get("tensor_meta")
    if meta is None or not hasattr(meta, "shape"):
        return None  # not a tensor: a size, a tuple ...
    return tuple(int(s) for s in meta.shape[1:])


def trace(module: nn.Module, input_shape: tuple[int, ...]) -> Graph:
    """Trace ``module`` on a zero input of ``input_shape`` (C, H, W). The module is not changed (its
    BatchNorm layers must be in eval mode for shape propagation not to touch their statistics)."""
    gm = module if isinstance(module, fx.GraphModule) else fx.symbolic_trace(module)
    tensors = [*module.parameters(), *module.buffers()]
    dtype = next((t.dtype for t in tensors if t.is_floating_point()), torch.get_default_dtype())
    with torch.no_grad():
        ShapeProp(gm).propagate(torch.zeros(1, *input_shape, dtype=dtype))  # in the weights' dtype (float64 too)
    layers: list[Layer] = []
    public: dict[fx.Node, str] = {}
    calls: dict[str, int] = {}
    output = ""
    for node in gm.graph.nodes:
        if node.op == "output":
            result = node.args[0]
            if not isinstance(result, fx.Node) or result not in public:
                raise ValueError("the network must return one tensor: the class scores")
            output = public[result]
            continue
        shape = _shape(node)
        if shape is None or node.op == "get_attr":
            continue
        fed_by = [n for n in node.all_input_nodes if n in public]
        in_shape = _shape(fed_by[0]) or () if fed_by else ()
        kind = _kind(node, gm, in_shape, shape)
        if node.op == "call_module":
            path = str(node.target)
            submodule = gm.get_submodule(path)
            calls[path] = calls.get(path, 0) + 1
            first = calls[path] == 1
            name = path if first else f"{path}@{calls[path]}"
            params = sum(p.numel() for p in submodule.parameters()) if first else 0
            window = _module_window(submodule, in_shape, shape)
        else:
            name, path, params = (INPUT if node.op == "placeholder" else node.name), None, 0
            window = _function_window(node, kind, in_shape, shape)
        public[node] = name
        layers.append(Layer(name, kind, tuple(public[n] for n in fed_by), shape, params, path, window))
    if len(public) != len(set(public.values())):
        raise ValueError("two layers of the network would share a name")
    return Graph(layers, _capture(gm, public), output)


def _capture(gm: fx.GraphModule, public: dict[fx.Node, str]) -> fx.GraphModule:
    """A module over the same submodules whose forward returns ``{layer name: output}``."""
    graph = fx.Graph()
    remap: dict[fx.Node, fx.Node] = {}
    graph.graph_copy(gm.graph, remap)
    graph.output({name: remap[node] for node, name in public.items()})
    return fx.GraphModule(gm, graph, class_name="Capture")


def with_modules(gm: fx.GraphModule, replacements: dict[str, nn.Module]) -> fx.GraphModule:
    """A module running ``gm``'s graph with some submodules (by path) swapped, sharing all the others: the
    original is not changed."""
    owned: dict[str, Any] = {}
    for node in gm.graph.nodes:
        if node.op in ("call_module", "get_attr"):
            target = str(node.target)
            owned[target] = replacements[target] if target in replacements else _attr(gm, target)
    unknown = set(replacements) - set(owned)
    if unknown:
        raise KeyError(f"no module {sorted(unknown)[0]!r} in the network")
    return fx.GraphModule(owned, gm.graph, class_name=type(gm).__name__)


def _attr(root: nn.Module, path: str) -> Any:
    obj: Any = root
    for part in path.split("."):
        obj = getattr(obj, part)
    return obj
