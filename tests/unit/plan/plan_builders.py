"""Tiny builders of Projects and ObservedStates for planner tests (no loader, no daemon)."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from typing import Any

from stack.plan import labels as L
from stack.plan.hash import network_config_hash, service_config_hash
from stack.plan.naming import network_name, service_container_name, service_image, volume_name
from stack.plan.observed import ObservedContainer, ObservedNetwork, ObservedState, ObservedVolume
from stack.plan.reconcile import service_networks, service_volume_keys
from stack.spec.models import Network, Project


def project(
    services: dict[str, dict[str, Any]],
    *,
    networks: dict[str, dict[str, Any]] | None = None,
    volumes: dict[str, dict[str, Any]] | None = None,
    disabled: dict[str, dict[str, Any]] | None = None,
    name: str = "demo",
) -> Project:
    """A Project from canonical dicts; services join `default` unless they say otherwise."""

    def canonical(key: str, svc: dict[str, Any]) -> dict[str, Any]:
        svc = dict(svc)
        if "network_mode" not in svc:
            svc.setdefault("networks", {"default": None})
        return {**svc, "name": key}

    nets = {"default": {"name": f"{name}_default"}} if networks is None else networks
    vols = {k: {"name": f"{name}_{k}", **v} for k, v in (volumes or {}).items()}
    return Project.model_validate(
        {
            "name": name,
            "services": {k: canonical(k, v) for k, v in services.items()},
            "networks": nets,
            "volumes": vols,
            "disabled_services": {k: canonical(k, v) for k, v in (disabled or {}).items()},
            "working_dir": "/src/demo",
            "config_files": ["/src/demo/stack.yaml"],
        }
    )


def fake_id(seed: str) -> str:
    return hashlib.sha256(seed.encode()).hexdigest()


def image_id(ref: str) -> str:
    return "sha256:" + fake_id("image:" + ref)


def container(
    proj: Project,
    service: str,
    number: int,
    *,
    state: str = "running",
    config_hash: str | None = None,
    image: str | None = None,
    one_off: bool = False,
) -> ObservedContainer:
    """A container of `service` as `up` would have left it (current hash and image)."""
    svc = proj.services.get(service) or proj.disabled_services.get(service)
    nets: tuple[str, ...]
    if svc is None:  # an orphan: a service gone from the file
        name, nets, ref, h = f"{proj.name}-{service}-{number}", (f"{proj.name}_default",), "busybox", "gone"
    else:
        name = service_container_name(proj.name, service, svc, number)
        nets = tuple(sorted(network_name(proj.name, k, proj.networks.get(k)) for k in service_networks(svc)))
        ref = service_image(proj.name, service, svc)
        h = service_config_hash(svc)
    if svc is None:
        labels = {
            L.CONTAINER_OF: proj.name,
            L.PROJECT: proj.name,
            L.SERVICE: service,
            L.NUMBER: str(number),
            L.IMAGE: ref,
        }
    else:  # what `up` would have put on it
        labels = L.container_labels(proj, service, number, h, oneoff=one_off)
    return ObservedContainer(
        id=fake_id(f"{proj.name}/{service}/{number}/{config_hash}/{image}"),
        name=name,
        service=service,
        number=number,
        state=state,
        image_id=image or image_id(ref),
        config_hash=h if config_hash is None else config_hash,
        one_off=one_off,
        labels=labels,
        networks=nets,
        network_ids=tuple(sorted(fake_id("net:" + n) for n in nets)),
    )


def network(proj: Project, key: str, *, config_hash: str | None = None, owned: bool = True) -> ObservedNetwork:
    declared = proj.networks.get(key) or Network()
    name = network_name(proj.name, key, declared)
    h = network_config_hash(declared) if config_hash is None else config_hash
    labels = L.network_labels(proj.name, key, h) if owned else {}
    return ObservedNetwork(
        id=fake_id("net:" + name),
        name=name,
        key=key if owned else "",
        config_hash=h if owned else "",
        labels=labels,
    )


def volume(proj: Project, key: str, *, owned: bool = True) -> ObservedVolume:
    name = volume_name(proj.name, key, proj.volumes.get(key))
    labels = L.volume_labels(proj.name, key) if owned else {}
    return ObservedVolume(name=name, key=key if owned else "", labels=labels)


def images(proj: Project, *, missing: tuple[str, ...] = ()) -> dict[str, str | None]:
    refs = {service_image(proj.name, k, s) for k, s in {**proj.disabled_services, **proj.services}.items()}
    return {r: (None if r in missing else image_id(r)) for r in sorted(refs)}


def converged(proj: Project, **changes: Any) -> ObservedState:
    """The daemon after a successful `up` of `proj`: every replica running and current."""
    containers = [
        container(proj, name, n) for name, svc in sorted(proj.services.items()) for n in range(1, svc.replicas + 1)
    ]
    net_keys = sorted(
        {
            k
            for s in proj.services.values()
            for k in service_networks(s)
            if not (proj.networks.get(k) or Network()).external
        }
    )
    vol_keys = sorted(
        {k for s in proj.services.values() for k in service_volume_keys(proj, s) if not proj.volumes[k].external}
    )
    state = ObservedState(
        project=proj.name,
        containers=tuple(containers),
        networks=tuple(network(proj, k) for k in net_keys),
        volumes=tuple(volume(proj, k) for k in vol_keys),
        images=images(proj),
    )
    return replace(state, **changes)
