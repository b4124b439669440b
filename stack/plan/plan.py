"""The Plan: a DAG in which each node is exactly one Docker API call (or one wait), with its cause.

The reconciler builds it, the executor walks it with no decision logic of its own, and
`render()` prints it one line per node, like Compose's `Plan.String()`:

    [1] -> #2 service:web:1, CreateContainer, no existing container
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any


class Op(enum.Enum):
    CREATE_NETWORK = "CreateNetwork"
    REMOVE_NETWORK = "RemoveNetwork"
    CREATE_VOLUME = "CreateVolume"
    REMOVE_VOLUME = "RemoveVolume"
    BUILD_IMAGE = "BuildImage"
    PULL_IMAGE = "PullImage"
    REMOVE_IMAGE = "RemoveImage"
    CREATE_CONTAINER = "CreateContainer"
    START_CONTAINER = "StartContainer"
    STOP_CONTAINER = "StopContainer"
    REMOVE_CONTAINER = "RemoveContainer"
    RENAME_CONTAINER = "RenameContainer"
    RESTART_CONTAINER = "RestartContainer"
    CONNECT_NETWORK = "ConnectNetwork"
    DISCONNECT_NETWORK = "DisconnectNetwork"
    # Not an API call: block dependents until a dependency condition holds (event driven).
    WAIT_CONDITION = "WaitCondition"
    # Not an API call: a rolling update's gate.  The batch's new replicas must become healthy (or
    # run, without a healthcheck) and stay so for `monitor` seconds; its failure arms the nodes
    # that compensate for it (Node.if_failed).
    MONITOR_REPLICAS = "MonitorReplicas"
    # Not an API call: update_config.delay between two batches of a rolling update.
    DELAY = "Delay"


# The args the reconciler puts on each kind of node: what the executor reads (it decides nothing).
#   container / name: the container's name at the time of the call; container_id: when known;
#   timeout: seconds before the kill (None: the daemon's default); networks: [{key, name}],
#   primary first (the others get ConnectNetwork nodes); volumes: {key: daemon name};
#   inherit_volumes_from: old container id whose anonymous volumes the new one takes over.
NODE_ARGS: dict[Op, tuple[str, ...]] = {
    Op.CREATE_NETWORK: (
        "key",
        "name",
        "driver",
        "driver_opts",
        "ipam",
        "internal",
        "attachable",
        "enable_ipv6",
        "labels",
    ),
    Op.REMOVE_NETWORK: ("key", "name", "id"),
    Op.CREATE_VOLUME: ("key", "name", "driver", "driver_opts", "labels"),
    Op.REMOVE_VOLUME: ("key", "name"),
    Op.BUILD_IMAGE: ("image", "service", "labels"),
    Op.PULL_IMAGE: ("image", "service"),
    Op.REMOVE_IMAGE: ("image",),
    # optional: network_mode / ipc / pid ("container:NAME"), volumes_from (["NAME[:ro]"])
    Op.CREATE_CONTAINER: (
        "service",
        "number",
        "name",
        "final_name",
        "image",
        "config_hash",
        "labels",
        "networks",
        "volumes",
        "inherit_volumes_from",
    ),
    Op.START_CONTAINER: ("service", "number", "container"),
    Op.STOP_CONTAINER: ("service", "number", "container", "container_id", "timeout"),
    # optional: force (a failed new replica, removed by a rollback)
    Op.REMOVE_CONTAINER: ("service", "number", "container", "container_id", "remove_volumes"),
    Op.RENAME_CONTAINER: ("service", "number", "container", "new_name"),
    Op.RESTART_CONTAINER: ("service", "number", "container", "timeout"),
    # optional: final_name (the replica's name, its alias, while the container has a temporary one)
    Op.CONNECT_NETWORK: ("service", "number", "container", "network", "network_key"),
    Op.DISCONNECT_NETWORK: ("service", "number", "container", "container_id", "network", "network_key"),
    # service: the dependency; containers: its replicas' names; timeout: None = executor default
    Op.WAIT_CONDITION: ("service", "dependent", "condition", "required", "timeout", "containers"),
    # replicas: [{number, name, id (None: created by this plan)}]; healthcheck: wait for healthy
    # (else running); monitor: seconds they must then stay so; failure_action: rollback | pause |
    # continue; tolerate: failures of this service's update that do not trigger failure_action
    Op.MONITOR_REPLICAS: (
        "service",
        "replicas",
        "healthcheck",
        "monitor",
        "timeout",
        "failure_action",
        "tolerate",
        "purpose",
    ),
    Op.DELAY: ("service", "seconds"),
}


@dataclass
class Node:
    """One step of a plan.

    `resource` names what it acts on, for display: `service:web:1`, `network:default`,
    `volume:data`, `image:web`.  `args` carries what the executor needs (container name,
    id, service name, replica number, network key, ...), never a decision.

    `if_failed`: a compensating step (a rolling update's rollback).  It runs only when one of
    these nodes fails, once its own dependencies are done; otherwise it never runs.
    """

    id: int
    op: Op
    resource: str
    cause: str
    deps: list[int] = field(default_factory=list)
    args: dict[str, Any] = field(default_factory=dict)
    if_failed: tuple[int, ...] = ()

    def render(self) -> str:
        deps = ",".join(str(d) for d in sorted(self.deps))
        line = f"[{deps}] -> #{self.id} {self.resource}, {self.op.value}, {self.cause}"
        if not self.if_failed:
            return line
        return f"{line} (only if {' or '.join(f'#{n}' for n in self.if_failed)} fails)"


@dataclass
class Plan:
    nodes: list[Node] = field(default_factory=list)
    # Things the user should hear about that are not actions (e.g. orphans left alone).
    warnings: list[str] = field(default_factory=list)

    def add(
        self,
        op: Op,
        resource: str,
        cause: str,
        deps: list[int] | None = None,
        *,
        if_failed: Iterable[int] = (),
        **args: Any,
    ) -> Node:
        triggers = tuple(sorted(set(if_failed)))
        node = Node(len(self.nodes) + 1, op, resource, cause, sorted(set(deps or [])), dict(args), triggers)
        self.nodes.append(node)
        return node

    def node(self, node_id: int) -> Node:
        return self.nodes[node_id - 1]

    def __len__(self) -> int:
        return len(self.nodes)

    def is_empty(self) -> bool:
        return not self.nodes

    def render(self) -> str:
        return "\n".join(n.render() for n in self.nodes)
