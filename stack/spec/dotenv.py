"""`.env` files with the syntax Compose accepts.

    # a comment                     KEY=value # inline comment (after whitespace)
    export KEY=value                KEY: value      KEY = value
    KEY='literal $NOT expanded'     KEY="escapes \\n \\t \\" \\\\ \\$ and ${EXPANDED}"
    KEY                              (no value: taken from the environment, else unset)

Quoted values may span lines.  Unquoted and double-quoted values are interpolated with
the variables defined so far (the process environment first, then earlier lines and files).
"""

from __future__ import annotations

from collections.abc import Mapping

from stack.errors import Location, StackFileError
from stack.spec.interpolation import InterpolationError, Lookup, substitute
from stack.spec.limits import clip

__all__ = ["parse_dotenv", "parse_raw_env", "read_env_files"]

_DOUBLE_ESCAPES = {
    "n": "\n",
    "r": "\r",
    "t": "\t",
    "a": "\a",
    "b": "\b",
    "f": "\f",
    "v": "\v",
    "\\": "\\",
    '"': '"',
    "'": "'",
    "$": "$$",
}


def _is_key_char(c: str) -> bool:
    return c.isalnum() or c in "_.-[]"


def parse_dotenv(
    text: str,
    file: str,
    lookup: Lookup | None = None,
    earlier: Mapping[str, str] | None = None,
    lines_of: dict[str, int] | None = None,
) -> dict[str, str]:
    """Parse one env file.

    References resolve against `lookup` (the process environment) first, then the lines
    above, then `earlier` (variables of the env files read before this one).  `lines_of`, when
    given, receives the line each variable was set on.
    """
    result: dict[str, str] = {}

    def find(name: str) -> str | None:
        if lookup is not None:
            value = lookup(name)
            if value is not None:
                return value
        found = result.get(name)
        if found is None and earlier is not None:
            found = earlier.get(name)
        return found

    def expand(value: str, line: int) -> str:
        try:
            return substitute(value, find, lambda _name: None)
        except InterpolationError as e:
            raise StackFileError(str(e), location=Location(file, line)) from None

    if text.startswith("\ufeff"):
        text = text[1:]
    lines = text.replace("\r\n", "\n").split("\n")
    i = 0
    while i < len(lines):
        lineno = i + 1
        line = lines[i].strip()
        i += 1
        if not line or line.startswith("#"):
            continue
        if line.startswith("export") and (line == "export" or line[6] in " \t"):
            line = line[6:].lstrip()
            if not line:
                continue
        k = 0
        while k < len(line) and _is_key_char(line[k]):
            k += 1
        key = line[:k]
        rest = line[k:].lstrip()
        if not key:
            raise StackFileError(
                f"invalid line {clip(lines[i - 1].strip())}: expected KEY=VALUE",
                location=Location(file, lineno),
                hint="variable names are letters, digits, _ . - (comments start with #)",
            )
        if not rest or rest.startswith("#"):
            # A bare KEY takes its value from the environment, if it has one.
            found = lookup(key) if lookup is not None else None
            if found is not None:
                result[key] = found
                if lines_of is not None:
                    lines_of[key] = lineno
            continue
        if rest[0] not in "=:":
            raise StackFileError(
                f"invalid line {clip(lines[i - 1].strip())}: expected '=' after {clip(key)}",
                location=Location(file, lineno),
            )
        raw = rest[1:].lstrip(" \t")
        if raw[:1] in ("'", '"'):
            quote = raw[0]
            body, i = _quoted(raw[1:], quote, lines, i, file, lineno)
            result[key] = body if quote == "'" else expand(body, lineno)
        else:
            comment = _inline_comment(raw)
            if comment >= 0:
                raw = raw[:comment]
            result[key] = expand(raw.rstrip(), lineno)
        if lines_of is not None:
            lines_of[key] = lineno
    return result


def parse_raw_env(text: str, file: str, lookup: Lookup | None = None) -> dict[str, str]:
    """An `env_file` with `format: raw`: `docker run --env-file`'s syntax, not `.env`'s.

    Each line is KEY=VALUE with the value kept exactly as written (quotes, `#`, `$`, trailing
    blanks); a line starting with `#` is a comment; a bare KEY takes its value from `lookup`.
    """
    result: dict[str, str] = {}
    text = text.removeprefix("\ufeff")
    for lineno, raw_line in enumerate(text.split("\n"), start=1):
        line = raw_line.removesuffix("\r").lstrip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        if not key or any(c in key for c in " \t"):
            problem = "no variable name" if not key else f"variable {clip(key)} contains whitespace"
            raise StackFileError(
                f"invalid line {clip(line)}: {problem}",
                location=Location(file, lineno),
                hint="write KEY=VALUE, one per line",
            )
        if sep:
            result[key] = value
        elif lookup is not None and (found := lookup(key)) is not None:
            result[key] = found
    return result


def _inline_comment(raw: str) -> int:
    """Index of a ` #` comment in an unquoted value, or -1."""
    for k in range(1, len(raw)):
        if raw[k] == "#" and raw[k - 1] in " \t":
            return k
    return -1


def _quoted(first: str, quote: str, lines: list[str], i: int, file: str, lineno: int) -> tuple[str, int]:
    """The body of a quoted value that starts with `first` (after the quote), maybe multi-line."""
    out: list[str] = []
    text = first
    while True:
        k = 0
        while k < len(text):
            c = text[k]
            if c == "\\" and quote == '"' and k + 1 < len(text):
                nxt = text[k + 1]
                out.append(_DOUBLE_ESCAPES.get(nxt, "\\" + nxt))
                k += 2
                continue
            if c == quote:
                return "".join(out), i
            out.append(c)
            k += 1
        if i >= len(lines):
            raise StackFileError(
                f"unterminated quoted value (missing closing {quote})",
                location=Location(file, lineno),
            )
        out.append("\n")
        text = lines[i]
        i += 1


def read_env_files(
    paths: list[str],
    environ: Mapping[str, str],
    *,
    required: bool = True,
    origins: dict[str, Location] | None = None,
) -> dict[str, str]:
    """Parse `paths` in order (later wins); references resolve against `environ` first.

    `required=False`: a missing file (or a directory in its place) is skipped.  `origins`,
    when given, receives where each variable was set.
    """
    merged: dict[str, str] = {}

    for path in paths:
        try:
            with open(path, encoding="utf-8") as fh:
                text = fh.read()
        except (FileNotFoundError, IsADirectoryError) as e:
            if not required:
                continue
            what = "not found" if isinstance(e, FileNotFoundError) else "is a directory"
            raise StackFileError(
                f"env file {path} {what}", location=Location(path), hint="check the --env-file path"
            ) from None
        except (OSError, UnicodeDecodeError) as e:
            raise StackFileError(f"cannot read env file: {e}", location=Location(path)) from None
        lines: dict[str, int] = {}
        merged.update(parse_dotenv(text, path, environ.get, merged, lines))
        if origins is not None:
            origins.update({key: Location(path, line) for key, line in lines.items()})
    return merged
