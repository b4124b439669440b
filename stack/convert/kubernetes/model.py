"""The options of a conversion, and its result: Kubernetes objects and the keys left behind."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Literal

import yaml

from stack.convert.unsupported import Unsupported

__all__ = [
    "DEFAULT_API_WAIT_IMAGE",
    "DEFAULT_KUBERNETES_VERSION",
    "DEFAULT_VOLUME_SIZE",
    "DEFAULT_WAIT_IMAGE",
    "KubernetesOptions",
    "KubernetesStack",
    "Manifest",
    "Published",
    "dns_label",
    "dns_subdomain",
    "parse_version",
]

DEFAULT_KUBERNETES_VERSION = "1.30"
OLDEST_KUBERNETES_VERSION = (1, 25)  # every API the output uses is GA (v1) there
# The init containers that wait for a Service (nslookup, nc, timeout: BusyBox applets).
DEFAULT_WAIT_IMAGE = "busybox:1.36"
# The init containers that wait for a Job through the Kubernetes API (sh and curl, with the
# Pod's service-account token; the apiserver's answer is matched with `tr` and `case`).
DEFAULT_API_WAIT_IMAGE = "curlimages/curl:8.11.1"
DEFAULT_VOLUME_SIZE = "1Gi"  # a PersistentVolumeClaim's request when the volume has no x-kubernetes.size

Published = Literal["nodeport", "loadbalancer", "none"]


@dataclass(frozen=True)
class KubernetesOptions:
    """How to convert.

    namespace        put on every object (and on the RoleBinding's subject); None: none, the
                     objects land in the namespace `kubectl apply -n` names
    version          the Kubernetes version the output is for (>= 1.25)
    published        how published ports (`ports: ["8080:80"]`) are offered outside the cluster:
                     a second Service `{name}-published` of type NodePort or LoadBalancer; none
                     lists them as not converted
    host_path        bind mounts become hostPath volumes (the path must exist on the node);
                     without it, each bind mount is listed as not converted
    wait_image       image of the init containers waiting for a Service (needs sh, nslookup,
                     nc, timeout)
    api_wait_image   image of the init containers waiting for a Job (needs sh, curl, tr)
    volume_size      storage request of a PersistentVolumeClaim without x-kubernetes.size
    cluster_domain   the cluster's DNS domain, for the fully qualified Service names waited for
    """

    namespace: str | None = None
    version: str = DEFAULT_KUBERNETES_VERSION
    published: Published = "nodeport"
    host_path: bool = False
    wait_image: str = DEFAULT_WAIT_IMAGE
    api_wait_image: str = DEFAULT_API_WAIT_IMAGE
    volume_size: str = DEFAULT_VOLUME_SIZE
    cluster_domain: str = "cluster.local"


def parse_version(text: str) -> tuple[int, int]:
    """(major, minor) of `1.30`, `v1.30.2`; ValueError when it is not a version we can target."""
    match = re.fullmatch(r"v?(\d+)\.(\d+)(?:\.\d+)?", text.strip())
    if match is None:
        raise ValueError(f"{text!r} is not a Kubernetes version (write it like 1.30)")
    version = (int(match.group(1)), int(match.group(2)))
    if version < OLDEST_KUBERNETES_VERSION:
        oldest = ".".join(map(str, OLDEST_KUBERNETES_VERSION))
        raise ValueError(f"Kubernetes {text} is older than {oldest}, the oldest version the converter targets")
    return version


def dns_label(name: str) -> str:
    """`name` as an RFC 1035 label (what Service and container names must be): lower case
    letters, digits and `-`, starting with a letter, at most 63 characters."""
    text = re.sub(r"[^a-z0-9-]+", "-", name.lower()).strip("-")
    if not text or not text[0].isalpha():
        text = f"s-{text}".rstrip("-")
    return text[:63].rstrip("-")


def dns_subdomain(name: str) -> str:
    """`name` as an RFC 1123 subdomain (Secret, ConfigMap, PVC names): `.` is allowed too."""
    text = re.sub(r"[^a-z0-9.-]+", "-", name.lower()).strip("-.")
    return (text or "x")[:253].rstrip("-.")


@dataclass
class Manifest:
    """One Kubernetes object; `service` is the stack-file key it was made for (None: shared)."""

    kind: str
    name: str
    body: dict[str, Any]
    service: str | None = None

    @property
    def file_name(self) -> str:
        return f"{self.kind.lower()}-{self.name}.yaml"


class _Dumper(yaml.SafeDumper):
    def ignore_aliases(self, data: Any) -> bool:
        return True  # every object written out in full: no &id001 anchors in manifests


def _str_presenter(dumper: yaml.SafeDumper, data: str) -> yaml.ScalarNode:
    if "\n" in data:  # scripts and file contents, as block text
        return dumper.represent_scalar("tag:yaml.org,2002:str", data, style="|")
    return dumper.represent_scalar("tag:yaml.org,2002:str", data)


_Dumper.add_representer(str, _str_presenter)


def dump(body: dict[str, Any]) -> str:
    return yaml.dump(body, Dumper=_Dumper, sort_keys=False, default_flow_style=False, width=4096)


@dataclass
class KubernetesStack:
    """The objects of a converted project, in apply order, and what could not be converted.

    `unsupported`: keys of the stack file whose meaning is lost (WARN; `--strict` refuses).
    `notes`: keys converted with a caveat the user should know (NOTE)."""

    project: str
    options: KubernetesOptions
    manifests: list[Manifest] = field(default_factory=list)
    unsupported: list[Unsupported] = field(default_factory=list)
    notes: list[Unsupported] = field(default_factory=list)

    def documents(self) -> list[dict[str, Any]]:
        return [m.body for m in self.manifests]

    def find(self, kind: str, name: str) -> dict[str, Any]:
        """The body of the object `kind`/`name` (KeyError when there is none)."""
        for manifest in self.manifests:
            if manifest.kind == kind and manifest.name == name:
                return manifest.body
        raise KeyError(f"{kind}/{name}")

    def header(self) -> str:
        return f"# stack convert kubernetes: project {self.project}, for Kubernetes {self.options.version}\n"

    def render(self) -> str:
        """One multi-document YAML stream, as `kubectl apply -f -` reads it."""
        return self.header() + "".join(f"---\n{dump(m.body)}" for m in self.manifests)

    def files(self) -> dict[str, str]:
        """File name -> YAML text, one object a file (`-o DIR`)."""
        return {m.file_name: dump(m.body) for m in self.manifests}

    def problems(self) -> list[str]:
        """The warning and note lines, as the CLI prints them."""
        return [f"WARN: {p.render()}" for p in self.unsupported] + [f"NOTE: {p.render()}" for p in self.notes]
