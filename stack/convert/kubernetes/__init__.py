"""The stack model as Kubernetes manifests: a pure translation, no cluster.

`translate(project, options)` gives a `KubernetesStack`: the objects (Deployments,
StatefulSets, Jobs, Services, PersistentVolumeClaims, Secrets, ConfigMaps, and the RBAC the
Job waits need), and the keys of the stack file they cannot honour, with file and line.

model       options, the result, names (RFC 1035/1123) and YAML rendering
context     what one conversion's steps share
probes      healthcheck -> readiness, liveness and startup probes
waits       depends_on -> init containers and the scripts they run
pods        which services share a Pod (network_mode: service:x, volumes_from)
storage     volumes, PersistentVolumeClaims, Secrets, ConfigMaps
containers  one service as a container
workloads   the Pods' workloads and Services, and `translate`
"""

from stack.convert.kubernetes.model import (
    DEFAULT_API_WAIT_IMAGE,
    DEFAULT_KUBERNETES_VERSION,
    DEFAULT_VOLUME_SIZE,
    DEFAULT_WAIT_IMAGE,
    KubernetesOptions,
    KubernetesStack,
    Manifest,
)
from stack.convert.kubernetes.workloads import translate

__all__ = [
    "DEFAULT_API_WAIT_IMAGE",
    "DEFAULT_KUBERNETES_VERSION",
    "DEFAULT_VOLUME_SIZE",
    "DEFAULT_WAIT_IMAGE",
    "KubernetesOptions",
    "KubernetesStack",
    "Manifest",
    "translate",
]
