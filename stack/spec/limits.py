"""The bounds of a stack file: how deep, how big, and which numbers each field may hold.

Every input must load, or fail with a located error, within seconds and bounded memory. The
limits are defined here, once; each is enforced where its kind of value is read: nesting and
alias expansion in `yamlpos`, interpolation nesting in `interpolation`, numbers in the schema
walk (`validation`) and in the short-syntax parsers (`transform`), durations and byte sizes in
`units`. `clip` keeps the values an error message quotes short.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

__all__ = [
    "CPUS",
    "DURATION_NS",
    "INTEGER",
    "MAX_ALIASED_NODES",
    "MAX_DEPTH",
    "PORT",
    "REPLICAS",
    "SIZE",
    "OutOfRange",
    "Range",
    "clip",
    "listing",
    "parse_int",
    "range_for",
    "shorten",
]

# Nested collections, nested `${VAR:-${...}}` defaults, chains of `extends` and of `include`.
# Real files nest a dozen levels.
MAX_DEPTH = 100
# Nodes built again through aliases: a few-line file can otherwise expand exponentially ("billion
# laughs"). Only copies count, so the cost of a file stays proportional to its size plus this.
# go-yaml (Compose) refuses a document made mostly of aliases from about 400 000 nodes.
MAX_ALIASED_NODES = 500_000

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1


class OutOfRange(ValueError):
    """A number that parses but does not fit its field (`units` raises it for sizes, durations)."""


@dataclass(frozen=True)
class Range:
    """Inclusive bounds of one kind of number, and what to tell a user who leaves them."""

    low: int
    high: int
    hint: str | None = None

    def problem(self, value: float, written: object = None) -> str | None:
        """Why `value` (read from `written`, if given) does not fit; None when it does."""
        shown = clip(written) if written is not None else clip(value)
        if isinstance(value, float) and not math.isfinite(value):
            return f"must be a finite number, not {shown}"
        if value < self.low or value > self.high:
            return f"must be between {self.low} and {self.high}, not {shown}"
        return None


# compose-go holds numbers in Go's int64 (and float64): nothing larger can reach the daemon.
INTEGER = Range(INT64_MIN, INT64_MAX, "Compose holds numbers in 64 bits")
PORT = Range(0, 65535, "a port is 0-65535")
# One host runs a few thousand containers at most: a larger count is a typo, and would have
# `up` plan (and name) that many containers.
REPLICAS = Range(0, 10_000, "at most 10000 replicas of a service")
# The daemon counts nano-CPUs in an int64.
CPUS = Range(0, INT64_MAX // 10**9, "a number of CPUs, like 0.5 or 2")
SIZE = Range(INT64_MIN, INT64_MAX, "a byte size is at most 8 EiB (8192p)")
DURATION_NS = Range(INT64_MIN, INT64_MAX, "a duration is at most 2562047h (Go's time.Duration)")

# Numeric fields with bounds tighter than INTEGER's, by their key.
_FIELD_RANGES: dict[str, Range] = {
    "scale": REPLICAS,
    "replicas": REPLICAS,
    "max_replicas_per_node": REPLICAS,
    "cpus": CPUS,
    "target": PORT,  # ports[i].target: the only numeric `target`
    "published": PORT,
}


def range_for(path: tuple[str | int, ...]) -> Range:
    """The bounds of the number at `path` (a numeric field of a stack file)."""
    last = path[-1] if path else None
    if isinstance(last, int):  # ports: [80], expose: [80]
        return PORT if len(path) > 1 and path[-2] in ("ports", "expose") else INTEGER
    return _FIELD_RANGES.get(last or "", INTEGER)


# Longer digit strings are out of INTEGER's range anyway; Python refuses to convert over 4300.
_MAX_INT_CHARS = 32


def parse_int(text: str) -> int | None:
    """`int(text)` for a decimal integer of sane length, else None (never raises)."""
    if len(text) > _MAX_INT_CHARS:
        return None
    try:
        return int(text)
    except ValueError:
        return None


_CLIP = 60
_LISTED = 10


def listing(items: list[str], sep: str = ", ") -> str:
    """`sep.join(items)`, naming the first few of a long list (a hint listing 50 000 services)."""
    if len(items) <= _LISTED:
        return sep.join(items)
    return f"{sep.join(items[:_LISTED])}{sep}... ({len(items)} in all)"


def shorten(text: str) -> str:
    """`text` cut to a length an error message can show."""
    return text if len(text) <= _CLIP else f"{text[:_CLIP]}... ({len(text)} characters)"


def clip(value: Any) -> str:
    """`repr(value)` short enough for an error message (a megabyte string stays a megabyte)."""
    if isinstance(value, str):
        if len(value) <= _CLIP:
            return repr(value)
        return f"{value[:_CLIP]!r}... ({len(value)} characters)"
    if isinstance(value, int) and value.bit_length() > 200:
        return f"an integer of about {int(value.bit_length() * math.log10(2))} digits"
    text = repr(value)
    return text if len(text) <= _CLIP else text[:_CLIP] + "..."
