"""stack: a Compose-like multi-container workflow engine.

The public Python API is re-exported here and imported lazily, so that `import stack`
(and `stack --version`) stays cheap: nothing below pulls in docker, pydantic or anyio
until it is used.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

# public name -> module that defines it
_EXPORTS: dict[str, str] = {
    "StackError": "stack.errors",
    "StackFileError": "stack.errors",
    "UsageError": "stack.errors",
    "DockerAPIError": "stack.errors",
    "DockerUnavailableError": "stack.errors",
    "ServiceFailedError": "stack.errors",
    "ProjectLockedError": "stack.errors",
    "LoadOptions": "stack.spec.loader",
    "load_project": "stack.spec.loader",
    "Project": "stack.spec.models",
    "load": "stack.api",
    "up": "stack.api",
    "up_async": "stack.api",
    "create": "stack.api",
    "down": "stack.api",
    "down_async": "stack.api",
    "ps": "stack.api",
    "ps_async": "stack.api",
    "build": "stack.api",
    "scale": "stack.api",
    "UpResult": "stack.api",
    "DownResult": "stack.api",
    "ContainerInfo": "stack.api",
    "logs": "stack.api",
    "exec": "stack.api",
    "run": "stack.api",
    "running": "stack.api",
    "running_async": "stack.api",
    "start": "stack.api",
    "stop": "stack.api",
    "restart": "stack.api",
    "kill": "stack.api",
    "pause": "stack.api",
    "unpause": "stack.api",
    "remove": "stack.api",
    "wait": "stack.api",
    "top": "stack.api",
    "port": "stack.api",
    "images": "stack.api",
    "ls": "stack.api",
    "stats": "stack.api",
    "LockPolicy": "stack.api",
    "RunOptions": "stack.api",
    "ExecRequest": "stack.api",
    "LogOptions": "stack.api",
    "UpOptions": "stack.plan.options",
    "DownOptions": "stack.plan.options",
    "Service": "stack.spec.models",
}

__all__ = ["__version__", *_EXPORTS]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'stack' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
