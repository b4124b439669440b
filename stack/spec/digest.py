"""Spec digests: a fingerprint of a service's (or network's) canonical definition, no pydantic.

The config hash (`stack.plan.hash`) is the authority on recreation, but computing it needs
the typed models (pydantic: ~100 ms to import).  The spec digest is a sha256 over the plain
canonical dict the loader produces (exactly what `stack config --format json` prints for that
service), stored as a label next to the config hash.  Equal digests imply equal config hashes
(the hash is a function of that same dict), so a no-op `up` can be recognised without the
models; unequal digests prove nothing, and the full planner decides.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any


def spec_digest(canonical: Mapping[str, Any]) -> str:
    text = json.dumps(canonical, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
