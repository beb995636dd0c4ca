"""``convlens i18n extract|compile|check``: the message catalogs (app/i18n/catalogs.py)."""

from __future__ import annotations

import argparse
import sys

from app.config import PROJECT_ROOT
from app.i18n import catalogs


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "action",
        choices=("extract", "compile", "check"),
        help="extract: add new messages to the PO files and drop unused ones; compile: write what the app "
        "reads (scripts/setup does); check: fail on untranslated, fuzzy or unused messages",
    )


def run(args: argparse.Namespace) -> int:
    if args.action == "extract":
        for path in catalogs.update():
            print(f"updated {path.relative_to(PROJECT_ROOT)}")
        return 0
    if args.action == "compile":
        for path in catalogs.compile_all():
            print(f"wrote {path.relative_to(PROJECT_ROOT)}")
        return 0
    found = catalogs.problems()
    for problem in found:
        print(problem, file=sys.stderr)
    print(f"{len(found)} problem(s) in the catalogs" if found else "the catalogs are complete")
    return 1 if found else 0
