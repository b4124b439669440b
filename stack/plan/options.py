"""What `up` and `down` were asked to do, as the CLI and the Python API pass it to the planner."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

BuildPolicy = Literal["auto", "always", "never"]
RemoveImages = Literal["local", "all"]


@dataclass(frozen=True)
class UpOptions:
    services: list[str] = field(default_factory=list)  # empty: every enabled service
    no_deps: bool = False
    build: BuildPolicy = "auto"  # always: --build, never: --no-build
    force_recreate: bool = False
    no_recreate: bool = False
    remove_orphans: bool = False
    no_start: bool = False  # `stack create`: stop after the creates
    renew_anon_volumes: bool = False  # -V: new anonymous volumes instead of the old container's
    timeout: float | None = None  # -t: seconds to wait for a container to stop before killing it
    scale: dict[str, int] = field(default_factory=dict)  # --scale SERVICE=N overrides
    wait_timeout: float | None = None  # bound of each dependency wait (and of --wait)
    wait: bool = False  # --wait: block until services are running/healthy
    # The build/pull phase (`plan_images`) already ran and the state was observed again: plan
    # no image nodes and recreate exactly the containers whose image id changed.
    images_ready: bool = False


@dataclass(frozen=True)
class DownOptions:
    remove_volumes: bool = False  # -v: named volumes of the stack and anonymous ones
    rmi: RemoveImages | None = None  # --rmi local|all
    remove_orphans: bool = False
    timeout: float | None = None  # -t


@dataclass(frozen=True)
class RunOptions:
    """What `stack run` was asked: the command and its overrides of the service."""

    command: list[str] | None = None  # None: the service's command
    entrypoint: list[str] | None = None
    env: dict[str, str] = field(default_factory=dict)
    user: str | None = None
    workdir: str | None = None
    name: str | None = None
    remove: bool = False  # --rm
    no_deps: bool = False
    publish: list[str] = field(default_factory=list)  # -p
    service_ports: bool = False
    tty: bool = False
    detach: bool = False
    labels: dict[str, str] = field(default_factory=dict)
