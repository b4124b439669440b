"""`ps` rows from the daemon's container list: plain parsing, no Docker SDK import."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from stack.plan import labels as L

# The list's `Status` carries health as "(healthy)" / "(unhealthy)" / "(health: starting)".
_HEALTH = (("(healthy)", "healthy"), ("(unhealthy)", "unhealthy"), ("(health: starting)", "starting"))


@dataclass(frozen=True)
class ContainerInfo:
    """One row of `ps`, from the daemon's container list (no inspect)."""

    id: str
    name: str
    service: str
    number: int
    image: str
    command: str
    state: str
    status: str
    health: str | None
    exit_code: int | None
    created: int
    ports: tuple[str, ...]
    one_off: bool

    def as_json(self) -> dict[str, Any]:
        return {
            "ID": self.id,
            "Name": self.name,
            "Service": self.service,
            "Number": self.number,
            "Image": self.image,
            "Command": self.command,
            "State": self.state,
            "Status": self.status,
            "Health": self.health or "",
            "ExitCode": self.exit_code or 0,
            "CreatedAt": self.created,
            "Publishers": list(self.ports),
        }


def format_ports(entries: list[dict[str, Any]]) -> tuple[str, ...]:
    out: set[tuple[int, str]] = set()
    for p in entries:
        proto = p.get("Type", "tcp")
        if p.get("PublicPort"):
            ip = p.get("IP") or "0.0.0.0"
            host = f"[{ip}]" if ":" in ip else ip
            out.add((int(p["PrivatePort"]), f"{host}:{p['PublicPort']}->{p['PrivatePort']}/{proto}"))
        else:
            out.add((int(p["PrivatePort"]), f"{p['PrivatePort']}/{proto}"))
    return tuple(text for _, text in sorted(out))


def health_of(status: str) -> str | None:
    return next((h for marker, h in _HEALTH if marker in status), None)


def exit_code_of(state: str, status: str) -> int | None:
    # "Exited (137) 5 seconds ago", "Restarting (3) 1 second ago"
    if state not in ("exited", "restarting") or "(" not in status:
        return None
    try:
        return int(status.split("(", 1)[1].split(")", 1)[0])
    except ValueError:
        return None


def container_info(entry: dict[str, Any]) -> ContainerInfo:
    labels: dict[str, str] = dict(entry.get("Labels") or {})
    names = entry.get("Names") or []
    state = str(entry.get("State") or "")
    status = str(entry.get("Status") or "")
    try:
        number = int(labels.get(L.NUMBER, "0"))
    except ValueError:
        number = 0
    return ContainerInfo(
        id=str(entry["Id"]),
        name=str(names[0]).lstrip("/") if names else "",
        service=labels.get(L.SERVICE, ""),
        number=number,
        image=str(entry.get("Image", "")),
        command=str(entry.get("Command", "")),
        state=state,
        status=status,
        health=health_of(status),
        exit_code=exit_code_of(state, status),
        created=int(entry.get("Created", 0)),
        ports=format_ports(list(entry.get("Ports") or [])),
        one_off=labels.get(L.ONEOFF) == "True",
    )


RUNNING_STATES = ("running", "restarting", "paused")


def ps_rows(entries: list[dict[str, Any]], *, all: bool, services: list[str] | None = None) -> list[ContainerInfo]:
    """The rows `ps` shows, by service and replica number (running ones unless `all`)."""
    rows = [container_info(e) for e in entries]
    rows = [r for r in rows if (all or r.state in RUNNING_STATES) and (not services or r.service in services)]
    return sorted(rows, key=lambda r: (r.service, r.one_off, r.number, r.name))
