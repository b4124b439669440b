"""A minimal, read-only Docker Engine client for the hot paths (`ps`, a no-op `up`).

Why a second way to the daemon: importing the Docker SDK (requests, urllib3, ...) costs about
100 ms, more than everything else `stack ps` does.  A handful of JSON GETs over the unix socket
need only the standard library.  Everything that changes the daemon, streams, builds, or talks
to a TCP/TLS daemon still goes through the SDK facade (`docker_api.DockerAPI`); when this client
cannot be used it raises `LightUnavailable` and the caller takes the SDK path, which also gives
the proper error message.
"""

from __future__ import annotations

import http.client
import json
import os
import socket
import urllib.parse
from collections.abc import Mapping
from typing import Any

API_VERSION = "1.41"  # what the daemon here speaks (Docker 20.10); DOCKER_API_VERSION overrides

DEFAULT_SOCKET = "/var/run/docker.sock"


class LightUnavailable(Exception):
    """This client cannot answer (remote daemon, TLS, daemon down, unexpected reply)."""


class _UnixConnection(http.client.HTTPConnection):
    def __init__(self, path: str, timeout: float) -> None:
        super().__init__("localhost", timeout=timeout)
        self._path = path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        sock.connect(self._path)
        self.sock = sock


def socket_path(environ: Mapping[str, str] | None = None) -> str | None:
    """The daemon's unix socket when DOCKER_HOST names one (or is unset), else None."""
    env = os.environ if environ is None else environ
    if env.get("DOCKER_TLS_VERIFY") or env.get("DOCKER_CONTEXT"):
        return None
    host = env.get("DOCKER_HOST", "")
    if not host:
        return DEFAULT_SOCKET
    if host.startswith("unix://"):
        return host[len("unix://") :]
    return None


class LightDocker:
    """Synchronous JSON GETs on one keep-alive connection; use as a context manager."""

    def __init__(self, environ: Mapping[str, str] | None = None, timeout: float = 30.0) -> None:
        path = socket_path(environ)
        if path is None:
            raise LightUnavailable("DOCKER_HOST is not a local unix socket")
        env = os.environ if environ is None else environ
        self.version = env.get("DOCKER_API_VERSION") or API_VERSION
        self._conn = _UnixConnection(path, timeout)
        self.calls = 0

    def get(self, path: str, query: Mapping[str, Any] | None = None) -> Any:
        params = {k: (json.dumps(v) if isinstance(v, dict) else v) for k, v in (query or {}).items()}
        url = f"/v{self.version}{path}"
        if params:
            url += "?" + urllib.parse.urlencode(params)
        self.calls += 1
        try:
            self._conn.request("GET", url)
            response = self._conn.getresponse()
            body = response.read()
        except OSError as exc:
            raise LightUnavailable(f"cannot reach the daemon: {exc}") from exc
        if response.status != 200:
            raise LightUnavailable(f"GET {path}: HTTP {response.status}")
        try:
            return json.loads(body)
        except ValueError as exc:
            raise LightUnavailable(f"GET {path}: not JSON") from exc

    def containers(self, filters: Mapping[str, list[str]], *, all: bool = True) -> list[dict[str, Any]]:
        return list(self.get("/containers/json", {"all": "1" if all else "0", "filters": dict(filters)}))

    def networks(self, filters: Mapping[str, list[str]]) -> list[dict[str, Any]]:
        return list(self.get("/networks", {"filters": dict(filters)}))

    def volumes(self, filters: Mapping[str, list[str]]) -> list[dict[str, Any]]:
        return list((self.get("/volumes", {"filters": dict(filters)}) or {}).get("Volumes") or [])

    def images(self, references: list[str]) -> list[dict[str, Any]]:
        return list(self.get("/images/json", {"filters": {"reference": references}}))

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> LightDocker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
