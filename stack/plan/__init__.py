"""The plan layer: pure decisions, no I/O.

Desired `Project` x `ObservedState` -> `Plan` (a DAG of single Docker API calls), plus the
naming, labels, config hashes and dependency graph those decisions rest on.  Never imports
docker, anyio or click.

Names are imported lazily, so that `stack.plan.labels` (used by `ps`) does not pull in
pydantic through the reconciler.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from stack.plan.graph import ServiceGraph
    from stack.plan.hash import network_config_hash, service_config_hash
    from stack.plan.observed import ObservedContainer, ObservedNetwork, ObservedState, ObservedVolume
    from stack.plan.options import DownOptions, UpOptions
    from stack.plan.plan import Node, Op, Plan
    from stack.plan.reconcile import declared_names, image_references, plan_down, plan_images, plan_up

_EXPORTS = {
    "ServiceGraph": "stack.plan.graph",
    "network_config_hash": "stack.plan.hash",
    "service_config_hash": "stack.plan.hash",
    "ObservedContainer": "stack.plan.observed",
    "ObservedNetwork": "stack.plan.observed",
    "ObservedState": "stack.plan.observed",
    "ObservedVolume": "stack.plan.observed",
    "DownOptions": "stack.plan.options",
    "UpOptions": "stack.plan.options",
    "Node": "stack.plan.plan",
    "Op": "stack.plan.plan",
    "Plan": "stack.plan.plan",
    "declared_names": "stack.plan.reconcile",
    "image_references": "stack.plan.reconcile",
    "plan_down": "stack.plan.reconcile",
    "plan_images": "stack.plan.reconcile",
    "plan_up": "stack.plan.reconcile",
}

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
    "declared_names",
    "image_references",
    "network_config_hash",
    "plan_down",
    "plan_images",
    "plan_up",
    "service_config_hash",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'stack.plan' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
