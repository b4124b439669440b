"""Where each key of a loaded stack file was written: key path -> file, line, column.

Every step after YAML parsing works on plain Python data; the source map is how an
error found at `services.api.ports[1]` still names the file and line it came from.
"""

from __future__ import annotations

from typing import Any

from stack.errors import Location, StackFileError

KeyPath = tuple[str | int, ...]

__all__ = ["KeyPath", "SourceMap", "display_path", "format_path", "parse_path"]

# An error names at most this many parts of a key path, each at most _KEY_CHARS long.
_PATH_PARTS, _KEY_CHARS = 12, 40


def format_path(path: KeyPath) -> str:
    """`("services", "api", "ports", 1)` -> `services.api.ports[1]`."""
    out: list[str] = []
    for part in path:
        if isinstance(part, int):
            out.append(f"[{part}]")
        elif out:
            out.append("." + part)
        else:
            out.append(part)
    return "".join(out)


def display_path(path: KeyPath) -> str:
    """`format_path` for an error message: a path 100 levels deep, or with a megabyte key,
    is cut short (`services.web.x-deep[0][0]...[0][0][0]`)."""
    parts = tuple(p[:_KEY_CHARS] + "..." if isinstance(p, str) and len(p) > _KEY_CHARS else p for p in path)
    if len(parts) <= _PATH_PARTS:
        return format_path(parts)
    return f"{format_path(parts[: _PATH_PARTS - 4])}...{format_path(parts[-3:])}"


def parse_path(text: str) -> KeyPath:
    """`services.api.ports[1]` -> `("services", "api", "ports", 1)` (names must not hold dots)."""
    out: list[str | int] = []
    for part in text.split("."):
        name, _, rest = part.partition("[")
        if name:
            out.append(name)
        while rest:
            index, _, rest = rest.partition("]")
            out.append(int(index) if index.isdigit() else index)
            rest = rest.removeprefix("[")
    return tuple(out)


class SourceMap:
    """Key path -> Location, shared by all files of one load (paths are per project)."""

    def __init__(self) -> None:
        # Values are Locations, or (file, line, column) tuples recorded by the YAML reader
        # (cheaper to build by the thousand; turned into Locations when asked for).
        self._locations: dict[KeyPath, Location | tuple[str, int, int]] = {}
        # The file an error with no better location should name.
        self.default_file: str | None = None

    def __len__(self) -> int:
        return len(self._locations)

    def items(self) -> list[tuple[KeyPath, Location]]:
        return [(path, _as_location(loc)) for path, loc in self._locations.items()]

    def add(self, path: KeyPath, loc: Location) -> None:
        self._locations[path] = loc

    def add_position(self, path: KeyPath, file: str, line: int, column: int) -> None:
        """`add` for the YAML reader's hot loop: no Location object until one is needed."""
        self._locations[path] = (file, line, column)

    def locate_exact(self, path: KeyPath) -> Location | None:
        loc = self._locations.get(path)
        return None if loc is None else _as_location(loc)

    def locate(self, path: KeyPath) -> Location | None:
        """The location of `path`, else of its nearest recorded ancestor."""
        locations = self._locations
        while True:
            loc = locations.get(path)
            if loc is not None:
                return _as_location(loc)
            if not path:
                return Location(self.default_file) if self.default_file else None
            path = path[:-1]

    def place(self, error: StackFileError) -> StackFileError:
        """Give an error raised after loading (planner, engine), which knows only its key path,
        the file and line that path was written at."""
        if error.location is None and error.path:
            error.location = self.locate(parse_path(error.path))
        return error

    def error(self, path: KeyPath, message: str, hint: str | None = None) -> StackFileError:
        """A StackFileError for `path`, located as precisely as this map allows."""
        return StackFileError(message, location=self.locate(path), path=display_path(path) or None, hint=hint)

    def rebase(self, old: KeyPath, new: KeyPath) -> None:
        """Copy the entries at and under `old` to the same relative places under `new`."""
        n = len(old)
        moved = {new + p[n:]: loc for p, loc in self._locations.items() if len(p) >= n and p[:n] == old}
        self._locations.update(moved)

    def copy_subtree(
        self, source: SourceMap, old: KeyPath, new: KeyPath, value: Any, *, overwrite: bool = True
    ) -> None:
        """Copy `source`'s positions of `value` (the data found at `old`) to `new` in this map.

        Walks the data rather than the map, so the cost is the size of `value`.
        """
        get = source._locations.get
        mine = self._locations
        stack: list[tuple[KeyPath, Any]] = [((), value)]
        while stack:
            rel, item = stack.pop()
            loc = get(old + rel)
            if loc is not None and (overwrite or (new + rel) not in mine):
                mine[new + rel] = loc
            if isinstance(item, dict):
                stack.extend(((*rel, k), v) for k, v in item.items())
            elif isinstance(item, list):
                stack.extend(((*rel, i), v) for i, v in enumerate(item))

    def update(self, other: SourceMap, *, overwrite: bool = True) -> None:
        """Take over the entries of another map (an included or extended file's)."""
        if overwrite:
            self._locations.update(other._locations)
        else:
            for p, loc in other._locations.items():
                self._locations.setdefault(p, loc)


def _as_location(loc: Location | tuple[str, int, int]) -> Location:
    return loc if isinstance(loc, Location) else Location(*loc)
