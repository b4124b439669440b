"""Config hashes: the only reason (besides a new image id) to recreate a container or network.

`service_config_hash` is a sha256 over the service definition in canonical form, with sorted
keys, *without* what never needs a new container:

- replicas (`scale`, `deploy.replicas`): changing the count adds or removes replicas, it
  never recreates the others;
- `depends_on`: ordering only;
- `profiles`: whether a service is enabled, not how it runs;
- `build` and `pull_policy`: how the image is obtained; the image *id* is compared
  separately (the container's image against the reference's current id);
- `develop` (watch rules) and `x-*` extension keys: not read by the daemon.

Defaults, `None`s and empty collections are dropped before hashing, so writing a default
explicitly, the order of mapping keys, or a newer stack version adding an optional field
never changes the hash of an unchanged service.  `stack config --hash` prints it.
"""

from __future__ import annotations

import functools
import hashlib
import json
from typing import Any

from pydantic import BaseModel

from stack.spec.models import Network, Service

_SERVICE_EXCLUDED = frozenset({"name", "scale", "depends_on", "profiles", "build", "pull_policy", "develop"})
_NETWORK_INCLUDED = ("driver", "driver_opts", "ipam", "internal", "attachable", "labels", "enable_ipv6")


@functools.cache
def _defaults(model: type[BaseModel]) -> dict[str, Any]:
    """The default of every optional field of a model (computed once: pydantic is slow at it).

    Only compared against, never handed out, so sharing the mutable ones is safe."""
    return {
        name: info.get_default(call_default_factory=True)
        for name, info in model.model_fields.items()
        if not info.is_required()
    }


def _canonical(value: Any) -> Any:
    """Plain data for hashing: model fields that are unset, default or empty are left out.

    Only *model fields* are dropped that way: inside user mappings (`networks`,
    `environment`, `labels`, ...) every key counts, even with a null or empty value
    (`networks: {front: null}` is not `networks: {default: null}`).
    """
    if isinstance(value, BaseModel):
        data: dict[str, Any] = {}
        defaults = _defaults(type(value))
        for name, info in type(value).model_fields.items():
            if info.exclude:
                continue
            raw = getattr(value, name)
            if name in defaults and raw == defaults[name]:
                continue
            item = _canonical(raw)
            if item is None or item == {} or item == []:
                continue
            data[name] = item
        for name, raw in (value.model_extra or {}).items():
            item = _canonical(raw)
            if item is not None and item != {} and item != []:
                data[name] = item
        return data
    if isinstance(value, dict):
        return {str(k): _canonical(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_canonical(v) for v in value]
    return value


def _digest(data: Any) -> str:
    text = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def service_config_hash(service: Service) -> str:
    """sha256 hex of everything in `service` that needs a new container when it changes."""
    data = _canonical(service)
    for key in _SERVICE_EXCLUDED:
        data.pop(key, None)
    for key in [k for k in data if k.startswith("x-")]:
        del data[key]
    deploy = data.get("deploy")
    if isinstance(deploy, dict):
        # How many replicas, and how `up` replaces them, are not part of any one container.
        for key in ("replicas", "update_config", "rollback_config"):
            deploy.pop(key, None)
        if not deploy:
            del data["deploy"]
    return _digest(data)


def network_config_hash(network: Network) -> str:
    """sha256 hex of the network settings the daemon cannot change in place.

    Covers driver, driver_opts, ipam, internal, attachable, labels and enable_ipv6; not the
    name (a new name is another network) nor `external`.
    """
    data = _canonical(network)
    return _digest({k: v for k, v in data.items() if k in _NETWORK_INCLUDED})
