"""The plan layer: pure decisions, no I/O.

Desired `Project` x `ObservedState` -> `Plan` (a DAG of single Docker API calls), plus the
naming, labels, config hashes and dependency graph those decisions rest on.  Never imports
docker, anyio or click.
"""

from __future__ import annotations

from stack.plan.graph import ServiceGraph
from stack.plan.hash import network_config_hash, service_config_hash
from stack.plan.observed import ObservedContainer, ObservedNetwork, ObservedState, ObservedVolume
from stack.plan.options import DownOptions, UpOptions
from stack.plan.plan import Node, Op, Plan
from stack.plan.reconcile import external_names, image_references, plan_down, plan_images, plan_up

__all__ = [
    "DownOptions",
    "Node",
    "ObservedContainer",
    "ObservedNetwork",
    "ObservedState",
    "ObservedVolume",
    "Op",
    "Plan",
    "ServiceGraph",
    "UpOptions",
    "external_names",
    "image_references",
    "network_config_hash",
    "plan_down",
    "plan_images",
    "plan_up",
    "service_config_hash",
]
