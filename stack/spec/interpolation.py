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

from collections.abc import Callable
from typing import Any

from stack.spec.sourcemap import KeyPath, SourceMap

__all__ = ["InterpolationError", "Lookup", "interpolate", "substitute", "unset_warning"]

Lookup = Callable[[str], str | None]
Warn = Callable[[str], None]

_NAME_START = frozenset("_abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
_NAME_CHARS = _NAME_START | frozenset("0123456789")
_OPERATORS = (":-", ":?", ":+", "-", "?", "+")


class InterpolationError(ValueError):
    """A bad `${...}` expression or a required variable without a value."""


def unset_warning(name: str) -> str:
    """The warning Compose prints for an unset variable used without a default."""
    return f'The "{name}" variable is not set. Defaulting to a blank string.'


def substitute(text: str, lookup: Lookup, warn: Warn) -> str:
    """Interpolate one string; raises InterpolationError."""
    if "$" not in text:
        return text
    out: list[str] = []
    i = 0
    n = len(text)
    while i < n:
        j = text.find("$", i)
        if j < 0:
            out.append(text[i:])
            break
        out.append(text[i:j])
        if j + 1 >= n:
            out.append("$")
            break
        nxt = text[j + 1]
        if nxt == "$":
            out.append("$")
            i = j + 2
        elif nxt == "{":
            value, i = _braced(text, j, lookup, warn)
            out.append(value)
        elif nxt in _NAME_START:
            k = j + 2
            while k < n and text[k] in _NAME_CHARS:
                k += 1
            out.append(_value_of(text[j + 1 : k], lookup, warn))
            i = k
        else:
            out.append("$")
            i = j + 1
    return "".join(out)


def _value_of(name: str, lookup: Lookup, warn: Warn) -> str:
    value = lookup(name)
    if value is None:
        warn(name)
        return ""
    return value


def _braced(text: str, start: int, lookup: Lookup, warn: Warn) -> tuple[str, int]:
    """Evaluate the `${...}` starting at `start`; return its value and the index after `}`."""
    n = len(text)
    k = start + 2
    if k >= n or text[k] not in _NAME_START:
        raise InterpolationError(f"invalid interpolation format in {text!r}: a name must follow '${{'")
    while k < n and text[k] in _NAME_CHARS:
        k += 1
    name = text[start + 2 : k]
    if k >= n:
        raise InterpolationError(f"invalid interpolation format in {text!r}: missing '}}'")
    if text[k] == "}":
        return _value_of(name, lookup, warn), k + 1
    op = next((o for o in _OPERATORS if text.startswith(o, k)), None)
    if op is None:
        raise InterpolationError(
            f"invalid interpolation format in {text!r}: unexpected {text[k]!r} after '${{{name}'",
        )
    # The argument runs to the matching '}', counting nested braces.
    arg_start = k + len(op)
    depth = 1
    m = arg_start
    while m < n:
        c = text[m]
        if c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
            if depth == 0:
                break
        m += 1
    if depth:
        raise InterpolationError(f"invalid interpolation format in {text!r}: missing '}}'")
    arg = text[arg_start:m]
    end = m + 1
    value = lookup(name)
    colon = op[0] == ":"
    kind = op[-1]
    absent = value is None or (colon and value == "")
    if kind == "-":
        return (substitute(arg, lookup, warn) if absent else value or ""), end
    if kind == "+":
        return ("" if absent else substitute(arg, lookup, warn)), end
    # kind == "?"
    if absent:
        message = substitute(arg, lookup, warn)
        detail = f": {message}" if message else ""
        raise InterpolationError(f"required variable {name} is missing a value{detail}")
    return value or "", end


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
    return "use ${NAME}, ${NAME:-default}, ${NAME:?error}, ${NAME:+alt}; write $$ for a literal $"
