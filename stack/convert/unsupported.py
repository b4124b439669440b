"""What every translation shares: a key of the stack file that the target cannot honour, where
it was written (file:line, from the project's SourceMap), and the error `--strict` raises.

`stack.convert.swarm` and `stack.convert.kubernetes` list such keys instead of dropping them.
"""

from __future__ import annotations

from dataclasses import dataclass

from stack.errors import Location, StackFileError
from stack.spec.models import Project, Service
from stack.spec.sourcemap import KeyPath, SourceMap, format_path

__all__ = ["UnconvertibleKeysError", "Unsupported", "is_set", "located", "project_error", "sort_by_location"]


@dataclass(frozen=True)
class Unsupported:
    """A key of the stack file that the target cannot honour, where it was written, and why."""

    path: str
    location: Location | None
    message: str

    def render(self) -> str:
        where = f"{self.location}: " if self.location is not None else ""
        return f"{where}{self.path}: {self.message}"


class UnconvertibleKeysError(StackFileError):
    """`--strict`: the stack file has keys `target` cannot honour (exit 2), listed one a line."""

    def __init__(self, problems: list[Unsupported], *, target: str, hint: str) -> None:
        lines = "\n".join(f"  {p.render()}" for p in problems)
        super().__init__(
            f"{len(problems)} key(s) of the stack file cannot be honoured by {target}:\n{lines}", hint=hint
        )
        self.problems = problems


def located(source_map: SourceMap | None, path: KeyPath, message: str) -> Unsupported:
    """An Unsupported for `path`, located as precisely as the source map allows."""
    location = source_map.locate(path) if source_map is not None else None
    return Unsupported(format_path(path), location, message)


def is_set(service: Service, key: str) -> bool:
    """Whether the file sets `key` on the service (to something else than an empty value)."""
    if key not in service.model_fields_set and key not in (service.model_extra or {}):
        return False
    value = getattr(service, key, None)
    return value not in (None, [], {}, False)


def project_error(project: Project, path: KeyPath, message: str, hint: str | None = None) -> StackFileError:
    """A StackFileError for `path` of the project's files, with its file and line when known."""
    smap: SourceMap | None = project.source_map
    if smap is not None:
        return smap.error(path, message, hint)
    return StackFileError(message, path=format_path(path), hint=hint)


def sort_by_location(problems: list[Unsupported]) -> None:
    """In file order (file, then line), in place."""
    problems.sort(key=lambda p: (p.location.file, p.location.line or 0) if p.location else ("", 0))
