"""Progress lines for long steps (indexing), shared by the CLI and the web app's launcher."""

from __future__ import annotations

import sys
import time

__all__ = ["progress_printer"]


def progress_printer(quiet: bool = False, interval: float = 0.5):
    """A progress callback for indexing that prints a line to stderr at most every `interval` s."""
    if quiet:
        return None
    last = [0.0]

    def show(message: str, fraction: float) -> None:
        now = time.monotonic()
        if now - last[0] > interval or fraction >= 1.0:
            last[0] = now
            print(f"  [{fraction * 100:5.1f}%] {message}", file=sys.stderr, flush=True)

    return show
