"""Keep the server's memory flat under load.

glibc gives each thread that allocates concurrently its own malloc arena (up to 8 per core) and keeps
freed memory in them, so a threadpool serving large responses slowly grows its resident memory. Capping
the number of arenas (what ``MALLOC_ARENA_MAX`` does, set at run time here through ``mallopt``) keeps it
flat at no measurable cost; see docs/benchmarks.md, "Load"."""

from __future__ import annotations

import ctypes
import ctypes.util
import sys

M_ARENA_MAX = -8  # from glibc's malloc.h


def limit_malloc_arenas(count: int) -> bool:
    """Cap glibc's malloc arenas at ``count`` for threads started from now on; False where that is not
    possible (not Linux/glibc, or ``count`` < 1)."""
    if count < 1 or not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        return bool(libc.mallopt(M_ARENA_MAX, count))
    except (OSError, AttributeError):  # musl and others have no mallopt
        return False
