"""The Compose Specification's JSON schema, vendored: the known keys and types of a stack file.

`compose-spec.json` next to this module is compose-spec/compose-spec's schema (Apache-2.0, commit
170098b; license text in compose-spec.LICENSE).
It is loaded once, lazily; `validation` walks it to reject unknown keys and wrong types with
their position, so the list of valid keys is never written out by hand.
"""

from __future__ import annotations

import json
import os
from functools import cache
from typing import Any

# os.path, not pathlib: importing pathlib costs `stack config` a few milliseconds.
SCHEMA_FILE = os.path.join(os.path.dirname(__file__), "compose-spec.json")

Schema = dict[str, Any]


@cache
def compose_schema() -> Schema:
    """The whole schema document (parsed once per process)."""
    with open(SCHEMA_FILE, encoding="utf-8") as fh:
        data: Schema = json.load(fh)
    return data


def resolve(schema: Schema) -> Schema:
    """Follow a `$ref` (only local `#/definitions/...` refs occur in the Compose schema)."""
    while "$ref" in schema:
        ref: str = schema["$ref"]
        node: Any = compose_schema()
        for part in ref.lstrip("#/").split("/"):
            node = node[part]
        schema = node
    return schema


def known_keys(schema: Schema) -> list[str]:
    """The property names a mapping schema accepts (for "did you mean" suggestions)."""
    keys: list[str] = list(resolve(schema).get("properties", {}))
    for branch in resolve(schema).get("oneOf", []) + resolve(schema).get("anyOf", []):
        keys.extend(k for k in known_keys(branch) if k not in keys)
    return keys


def service_keys() -> list[str]:
    """Every key a service may have."""
    return known_keys(compose_schema()["definitions"]["service"])
