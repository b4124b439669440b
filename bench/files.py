"""The stack files of the scenarios, generated: both tools read exactly the same file.

Containers run `sleep` under `init: true`, so that SIGTERM reaches a process that honours it and
stops take milliseconds for both tools instead of the 10 s kill timeout.
"""

from __future__ import annotations

from typing import Any

import yaml

IMAGE = "stack-test/busybox:latest"


def _sleeper(**extra: Any) -> dict[str, Any]:
    return {"image": IMAGE, "command": ["sleep", "86400"], "init": True, **extra}


def _healthcheck(*, start_interval: bool) -> dict[str, Any]:
    check: dict[str, Any] = {
        "test": ["CMD", "true"],
        # Docker < 25 (API < 1.44) has no start_interval, and Compose refuses the key there,
        # so a short interval is what makes the first probe come early on such daemons.
        "interval": "500ms",
        "timeout": "2s",
        "retries": 20,
        "start_period": "10s",
    }
    if start_interval:
        check["start_interval"] = "200ms"
    return check


def dump(document: dict[str, Any]) -> str:
    return yaml.safe_dump(document, sort_keys=False, default_flow_style=False)


# The three-level chain: each level waits for the previous one to be healthy.
CHAIN_LEVELS: tuple[tuple[str, ...], ...] = (
    ("base",),
    ("mid-a", "mid-b"),
    ("app-a", "app-b", "app-c"),
    ("edge-a", "edge-b", "edge-c", "edge-d"),
)


def healthy_chain(*, start_interval: bool) -> str:
    """Ten services in four levels joined by `service_healthy` dependencies (three levels deep)."""
    services: dict[str, Any] = {}
    previous: tuple[str, ...] = ()
    for level in CHAIN_LEVELS:
        for name in level:
            service = _sleeper(healthcheck=_healthcheck(start_interval=start_interval))
            if previous:
                service["depends_on"] = {dep: {"condition": "service_healthy"} for dep in previous}
            services[name] = service
        previous = level
    return dump({"services": services})


def one_service() -> str:
    """One service, `svc`, to be scaled on the command line."""
    return dump({"services": {"svc": _sleeper()}})


def many_services(count: int) -> str:
    """`count` services using the features real files use, for `config` (never started).

    Every service: build-less image with an interpolated tag, command, environment with defaults,
    a published port, labels, a healthcheck, a dependency on its predecessor, a named volume shared
    by a group of ten, and two networks.
    """
    services: dict[str, Any] = {}
    volumes: dict[str, Any] = {}
    for i in range(count):
        name = f"svc{i:03d}"
        group = f"data{i // 10:02d}"
        volumes[group] = {}
        service: dict[str, Any] = {
            "image": "${REGISTRY:-registry.example.com}/team/" + name + ":${TAG:-1.0}",
            "command": ["serve", "--port", "8000", "--name", name],
            "environment": {
                "SERVICE_NAME": name,
                "LOG_LEVEL": "${LOG_LEVEL:-info}",
                "DATABASE_URL": "postgres://app:secret@db:5432/" + name,
                "WORKERS": "4",
            },
            "ports": [f"{20000 + i}:8000"],
            "labels": {"team": f"team{i % 7}", "tier": "backend" if i % 3 else "frontend"},
            "healthcheck": {"test": ["CMD", "true"], "interval": "10s", "timeout": "3s", "retries": 3},
            "volumes": [f"{group}:/var/lib/{name}"],
            "networks": ["front", "back"],
            "restart": "unless-stopped",
            "mem_limit": "256m",
        }
        if i:
            service["depends_on"] = {f"svc{i - 1:03d}": {"condition": "service_started"}}
        services[name] = service
    return dump({"services": services, "networks": {"front": {}, "back": {}}, "volumes": volumes})
