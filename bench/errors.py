"""The one exception of the harness: what went wrong, in words, without a traceback."""

from __future__ import annotations


class BenchError(Exception):
    """A benchmark step failed (a command exited non-zero, timed out, or a tool is missing)."""
