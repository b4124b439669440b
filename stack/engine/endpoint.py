"""Which Docker daemon to talk to: DOCKER_HOST, else the Docker CLI's current context.

The Docker CLI's order: DOCKER_HOST wins (the `default` context, with DOCKER_TLS_VERIFY and
DOCKER_CERT_PATH); else DOCKER_CONTEXT; else `currentContext` in the CLI's config.json (in
DOCKER_CONFIG, default ~/.docker); else `default`, the local socket.  Docker Desktop, colima
and rootless Docker all select their daemon through a context, so ignoring it would talk to
another daemon, or to none.

Standard library only: both the Docker SDK facade and the light client (`engine.light`) resolve
the endpoint here, so they can never disagree about which daemon they are looking at.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass

from stack.errors import DockerUnavailableError

DEFAULT_HOST = "unix:///var/run/docker.sock"
DEFAULT_CONTEXT = "default"


@dataclass(frozen=True)
class Endpoint:
    host: str  # unix:///..., tcp://..., ssh://...
    context: str  # "default", or the name of the Docker CLI context it came from
    tls: bool  # TLS material applies (DOCKER_TLS_VERIFY, or the context stores some)

    def describe(self) -> str:
        """The daemon as messages name it."""
        return self.host if self.context == DEFAULT_CONTEXT else f"{self.host} (docker context {self.context})"

    def unix_socket(self) -> str | None:
        """The socket path when this is a plain local unix socket, else None."""
        if self.tls or not self.host.startswith("unix://"):
            return None
        return self.host[len("unix://") :]


def config_dir(environ: Mapping[str, str]) -> str:
    return environ.get("DOCKER_CONFIG") or os.path.join(os.path.expanduser("~"), ".docker")


def context_dirs(name: str, environ: Mapping[str, str]) -> tuple[str, str]:
    """(metadata directory, TLS directory) of context `name`, as the Docker CLI stores them."""
    digest = hashlib.sha256(name.encode("utf-8")).hexdigest()
    base = os.path.join(config_dir(environ), "contexts")
    return os.path.join(base, "meta", digest), os.path.join(base, "tls", digest, "docker")


def current_context(environ: Mapping[str, str]) -> str:
    """DOCKER_CONTEXT, else config.json's currentContext, else `default`."""
    named = environ.get("DOCKER_CONTEXT")
    if named:
        return named
    try:
        with open(os.path.join(config_dir(environ), "config.json"), encoding="utf-8") as fh:
            config = json.load(fh)
    except (OSError, ValueError):
        return DEFAULT_CONTEXT  # no (readable) CLI config: the CLI falls back to default as well
    name = config.get("currentContext") if isinstance(config, dict) else None
    return name if isinstance(name, str) and name else DEFAULT_CONTEXT


def resolve(environ: Mapping[str, str] | None = None) -> Endpoint:
    """The daemon the environment and the Docker CLI's configuration select."""
    env = os.environ if environ is None else environ
    if env.get("DOCKER_HOST"):
        return Endpoint(env["DOCKER_HOST"], DEFAULT_CONTEXT, bool(env.get("DOCKER_TLS_VERIFY")))
    name = current_context(env)
    if name == DEFAULT_CONTEXT:
        return Endpoint(DEFAULT_HOST, DEFAULT_CONTEXT, bool(env.get("DOCKER_TLS_VERIFY")))
    meta_dir, tls_dir = context_dirs(name, env)
    where = "DOCKER_CONTEXT" if env.get("DOCKER_CONTEXT") else f"currentContext in {config_dir(env)}/config.json"
    try:
        with open(os.path.join(meta_dir, "meta.json"), encoding="utf-8") as fh:
            meta = json.load(fh)
    except FileNotFoundError:
        raise DockerUnavailableError(
            f"docker context {name!r} ({where}) does not exist",
            hint="list them with `docker context ls`; or set DOCKER_HOST, or DOCKER_CONTEXT=default",
        ) from None
    except (OSError, ValueError) as exc:
        raise DockerUnavailableError(
            f"cannot read docker context {name!r} ({where}): {exc}",
            hint="inspect it with `docker context inspect`; or set DOCKER_HOST",
        ) from None
    endpoints = meta.get("Endpoints") if isinstance(meta, dict) else None
    docker_endpoint = endpoints.get("docker") if isinstance(endpoints, dict) else None
    host = docker_endpoint.get("Host") if isinstance(docker_endpoint, dict) else None
    if not isinstance(host, str) or not host:
        raise DockerUnavailableError(
            f"docker context {name!r} ({where}) has no Docker endpoint",
            hint="inspect it with `docker context inspect`; or set DOCKER_HOST",
        )
    return Endpoint(host, name, os.path.isdir(tls_dir))
