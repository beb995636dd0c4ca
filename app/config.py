"""Settings, read once from the environment (``CONVLENS_*``; the Docker image sets them)."""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass, field
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise ValueError(f"${name} must be an integer, not {raw!r}") from exc
    if value < 1:
        raise ValueError(f"${name} must be at least 1, not {value}")
    return value


def at_least_one(text: str) -> int:
    """A command-line count (``--workers``, ``--per-channel``): an integer of at least 1."""
    try:
        value = int(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"expected an integer, not {text!r}") from exc
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def _list(name: str) -> tuple[str, ...]:
    return tuple(item.strip() for item in os.environ.get(name, "").split(",") if item.strip())


@dataclass(frozen=True)
class Settings:
    # Served: the bundled models, and the models in model_dir (imported ones; the same folder by default).
    model_dir: Path = PROJECT_ROOT / "models"
    bundled_dir: Path = PROJECT_ROOT / "models"
    data_dir: Path = PROJECT_ROOT / "data"  # one folder per test set: mnist/, fashion-mnist/
    default_model: str = "lenet_bn"
    max_upload_bytes: int = 5 * 1024 * 1024
    max_pixels: int = 4096 * 4096
    # Whole request bodies (multipart overhead, several images for the BatchNorm lab) may be larger.
    max_body_bytes: int = 24 * 1024 * 1024
    torch_threads: int = 1
    malloc_arenas: int = 2  # glibc malloc arenas (see app/serving/memory.py)
    cors_origins: tuple[str, ...] = field(default_factory=tuple)

    @property
    def model_dirs(self) -> list[Path]:
        """The folders models are served from: the bundled models first, then ``model_dir`` if it is another."""
        if Path(self.model_dir).resolve() == Path(self.bundled_dir).resolve():
            return [Path(self.bundled_dir)]
        return [Path(self.bundled_dir), Path(self.model_dir)]

    @classmethod
    def from_env(cls) -> Settings:
        env = os.environ
        return cls(
            model_dir=Path(env.get("CONVLENS_MODEL_DIR") or cls.model_dir),
            data_dir=Path(env.get("CONVLENS_DATA_DIR") or cls.data_dir),
            default_model=env.get("CONVLENS_DEFAULT_MODEL") or cls.default_model,
            max_upload_bytes=_int("CONVLENS_MAX_UPLOAD_BYTES", cls.max_upload_bytes),
            max_pixels=_int("CONVLENS_MAX_PIXELS", cls.max_pixels),
            max_body_bytes=_int("CONVLENS_MAX_BODY_BYTES", cls.max_body_bytes),
            torch_threads=_int("CONVLENS_TORCH_THREADS", cls.torch_threads),
            malloc_arenas=_int("CONVLENS_MALLOC_ARENAS", cls.malloc_arenas),
            cors_origins=_list("CONVLENS_CORS_ORIGINS"),
        )
