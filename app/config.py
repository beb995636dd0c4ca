"""Settings, read once from the environment (``CONVLENS_*``; the Docker image sets them)."""

from __future__ import annotations

import argparse
import os
import re
import socket
from dataclasses import dataclass, field
from pathlib import Path

from app.serving.cpus import available_cpus

PROJECT_ROOT = Path(__file__).resolve().parent.parent
MIB = 1024 * 1024


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


def _float(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError as exc:
        raise ValueError(f"${name} must be a number, not {raw!r}") from exc
    if not value > 0:
        raise ValueError(f"${name} must be more than 0, not {value}")
    return value


def _mib(name: str, default: int) -> int:
    """A size given in MiB in the environment, in bytes."""
    return _int(name, default // MIB) * MIB if os.environ.get(name) else default


def at_least_one(text: str) -> int:
    """A command-line count (``--workers``, ``--per-channel``): an integer of at least 1."""
    try:
        value = int(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"expected an integer, not {text!r}") from exc
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def _nice(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    if not raw.strip().isdigit() or int(raw) > 19:
        raise ValueError(f"${name} must be a whole number 0..19, not {raw!r}")
    return int(raw)


def positive(text: str) -> float:
    """A command-line duration (``--header-timeout``): a number above 0."""
    try:
        value = float(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"expected a number, not {text!r}") from exc
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be more than 0, not {value:g}")
    return value


def default_torch_threads(workers: int) -> int:
    """The CPUs this process may use (its container's, see app/serving/cpus.py), shared among the
    ``workers`` processes of one server; at least 1."""
    return max(1, available_cpus() // workers)


def _replica(name: str) -> str:
    """This replica's name for the X-ConvLens-Replica header: $name, else the host name (a container's
    id, a Kubernetes pod's name)."""
    value = os.environ.get(name) or socket.gethostname()
    if not (value.isascii() and value.isprintable()):
        raise ValueError(f"${name} must be printable ASCII (it is sent as a header), not {value!r}")
    return value


ROOT_PATH = re.compile(r"(/[A-Za-z0-9._~!$&'()*+,;=:@%-]+)*")


def root_path(value: str, name: str = "$CONVLENS_ROOT_PATH") -> str:
    """A path prefix the app is served under behind a reverse proxy (``/convlens``; ``/convlens/`` and
    ``convlens`` mean the same, ``""`` and ``/`` none): ``/`` and path segments of URL characters, without
    a trailing ``/``. ValueError otherwise (it is written into every page's links)."""
    text = value.strip().strip("/")
    prefix = f"/{text}" if text else ""
    if not ROOT_PATH.fullmatch(prefix) or "//" in prefix:
        raise ValueError(f"{name} must be a URL path such as /convlens (letters, digits and -._~), not {value!r}")
    return prefix


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
    # torch threads per process; from_env: $CONVLENS_TORCH_THREADS, else default_torch_threads($WORKERS)
    torch_threads: int = 1
    malloc_arenas: int = 2  # glibc malloc arenas (see app/serving/memory.py)
    cors_origins: tuple[str, ...] = field(default_factory=tuple)
    # the path prefix a reverse proxy serves the app under, and strips (README "Behind a reverse proxy")
    root_path: str = ""
    max_jpeg_scans: int = 64  # start-of-scan markers in a JPEG (a progressive one has about 10)

    # What a request may cost, and what all requests together may (app/serving/admission.py). The
    # defaults fit one worker in a 1 GiB container with 2 CPUs: the idle server holds about 350 MiB, and
    # the budgets below add up to 560 MiB more at most: heavy + light + bodies (README "Limits").
    request_memory: int = 384 * MIB  # estimated peak memory of one request (more: 413)
    request_cpu: float = 4.0  # estimated CPU seconds of one request (more: 422)
    heavy_memory: int = 448 * MIB  # all heavy requests in flight together, answers included
    light_memory: int = 64 * MIB  # all light requests in flight together
    body_memory: int = 48 * MIB  # request bodies being read or held, all requests together
    light_request_memory: int = 16 * MIB  # a request under both of these is light ...
    light_request_cpu: float = 0.05  # ... and skips the heavy queue
    heavy_slots: int = 1  # heavy requests running at once (each on one core)
    heavy_nice: int = 0  # CPU priority of the heavy threads (0: like the rest; up to 19: lower; README)
    queue: int = 8  # heavy requests waiting for a slot (more: 503 at once)
    queue_wait: float = 10.0  # seconds a request may wait in the queue (more: 503)
    deadline: float = 30.0  # seconds a heavy request may run before it is stopped (503; also at 2 x request_cpu)

    # The HTTP server (app/serving/protocol.py; the same limits in deploy/nginx/convlens.conf)
    max_connections: int = 512  # open connections per worker (more are closed at once with a 503)
    max_header_bytes: int = 16 * 1024  # request line and headers (more: 431)
    max_headers: int = 100  # header lines (more: 431)
    header_timeout: float = 10.0  # seconds to send the request line and headers (then: closed)
    body_timeout: float = 60.0  # seconds to send the body (then: 408)
    send_timeout: float = 30.0  # seconds an answer may wait for the client to read anything (then: closed)
    replica: str = field(default_factory=socket.gethostname)  # sent in every response's X-ConvLens-Replica

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
            torch_threads=_int("CONVLENS_TORCH_THREADS", 0) or default_torch_threads(_int("WORKERS", 1)),
            malloc_arenas=_int("CONVLENS_MALLOC_ARENAS", cls.malloc_arenas),
            cors_origins=_list("CONVLENS_CORS_ORIGINS"),
            root_path=root_path(env.get("CONVLENS_ROOT_PATH", "")),
            max_jpeg_scans=_int("CONVLENS_MAX_JPEG_SCANS", cls.max_jpeg_scans),
            request_memory=_mib("CONVLENS_REQUEST_MEMORY_MIB", cls.request_memory),
            request_cpu=_float("CONVLENS_REQUEST_CPU_SECONDS", cls.request_cpu),
            heavy_memory=_mib("CONVLENS_HEAVY_MEMORY_MIB", cls.heavy_memory),
            light_memory=_mib("CONVLENS_LIGHT_MEMORY_MIB", cls.light_memory),
            body_memory=_mib("CONVLENS_BODY_MEMORY_MIB", cls.body_memory),
            heavy_slots=_int("CONVLENS_HEAVY_SLOTS", cls.heavy_slots),
            heavy_nice=_nice("CONVLENS_HEAVY_NICE", cls.heavy_nice),
            queue=_int("CONVLENS_QUEUE", cls.queue),
            queue_wait=_float("CONVLENS_QUEUE_WAIT_SECONDS", cls.queue_wait),
            deadline=_float("CONVLENS_DEADLINE_SECONDS", cls.deadline),
            max_connections=_int("CONVLENS_MAX_CONNECTIONS", cls.max_connections),
            max_header_bytes=_int("CONVLENS_MAX_HEADER_BYTES", cls.max_header_bytes),
            max_headers=_int("CONVLENS_MAX_HEADERS", cls.max_headers),
            header_timeout=_float("CONVLENS_HEADER_TIMEOUT_SECONDS", cls.header_timeout),
            body_timeout=_float("CONVLENS_BODY_TIMEOUT_SECONDS", cls.body_timeout),
            send_timeout=_float("CONVLENS_SEND_TIMEOUT_SECONDS", cls.send_timeout),
            replica=_replica("CONVLENS_REPLICA"),
        )
