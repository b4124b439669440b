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
    network_ids: tuple[str, ...] = ()  # ... and their ids (names can be ambiguous: duplicates)
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
    created: str = ""  # the daemon's RFC 3339 timestamp (orders duplicates: the oldest is kept)
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
    # Ours (by label), and every network/volume named as the stack declares one, ours or not
    # (external ones, look-alikes someone else created, duplicates of ours): see `L.is_owned`.
    networks: tuple[ObservedNetwork, ...] = ()
    volumes: tuple[ObservedVolume, ...] = ()
    # image reference -> image id, for the images the stack's services name (None: absent)
    images: dict[str, str | None] = field(default_factory=dict)
    # image reference -> when the daemon last tagged it (unix time; 0.0: never, as Docker 20.10
    # leaves a pulled image), for the present images whose services refresh them (pull_policy
    # daily, weekly, every_X); and the local clock when this was observed (Compose's time.Now()).
    image_tagged: dict[str, float] = field(default_factory=dict)
    observed_at: float = 0.0

    def networks_named(self, name: str) -> list[ObservedNetwork]:
        """Every network of that name (the daemon allows several), oldest first."""
        return sorted((n for n in self.networks if n.name == name), key=lambda n: (n.created, n.id))

    def service_containers(self, service: str, *, one_off: bool = False) -> list[ObservedContainer]:
        """The service's containers, ordered by replica number."""
        found = [c for c in self.containers if c.service == service and c.one_off == one_off]
        return sorted(found, key=lambda c: (c.number, c.created))
