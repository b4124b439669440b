"""Strict schema validation of manifests with kubernetes-validate (bundled OpenAPI schemas,
offline; strict rejects unknown fields), against several Kubernetes versions."""

from __future__ import annotations

import functools
from collections.abc import Iterable
from typing import Any

import kubernetes_validate
import kubernetes_validate.utils


def _versions() -> tuple[str, ...]:
    """The oldest bundled schemas the converter targets (>= 1.25), its default target (1.30),
    and the newest bundled (1.37 with kubernetes-validate 1.37)."""
    bundled = [kubernetes_validate.utils.major_minor(v) for v in kubernetes_validate.utils.all_versions()]
    targeted = [v for v in bundled if tuple(map(int, v.split("."))) >= (1, 25)]
    return tuple(dict.fromkeys([targeted[0], "1.30", targeted[-1]]))


VERSIONS = _versions()

# Each schema file is read once per run, not once per object (validation itself is unchanged).
kubernetes_validate.utils.schema_contents = functools.lru_cache(maxsize=None)(  # type: ignore[assignment]
    kubernetes_validate.utils.schema_contents
)


def validation_errors(documents: Iterable[dict[str, Any]], versions: Iterable[str] = VERSIONS) -> list[str]:
    """One line per object that a version's strict schema rejects; empty when all are valid."""
    errors: list[str] = []
    docs = list(documents)
    for version in versions:
        for doc in docs:
            try:
                kubernetes_validate.validate(doc, version, strict=True)
            except kubernetes_validate.ValidationError as error:
                where = "/".join(str(p) for p in error.path)
                errors.append(f"{version} {doc['kind']}/{doc['metadata']['name']} at {where}: {error.message}")
            except kubernetes_validate.SchemaNotFoundError as error:
                errors.append(f"{version} {doc['kind']}/{doc['metadata']['name']}: {error.message}")
    return errors
