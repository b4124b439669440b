"""Volumes, PersistentVolumeClaims, Secrets and ConfigMaps.

- a named volume is a PersistentVolumeClaim of the same name (its size, storage class and access
  modes from the volume's `x-kubernetes: {size, storage_class, access_modes}`, else
  DEFAULT_VOLUME_SIZE and ReadWriteOnce); an external one names a claim that must exist;
- an anonymous volume is an emptyDir of the Pod (shared by `volumes_from`), a tmpfs an emptyDir
  in memory;
- a bind mount is a hostPath volume when asked (`host_path`), else listed as not converted;
- a secret is a Secret, a config a ConfigMap, mounted file by file (subPath) at the path the
  container sees under Docker: `/run/secrets/<target or source>`, `/<source>` or the target.
"""

from __future__ import annotations

import base64
from typing import Any

from stack.convert.data import content_of
from stack.convert.kubernetes.context import Context
from stack.convert.kubernetes.model import dns_label, dns_subdomain
from stack.spec.models import SecretOrConfig, SecretRef, Service, VolumeMount
from stack.spec.units import byte_size

__all__ = ["PodStorage", "claim_name", "data_objects", "persistent_claims"]


def claim_name(ctx: Context, key: str) -> str:
    declared = ctx.project.volumes.get(key)
    if declared is not None and declared.external and declared.name:
        return dns_subdomain(declared.name)
    return dns_subdomain(key)


def _x_kubernetes(extra: dict[str, Any] | None) -> dict[str, Any]:
    value = (extra or {}).get("x-kubernetes")
    return dict(value) if isinstance(value, dict) else {}


def persistent_claims(ctx: Context, used: set[str]) -> None:
    """A PersistentVolumeClaim per named volume a service mounts (external ones: none)."""
    for key in sorted(used):
        declared = ctx.project.volumes.get(key)
        if declared is None:
            continue
        if declared.external:
            ctx.note(("volumes", key), f"external: the PersistentVolumeClaim {claim_name(ctx, key)} must exist")
            continue
        ext = _x_kubernetes(declared.model_extra)
        for unknown in sorted(set(ext) - {"size", "storage_class", "access_modes"}):
            ctx.warn(
                ("volumes", key, "x-kubernetes", unknown),
                "unknown key: x-kubernetes has size, storage_class, access_modes",
            )
        if declared.driver or declared.driver_opts:
            ctx.warn(("volumes", key), "volume drivers are not converted: use x-kubernetes.storage_class")
        spec: dict[str, Any] = {
            "accessModes": [str(m) for m in ext.get("access_modes", ["ReadWriteOnce"])],
            "resources": {"requests": {"storage": str(ext.get("size", ctx.options.volume_size))}},
        }
        if ext.get("storage_class"):
            spec["storageClassName"] = str(ext["storage_class"])
        ctx.add(
            "PersistentVolumeClaim",
            "v1",
            claim_name(ctx, key),
            {"metadata": ctx.metadata(claim_name(ctx, key), declared.labels), "spec": spec},
        )


def data_key(key: str) -> str:
    """The key of a file in a Secret or ConfigMap (`[-._a-zA-Z0-9]+`)."""
    return "".join(c if c.isalnum() or c in "-._" else "-" for c in key) or "data"


def object_name(ctx: Context, kind: str, key: str) -> str:
    item = (ctx.project.secrets if kind == "secrets" else ctx.project.configs)[key]
    if item.external:
        return dns_subdomain(item.name or key)
    return dns_subdomain(key)


def data_objects(ctx: Context, used: dict[str, set[str]]) -> None:
    """A Secret per secret, a ConfigMap per config, that a service uses."""
    for kind in ("secrets", "configs"):
        items: dict[str, SecretOrConfig] = ctx.project.secrets if kind == "secrets" else ctx.project.configs
        for key in sorted(used[kind]):
            item = items[key]
            name = object_name(ctx, kind, key)
            if item.external:
                what = "Secret" if kind == "secrets" else "ConfigMap"
                ctx.note((kind, key), f"external: the {what} {name} must exist, with the key {data_key(key)}")
                continue
            if item.driver or item.template_driver:
                ctx.warn((kind, key), "secret and config drivers are not converted")
            data = content_of(ctx.project, kind, key, item)
            meta = ctx.metadata(name, item.labels)
            if kind == "secrets":
                body = {"type": "Opaque", "data": {data_key(key): base64.b64encode(data).decode()}}
                ctx.add("Secret", "v1", name, {"metadata": meta, **body})
                continue
            try:
                text: dict[str, Any] = {"data": {data_key(key): data.decode()}}
            except UnicodeDecodeError:
                text = {"binaryData": {data_key(key): base64.b64encode(data).decode()}}
            ctx.add("ConfigMap", "v1", name, {"metadata": meta, **text})


class PodStorage:
    """The volumes of one Pod, and each container's mounts of them."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.volumes: dict[str, dict[str, Any]] = {}
        self.claims: set[str] = set()  # named volumes mounted (-> PVCs)

    def _volume(self, name: str, source: dict[str, Any]) -> str:
        self.volumes.setdefault(name, {"name": name, **source})
        return name

    def mounts(self, key: str, service: Service, *, shared_only: bool = False) -> list[dict[str, Any]]:
        """The volumeMounts of a service's own `volumes:` and `tmpfs:`; `shared_only`: those
        `volumes_from` takes over (volumes and bind mounts, not tmpfs)."""
        out: list[dict[str, Any]] = []
        for index, mount in enumerate(service.volumes):
            if shared_only and mount.type not in ("volume", "bind"):
                continue
            name = self._mount_volume(key, index, mount)
            if name is None:
                continue
            entry: dict[str, Any] = {"name": name, "mountPath": mount.target}
            if mount.read_only:
                entry["readOnly"] = True
            if mount.volume is not None and mount.volume.subpath:
                entry["subPath"] = mount.volume.subpath
            out.append(entry)
        for index, path in enumerate([] if shared_only else service.tmpfs):
            name = self._volume(
                dns_label(f"{key}-tmpfs-{len(service.volumes) + index}"), {"emptyDir": {"medium": "Memory"}}
            )
            out.append({"name": name, "mountPath": path.split(":", 1)[0]})
        return out

    def _mount_volume(self, key: str, index: int, mount: VolumeMount) -> str | None:
        path = ("services", key, "volumes", index)
        if mount.type == "volume" and mount.source:
            self.claims.add(mount.source)
            if mount.volume is not None and mount.volume.nocopy:
                self.ctx.note(path, "nocopy: a PersistentVolumeClaim is never filled from the image")
            return self._volume(
                dns_label(f"vol-{mount.source}"),
                {"persistentVolumeClaim": {"claimName": claim_name(self.ctx, mount.source)}},
            )
        if mount.type == "volume":
            return self._volume(dns_label(f"{key}-anon-{index}"), {"emptyDir": {}})
        if mount.type == "tmpfs":
            empty: dict[str, Any] = {"medium": "Memory"}
            size = byte_size(mount.tmpfs.size) if mount.tmpfs is not None else None
            if size is not None:
                empty["sizeLimit"] = str(size)
            return self._volume(dns_label(f"{key}-tmpfs-{index}"), {"emptyDir": empty})
        if mount.type == "bind":
            if not self.ctx.options.host_path:
                self.ctx.warn(
                    path,
                    f"bind mount of {mount.source} is not converted (a Pod sees the node's files, not yours):"
                    " use --host-path for a hostPath volume, or a volume or config",
                )
                return None
            self.ctx.note(path, f"hostPath {mount.source}: the path must exist on every node the Pod may run on")
            return self._volume(dns_label(f"{key}-bind-{index}"), {"hostPath": {"path": mount.source}})
        self.ctx.warn(path, f"a {mount.type} mount is not converted")
        return None

    def files(self, key: str, kind: str, refs: list[SecretRef]) -> list[dict[str, Any]]:
        """The volumeMounts of a service's secrets or configs, one file each."""
        out: list[dict[str, Any]] = []
        for index, ref in enumerate(refs):
            path = ("services", key, kind, index)
            if kind == "secrets":
                target = ref.target or ref.source
                mount_path = target if target.startswith("/") else f"/run/secrets/{target}"
            else:
                mount_path = ref.target or f"/{ref.source}"
            if ref.uid or ref.gid:
                self.ctx.warn(
                    path, "uid/gid of a mounted file are not converted (use the Pod's securityContext.fsGroup)"
                )
            item: dict[str, Any] = {"key": data_key(ref.source), "path": data_key(ref.source)}
            if ref.mode is not None:
                item["mode"] = ref.mode
            source_name = object_name(self.ctx, kind, ref.source)
            prefix = "secret" if kind == "secrets" else "config"
            suffix = f"-{ref.mode:o}" if ref.mode is not None else ""
            if kind == "secrets":
                source: dict[str, Any] = {"secret": {"secretName": source_name, "items": [item]}}
            else:
                source = {"configMap": {"name": source_name, "items": [item]}}
            name = self._volume(dns_label(f"{prefix}-{ref.source}{suffix}"), source)
            out.append({"name": name, "mountPath": mount_path, "subPath": data_key(ref.source), "readOnly": True})
        return out
