"""Reading stack files: discovery, YAML with positions, interpolation, merging, the models.

Public API: `LoadOptions`, `load_project`, `load_raw` (from `stack.spec.loader`), re-exported
lazily so that importing a light submodule (`stack.spec.units`) does not pull in pydantic.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from stack.spec.loader import LoadOptions, load_project, load_raw

__all__ = ["LoadOptions", "load_project", "load_raw"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from stack.spec import loader

        return getattr(loader, name)
    raise AttributeError(f"module 'stack.spec' has no attribute {name!r}")
