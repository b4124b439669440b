"""A minimal, read-only Docker Engine client for the hot paths (`ps`, a no-op `up`).

Why a second way to the daemon: importing the Docker SDK (requests, urllib3, ...) costs about
100 ms, more than everything else `stack ps` does.  A handful of JSON GETs over the unix socket
need only the standard library.  Everything that changes the daemon, streams, builds, or talks
to a TCP/TLS daemon still goes through the SDK facade (`docker_api.DockerAPI`); when this client
cannot be used it raises `LightUnavailable` and the caller takes the SDK path, which also gives
the proper error message.
"""

from __future__ import annotations

import json
import os
import socket
import urllib.parse
from collections.abc import Mapping
from typing import Any

from stack.engine.endpoint import resolve as resolve_endpoint
from stack.errors import StackError

API_VERSION = "1.41"  # what the daemon here speaks (Docker 20.10); DOCKER_API_VERSION overrides
_MAX_HEAD = 64 * 1024  # bytes of status line and headers we accept before calling a reply broken


class LightUnavailable(Exception):
    """This client cannot answer (remote daemon, TLS, daemon down, unexpected reply)."""


class _UnixHTTP:
    """HTTP/1.1 GETs on one keep-alive unix-socket connection, replies read whole.

    Just what the daemon's JSON replies need (Content-Length or chunked bodies), with the
    standard library's socket alone: `http.client` pulls in `email` and `ssl`, ~12 ms of
    imports on paths whose whole budget is about 100 ms.
    """

    def __init__(self, path: str, timeout: float) -> None:
        self.path = path
        self.timeout = timeout
        self._sock: socket.socket | None = None
        self._buf = b""

    def get(self, target: str) -> tuple[int, bytes]:
        if self._sock is None:
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.settimeout(self.timeout)
            try:
                sock.connect(self.path)
            except OSError:
                sock.close()
                raise
            self._sock, self._buf = sock, b""
        self._sock.sendall(f"GET {target} HTTP/1.1\r\nHost: docker\r\nUser-Agent: stack\r\n\r\n".encode())
        head = self._read_until(b"\r\n\r\n", _MAX_HEAD).decode("latin-1")
        status_line, *lines = head.split("\r\n")
        parts = status_line.split(" ", 2)
        if len(parts) < 2 or not parts[0].startswith("HTTP/1.") or not parts[1].isdigit():
            raise ValueError(f"not an HTTP reply: {status_line[:80]!r}")
        headers = {}
        for line in lines:
            name, sep, value = line.partition(":")
            if sep:
                headers[name.strip().lower()] = value.strip()
        if headers.get("transfer-encoding", "").lower() == "chunked":
            body = self._read_chunked()
        elif "content-length" in headers:
            body = self._read_exact(int(headers["content-length"]))
        else:  # delimited by the end of the connection
            body = self._buf + self._read_to_eof()
            self.close()
        if headers.get("connection", "").lower() == "close":
            self.close()
        return int(parts[1]), body

    def _recv(self) -> bytes:
        assert self._sock is not None
        data = self._sock.recv(65536)
        if not data:
            raise ConnectionError("the daemon closed the connection mid-reply")
        return data

    def _read_until(self, marker: bytes, limit: int) -> bytes:
        while (at := self._buf.find(marker)) < 0:
            if len(self._buf) > limit:
                raise ValueError("reply headers too long")
            self._buf += self._recv()
        out, self._buf = self._buf[:at], self._buf[at + len(marker) :]
        return out

    def _read_exact(self, size: int) -> bytes:
        chunks, have = [self._buf], len(self._buf)
        while have < size:
            data = self._recv()
            chunks.append(data)
            have += len(data)
        joined = b"".join(chunks)
        out, self._buf = joined[:size], joined[size:]
        return out

    def _read_chunked(self) -> bytes:
        parts: list[bytes] = []
        while True:
            size_line = self._read_until(b"\r\n", 1024).split(b";", 1)[0].strip()
            size = int(size_line, 16)
            if size == 0:
                self._read_until(b"\r\n", _MAX_HEAD)  # trailers (none from the daemon) end with CRLF
                return b"".join(parts)
            parts.append(self._read_exact(size))
            self._read_exact(2)  # the CRLF after each chunk

    def _read_to_eof(self) -> bytes:
        assert self._sock is not None
        chunks: list[bytes] = []
        while data := self._sock.recv(65536):
            chunks.append(data)
        return b"".join(chunks)

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock, self._buf = None, b""


def socket_path(environ: Mapping[str, str] | None = None) -> str | None:
    """The daemon's unix socket when the selected endpoint (DOCKER_HOST, else the Docker CLI
    context) is a plain local socket, else None."""
    try:
        return resolve_endpoint(environ).unix_socket()
    except StackError:
        return None  # a broken context: the SDK path reports it


class LightDocker:
    """Synchronous JSON GETs on one keep-alive connection; use as a context manager."""

    def __init__(self, environ: Mapping[str, str] | None = None, timeout: float = 30.0) -> None:
        path = socket_path(environ)
        if path is None:
            raise LightUnavailable("the daemon is not on a plain local unix socket")
        env = os.environ if environ is None else environ
        self.version = env.get("DOCKER_API_VERSION") or API_VERSION
        self._conn = _UnixHTTP(path, timeout)
        self.calls = 0

    def get(self, path: str, query: Mapping[str, Any] | None = None) -> Any:
        params = {k: (json.dumps(v) if isinstance(v, dict) else v) for k, v in (query or {}).items()}
        url = f"/v{self.version}{path}"
        if params:
            url += "?" + urllib.parse.urlencode(params)
        self.calls += 1
        try:
            status, body = self._conn.get(url)
        except OSError as exc:
            self._conn.close()
            raise LightUnavailable(f"cannot reach the daemon: {exc}") from exc
        except ValueError as exc:
            self._conn.close()
            raise LightUnavailable(f"GET {path}: unexpected reply: {exc}") from exc
        if status != 200:
            raise LightUnavailable(f"GET {path}: HTTP {status}")
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
