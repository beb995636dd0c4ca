"""The ``convlens`` command (also ``python -m app``): ``serve``, ``train``, ``top`` and ``import``, each with
``--help``.

Each command's module adds its options to its subparser (``add_arguments``) and runs it (``run``).
"""

from __future__ import annotations

import argparse
import os

from app.config import at_least_one
from app.importing import command as importing
from app.labs import top
from app.training import train


def add_serve_arguments(p: argparse.ArgumentParser) -> None:
    """The options of ``convlens serve`` (defaults from $HOST, $PORT, $WORKERS, $LOG_LEVEL)."""
    p.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
    p.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
    p.add_argument("--workers", type=at_least_one, default=int(os.environ.get("WORKERS", "1")))
    p.add_argument("--reload", action="store_true", help="restart on code changes (development)")
    p.add_argument("--log-level", default=os.environ.get("LOG_LEVEL", "info").lower())


def serve(args: argparse.Namespace) -> int:
    """Serve ``app.main:app`` with uvicorn."""
    import uvicorn

    uvicorn.run(
        "app.main:app",
        host=args.host,
        port=args.port,
        workers=None if args.reload else args.workers,
        reload=args.reload,
        log_level=args.log_level,
        timeout_graceful_shutdown=10,
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
    "import": (
        "Import a torch.export program (.pt2) or an ONNX model (.onnx) as a served model.",
        importing.add_arguments,
        importing.run,
    ),
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
