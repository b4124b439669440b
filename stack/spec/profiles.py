"""Profiles: which services are enabled.

A service without `profiles` is always enabled; one with profiles is enabled when one of
them is active (`--profile`, else STACK_PROFILES / COMPOSE_PROFILES; `*` activates all) or
when the service is named on the command line.  A service depending on a disabled one is an error, unless the
dependency is `required: false` (as in Compose).
"""

from __future__ import annotations

from typing import Any

from stack.spec.limits import clip
from stack.spec.sourcemap import SourceMap

__all__ = ["active_profiles", "select_services"]


def active_profiles(explicit: list[str], environ_value: str | None) -> list[str]:
    """`--profile` values, else the PROFILES setting (comma-separated); deduplicated, in order."""
    raw = list(explicit)
    if not raw and environ_value:
        raw = environ_value.split(",")
    seen: dict[str, None] = {}
    for item in raw:
        for name in item.split(","):
            name = name.strip()
            if name:
                seen[name] = None
    return list(seen)


def _enabled(service: Any, profiles: set[str], all_profiles: bool) -> bool:
    wanted = service.get("profiles") if isinstance(service, dict) else None
    if not wanted:
        return True
    return all_profiles or any(p in profiles for p in wanted)


def select_services(project: dict[str, Any], profiles: list[str], named: list[str], smap: SourceMap) -> dict[str, Any]:
    """Split `project["services"]`: keep the enabled ones there; return the disabled ones."""
    services: dict[str, Any] = project.get("services") or {}
    active = set(profiles)
    all_profiles = "*" in active
    enabled: dict[str, Any] = {}
    disabled: dict[str, Any] = {}
    for name, service in services.items():
        if name in named or _enabled(service, active, all_profiles):
            enabled[name] = service
        else:
            disabled[name] = service
    for name, service in enabled.items():
        depends_on = service.get("depends_on") if isinstance(service, dict) else None
        if not isinstance(depends_on, dict):
            continue
        for dep, spec in depends_on.items():
            if dep not in disabled:
                continue
            required = spec.get("required", True) if isinstance(spec, dict) else True
            if required:
                needed = ", ".join(disabled[dep].get("profiles") or [])
                raise smap.error(
                    ("services", name, "depends_on", dep),
                    f"service {clip(name)} depends on service {clip(dep)}, which is disabled "
                    f"(it is only enabled by the profile(s): {needed})",
                    f"enable it with --profile {(disabled[dep].get('profiles') or ['?'])[0]}, "
                    "or mark the dependency `required: false`",
                )
    project["services"] = enabled
    return disabled
