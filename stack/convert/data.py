"""The bytes of a secret or config, as the translations for other orchestrators carry them
(a Swarm secret/config object, a Kubernetes Secret/ConfigMap): from its `file`, its
`environment` variable (the project's environment, then the process's) or its `content`."""

from __future__ import annotations

import os

from stack.convert.unsupported import project_error
from stack.spec.models import Project, SecretOrConfig

__all__ = ["content_of"]


def content_of(project: Project, kind: str, key: str, item: SecretOrConfig) -> bytes:
    """The content of `kind` ("secrets" or "configs") `key`; a StackFileError naming its file
    and line when it cannot be read."""
    if item.file:
        try:
            with open(item.file, "rb") as handle:
                return handle.read()
        except OSError as exc:
            raise project_error(project, (kind, key, "file"), f"cannot read {item.file}: {exc.strerror}") from None
    if item.environment:
        value = project.environment.get(item.environment, os.environ.get(item.environment))
        if value is None:
            raise project_error(
                project,
                (kind, key, "environment"),
                f"reads variable {item.environment}, which is not set",
                hint=f"set {item.environment} in the environment or in .env / --env-file",
            )
        return str(value).encode()
    if item.content is not None:
        return item.content.encode()
    raise project_error(project, (kind, key), "has no file, environment or content", hint="give one of them")
