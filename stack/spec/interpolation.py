"""Variable interpolation as in the Compose Specification (and compose-go's parser).

    $VAR  ${VAR}                  the value, or "" (with a warning) when unset
    ${VAR:-default} ${VAR-default}  default when unset or empty / only when unset
    ${VAR:?error}   ${VAR?error}    fail when unset or empty / only when unset
    ${VAR:+alt}     ${VAR+alt}      alt when set and non-empty / when set
    $$                              a literal $

Defaults, alternatives and error texts are themselves interpolated, so nesting
(`${A:-${B:-x}}`) works; they are only evaluated when used.  A `$` not followed by a name,
`{` or `$` stays a literal `$` (as in Compose).  Only values are interpolated, never keys.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from stack.spec.limits import MAX_DEPTH, clip, shorten
from stack.spec.sourcemap import KeyPath, SourceMap

__all__ = ["InterpolationError", "Lookup", "interpolate", "substitute", "unset_warning"]

Lookup = Callable[[str], str | None]
Warn = Callable[[str], None]

_NAME_START = frozenset("_abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
_NAME = re.compile(r"[_a-zA-Z][_a-zA-Z0-9]*")
_BRACE = re.compile(r"[{}]")
_OPERATORS = (":-", ":?", ":+", "-", "?", "+")


class InterpolationError(ValueError):
    """A bad `${...}` expression or a required variable without a value."""


def unset_warning(name: str) -> str:
    """The warning Compose prints for an unset variable used without a default."""
    return f'The "{shorten(name)}" variable is not set. Defaulting to a blank string.'


def substitute(text: str, lookup: Lookup, warn: Warn) -> str:
    """Interpolate one string; raises InterpolationError."""
    if "$" not in text:
        return text
    return _Template(text, lookup, warn).render(0, len(text), 0)


class _Template:
    """One string being interpolated: nested defaults are read in place, by index range, so
    the cost stays linear in the string's length however deep they nest."""

    def __init__(self, text: str, lookup: Lookup, warn: Warn) -> None:
        self.text = text
        self.lookup = lookup
        self.warn = warn
        self._closing: dict[int, int] | None = None

    def fail(self, why: str) -> InterpolationError:
        return InterpolationError(f"invalid interpolation format in {clip(self.text)}: {why}")

    def closing(self, index: int) -> int:
        """The index of the `}` matching the `{` at `index`, or -1 (braces paired once)."""
        if self._closing is None:
            self._closing = {}
            opened: list[int] = []
            for m in _BRACE.finditer(self.text):
                if m.group() == "{":
                    opened.append(m.start())
                elif opened:
                    self._closing[opened.pop()] = m.start()
        return self._closing.get(index, -1)

    def render(self, i: int, end: int, depth: int) -> str:
        """The value of `text[i:end]`."""
        text = self.text
        out: list[str] = []
        while i < end:
            j = text.find("$", i, end)
            if j < 0:
                out.append(text[i:end])
                break
            out.append(text[i:j])
            if j + 1 >= end:
                out.append("$")
                break
            nxt = text[j + 1]
            if nxt == "$":
                out.append("$")
                i = j + 2
            elif nxt == "{":
                value, i = self.braced(j, end, depth)
                out.append(value)
            elif nxt in _NAME_START:
                m = _NAME.match(text, j + 1, end)
                assert m is not None
                out.append(self.value_of(m.group()))
                i = m.end()
            else:
                out.append("$")
                i = j + 1
        return "".join(out)

    def value_of(self, name: str) -> str:
        value = self.lookup(name)
        if value is None:
            self.warn(name)
            return ""
        return value

    def braced(self, start: int, end: int, depth: int) -> tuple[str, int]:
        """Evaluate the `${...}` starting at `start`; return its value and the index after `}`."""
        text = self.text
        m = _NAME.match(text, start + 2, end)
        if m is None:
            raise self.fail("a name must follow '${'")
        name, k = m.group(), m.end()
        if k >= end:
            raise self.fail("missing '}'")
        if text[k] == "}":
            return self.value_of(name), k + 1
        op = next((o for o in _OPERATORS if text.startswith(o, k, end)), None)
        if op is None:
            raise self.fail(f"unexpected {text[k]!r} after '${{{shorten(name)}'")
        # The argument runs to the matching '}', counting nested braces.
        close = self.closing(start + 1)
        if close < 0 or close >= end:
            raise self.fail("missing '}'")
        if depth >= MAX_DEPTH:
            raise InterpolationError(f"interpolation nested more than {MAX_DEPTH} levels deep in {clip(text)}")
        arg_start = k + len(op)
        value = self.lookup(name)
        colon = op[0] == ":"
        kind = op[-1]
        absent = value is None or (colon and value == "")
        if kind == "-":
            return (self.render(arg_start, close, depth + 1) if absent else value or ""), close + 1
        if kind == "+":
            return ("" if absent else self.render(arg_start, close, depth + 1)), close + 1
        # kind == "?"
        if absent:
            message = self.render(arg_start, close, depth + 1)
            detail = f": {shorten(message)}" if message else ""
            raise InterpolationError(f"required variable {name} is missing a value{detail}")
        return value or "", close + 1


def interpolate(
    data: Any,
    lookup: Lookup,
    smap: SourceMap,
    warn: Warn,
    path: KeyPath = (),
) -> Any:
    """Interpolate every string value (not key) of `data`, in place where possible.

    Errors become StackFileErrors located through `smap` at the value's key path.
    """
    if isinstance(data, str):
        if "$" not in data:
            return data
        try:
            return substitute(data, lookup, warn)
        except InterpolationError as e:
            raise smap.error(path, str(e), _hint(str(e))) from None
    if isinstance(data, dict):
        for key, value in data.items():
            if isinstance(value, str):
                if "$" in value:
                    data[key] = interpolate(value, lookup, smap, warn, (*path, key))
            elif isinstance(value, dict | list):
                interpolate(value, lookup, smap, warn, (*path, key))
        return data
    if isinstance(data, list):
        for i, value in enumerate(data):
            if isinstance(value, str):
                if "$" in value:
                    data[i] = interpolate(value, lookup, smap, warn, (*path, i))
            elif isinstance(value, dict | list):
                interpolate(value, lookup, smap, warn, (*path, i))
        return data
    return data


def _hint(message: str) -> str:
    if message.startswith("required variable"):
        return "set the variable in the environment or in the .env file"
    if message.startswith("interpolation nested"):
        return "nest fewer ${NAME:-...} defaults inside one another"
    return "use ${NAME}, ${NAME:-default}, ${NAME:?error}, ${NAME:+alt}; write $$ for a literal $"
