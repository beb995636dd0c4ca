"""A network described as plain data (the ``graph`` architecture of a checkpoint): its modules by path with
their constructor settings, and its nodes in execution order. ``build`` turns it into an ``fx.GraphModule``
of ordinary ``torch.nn`` modules (``nn.Conv2d``, ``nn.BatchNorm2d``, ``nn.Linear`` ...), so an imported
network is traced, served, explained and folded like the bundled ones.

Nothing in a description is executable: module types, functions and ``aten`` operators are looked up in
the fixed tables below (an ``aten`` operator by its name in ``torch.ops.aten`` only), and arguments are JSON
values, references to earlier nodes (``{"node": name}``) and dtypes (``{"dtype": "float32"}``). Tensors that
are not a module's (constants, and parameters used by plain functions: ``"parameter": true``) belong to
``_tensors``.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as F
from torch import fx, nn

TENSORS = "_tensors"  # the module holding the description's loose tensors
NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
PATH = re.compile(r"^[A-Za-z0-9_]+(\.[A-Za-z0-9_]+)*$")
DTYPES = {
    "float32": torch.float32,
    "float64": torch.float64,
    "int64": torch.int64,
    "int32": torch.int32,
    "bool": torch.bool,
}


def _conv(s: dict[str, Any]) -> nn.Module:
    padding = s["padding"] if isinstance(s["padding"], str) else tuple(s["padding"])
    return nn.Conv2d(
        s["in_channels"], s["out_channels"], tuple(s["kernel_size"]), tuple(s["stride"]), padding,
        tuple(s["dilation"]), s["groups"], s["bias"],
    )  # fmt: skip


def _batchnorm(s: dict[str, Any]) -> nn.Module:
    cls = nn.BatchNorm2d if s["dims"] == 2 else nn.BatchNorm1d
    return cls(s["num_features"], s["eps"], s.get("momentum", 0.1), s.get("affine", True))


def _maxpool(s: dict[str, Any]) -> nn.Module:
    return nn.MaxPool2d(tuple(s["kernel_size"]), tuple(s["stride"]), tuple(s["padding"]), tuple(s["dilation"]),
                        ceil_mode=s["ceil_mode"])  # fmt: skip


def _avgpool(s: dict[str, Any]) -> nn.Module:
    return nn.AvgPool2d(tuple(s["kernel_size"]), tuple(s["stride"]), tuple(s["padding"]), s["ceil_mode"],
                        s["count_include_pad"], s.get("divisor_override"))  # fmt: skip


MODULES: dict[str, Callable[[dict[str, Any]], nn.Module]] = {
    "conv2d": _conv,
    "batchnorm": _batchnorm,
    "linear": lambda s: nn.Linear(s["in_features"], s["out_features"], s["bias"]),
    "maxpool2d": _maxpool,
    "avgpool2d": _avgpool,
    "adaptive_avgpool2d": lambda s: nn.AdaptiveAvgPool2d(tuple(s["output_size"])),
    "adaptive_maxpool2d": lambda s: nn.AdaptiveMaxPool2d(tuple(s["output_size"])),
    "relu": lambda s: nn.ReLU(),
    "relu6": lambda s: nn.ReLU6(),
    "leaky_relu": lambda s: nn.LeakyReLU(s["negative_slope"]),
    "elu": lambda s: nn.ELU(s["alpha"]),
    "gelu": lambda s: nn.GELU(s.get("approximate", "none")),
    "silu": lambda s: nn.SiLU(),
    "sigmoid": lambda s: nn.Sigmoid(),
    "tanh": lambda s: nn.Tanh(),
    "hardswish": lambda s: nn.Hardswish(),
    "hardsigmoid": lambda s: nn.Hardsigmoid(),
    "mish": lambda s: nn.Mish(),
    "prelu": lambda s: nn.PReLU(s["num_parameters"]),
    "flatten": lambda s: nn.Flatten(s["start_dim"], s["end_dim"]),
    "softmax": lambda s: nn.Softmax(s["dim"]),
    "log_softmax": lambda s: nn.LogSoftmax(s["dim"]),
    "zero_pad2d": lambda s: nn.ZeroPad2d(tuple(s["padding"])),
    "identity": lambda s: nn.Identity(),
}
# Plain functions a node may call: the layer table knows most of them (add, cat, flatten, pooling, activations).
FUNCTIONS: dict[str, Callable[..., Any]] = {
    "add": operator.add,
    "sub": operator.sub,
    "mul": operator.mul,
    "truediv": operator.truediv,
    "neg": operator.neg,
    "getitem": operator.getitem,
    "cat": torch.cat,
    "flatten": torch.flatten,
    "reshape": torch.reshape,
    "mean": torch.mean,
    "pad": F.pad,
    "relu": F.relu,
    "relu6": F.relu6,
    "leaky_relu": F.leaky_relu,
    "elu": F.elu,
    "gelu": F.gelu,
    "silu": F.silu,
    "sigmoid": torch.sigmoid,
    "tanh": torch.tanh,
    "hardswish": F.hardswish,
    "softmax": F.softmax,
    "log_softmax": F.log_softmax,
    "mish": F.mish,
    "hardsigmoid": F.hardsigmoid,
    "max_pool2d": F.max_pool2d,
    "avg_pool2d": F.avg_pool2d,
    "adaptive_avg_pool2d": F.adaptive_avg_pool2d,
    "adaptive_max_pool2d": F.adaptive_max_pool2d,
}


def dtype_name(dtype: torch.dtype) -> str:
    """The description's name of a dtype; ValueError for one it does not keep."""
    for name, known in DTYPES.items():
        if known == dtype:
            return name
    raise ValueError(f"tensors of dtype {dtype} are not supported")


def aten_op(target: str) -> Any:
    """``torch.ops.aten.<name>.<overload>`` for ``"aten.<name>.<overload>"``; ValueError for anything else."""
    parts = target.split(".")
    if len(parts) != 3 or parts[0] != "aten" or not all(NAME.match(p) for p in parts[1:]):
        raise ValueError(f"{target!r} is not an aten operator name")
    try:
        return getattr(getattr(torch.ops.aten, parts[1]), parts[2])
    except (AttributeError, RuntimeError):
        raise ValueError(f"unknown aten operator {target!r}") from None


def function(target: str) -> Any:
    return aten_op(target) if target.startswith("aten.") else FUNCTIONS[target]


@dataclass(frozen=True)
class GraphConfig:
    """The description: ``modules`` {path: {"type": ..., settings}}, ``tensors`` {key: {shape, dtype}} (the loose
    tensors, whose values are in the state_dict), ``nodes`` [{"name", "call": module|function|tensor, "target", "args",
    "kwargs"}], ``output`` (the node giving the class scores) and ``source`` (where it was imported from)."""

    modules: dict[str, dict[str, Any]] = field(default_factory=dict)
    tensors: dict[str, dict[str, Any]] = field(default_factory=dict)
    nodes: list[dict[str, Any]] = field(default_factory=list)
    output: str = ""
    source: dict[str, Any] = field(default_factory=dict)
    classes: int = 0  # the length of the output

    def to_dict(self) -> dict[str, Any]:
        return {
            "modules": self.modules,
            "tensors": self.tensors,
            "nodes": self.nodes,
            "output": self.output,
            "source": self.source,
            "classes": self.classes,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> GraphConfig:
        unknown = set(data) - set(cls.__dataclass_fields__)
        if unknown:
            raise ValueError(f"unknown graph config keys: {sorted(unknown)}")
        return cls(**data)


def make_module(spec: dict[str, Any]) -> nn.Module:
    kind = spec.get("type")
    if kind not in MODULES:
        raise ValueError(f"unknown module type {kind!r}")
    return MODULES[kind](spec)


def _arg(value: Any, env: dict[str, fx.Node]) -> Any:
    """A description's argument -> an fx argument (node references resolved, lists kept as lists)."""
    if isinstance(value, list):
        return [_arg(v, env) for v in value]
    if isinstance(value, dict):
        if set(value) == {"node"}:
            if value["node"] not in env:
                raise ValueError(f"node {value['node']!r} is used before it is defined")
            return env[value["node"]]
        if set(value) == {"dtype"}:
            return DTYPES[value["dtype"]]
        if set(value) == {"tuple"}:
            return tuple(_arg(v, env) for v in value["tuple"])
        raise ValueError(f"unknown argument {value!r}")
    if value is None or isinstance(value, bool | int | float | str):
        return value
    raise ValueError(f"unknown argument {value!r}")


def _modules(cfg: GraphConfig) -> dict[str, Any]:
    owned: dict[str, Any] = {}
    for path, spec in cfg.modules.items():
        if not PATH.match(path) or path.split(".")[0] == TENSORS:
            raise ValueError(f"{path!r} is not a module path")
        owned[path] = make_module(spec)
    for key, meta in cfg.tensors.items():  # buffers of the module at TENSORS (fx.GraphModule makes it)
        if not NAME.match(key) or meta.get("dtype") not in DTYPES:
            raise ValueError(f"{key!r} is not a tensor name with a known dtype")
        value = torch.zeros([int(s) for s in meta["shape"]], dtype=DTYPES[meta["dtype"]])
        owned[f"{TENSORS}.{key}"] = nn.Parameter(value, requires_grad=False) if meta.get("parameter") else value
    return owned


def build(cfg: GraphConfig) -> fx.GraphModule:
    """The described network with freshly initialised parameters (``load_state_dict`` fills them)."""
    owned = _modules(cfg)
    graph = fx.Graph()
    env: dict[str, fx.Node] = {}
    for i, spec in enumerate(cfg.nodes):
        name, call, target = spec["name"], spec["call"], spec.get("target")
        if not NAME.match(name) or name in env:
            raise ValueError(f"node {i}: {name!r} is not a new identifier")
        args = tuple(_arg(a, env) for a in spec.get("args", []))
        kwargs = {k: _arg(v, env) for k, v in spec.get("kwargs", {}).items()}
        if call == "input":
            node = graph.create_node("placeholder", name, name=name)
        elif call == "module":
            if target not in cfg.modules:
                raise ValueError(f"node {name!r} calls unknown module {target!r}")
            node = graph.create_node("call_module", target, args, kwargs, name=name)
        elif call == "tensor":
            if target not in cfg.tensors:
                raise ValueError(f"node {name!r} reads unknown tensor {target!r}")
            node = graph.create_node("get_attr", f"{TENSORS}.{target}", name=name)
        elif call == "function":
            node = graph.create_node("call_function", function(str(target)), args, kwargs, name=name)
        else:
            raise ValueError(f"node {name!r}: unknown call {call!r}")
        if node.name != name:
            raise ValueError(f"node {i}: {name!r} is a reserved name")
        env[name] = node
    if cfg.output not in env:
        raise ValueError(f"the output {cfg.output!r} is not a node")
    graph.output(env[cfg.output])
    graph.lint()
    return fx.GraphModule(owned, graph, class_name="Imported")
