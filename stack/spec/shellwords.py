"""Splitting a `command:` string into words as a POSIX shell would: `shlex.split`, in linear time.

`shlex` reads one character at a time and grows each word with `token + char`, which is
quadratic in the length of a word (a 1 MB command took 12 s). This splitter takes runs of
characters with regular expressions and gives exactly `shlex.split(text)`'s words and errors.
"""

from __future__ import annotations

import re

__all__ = ["split"]

# One piece of a command line. A word is a run of pieces not separated by whitespace.
_PIECE = re.compile(
    r"""
    (?P<space>[ \t\r\n]+)
  | (?P<plain>[^ \t\r\n'"\\]+)
  | '(?P<single>[^']*)'
  | "(?P<double>[^"\\]*(?:\\.[^"\\]*)*)"
  | \\(?P<escaped>.)
    """,
    re.VERBOSE | re.DOTALL,
)
_SPACE = re.compile(r"[ \t\r\n]+")
# Inside double quotes a backslash escapes only `"` and itself; before anything else it stays.
_DOUBLE_ESCAPE = re.compile(r"\\(.)", re.DOTALL)
_UNCLOSED_DOUBLE = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*', re.DOTALL)


def _unescape_double(match: re.Match[str]) -> str:
    char = match.group(1)
    return char if char in '"\\' else match.group(0)


def split(text: str) -> list[str]:
    """`shlex.split(text)`: raises ValueError ("No closing quotation", "No escaped character")."""
    if not any(c in text for c in "'\"\\"):
        return [word for word in _SPACE.split(text) if word]
    words: list[str] = []
    word: list[str] | None = None  # the word being read (None: between words)
    pos, end = 0, len(text)
    while pos < end:
        m = _PIECE.match(text, pos)
        if m is None:
            raise ValueError(_error(text, pos))
        pos = m.end()
        kind = m.lastgroup
        if kind == "space":
            if word is not None:
                words.append("".join(word))
                word = None
            continue
        piece = m.group(kind or "")
        if kind == "double" and "\\" in piece:
            piece = _DOUBLE_ESCAPE.sub(_unescape_double, piece)
        if word is None:
            word = []
        word.append(piece)
    if word is not None:
        words.append("".join(word))
    return words


def _error(text: str, pos: int) -> str:
    """shlex's message for the piece at `pos` that cannot end: an open quote or a final `\\`."""
    if text[pos] == '"':
        m = _UNCLOSED_DOUBLE.match(text, pos)
        if m is not None and text[m.end() :] == "\\":
            return "No escaped character"
    return "No closing quotation" if text[pos] in "'\"" else "No escaped character"
