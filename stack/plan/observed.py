"""What the engine saw on the daemon: one snapshot of the project's resources, found by label.

Plain frozen dataclasses, filled by `stack.engine.observe` and read by the pure reconciler.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class ObservedContainer:
    id: str
    name: str  # without the leading "/"
    service: str
    number: int  # replica number (label), 1-based
    state: str  # created | running | paused | restarting | exited | dead | removing
    image_id: str  # the image id the container was created from ("sha256:...")
    config_hash: str  # our config-hash label ("" when missing)
    one_off: bool = False
    labels: dict[str, str] = field(default_factory=dict)
    networks: tuple[str, ...] = ()  # full network names the container is attached to
    health: str | None = None  # healthy | unhealthy | starting | None (no healthcheck)
    exit_code: int | None = None
    created: float = 0.0  # unix time

    @property
    def running(self) -> bool:
        return self.state in ("running", "restarting", "paused")


@dataclass(frozen=True)
class ObservedNetwork:
    id: str
    name: str  # full daemon name, e.g. "demo_default"
    key: str  # the key in the stack file ("default"), from our label
    config_hash: str  # hash of the network's configuration, from our label
    labels: dict[str, str] = field(default_factory=dict)
    # id -> name of every container attached (ours or not), when the engine inspected the
    # network; empty when unknown.  A changed network is only recreated when none is foreign.
    attached_containers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ObservedVolume:
    name: str  # full daemon name, e.g. "demo_data"
    key: str  # the key in the stack file, from our label
    labels: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ObservedState:
    project: str
    containers: tuple[ObservedContainer, ...] = ()
    networks: tuple[ObservedNetwork, ...] = ()
    volumes: tuple[ObservedVolume, ...] = ()
    # image reference -> image id, for the images the stack's services name (None: absent)
    images: dict[str, str | None] = field(default_factory=dict)
    # external networks/volumes that exist on the daemon (by full name)
    external_networks: frozenset[str] = frozenset()
    external_volumes: frozenset[str] = frozenset()

    def service_containers(self, service: str, *, one_off: bool = False) -> list[ObservedContainer]:
        """The service's containers, ordered by replica number."""
        found = [c for c in self.containers if c.service == service and c.one_off == one_off]
        return sorted(found, key=lambda c: (c.number, c.created))
