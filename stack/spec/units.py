"""Durations and byte sizes as Compose writes them (`1m30s`, `500ms`, `512m`).

Both must fit Go's int64 (nanoseconds, bytes), as in Compose: anything larger is a ValueError.
"""

from __future__ import annotations

import re

from stack.spec.limits import DURATION_NS, SIZE, OutOfRange, Range, clip

_DURATION_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)")
_UNIT_NS = {
    "ns": 1,
    "us": 1_000,
    "µs": 1_000,
    "ms": 1_000_000,
    "s": 1_000_000_000,
    "m": 60_000_000_000,
    "h": 3_600_000_000_000,
}


def parse_duration_ns(text: str | int | float) -> int:
    """Parse a Go-style duration (`1m30s`, `500ms`, `2h`) into nanoseconds.

    A bare number is taken as seconds, as Compose does for integers.
    Raises ValueError with a readable message on anything else.
    """
    if isinstance(text, bool):
        raise ValueError(f"invalid duration {text!r}")
    if isinstance(text, int | float):
        return _in_range(text * 1_000_000_000, DURATION_NS, text, "duration")
    s = text.strip()
    if not s:
        raise ValueError("empty duration")
    sign = 1
    if s[0] in "+-":
        sign = -1 if s[0] == "-" else 1
        s = s[1:]
    if re.fullmatch(r"\d+(\.\d+)?", s):
        return sign * _in_range(float(s) * 1_000_000_000, DURATION_NS, text, "duration")
    pos = 0
    total = 0.0
    # Part after part from the start (finditer would retry from every digit of a long run of
    # digits without a unit: quadratic).
    while m := _DURATION_PART.match(s, pos):
        total += float(m.group(1)) * _UNIT_NS[m.group(2)]
        pos = m.end()
    if pos != len(s) or pos == 0:
        raise ValueError(f"invalid duration {clip(text)} (use forms like 30s, 1m30s, 500ms, 2h)")
    return sign * _in_range(total, DURATION_NS, text, "duration", rounded=True)


def _in_range(number: float, bounds: Range, written: object, what: str, *, rounded: bool = False) -> int:
    """`number` as an int (truncated, or rounded); OutOfRange (a ValueError) when it does not fit."""
    problem = bounds.problem(number)
    if problem is not None:
        raise OutOfRange(f"{what} {clip(written)} is out of range")
    return round(number) if rounded else int(number)


def format_duration_ns(ns: int) -> str:
    """Format nanoseconds as Go's time.Duration.String() does (`1m30s`, `500ms`, `0s`)."""
    if ns == 0:
        return "0s"
    neg = ns < 0
    ns = abs(ns)
    if ns < 1_000_000_000:
        # Go prints sub-second durations with the largest unit that keeps an integer part.
        for unit, size in (("ms", 1_000_000), ("µs", 1_000), ("ns", 1)):
            if ns >= size:
                text = _trim(ns / size) + unit
                break
    else:
        hours, rem = divmod(ns, 3_600_000_000_000)
        minutes, rem = divmod(rem, 60_000_000_000)
        secs = rem / 1_000_000_000
        text = ""
        if hours:
            text += f"{hours}h"
        if hours or minutes:
            text += f"{minutes}m"
        text += _trim(secs) + "s"
    return ("-" if neg else "") + text


def _trim(value: float) -> str:
    text = f"{value:.9f}".rstrip("0").rstrip(".")
    return text or "0"


def duration_seconds(text: str | int | float | None, default: float = 0.0) -> float:
    """A duration in seconds (float), or `default` when unset."""
    if text is None:
        return default
    return parse_duration_ns(text) / 1_000_000_000


_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgtp]?)(i?b?)\s*$", re.IGNORECASE)
_SIZE_MULT = {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3, "t": 1024**4, "p": 1024**5}


def byte_size(value: str | int | float | None) -> int | None:
    """Parse a byte size (`512m`, `1g`, `1024`, `2kb`) into bytes, binary multiples as Docker."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise ValueError(f"invalid byte size {value!r}")
    if isinstance(value, int | float):
        return _in_range(value, SIZE, value, "byte size")
    m = _SIZE.match(value)
    if not m:
        raise ValueError(f"invalid byte size {clip(value)} (use forms like 512m, 1g, 1024)")
    return _in_range(float(m.group(1)) * _SIZE_MULT[m.group(2).lower()], SIZE, value, "byte size")
