"""The ``convlens`` command (also ``python -m app``): ``serve``, ``train``, ``top``, ``fold``, ``import`` and ``i18n``,
each with ``--help``.

Each command's module adds its options to its subparser (``add_arguments``) and runs it (``run``).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from app.config import Settings, at_least_one, positive, root_path
from app.i18n import command as i18n
from app.importing import command as importing
from app.labs import top
from app.nets import fold_file
from app.training import train

# The HTTP server's limits (app/serving/protocol.py): option, setting, what it limits.
SERVER_LIMITS = (
    ("--max-connections", "max_connections", "CONVLENS_MAX_CONNECTIONS", "open connections per worker"),
    ("--max-header-bytes", "max_header_bytes", "CONVLENS_MAX_HEADER_BYTES", "bytes of URL and headers"),
    ("--max-headers", "max_headers", "CONVLENS_MAX_HEADERS", "header lines"),
    ("--header-timeout", "header_timeout", "CONVLENS_HEADER_TIMEOUT_SECONDS", "seconds to send the headers"),
    ("--body-timeout", "body_timeout", "CONVLENS_BODY_TIMEOUT_SECONDS", "seconds to send the body"),
    ("--send-timeout", "send_timeout", "CONVLENS_SEND_TIMEOUT_SECONDS", "seconds an answer may go unread"),
)
KEEP_ALIVE = 5  # seconds an idle connection stays open between requests


def prefix(text: str) -> str:
    """``--root-path``: a URL path prefix (app.config.root_path), normalised."""
    try:
        return root_path(text, "--root-path")
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


def add_serve_arguments(p: argparse.ArgumentParser) -> None:
    """The options of ``convlens serve`` (defaults from $HOST, $PORT, $WORKERS, $LOG_LEVEL and the
    ``CONVLENS_*`` settings; README "Limits")."""
    p.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
    p.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
    p.add_argument("--workers", type=at_least_one, default=int(os.environ.get("WORKERS", "1")))
    p.add_argument("--reload", action="store_true", help="restart on code changes (development)")
    p.add_argument("--log-level", default=os.environ.get("LOG_LEVEL", "info").lower())
    defaults = Settings.from_env()
    p.add_argument(
        "--root-path",
        type=prefix,
        default=defaults.root_path,
        help="the path prefix a reverse proxy serves the app under and strips, e.g. /convlens ($CONVLENS_ROOT_PATH)",
    )
    p.add_argument(
        "--model-dir",
        type=Path,
        default=None,
        help="also serve the models in this folder, beside the bundled ones ($CONVLENS_MODEL_DIR)",
    )
    for option, name, variable, text in SERVER_LIMITS:
        default = getattr(defaults, name)
        kind = at_least_one if isinstance(default, int) else positive
        p.add_argument(option, type=kind, default=default, help=f"{text} (${variable}; default {default:g})")


def server_options(args: argparse.Namespace) -> dict:
    """uvicorn's protocol and limits for ``args``. The limits travel to the workers (and to the app) as
    ``CONVLENS_*`` variables; without httptools, uvicorn's h11 protocol keeps only the header size limit."""
    for _, name, variable, _ in SERVER_LIMITS:
        os.environ[variable] = str(getattr(args, name))
    try:
        import httptools  # noqa: F401
    except ImportError:  # pragma: no cover - uvicorn[standard] installs it
        return {"http": "h11", "h11_max_incomplete_event_size": args.max_header_bytes}
    return {"http": "app.serving.protocol:GuardedHttpTools"}


def serve(args: argparse.Namespace) -> int:
    """Serve ``app.main:app`` with uvicorn."""
    import uvicorn

    # each worker process reads its settings from the environment: tell it how many share the CPUs
    os.environ["WORKERS"] = str(1 if args.reload else args.workers)
    if args.model_dir is not None:
        if not args.model_dir.is_dir():
            print(f"convlens serve: --model-dir {args.model_dir} is not a folder", file=sys.stderr)
            return 2
        os.environ["CONVLENS_MODEL_DIR"] = str(args.model_dir.resolve())
    os.environ["CONVLENS_ROOT_PATH"] = args.root_path  # the app (every worker) reads it: app/serving/root_path.py

    uvicorn.run(
        "app.main:app",
        host=args.host,
        port=args.port,
        workers=None if args.reload else args.workers,
        reload=args.reload,
        log_level=args.log_level,
        timeout_graceful_shutdown=10,
        timeout_keep_alive=KEEP_ALIVE,
        **server_options(args),
    )
    return 0


COMMANDS = {
    "serve": ("Serve the ConvLens app with uvicorn.", add_serve_arguments, serve),
    "train": ("Train the LeNet on MNIST; writes models/<name>.pt and its model card.", train.add_arguments, train.run),
    "top": (
        "Find the test digits that activate each channel most; writes models/<model>.top.json.",
        top.add_arguments,
        top.run,
    ),
    "fold": (
        "Check BatchNorm folding over the test set; writes models/<model>.fold.json.",
        fold_file.add_arguments,
        fold_file.run,
    ),
    "import": (
        "Import a torch.export program (.pt2) or an ONNX model (.onnx) as a served model.",
        importing.add_arguments,
        importing.run,
    ),
    "i18n": ("Extract, check or compile the interface's message catalogs.", i18n.add_arguments, i18n.run),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="convlens", description="Look inside a trained convolutional network.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="{" + ",".join(COMMANDS) + "}")
    for name, (text, add_arguments, run) in COMMANDS.items():
        sub = commands.add_parser(name, help=text, description=text)
        add_arguments(sub)
        sub.set_defaults(run=run)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.run(args))


if __name__ == "__main__":
    raise SystemExit(main())
