"""Reading an ONNX model without running anything it holds: ONNX is a protobuf message (parsing it executes
nothing), a pickle is refused with the advice to export, weights kept in files beside the model are read only
from plain file names in the model's own folder, and the model must pass ONNX's checker.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from app.importing.archive import PICKLE_REFUSED, _is_pickle
from app.importing.emit import ImportFailure


def read(path: Path) -> Any:
    """The ONNX model in ``path``, checked; ImportFailure with one sentence when it cannot be used."""
    import onnx

    data = path.read_bytes()
    if _is_pickle(data[:2]):
        raise ImportFailure(PICKLE_REFUSED.format(file=path.name))
    try:
        model = onnx.load_model_from_string(data)
    except Exception:
        raise ImportFailure(f"{path.name} is not a valid ONNX model (it does not parse as one)") from None
    if not model.graph.node:
        raise ImportFailure(f"{path.name} is not a valid ONNX model (its graph has no nodes)")
    _external_data(model, path)
    try:
        onnx.checker.check_model(model)
    except Exception as exc:
        first = (str(exc).strip().splitlines() or ["invalid"])[0][:200]
        raise ImportFailure(f"{path.name} fails ONNX's model check: {first}") from None
    return model


def _external_data(model: Any, path: Path) -> None:
    """Weights kept beside the model (torch's exporter writes ``model.onnx.data``) are read in, from plain file
    names in the model's own folder only."""
    import onnx
    from onnx.external_data_helper import load_external_data_for_model

    external = [t for t in model.graph.initializer if t.data_location == onnx.TensorProto.EXTERNAL]
    for tensor in external:
        info = {e.key: e.value for e in tensor.external_data}
        location = info.get("location", "")
        if not location or Path(location).name != location or location in (".", ".."):
            raise ImportFailure(f"the weight {tensor.name!r} is in {location!r}, outside the model's folder")
        if not (path.parent / location).is_file():
            raise ImportFailure(f"the weight {tensor.name!r} is in {location}, which is not beside {path.name}")
    if external:
        try:
            load_external_data_for_model(model, str(path.parent))
        except Exception as exc:
            raise ImportFailure(f"the weights beside {path.name} cannot be read: {exc}") from None
