"""Writing a network description (``app.nets.graphspec``) node by node, for both importers.

``Emitter`` keeps the description, the modules it creates (holding the file's weights) and every node's value
on an example batch, computed as each node is added: later nodes read their inputs' shapes from it, and an
operation that cannot run (on a batch of two images, say) fails at the node that causes it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from app.nets import graphspec

EXAMPLE_BATCH = 2
_UNSAFE = re.compile(r"[^A-Za-z0-9_]")


class ImportFailure(ValueError):
    """A file that cannot be imported, with one sentence saying why."""


def check_input(declared: Sequence[int | None], given: tuple[int, ...]) -> None:
    """ImportFailure unless a file's declared image shape (C, H, W; None for a free size) fits ``--input``."""
    fits = len(declared) == len(given) and all(d is None or d == g for d, g in zip(declared, given, strict=False))
    if not fits:
        text = "x".join("?" if d is None else str(d) for d in declared)
        raise ImportFailure(f"the model takes images of shape {text}, not the --input {'x'.join(map(str, given))}")


def identifier(text: str, fallback: str = "node") -> str:
    """``text`` as a Python identifier (``block.0/Conv`` -> ``block_0_Conv``)."""
    name = _UNSAFE.sub("_", text).strip("_") or fallback
    return f"n{name}" if name[0].isdigit() else name


def module_path(text: str) -> str:
    """``text`` as a module path: dot-separated identifiers (``/block/block.0`` -> ``block.0``)."""
    parts = [_UNSAFE.sub("_", p) for p in re.split(r"[./]", text) if p]
    return ".".join(parts) or "layer"


class Emitter:
    def __init__(self, example: torch.Tensor, source: dict[str, Any]) -> None:
        self.cfg = graphspec.GraphConfig(source=source)
        self.modules: dict[str, nn.Module] = {}
        self.tensors: dict[str, torch.Tensor] = {}
        self.values: dict[str, Any] = {}
        self.names: set[str] = set()
        self._tensor_of: dict[int, str] = {}
        self.input = self._node({"call": "input", "target": "x"}, "x", example)

    # --- names ------------------------------------------------------------------------------------------

    def _unique(self, hint: str, taken: set[str]) -> str:
        name, i = hint, 0
        while name in taken:
            i += 1
            name = f"{hint}_{i}"
        return name

    def _node(self, spec: dict[str, Any], hint: str, value: Any) -> str:
        name = self._unique(identifier(hint), self.names | set(self.modules) | {"output", graphspec.TENSORS})
        self.cfg.nodes.append({"name": name, **spec})
        self.names.add(name)
        self.values[name] = value
        return name

    # --- nodes --------------------------------------------------------------------------------------------

    def value(self, ref: Any) -> Any:
        """An argument with node references replaced by their example values."""
        if isinstance(ref, dict) and set(ref) == {"node"}:
            return self.values[ref["node"]]
        if isinstance(ref, dict) and set(ref) == {"tuple"}:
            return tuple(self.value(v) for v in ref["tuple"])
        if isinstance(ref, dict) and set(ref) == {"dtype"}:
            return graphspec.DTYPES[ref["dtype"]]
        if isinstance(ref, list):
            return [self.value(v) for v in ref]
        return ref

    def shape(self, name: str) -> tuple[int, ...]:
        value = self.values[name]
        if not isinstance(value, torch.Tensor):
            raise ImportFailure(f"node {name} is not a tensor")
        return tuple(value.shape)

    def module(
        self, hint: str, spec: dict[str, Any], weights: dict[str, torch.Tensor | None], arg: str, where: str
    ) -> str:
        """A call of a new module (or of the module at ``hint`` again, when it is the same module with the
        same weights: a module the network calls twice). Returns the node's name."""
        path = module_path(hint)
        existing = self.cfg.modules.get(path)
        if existing is not None and not (existing == spec and self._same(self.modules[path], weights)):
            path = self._unique(path, set(self.cfg.modules) | self.names)
            existing = None
        if existing is None and any(p.startswith(path + ".") or path.startswith(p + ".") for p in self.cfg.modules):
            path = self._unique(identifier(path), set(self.cfg.modules) | self.names)  # no module inside another
        if existing is None and path in self.names:  # a function call's layer already has this name
            path = self._unique(path, set(self.cfg.modules) | self.names)
        if existing is None:
            module = graphspec.make_module(spec).eval()  # BatchNorm must not learn from the example
            self._load(module, weights, where)
            self.cfg.modules[path] = spec
            self.modules[path] = module
        value = self._run(where, self.modules[path], self.values[arg])
        return self._node({"call": "module", "target": path, "args": [{"node": arg}]}, f"call_{path}", value)

    def function(self, hint: str, target: str, args: list[Any], kwargs: dict[str, Any] | None, where: str) -> str:
        kwargs = kwargs or {}
        fn = graphspec.function(target)
        value = self._run(where, fn, *[self.value(a) for a in args], **{k: self.value(v) for k, v in kwargs.items()})
        return self._node({"call": "function", "target": target, "args": args, "kwargs": kwargs}, hint, value)

    def origin(self, name: Any, original: str) -> None:
        """Mark the emitted node ``name`` as reproducing the file's value ``original`` (the first one it
        reproduces: an alias like an eval-mode dropout gives the same node again)."""
        if not isinstance(name, str) or name == self.input:
            return
        spec = next(s for s in reversed(self.cfg.nodes) if s["name"] == name)
        if spec["call"] in ("module", "function"):
            spec.setdefault("origin", original)

    def tensor(self, hint: str, value: torch.Tensor, parameter: bool = False) -> str:
        """A node reading a loose tensor (a constant, or a ``parameter`` of the network used by a plain
        function); one per tensor."""
        if id(value) in self._tensor_of:
            return self._tensor_of[id(value)]
        key = self._unique(identifier(hint, "tensor"), set(self.tensors))
        try:
            dtype = graphspec.dtype_name(value.dtype)
        except ValueError as exc:
            raise ImportFailure(f"the stored tensor {hint!r}: {exc}") from None
        self.tensors[key] = value.detach().clone()
        self.cfg.tensors[key] = {"shape": list(value.shape), "dtype": dtype, "parameter": parameter}
        name = self._node({"call": "tensor", "target": key}, f"{key}_const", self.tensors[key])
        self._tensor_of[id(value)] = name
        return name

    # --- helpers ------------------------------------------------------------------------------------------

    @staticmethod
    def _run(where: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            with torch.no_grad():
                return fn(*args, **kwargs)
        except Exception as exc:  # any failure of the user's graph becomes one sentence naming the node
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise ImportFailure(f"{where} does not run on a batch of {EXAMPLE_BATCH} images: {first}") from None

    @staticmethod
    def _load(module: nn.Module, weights: dict[str, torch.Tensor | None], where: str) -> None:
        own = dict(module.named_parameters()) | dict(module.named_buffers())
        for key, tensor in weights.items():
            if tensor is None:
                continue
            if key not in own or tuple(own[key].shape) != tuple(tensor.shape):
                raise ImportFailure(f"{where}: its {key} has shape {list(tensor.shape)}, which does not fit")
            with torch.no_grad():
                own[key].copy_(tensor.to(own[key].dtype))

    @staticmethod
    def _same(module: nn.Module, weights: dict[str, torch.Tensor | None]) -> bool:
        own = dict(module.named_parameters()) | dict(module.named_buffers())
        return all(t is None or (k in own and torch.equal(own[k], t.to(own[k].dtype))) for k, t in weights.items())

    def finish(self, output: str, classes: int) -> tuple[graphspec.GraphConfig, dict[str, torch.Tensor]]:
        """The description and the state_dict of the module it builds."""
        cfg = graphspec.GraphConfig(
            modules=self.cfg.modules,
            tensors=self.cfg.tensors,
            nodes=self.cfg.nodes,
            output=output,
            source=self.cfg.source,
            classes=classes,
        )
        module = graphspec.build(cfg)
        state = module.state_dict()
        for path, own in self.modules.items():
            for key, tensor in own.state_dict().items():
                state[f"{path}.{key}"] = tensor
        for key, tensor in self.tensors.items():
            state[f"{graphspec.TENSORS}.{key}"] = tensor
        module.load_state_dict(state)
        return cfg, module.state_dict()
