"""`stack convert kubernetes`: the stack as Kubernetes manifests (pure: no daemon, no cluster).

kubernetes_convert   the objects of a project and the keys they cannot honour (file:line)
"""

from __future__ import annotations

from stack.convert.kubernetes import KubernetesOptions, KubernetesStack, translate
from stack.convert.unsupported import UnconvertibleKeysError
from stack.errors import StackFileError
from stack.spec.models import Project

__all__ = ["KubernetesOptions", "KubernetesStack", "kubernetes_convert"]


def kubernetes_convert(
    project: Project, options: KubernetesOptions | None = None, *, strict: bool = False
) -> KubernetesStack:
    """The Kubernetes objects of `project`.  Keys the output cannot honour are in
    `.unsupported` (and caveats in `.notes`), each with its file and line; with `strict`, such
    keys raise UnconvertibleKeysError (exit 2) instead."""
    try:
        converted = translate(project, options)
    except StackFileError as error:  # as api.session.placed_in, without importing the engine
        if project.source_map is not None:
            project.source_map.place(error)
        raise
    if strict and converted.unsupported:
        raise UnconvertibleKeysError(
            converted.unsupported,
            target="Kubernetes",
            hint="remove or change them, or convert without --strict to go on with a warning",
        )
    return converted
