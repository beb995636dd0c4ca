"""Opening a ``torch.export`` archive (``.pt2``) without running anything it holds.

``torch.export.load`` is not safe on its own for a file from someone else: it unpickles weights and constants
marked ``use_pickle`` (``weights_only=False``), retries the sample inputs with ``weights_only=False`` when the
safe load fails, unpickles "opaque" and TorchBind constants, loads compiled AOTInductor libraries found under
``data/aotinductor/``, and parses every symbolic shape expression with ``sympy.sympify``, which evaluates
Python. So before calling it, ``check`` reads the archive as a zip and refuses:

- anything that is not a ``torch.export.save`` archive of format ``pt2`` (a pickle, a ``torch.save`` file);
- any entry outside the plain layout (JSON graph, raw weight and constant bytes, sample inputs, extra text);
- any payload marked ``use_pickle`` and any non-tensor constant;
- sample inputs that ``torch.load(weights_only=True)`` cannot read;
- any symbolic expression that is not arithmetic over shape symbols.

``load`` then runs ``torch.export.load`` with ``TORCH_FORCE_WEIGHTS_ONLY_LOAD=1`` (so every ``torch.load``
inside it is the restricted unpickler, whatever it asks for), as a second line of defence.
"""

from __future__ import annotations

import io
import json
import os
import re
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import torch

from app.importing.emit import ImportFailure

PICKLE_REFUSED = (
    "{file} is a pickled PyTorch object (torch.save), and loading one can run any code: save the network with"
    " torch.export.save(torch.export.export(model.eval(), (example,)), 'model.pt2') instead"
)
# The entries torch.export.save writes, under the archive's root folder (the model is named "model").
ALLOWED = re.compile(
    r"^(archive_format|archive_version|byteorder|\.data/version|\.data/serialization_id|models/model\.json"
    r"|data/weights/(weight_\d+|model_weights_config\.json)|data/constants/(tensor_\d+|model_constants_config\.json)"
    r"|data/sample_inputs/model\.pt|extra/[A-Za-z0-9_.\-]+)$"
)
SYMBOL = re.compile(r"^[a-z]+\d+$")  # s0, s77, u3: the shape symbols torch creates
SYMPY_FUNCTIONS = {"Max", "Min", "FloorDiv", "CeilDiv", "Mod", "PythonMod", "CleanDiv", "IntTrueDiv"}
EXPRESSION = re.compile(r"^[A-Za-z0-9_ +\-*/(),]*$")


def _is_pickle(head: bytes) -> bool:
    return head[:1] == b"\x80" and len(head) > 1 and head[1] <= 5


def _json(zf: zipfile.ZipFile, name: str) -> Any:
    try:
        return json.loads(zf.read(name))
    except (KeyError, ValueError, UnicodeDecodeError):
        raise ImportFailure(f"the archive's {name.split('/', 1)[-1]} is missing or not valid JSON") from None


def _check_payloads(zf: zipfile.ZipFile, root: str, what: str) -> None:
    config = _json(zf, f"{root}data/{what}s/model_{what}s_config.json")
    for fqn, payload in (config.get("config") or {}).items():
        if payload.get("use_pickle"):
            raise ImportFailure(f"the {what} {fqn!r} is stored as a pickle, which could run code when loaded")
        if not str(payload.get("path_name", "")).startswith(("weight_", "tensor_")):
            raise ImportFailure(f"the {what} {fqn!r} is not a plain tensor (it is {payload.get('path_name')!r})")


def _expressions(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "expr_str" and isinstance(value, str):
                yield value
            else:
                yield from _expressions(value)
    elif isinstance(node, list):
        for value in node:
            yield from _expressions(value)


def _check_expression(expr: str) -> None:
    words = set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", expr))
    if not EXPRESSION.match(expr) or "__" in expr or any(not (SYMBOL.match(w) or w in SYMPY_FUNCTIONS) for w in words):
        raise ImportFailure(f"the shape expression {expr[:60]!r} is not arithmetic over shape sizes")


def check(path: Path) -> None:
    """ImportFailure unless ``path`` is a plain ``torch.export.save`` archive (see the module's docstring)."""
    with open(path, "rb") as f:
        head = f.read(2)
    if _is_pickle(head):
        raise ImportFailure(PICKLE_REFUSED.format(file=path.name))
    if not zipfile.is_zipfile(path):
        raise ImportFailure(f"{path.name} is not a torch.export archive (.pt2 files are zip archives)")
    try:
        with zipfile.ZipFile(path) as zf:
            _check_entries(zf, path)
    except zipfile.BadZipFile as exc:
        raise ImportFailure(f"{path.name} is a damaged zip archive ({exc})") from None


def _check_entries(zf: zipfile.ZipFile, path: Path) -> None:
    names = [n for n in zf.namelist() if not n.endswith("/")]
    if any(n.endswith(".pkl") for n in names):
        raise ImportFailure(PICKLE_REFUSED.format(file=path.name))
    roots = {n.split("/", 1)[0] for n in names}
    if len(roots) != 1 or not all("/" in n for n in names):
        raise ImportFailure(f"{path.name} is not a torch.export archive (its entries are not in one folder)")
    root = roots.pop() + "/"
    fmt = zf.read(f"{root}archive_format") if f"{root}archive_format" in names else b""
    if fmt != b"pt2":
        raise ImportFailure(f"{path.name} is not a torch.export archive (it has no archive_format 'pt2')")
    for name in names:
        if not ALLOWED.match(name[len(root) :]):
            raise ImportFailure(f"{path.name} holds {name[len(root) :]!r}, which a torch.export archive does not")
    _check_payloads(zf, root, "weight")
    _check_payloads(zf, root, "constant")
    for expr in _expressions(_json(zf, f"{root}models/model.json")):
        _check_expression(expr)
    sample = f"{root}data/sample_inputs/model.pt"
    if sample in names:
        try:
            torch.load(io.BytesIO(zf.read(sample)), weights_only=True)
        except Exception:
            raise ImportFailure("the archive's sample inputs are not plain tensors (they need unpickling)") from None


@contextmanager
def _weights_only() -> Iterator[None]:
    before = os.environ.get("TORCH_FORCE_WEIGHTS_ONLY_LOAD")
    os.environ["TORCH_FORCE_WEIGHTS_ONLY_LOAD"] = "1"
    try:
        yield
    finally:
        if before is None:
            del os.environ["TORCH_FORCE_WEIGHTS_ONLY_LOAD"]
        else:
            os.environ["TORCH_FORCE_WEIGHTS_ONLY_LOAD"] = before


def load(path: Path) -> torch.export.ExportedProgram:
    """The program in ``path``, checked first; ImportFailure with one sentence when it cannot be used."""
    check(path)
    try:
        with _weights_only():
            return torch.export.load(path)
    except Exception as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
        raise ImportFailure(f"torch.export.load could not read {path.name}: {first}") from None
