"""``convlens serve``, ``convlens train`` and ``convlens top`` (also ``python -m app``)."""

from __future__ import annotations

import argparse
import os
import sys


def serve(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="convlens serve", description="Serve the ConvLens app with uvicorn.")
    p.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
    p.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
    p.add_argument("--workers", type=int, default=int(os.environ.get("WORKERS", "1")))
    p.add_argument("--reload", action="store_true", help="restart on code changes (development)")
    p.add_argument("--log-level", default=os.environ.get("LOG_LEVEL", "info").lower())
    args = p.parse_args(argv)
    if args.workers < 1:
        p.error("--workers must be at least 1")
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


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    commands = {"serve": serve, "train": None, "top": None}
    if not argv or argv[0] not in commands:
        print(
            "usage: convlens {serve,train} [options] | convlens top [options]  (convlens <command> --help for options)",
            file=sys.stderr,
        )
        return 2
    if argv[0] == "train":
        from app.training import train

        return train.main(argv[1:])
    if argv[0] == "top":
        from app.labs import top

        return top.main(argv[1:])
    return serve(argv[1:])


if __name__ == "__main__":
    raise SystemExit(main())
